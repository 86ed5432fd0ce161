"""User-derived text made inert: Markdown escaping and Plotly label escaping."""

from __future__ import annotations

import re
from typing import Any

# CommonMark lets any ASCII punctuation be backslash-escaped, and an escaped character is shown
# as itself. Escaped: link / image / code / emphasis / table / strike-through syntax, HTML and
# autolinks (< >), Streamlit's $LaTeX$, :colour[...] / :material/icons: / emoji short codes
# (which also breaks GFM's bare https:// autolinks), e-mail autolinks (@), headings (#). Kept:
# the punctuation of ordinary names (. , - ' / = % & ;) and an underscore inside a word
# (orders_2024.csv), which CommonMark never reads as emphasis.
_MD_ALWAYS = re.compile(r"([\\`*\[\]()!<>|~$:{}#@+^])")
_MD_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_WWW = re.compile(r"(?i)\b(www)\.")  # GFM autolinks www.example.com without a scheme
_MD_LIST_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([-=])", re.MULTILINE)
_NEWLINES = re.compile(r"[\r\n]+")
# GFM turns bare URLs (https://x, www.x) and e-mail addresses into links after escapes are
# resolved, so a backslash does not stop it: an invisible word joiner does (the text reads and
# wraps the same).
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(https?|ftps?|mailto|www|xmpp)(?=\\[:.])|(?=\\@)")


def md_escape(value: Any, keep_newlines: bool = False) -> str:
    """`value` as text that Streamlit's Markdown shows literally: no link, image, heading, list,
    emphasis, LaTeX or colour. Line breaks become spaces (one line), or with `keep_newlines`
    Markdown hard breaks so that a multi-line message keeps its lines."""
    s = str(value)
    s = _MD_ALWAYS.sub(r"\\\1", s)
    s = _MD_EDGE_UNDERSCORE.sub(r"\\_", s)
    s = _MD_WWW.sub(r"\1\\.", s)
    s = _AUTOLINK.sub(lambda m: (m.group(1) or "") + WORD_JOINER, s)
    lines = (
        [line.strip("\r") for line in _NEWLINES.split(s)]
        if keep_newlines
        else [_NEWLINES.sub(" ", s)]
    )
    lines = [_MD_LIST_START.sub(_escape_list_marker, line) for line in lines]
    return "  \n".join(lines)


def _escape_list_marker(m: re.Match[str]) -> str:
    if m.group(2) is not None:
        return f"{m.group(1)}{m.group(2)}\\{m.group(3)}"
    return f"{m.group(4)}\\{m.group(5)}"


_PLOTLY_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plotly_escape(value: Any) -> Any:
    """A string with Plotly's pseudo-HTML (<a href>, <b>, <br>) shown literally; other values
    (numbers, dates) unchanged. Plotly decodes the entities, so the label reads as typed."""
    return value.translate(_PLOTLY_ESCAPES) if isinstance(value, str) else value


# Trace attributes whose strings Plotly renders as text: category axes, labels, legend names.
_TRACE_TEXT = ("x", "y", "labels", "text", "hovertext", "name", "ids", "parents")
_NESTED_TEXT = {"node": ("label",), "link": ("label",), "header": ("values",), "cells": ("values",)}


def _escape_array(values: Any) -> Any:
    if values is None:
        return None
    if isinstance(values, str):
        return plotly_escape(values)
    try:
        items = list(values)
    except TypeError:
        return values
    if not any(isinstance(v, str) for v in items):
        return values
    return [plotly_escape(v) for v in items]


def safe_figure(fig: Any) -> Any:
    """A copy of a Plotly figure whose data strings (categories, labels, legend names, texts)
    are escaped, so that a category named `<a href=...>` is not a link in the chart or in its
    SVG export. Titles and annotations come from the message catalogue and are left as built."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    for trace in out.data:
        for attr in _TRACE_TEXT:
            if attr in trace and trace[attr] is not None:
                trace[attr] = _escape_array(trace[attr])
        for parent, attrs in _NESTED_TEXT.items():
            if parent not in trace:
                continue
            for attr in attrs:
                if attr in trace[parent] and trace[parent][attr] is not None:
                    trace[parent][attr] = _escape_array(trace[parent][attr])
    for axis in ("xaxis", "yaxis"):
        ticks = out.layout[axis].ticktext
        if ticks is not None:
            out.layout[axis].ticktext = _escape_array(ticks)
    return out
