"""Escaping of user-derived text for Markdown and Plotly."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest
from hostile import ANCHOR, HOSTILE, IMAGE, LINK

from crm_core.present.text import WORD_JOINER, md_escape, plotly_escape, safe_figure


@pytest.mark.parametrize("value", HOSTILE)
def test_md_escape_leaves_no_markdown(value: str) -> None:
    out = md_escape(value)
    # Markdown's specials are backslash-escaped, and a word joiner after "https" stops GFM's
    # bare-URL autolinks: no link, image, emphasis, LaTeX or colour directive survives.
    assert "https://" not in out and "](" not in out and "**" not in out and ":red[" not in out
    for special in "$<[:!*":
        assert not re.search(r"(?<!\\)" + re.escape(special), out), (special, out)
    assert out.replace("\\", "").replace(WORD_JOINER, "") == value


def test_md_escape_examples() -> None:
    wj = WORD_JOINER
    assert md_escape(LINK) == rf"\[Session expired\]\(https{wj}\://evil.example/login\)"
    assert md_escape("1. a\n# b") == r"1\. a \# b"  # one line: no list, no heading
    assert md_escape("- a") == r"\- a"
    assert md_escape("see www.evil.example") == rf"see www{wj}\.evil.example"
    assert md_escape("_x_ orders_2024.csv") == r"\_x\_ orders_2024.csv"  # intraword _ is safe
    assert md_escape("a@evil.example") == rf"a{wj}\@evil.example"  # no mailto autolink
    assert md_escape("a\nb", keep_newlines=True) == "a  \nb"
    assert md_escape("华东 客户") == "华东 客户"  # CJK text untouched
    assert md_escape(12) == "12"


def test_plotly_escape() -> None:
    assert plotly_escape(ANCHOR) == '&lt;a href="https://evil.example/a"&gt;x&lt;/a&gt;'
    assert plotly_escape("R&D") == "R&amp;D"
    assert plotly_escape(3.5) == 3.5


def test_safe_figure_escapes_categories_names_and_nodes_only() -> None:
    fig = go.Figure(
        [
            go.Bar(x=[ANCHOR, "b"], y=[1, 2], name="<b>n</b>", text=["<i>t</i>", "u"]),
            go.Sankey(
                node={"label": [ANCHOR, "b"]}, link={"source": [0], "target": [1], "value": [1]}
            ),
        ]
    )
    fig.update_layout(title="<b>Title</b>")  # from the catalogue: left as built
    safe = safe_figure(fig)
    assert safe.data[0].x == ('&lt;a href="https://evil.example/a"&gt;x&lt;/a&gt;', "b")
    assert safe.data[0].y == (1, 2)
    assert safe.data[0].name == "&lt;b&gt;n&lt;/b&gt;"
    assert safe.data[0].text == ("&lt;i&gt;t&lt;/i&gt;", "u")
    assert safe.data[1].node.label[0].startswith("&lt;a href")
    assert safe.layout.title.text == "<b>Title</b>"
    assert fig.data[0].x[0] == ANCHOR  # the original is not changed
    assert (
        "<a href" not in safe.to_json()
        and "<img"
        not in safe_figure(go.Figure(go.Bar(x=[IMAGE, "<img src=x>"], y=[1, 2]))).to_json()
    )
