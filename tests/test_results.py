"""The result store (crm_core/app/results.py) behind ui.cached, and warming it (app/warm.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import io
import json
import os
import pickle
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import FIXTURES, make_app_test

from crm_core import ingest
from crm_core.app import results
from crm_core.app.ui.session import set_scope
from crm_core.engine import db
from crm_core.metrics import clv, clv_reports, value

connection = importlib.import_module("crm_core.app.ui.connection")

CALLS: list[tuple] = []


def counted(con: db.Connection, n: int, lang: str = "zh") -> pd.DataFrame:
    """A slow result stand-in: records each real computation; rows of the orders table."""
    CALLS.append((n, lang))
    rows = con.execute("SELECT count(*) FROM orders").fetchone()[0]  # type: ignore[index]
    return pd.DataFrame({"n": [n], "lang": [lang], "orders": [rows]})


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(["C1", "C2", None], dtype="str"),
            "orders": pd.array([3, None, 1], dtype="Int64"),
            "revenue": [12.5, 0.0, -3.25],
            "first_day": [dt.date(2024, 1, 31), dt.date(2024, 2, 1), None],
            "at": pd.to_datetime(["2024-01-31 10:00", "2024-02-01 00:00", None]),
            "tier": pd.Categorical(["A", "B", "A"]),
        },
        index=pd.Index(["x", "y", "z"], name="key"),
    )


@pytest.fixture
def loaded(con: db.Connection) -> db.Connection:
    ingest.load(con, [ingest.Source(FIXTURES / "line_items.csv")])
    return con


@pytest.fixture
def app_db(loaded: db.Connection, db_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ui.cached as a page calls it, on `db_file` (bare mode: no Streamlit server)."""
    import streamlit as st

    monkeypatch.setenv("CRM_LENS_DB", str(db_file))
    st.cache_resource.clear()
    st.cache_data.clear()
    CALLS.clear()
    yield
    st.session_state.pop("_crm_scope", None)
    st.cache_data.clear()
    st.cache_resource.clear()


def _key(con: db.Connection, n: int = 1, lang: str = "zh") -> results.Key:
    version = tuple(db.query_rows(con, "data_version")[0])
    k = results.key(version, f"{__name__}.counted", (n,), (("lang", lang),), ((), ()))
    assert k is not None
    return k


def test_store_gives_back_what_was_computed(loaded: db.Connection) -> None:
    # A crm_core result type holding a frame, plus scalars of the kinds results carry.
    pareto = value.Pareto(3, 1, 0.2, 0.75, sample_frame())
    report = {"pareto": pareto, "total": Decimal("1234.50"), "as_of": dt.date(2024, 12, 31)}
    k = _key(loaded)
    assert results.get(loaded, k) == (False, None)
    assert results.put(loaded, k, report, 0.5) > 0
    found, back = results.get(loaded, k)
    assert found
    pd.testing.assert_frame_equal(back["pareto"].curve, pareto.curve, check_exact=True)
    assert list(back["pareto"].curve.dtypes) == list(pareto.curve.dtypes)
    assert back["pareto"].top_revenue_share == 0.75
    assert (back["total"], back["as_of"]) == (Decimal("1234.50"), dt.date(2024, 12, 31))


@dataclasses.dataclass
class Elsewhere:
    """A dataclass outside crm_core: a stored result may not name it."""

    x: int


def test_only_crm_core_result_types_are_stored() -> None:
    with pytest.raises(results.NotStorable, match="not allowed"):
        results.dumps(Elsewhere(1))


def test_a_frame_of_ints_beside_decimals_is_stored_exactly() -> None:
    # overview.kpi_deltas: counts are ints, revenue a Decimal, in one object column; Arrow cannot
    # type such a column, so it is kept beside the Arrow stream as a list of those scalars.
    kpis = pd.DataFrame(
        {
            "kpi": pd.Series(["customers", "revenue"], dtype="str"),
            "value": [2, Decimal("32.0800")],
            "previous": [2, Decimal("0.0000")],
            "change": [0.0, 32.08],  # 2 - 2; 32.08 - 0
        },
        index=pd.Index([3, 7], name="row"),
    )
    back = results.loads(results.dumps({"kpis": kpis}))["kpis"]
    pd.testing.assert_frame_equal(back, kpis, check_exact=True)
    assert [type(v) for v in back["value"]] == [int, Decimal]
    assert list(back.columns) == ["kpi", "value", "previous", "change"]
    # An object column holding a class the store may not name is still refused.
    odd = kpis.assign(value=[Elsewhere(1), 2])
    with pytest.raises(results.NotStorable, match="not allowed"):
        results.dumps(odd)


