"""A chart as a page shows it (crm_core/present/charts/shown.py): the same figure JSON as the
validated-copy path it replaces, on the demo's charts and hostile labels; the chart cache keeps
scopes and languages apart and stays bounded."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from conftest import FIXTURES
from hostile import ANCHOR

from crm_core import ingest
from crm_core.engine import db
from crm_core.metrics import lifecycle_cohorts, overview, value
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import charts, lifecycle_text
from crm_core.present.charts import shown
from crm_core.present.text import (
    _NESTED_TEXT,
    _TRACE_TEXT,
    _escape_array,
    plotly_escape,
    safe_figure,
)


def _before(fig: go.Figure, lang: str) -> go.Figure:
    # The path this replaces: localise_hovers and safe_figure, each on a validated copy.
    out = go.Figure(fig)
    for i, custom, template in charts.hover_updates(out, lang):
        out.data[i].customdata = custom
        out.data[i].hovertemplate = template
    out = go.Figure(out)
    for trace in out.data:
        for attr in _TRACE_TEXT:
            if attr in trace and trace[attr] is not None:
                trace[attr] = _escape_array(trace[attr])
        for parent, attrs in _NESTED_TEXT.items():
            if parent in trace:
                for attr in attrs:
                    if attr in trace[parent] and trace[parent][attr] is not None:
                        trace[parent][attr] = _escape_array(trace[parent][attr])
    for axis in ("xaxis", "yaxis"):
        if out.layout[axis].ticktext is not None:
            out.layout[axis].ticktext = _escape_array(out.layout[axis].ticktext)
    return out


def _sent(fig: go.Figure) -> dict:
    # What st.plotly_chart sends of a figure (plotly.io.to_json of to_dict()), parsed back:
    # equal values, key order aside (which plotly.js does not read).
    return json.loads(pio.to_json(fig.to_dict(), validate=False))


HOSTILE = ["<b>x</b>", "**x**", ANCHOR, "R&D"]


def _hostile_charts() -> dict[str, go.Figure]:
    months = pd.to_datetime(["2026-03-01", "2026-04-01", "2026-05-01"])
    trend = pd.DataFrame({"month": months, "revenue": [1.5e6, 2.25e7, 3e8], "orders": [1, 2, 3]})
    return {
        "bars": charts.complaint_bars(pd.Series(HOSTILE), pd.Series([0.45, 0.1, 0.2, 0.25]), "t", True),
        "monthly": charts.monthly_bars(trend, "revenue", "<b>月</b>", lang="zh", money=True),
        "sankey": charts.transition_sankey(
            pd.DataFrame({"stage_from": ["new"], "stage_to": ["active"], "customers": [3]}),
            {"new": HOSTILE[0], "active": HOSTILE[1]},
            "",
            "zh",
        ),
        "waterfall": charts.waterfall(("a", 10.0), [(HOSTILE[2], 5.0)], ("b", 15.0), "w", "en"),
    }  # fmt: skip


def _demo_charts(con: db.Connection, lang: str) -> dict[str, go.Figure]:
    period = overview.default_period(con)
    assert period is not None
    f = Filters()
    trend = overview.monthly_trend(con, period, f)
    pyr = value.value_pyramid(con, period, f, "revenue", lang=lang)
    segs = value.rfm_segments(con, period, f, lang)
    rep = lifecycle_cohorts.lifecycle_report(con, period.start, period.end, f)
    stages = lifecycle_text.stage_labels(lang)
    return {
        "revenue": charts.monthly_bars(
            trend, "revenue", "r", lang=lang, start=period.start, end=period.end, money=True
        ),
        "pyramid": charts.pyramid_chart(pyr, "p", "s", lang),
        "rfm": charts.segment_heatmap(segs, {m: m for m in value.HEATMAP_METRICS}, "rfm", lang),
        "stages": charts.stage_bars(rep.counts, stages, "t", "c", "r", lang),
        "flow": charts.transition_sankey(rep.transitions, {"new": "n", **stages}, "", lang),
        "cohorts": charts.cohort_heatmap(
            lifecycle_cohorts.retention_matrix(rep.cohorts), "t", "m", "c", lang
        ),
    }


def test_page_spec_is_the_figure_the_copies_made(demo_con: db.Connection) -> None:
    for lang in ("zh", "en"):
        figs = _demo_charts(demo_con, lang) | _hostile_charts()
        for name, fig in figs.items():
            before = _sent(_before(fig, lang))
            assert shown.page_spec(fig, lang) == before, (name, lang)
            # The cheap copies (safe_figure, localise_hovers) give that figure too.
            assert _sent(safe_figure(charts.localise_hovers(fig, lang))) == before, (name, lang)
    bars = shown.page_spec(_hostile_charts()["bars"], "zh")["data"][0]
    # Shown as typed: markup escaped (plotly decodes the entities), Markdown means nothing there.
    assert bars["x"] == ["&lt;b&gt;x&lt;/b&gt;", "**x**", plotly_escape(ANCHOR), "R&amp;D"]
    assert bars["customdata"][0] == ["&lt;b&gt;x&lt;/b&gt;", "45.0%"]


def test_streamlit_sends_the_shown_figure_as_it_is() -> None:
    # st.plotly_chart reads a go.Figure through to_dict(): for a ShownFigure that is the
    # prepared spec, not a copy; the JSON it sends is the one of the escaped figure.
    from plotly.tools import return_figure_from_figure_or_data

    fig = _hostile_charts()["bars"]
    spec = shown.page_spec(fig, "zh")
    got = return_figure_from_figure_or_data(charts.ShownFigure(spec), validate_figure=True)
    assert got is spec
    assert pio.to_json(got, validate=False) == pio.to_json(spec, validate=False)
    assert _sent(charts.ShownFigure(spec).figure()) == spec  # the image export's figure


@pytest.fixture
def drill(con: db.Connection) -> db.Connection:
    d = FIXTURES / "drill"
    tables = ("customers", "orders", "complaints", "leads")
    ingest.load(con, [ingest.Source(d / f"{t}.csv", t) for t in tables])
    return con


def test_cached_charts_follow_scope_and_language(drill: db.Connection) -> None:
    # tests/fixtures/drill over 2024: scope 华东 buys C1 1,500 and C2 300 (diamond C1,
    # regular C2); scope 华南 buys C3 300 only (diamond C3). Each scope and language gets the
    # chart of its own rows, built once; asked again, the same spec.
    year = Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    shown.clear_cache()
    got = {}
    for region in ("华东", "华南"):
        for lang in ("zh", "en"):
            pyr = value.value_pyramid(drill, year, Filters(regions=(region,)), lang=lang)
            spec = shown.cached_spec(charts.pyramid_chart, (pyr, "p", "s", lang), {}, lang)
            assert spec == shown.page_spec(charts.pyramid_chart(pyr, "p", "s", lang), lang)
            again = value.value_pyramid(drill, year, Filters(regions=(region,)), lang=lang)
            assert (
                shown.cached_spec(charts.pyramid_chart, (again, "p", "s", lang), {}, lang) is spec
            )
            got[region, lang] = json.dumps(spec, ensure_ascii=False)
    assert len(set(got.values())) == 4
    assert "钻石" in got["华东", "zh"] and "Diamond" in got["华东", "en"]
    # 华东's customer counts: diamond 1 (C1), regular 1 (C2); 华南's: diamond 1 (C3), regular 0.
    assert got["华东", "zh"] != got["华南", "zh"]
    assert shown.cache_info() | {"max": 0} == {"charts": 4, "max": 0, "hits": 4, "misses": 4}


def test_the_cache_is_bounded_and_skips_what_it_cannot_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shown, "_CHARTS", shown._Charts(2))
    bars = charts.complaint_bars
    for k in range(3):
        shown.cached_spec(bars, (pd.Series(["a"]), pd.Series([k]), "t"), {}, "zh")
    assert shown.cache_info()["charts"] == 2  # the oldest of 3 went
    # A lambda (its name does not say what it draws) or a function among the inputs: built
    # every time, never cached.
    assert shown.cached_spec(lambda: bars(pd.Series(["a"]), pd.Series([1]), "t"), (), {}, "zh")
    mix = pd.DataFrame({"x": [2024], "s": ["a"], "share": [1.0], "customers": [3]})
    names = MappingProxyType({"a": "A"})
    assert shown.cached_spec(charts.share_bars, (mix, "x", "s", names, "t"), {}, "zh")
    assert shown.cache_info() == {"charts": 2, "max": 2, "hits": 0, "misses": 3}
    with pytest.raises(TypeError):
        shown.fingerprint(lambda: 1)
    # Equal content, equal key; a different type or value, another key.
    a = pd.DataFrame({"x": [1, 2]})
    assert shown.fingerprint(a) == shown.fingerprint(a.copy())
    assert shown.fingerprint(a) != shown.fingerprint(a.astype(float))
    assert shown.fingerprint((1, "1")) != shown.fingerprint(("1", 1))
    assert shown.fingerprint(True) != shown.fingerprint(1)
    # A cached result as each render reads it (ui.cached unpickles a copy), text, dates and
    # Arrow strings included, and a frame derived from it the same way: the same key every time.
    import pickle

    months = pd.date_range("2024-01-01", periods=3, freq="MS").date
    frame = pd.DataFrame(
        {"month": months, "stage": pd.array(["潜在", "活跃", "流失"], dtype="str")}
    )
    first, again = (pickle.loads(pickle.dumps(frame)) for _ in range(2))
    assert shown.fingerprint(first) == shown.fingerprint(again) == shown.fingerprint(frame)
    assert shown.fingerprint(first.rename(columns={"stage": "阶段"})) == shown.fingerprint(
        again.rename(columns={"stage": "阶段"})
    )
    assert shown.fingerprint(first) != shown.fingerprint(first.iloc[::-1])
    # A frame pickle cannot write is not fingerprinted (built every time).
    with pytest.raises(TypeError):
        shown.fingerprint(pd.DataFrame({"f": [lambda: 1]}))


def _two_plots() -> None:
    # An AppTest script (its source is run on its own): one chart that takes clicks, one in a
    # column with a keyword argument of the chart function.
    import pandas as pd
    import streamlit as st

    from crm_core.app import ui
    from crm_core.present import charts

    x, y = pd.Series(["a", "b"]), pd.Series([0.25, 0.75])
    st.session_state["got"] = ui.plot(
        charts.complaint_bars, x, y, "t", True, name="bars", select="points"
    )
    left, _ = st.columns(2)
    ui.plot(charts.complaint_bars, x, y, "t", name="side", container=left, horizontal=True)


def test_plot_is_chart_of_figure(db_file: Path, app_env: None) -> None:
    # ui.plot(build, *args, name=, container=, select=, **kwargs) shows what
    # ui.chart(ui.figure(build, *args, **kwargs), name, container, select) shows: the cached
    # figure under key chart_<name> with its PNG / SVG downloads, and the click it was given.
    from streamlit.testing.v1 import AppTest

    os.environ["CRM_LENS_DB"] = str(db_file)  # the downloads' audit log is written there
    shown.clear_cache()
    at = AppTest.from_function(_two_plots, default_timeout=60)
    at.query_params["lang"] = "en"
    click = {"selection": {"points": [{"x": "a"}], "point_indices": [0]}}
    at.session_state["chart_bars"] = click
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    x, y = pd.Series(["a", "b"]), pd.Series([0.25, 0.75])
    expected = {
        "chart_bars": shown.page_spec(charts.complaint_bars(x, y, "t", True), "en"),
        "chart_side": shown.page_spec(charts.complaint_bars(x, y, "t", horizontal=True), "en"),
    }
    plots = at.get("plotly_chart")
    assert {p.proto.id.rsplit("-", 1)[1]: json.loads(p.proto.spec) for p in plots} == expected
    assert [list(p.proto.selection_mode) for p in plots] == [[0], []]  # 0: "points"
    in_column = at.columns[0].get("plotly_chart")
    assert [p.proto.id.rsplit("-", 1)[1] for p in in_column] == ["chart_side"]
    assert at.session_state["got"]["selection"]["points"] == [{"x": "a"}]
    keys = sorted(b.proto.id.rsplit("-", 1)[1] for b in at.get("download_button"))
    assert keys == ["dl_bars_png", "dl_bars_svg", "dl_side_png", "dl_side_svg"]
    # Built once each (2 misses); the rerun of the same inputs builds nothing (2 hits).
    at.run()
    assert shown.cache_info() | {"max": 0} == {"charts": 2, "max": 0, "hits": 2, "misses": 2}
