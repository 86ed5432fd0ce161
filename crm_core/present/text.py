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
    if values is None or isinstance(values, dict):  # a dict: plotly's typed array of numbers
        return values
    if isinstance(values, str):
        return plotly_escape(values)
    try:
        items = list(values)
    except TypeError:
        return values
    if not any(isinstance(v, str) for v in items):
        return values
    return [plotly_escape(v) for v in items]


def copy_figure(fig: Any) -> Any:
    """A copy of a Plotly figure, as go.Figure(fig) makes it, but without validating the house
    template once more when the figure wears plotly's default template (the copy starts from
    that default, which plotly has validated once): about a fifth of go.Figure(fig)'s time."""
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.basedatatypes import BasePlotlyType

    spec = fig.to_dict()
    layout = spec.get("layout", {})
    default = pio.templates.default
    if (
        "template" in layout
        and isinstance(default, str)
        and default in pio.templates
        and BasePlotlyType._vals_equal(layout["template"], _default_template(default))
    ):
        del layout["template"]
    return go.Figure(spec)


_TEMPLATES: dict[str, Any] = {}


def _default_template(name: str) -> Any:
    # The named template as figure.to_dict() writes it (lists as arrays), computed once.
    import plotly.graph_objects as go

    if name not in _TEMPLATES:
        _TEMPLATES[name] = go.Figure(layout={"template": name}).to_dict()["layout"]["template"]
    return _TEMPLATES[name]


def safe_figure(fig: Any) -> Any:
    """A copy of a Plotly figure whose data strings (categories, labels, legend names, texts)
    are escaped, so that a category named `<a href=...>` is not a link in the chart or in its
    SVG export. Titles and annotations come from the message catalogue and are left as built.
    escape_spec does the same to the figure's JSON (what a page sends), without a copy."""
    out = copy_figure(fig)
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


def escape_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """safe_figure's escapes applied in place to a figure's plotly JSON (fig.to_dict()): the
    same strings escaped, the same values out as safe_figure(fig).to_dict() gives them."""
    from _plotly_utils.utils import convert_to_base64

    def escaped(holder: dict[str, Any], attr: str) -> None:
        value = holder.get(attr)
        new = _escape_array(value)
        if new is not value:
            # as to_dict() writes a list it validated: an array (its JSON is the same list)
            box = {attr: new}
            convert_to_base64(box)
            holder[attr] = box[attr]

    for trace in spec.get("data", []):
        for attr in _TRACE_TEXT:
            escaped(trace, attr)
        for parent, attrs in _NESTED_TEXT.items():
            if isinstance(trace.get(parent), dict):
                for attr in attrs:
                    escaped(trace[parent], attr)
    for axis in ("xaxis", "yaxis"):
        if isinstance(spec.get("layout", {}).get(axis), dict):
            escaped(spec["layout"][axis], "ticktext")
    return spec