def test_a_figure_is_stored_as_its_json_and_read_back_the_same() -> None:
    # Slides carry plotly figures: stored as their JSON, rebuilt without validating it again.
    import plotly.graph_objects as go
    import plotly.io as pio

    fig = go.Figure(go.Bar(x=["华东", "<b>x</b>"], y=[3, 1.5], name="收入"))
    fig.update_layout(title="月度收入", font_size=20)
    back = results.loads(results.dumps([fig]))[0]
    assert type(back) is go.Figure
    assert json.loads(pio.to_json(back)) == json.loads(pio.to_json(fig))


def test_the_presentation_styles_a_slide_when_it_is_shown() -> None:
    import plotly.graph_objects as go
    import plotly.io as pio

    from crm_core.app.ui.slideshow import _ScreenFigures
    from crm_core.present import slides
    from crm_core.present.text import safe_figure

    found = [
        slides.Slide(f"s{i}", "t", "w", go.Figure(go.Bar(x=[f"<i>{i}</i>"], y=[i])))
        for i in range(3)
    ]
    shown = _ScreenFigures(found)
    assert len(shown) == 3 and shown._styled == {}
    last = shown[-1]  # styled now, and only it
    assert list(shown._styled) == [2] and shown[2] is last
    expected = safe_figure(slides.presentation_style(found[2].figure))
    assert pio.to_json(last) == pio.to_json(expected)
    with pytest.raises(IndexError):
        shown[3]


def test_second_process_reads_the_store_without_computing(
    app_db: None, loaded: db.Connection
) -> None:
    import streamlit as st

    con = connection.connection()
    first = connection.cached(counted, con, 7)
    assert CALLS == [(7, "zh")]
    st.cache_data.clear()  # a new process: its memory cache is empty
    again = connection.cached(counted, con, 7)
    assert CALLS == [(7, "zh")]  # not computed again: read from the store
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    assert first["orders"].iloc[0] == loaded.execute("SELECT count(*) FROM orders").fetchone()[0]  # type: ignore[index]


def test_a_load_makes_the_stored_rows_stop_answering(app_db: None, loaded: db.Connection) -> None:
    import streamlit as st

    con = connection.connection()
    connection.cached(counted, con, 1)
    ingest.load(loaded, [ingest.Source(FIXTURES / "line_items.csv")])  # load 2: a new version
    st.cache_data.clear()
    connection.cached(counted, connection.connection(), 1)
    assert CALLS == [(1, "zh"), (1, "zh")]  # computed again for the new data
    # Load 2's write deleted load 1's row: 1 row left, of the current version.
    assert db.scalar(loaded, "results_count") == 1
    assert results.summary(loaded)["results"] == 1
    assert results.prune(loaded) == 0


