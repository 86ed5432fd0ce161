"""Shareable links, tampered parameters, meeting snapshots, the weekly report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import make_app_test

from crm_core import db, i18n, overview, weekly
from crm_core.filters import Filters


def _metrics(at) -> dict[str, str]:
    """Each tile's value with its tooltip (which holds the exact number of a shortened value)."""
    return {m.label: f"{m.value} {m.help}" for m in at.metric}


def test_url_filters_take_effect(demo_copy: Path, app_env: None) -> None:
    params = {"lang": "en", "region": "华东", "start": "2026-01-01", "end": "2026-03-31"}
    at = make_app_test(demo_copy, params=params).run()
    assert not at.exception, [e.value for e in at.exception]
    con = db.connect(demo_copy)
    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), region="华东")
    kpis = overview.headline_kpis(con, overview.Period(f.start, f.end), f)  # type: ignore[arg-type]
    revenue = next(m for m in at.metric if m.label == "Revenue")
    assert revenue.value == i18n.fmt_compact(kpis["revenue"], "en")
    assert i18n.fmt_exact(kpis["revenue"]) in revenue.help
    assert at.sidebar.selectbox(key="region").value == "华东"
    assert not at.warning


def test_tampered_parameter_shows_a_note(demo_copy: Path, app_env: None) -> None:
    params = {"lang": "en", "region": "'; DROP TABLE orders; --", "start": "yesterday"}
    at = make_app_test(demo_copy, params=params).run()
    assert not at.exception
    notes = " ".join(w.value for w in at.sidebar.warning)
    assert "region=" in notes and "start=yesterday" in notes
    assert at.sidebar.selectbox(key="region").value is None  # fell back to "all"
    con = db.connect(demo_copy)
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] > 0  # type: ignore[index]


def test_bad_language_and_slide_fall_back(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/present.py", {"lang": "xx", "slide": "999"}).run()
    assert not at.exception
    assert any("lang=xx" in w.value for w in at.sidebar.warning)
    assert any("slide=999" in c.value for c in at.caption)


def test_snapshot_link_keeps_numbers_while_data_changes(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    before = _metrics(at)["Revenue"]
    freeze = next(b for b in at.sidebar.button if "Freeze" in b.label)
    freeze.click().run()
    assert not at.exception
    version = at.query_params["snapshot"]
    version = version[0] if isinstance(version, list) else version
    # Someone changes the live data mid-meeting (here: in the same process, as the Data page would).
    con = db.connect(demo_copy)
    con.execute("DELETE FROM orders WHERE amount > 100000")
    con.execute("CREATE OR REPLACE TABLE customer_orders AS SELECT * FROM customer_orders LIMIT 0")
    frozen = make_app_test(demo_copy, params={"lang": "en", "snapshot": version}).run()
    assert not frozen.exception
    assert _metrics(frozen)["Revenue"] == before
    assert any("Frozen" in i.value for i in frozen.sidebar.info)
    live = make_app_test(demo_copy, params={"lang": "en"}).run()
    assert _metrics(live)["Revenue"] != before


def test_unknown_snapshot_falls_back_to_live(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, params={"lang": "en", "snapshot": "42"}).run()
    assert not at.exception
    assert any("snapshot=42" in w.value for w in at.sidebar.warning)


def test_weekly_comparison_by_hand(con: db.Connection, fixtures: Path) -> None:
    from crm_core import ingest

    ingest.load(
        con,
        [ingest.Source(fixtures / "customers_bom.csv"), ingest.Source(fixtures / "orders_gbk.csv")],
    )
    # Week ending 2024-04-01 = 03-26..04-01: SO5 (99.5). Week before = 03-19..03-25: nothing.
    df = weekly.weekly_comparison(con, dt.date(2024, 4, 1)).set_index("measure")
    assert df.loc["orders", "this_week"] == 1
    assert df.loc["revenue", "this_week"] == 99.5
    assert df.loc["new_customers", "this_week"] == 1  # customer 005's first order
    assert df.loc["orders", "last_week"] == 0
    # Week ending 2024-03-07 = 03-01..03-07: SO3 (150,000) and SO4 on 03-02, a return of 300
    # that counts against its week: revenue is net, 150,000 - 300 = 149,700; one order (SO3).
    df = weekly.weekly_comparison(con, dt.date(2024, 3, 7)).set_index("measure")
    assert df.loc["revenue", "this_week"] == 149700.0
    assert df.loc["orders", "this_week"] == 1


def test_weekly_page_renders(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/weekly.py", {"lang": "zh"}).run()
    assert not at.exception
    assert len(at.metric) == len(weekly.MEASURES)
