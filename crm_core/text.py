"""User-derived text made inert: Markdown escaping, Plotly label escaping, secret redaction."""

from __future__ import annotations

import re
import string
from typing import Any

# CommonMark lets any ASCII punctuation be backslash-escaped, and an escaped character is shown
# as itself. Escaping all of it also defuses Streamlit's extensions ($LaTeX$, :red[colour],
# :material/icons:, emoji short codes) and GFM's bare-URL autolinks (https\:\/\/...).
_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_NEWLINES = re.compile(r"[\r\n]+")


def md_escape(value: Any, keep_newlines: bool = False) -> str:
    """`value` as text that Streamlit's Markdown shows literally: no link, image, heading, list,
    emphasis, LaTeX or colour. Line breaks become spaces (one line), or with `keep_newlines`
    Markdown hard breaks so that a multi-line message keeps its lines."""
    s = _MD_SPECIAL.sub(r"\\\1", str(value))
    if keep_newlines:
        return "  \n".join(_NEWLINES.split(s))
    return _NEWLINES.sub(" ", s)


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


# Secrets inside a URL or a message: the password of user:password@host, and password=,
# token=, secret=, api_key= (query strings, ;key=value Spark Connect URLs, conninfo strings).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.\-]*://[^/\s:@]*:)[^@\s/]*(?=@)")
_KEY_VALUE = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key)\s*[=:]\s*)"
    r"(?:'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\"|[^'\";&\s)]+)",
    re.IGNORECASE,
)
MASK = "***"


def redact(text: Any) -> str:
    """`text` (a database URL, or a message that may quote one) with every password and token
    replaced by ***: postgresql://u:***@h/db, sc://h:15002/;token=***, ?password=***."""
    s = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, str(text))
    return _KEY_VALUE.sub(lambda m: m.group("head") + _quoted(m, MASK), s)


def _quoted(m: re.Match[str], value: str) -> str:
    if m.group("sq") is not None:
        return f"'{value}'"
    return f'"{value}"' if m.group("dq") is not None else value