class _Exploit:
    """Unpickled by a plain pickle.loads, this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_a_hostile_payload_is_refused_and_the_page_recomputes(
    app_db: None, loaded: db.Connection, tmp_path: Path
) -> None:
    import streamlit as st

    marker = tmp_path / "pwned"
    payload = pickle.dumps({"rows": _Exploit(marker)})
    with pytest.raises(results.Refused, match=r"(posix|os)\.system"):
        results.loads(payload)
    # The same payload planted in the store under the call's key: never run, recomputed.
    k = _key(loaded, 3)
    loaded.execute(
        "INSERT INTO result_store (data_version, code_version, call, payload, stored_at) "
        "VALUES ($v, $c, $k, $p, now())",
        {"v": k.data_version, "c": results.code_version(), "k": k.call, "p": payload},
    )
    st.cache_data.clear()
    out = connection.cached(counted, connection.connection(), 3)
    assert CALLS == [(3, "zh")] and out["n"].iloc[0] == 3
    assert not marker.exists()  # the command never ran
    # An object reference of another kind than an Arrow frame is refused too.
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.persistent_id = lambda obj: ("module", b"os") if obj == "x" else None  # type: ignore[method-assign]
    pickler.dump(["x"])
    with pytest.raises(results.Refused, match="unknown stored object"):
        results.loads(buf.getvalue())


def test_scopes_and_languages_get_their_own_rows(app_db: None, loaded: db.Connection) -> None:
    import streamlit as st

    con = connection.connection()
    connection.cached(counted, con, 1, "zh")  # unscoped; the language positional
    connection.cached(counted, con, 1, lang="en")
    set_scope(("North",), ())  # a scoped viewer
    connection.cached(counted, con, 1, "zh")
    assert len(CALLS) == 3
    rows = loaded.execute("SELECT scope, lang FROM result_store ORDER BY scope, lang").fetchall()
    # 2 unscoped rows (zh, en) + 1 scoped row (zh) = 3
    assert rows == [
        ("(('North',), ())", "zh"),
        ("((), ())", "en"),
        ("((), ())", "zh"),
    ]
    st.cache_data.clear()
    connection.cached(counted, con, 1, "zh")  # the scoped viewer's row answers in a new process
    st.session_state.pop("_crm_scope")
    connection.cached(counted, con, 1, lang="en")
    assert len(CALLS) == 3


def test_warming_a_copy_stores_a_pages_default_view(
    demo_copy: Path, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the Data page does after an upload on DuckDB: `python -m crm_core warm` on a copy of
    # the data, its results inserted into the live store.
    import streamlit as st

    from crm_core.app import warm

    con = db.connect(demo_copy)
    try:
        done = warm.warm_copy(con, demo_copy, ["en"], ["pages/channels.py"])
    finally:
        con.close()
    # 2 = the channels report (channel_return) + the sidebar's facts (context.data_facts)
    assert done["imported"] == 2, done["stderr"]
    # The JSON `python -m crm_core warm --json` prints (README, Command line).
    out = done["warm"]
    assert set(out) == {"target", "pruned", "data_version", "pages", "results", "bytes", "seconds"}
    assert [(p["page"], p["lang"], p["errors"]) for p in out["pages"]] == [
        ("pages/channels.py", "en", [])
    ]
    assert out["results"] == 2 and out["bytes"] > 0
    assert sorted(p.name for p in demo_copy.parent.iterdir()) == ["demo_copy.duckdb"]
    # A fresh process opening the same page computes nothing that went through ui.cached.
    computed: list[str] = []
    real = results.timed_call
    monkeypatch.setattr(results, "timed_call", lambda t, *a: computed.append(t) or real(t, *a))
    st.cache_data.clear()
    at = make_app_test(demo_copy, "pages/channels.py", {"lang": "en"}).run()
    assert not at.exception
    assert computed == []


def test_a_refusal_is_stored_and_raised_again_the_same(
    app_db: None, loaded: db.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Churn/CLV on too little data: a refusal is a result of the data, kept like a figure.
    import streamlit as st

    con = connection.connection()
    with pytest.raises(clv.ClvRefused) as first:
        connection.cached(clv_reports.churn_clv_report, con)
    # line_items.csv: customers 17850 and 13047 buy (the blank-customer line is no customer's),
    # 2 < MIN_CUSTOMERS = 20
    assert (first.value.key, first.value.facts) == ("too_few_customers", {"n": 2, "need": 20})
    assert db.scalar(loaded, "results_count") == 1  # stored for every process
    computed: list[str] = []
    real = results.timed_call
    monkeypatch.setattr(results, "timed_call", lambda t, *a: computed.append(t) or real(t, *a))
    st.cache_data.clear()  # a new process: read from the store, not fitted again
    with pytest.raises(clv.ClvRefused) as again:
        connection.cached(clv_reports.churn_clv_report, connection.connection())
    assert computed == []
    assert (again.value.key, again.value.facts, str(again.value)) == (
        first.value.key,
        first.value.facts,
        str(first.value),
    )


def test_the_churn_page_says_the_same_refusal_from_the_store(
    app_db: None, db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st

    first = make_app_test(db_file, "pages/churn_clv.py", {"lang": "en"}).run()
    computed: list[str] = []
    real = results.timed_call
    monkeypatch.setattr(results, "timed_call", lambda t, *a: computed.append(t) or real(t, *a))
    st.cache_data.clear()
    again = make_app_test(db_file, "pages/churn_clv.py", {"lang": "en"}).run()
    assert not first.exception and not again.exception
    assert "crm_core.metrics.clv_reports.churn_clv_report" not in computed
    shown = [w.value for w in first.warning]
    assert shown and shown == [w.value for w in again.warning]
    assert [c.value for c in first.caption] == [c.value for c in again.caption]


def test_the_sidebar_facts_are_read_once_per_data_version(
    app_db: None, loaded: db.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What every run's sidebar and default period read: one cached call, stored for every process.
    import streamlit as st

    from crm_core.app.ui import context

    computed: list[str] = []
    real = results.timed_call
    monkeypatch.setattr(results, "timed_call", lambda t, *a: computed.append(t) or real(t, *a))
    first = context.facts(connection.connection())
    again = context.facts(connection.connection())  # a second run: the process cache answers
    st.cache_data.clear()  # a new process: the store answers
    stored = context.facts(connection.connection())
    assert computed == ["crm_core.app.ui.context.data_facts"]
    # line_items.csv: sales on 2010-12-01 (17850) and 12-02 (13047); the 12-03 line is a return
    # and the 12-04 line has no customer: range and default period 12-01 .. 12-02.
    assert first.range == (dt.date(2010, 12, 1), dt.date(2010, 12, 2))
    assert first.period == context.overview.Period(dt.date(2010, 12, 1), dt.date(2010, 12, 2))
    for other in (again, stored):
        assert other == first
    assert first.last_load == context.last_load(ingest.load_history(loaded))


def test_store_on_postgresql(pg_url: str) -> None:
    # The same table and SQL files on PostgreSQL: BYTEA payloads, pruned after a new load.
    pg = db.connect(pg_url)
    try:
        ingest.load(pg, [ingest.Source(FIXTURES / "line_items.csv")])
        pareto = value.Pareto(3, 1, 0.2, 0.75, sample_frame())
        k = _key(pg)
        assert results.put(pg, k, pareto, 0.1) > 0
        found, back = results.get(pg, k)
        assert found
        pd.testing.assert_frame_equal(back.curve, pareto.curve, check_exact=True)
        ingest.load(pg, [ingest.Source(FIXTURES / "line_items.csv")])  # load 2: a new version
        assert results.get(pg, _key(pg)) == (False, None)
        assert results.prune(pg) == 1  # the row of load 1 goes
    finally:
        pg.close()


def test_a_purge_empties_the_store(loaded: db.Connection) -> None:
    # Stored results may list the erased customer (a drill-down, the customer table): all go.
    from crm_core.app import purge

    results.put(loaded, _key(loaded), pd.DataFrame({"customer_id": ["17850"]}), 0.1)
    assert db.scalar(loaded, "results_count") == 1
    purge.purge_customer(loaded, "17850")
    assert db.scalar(loaded, "results_count") == 0


def test_no_secrets_file_is_remembered_for_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without secrets.toml Streamlit searched for it under a lock on every read, several
    # times per render; the absence is kept NO_SECRETS_TTL seconds, then looked up again.
    looked: list[str] = []

    class NoSecrets:
        def get(self, name: str) -> None:
            looked.append(name)
            raise FileNotFoundError(name)

    now = [1000.0]
    monkeypatch.setattr(connection.st, "secrets", NoSecrets())
    monkeypatch.setattr(connection.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(connection, "_no_secrets_until", 0.0)
    assert connection._secret_db() is None and not connection.has_secret("auth")
    assert looked == ["CRM_LENS_DB"]  # the second read did not look
    now[0] += connection.NO_SECRETS_TTL + 0.1
    assert connection._secret_db() is None
    assert looked == ["CRM_LENS_DB", "CRM_LENS_DB"]
