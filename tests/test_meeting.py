"""Shareable links, tampered parameters, meeting snapshots, the weekly report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import ROOT, make_app_test, signed_in

from crm_core import ingest
from crm_core.engine import db
from crm_core.metrics import overview, weekly
from crm_core.metrics.filters import Filters
from crm_core.present import i18n
from crm_core.present.text import md_escape


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


def test_snapshot_link_keeps_numbers_while_data_changes(
    demo_copy: Path, app_env: None, tmp_path: Path
) -> None:
    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    before = _metrics(at)["Revenue"]
    freeze = next(b for b in at.sidebar.button if "Freeze" in b.label)
    freeze.click().run()
    assert not at.exception
    version = at.query_params["snapshot"]
    version = version[0] if isinstance(version, list) else version
    # Someone loads more orders mid-meeting (here: in the same process, as the Data page would):
    # one order of 1,000,000 on the last order day, inside the default period.
    con = db.connect(demo_copy)
    last = overview.data_range(con)[1]  # type: ignore[index]
    extra = tmp_path / "orders.csv"
    extra.write_text(
        f"order_id,customer_id,order_date,amount\nX-MEETING,C-MEETING,{last},1000000\n"
    )
    ingest.load(con, [ingest.Source(extra)], mode="append")
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


def _frozen_link(at) -> str:
    value = at.query_params["snapshot"]
    return value[0] if isinstance(value, list) else value


def test_snapshot_links_cannot_be_guessed(demo_copy: Path, app_env: None) -> None:
    from crm_core.app import snapshot

    at = make_app_test(demo_copy, params={"lang": "en"}).run()
    next(b for b in at.sidebar.button if "Freeze" in b.label).click().run()
    sid = _frozen_link(at)
    # 22 URL-safe characters (128 random bits), not the load number the link used to carry.
    assert snapshot.is_valid_id(sid) and not sid.isdigit(), sid
    assert any("Frozen at load 1" in i.value for i in at.sidebar.info)
    # The old form, ?snapshot=<load number>, opens nothing.
    old = make_app_test(demo_copy, params={"lang": "en", "snapshot": "1"}).run()
    assert not old.exception and any("snapshot=1" in w.value for w in old.sidebar.warning)
    # Owner-only files: the snapshot, its facts and the database itself.
    for p in (snapshot.snapshot_file(demo_copy, sid), demo_copy):
        assert p.stat().st_mode & 0o077 == 0, (p, oct(p.stat().st_mode))
    assert snapshot.snapshot_file(demo_copy, sid).with_suffix(".json").stat().st_mode & 0o077 == 0


def test_a_huge_or_odd_snapshot_value_is_a_note(demo_copy: Path, app_env: None) -> None:
    # ?snapshot=<5,000 digits> raised "Exceeds the limit (4300 digits)" as a traceback.
    for raw in ("9" * 5000, "../../etc/passwd", "x" * 22 + "'", "[a](https://evil.example)"):
        at = make_app_test(demo_copy, params={"lang": "en", "snapshot": raw}).run()
        assert not at.exception, [e.value for e in at.exception]
        notes = " ".join(w.value for w in at.sidebar.warning)
        assert "snapshot=" in notes and "https://evil" not in notes, notes


def test_snapshots_expire_and_admins_can_delete_them(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.app import snapshot
    from crm_core.engine import config

    con = db.connect(demo_copy)
    sid = snapshot.freeze(con, demo_copy)
    assert snapshot.freeze(con, demo_copy) == sid  # same load, same scope: the same link
    made = snapshot.info(demo_copy, sid)
    assert made is not None and made.load_id == 1
    # Expiry after CRM_LENS_SNAPSHOT_DAYS (30 by default): 29 days later kept, 31 deleted.
    assert snapshot.expire(demo_copy, made.created_at + dt.timedelta(days=29)) == []
    assert snapshot.expire(demo_copy, made.created_at + dt.timedelta(days=31)) == [sid]
    assert snapshot.info(demo_copy, sid) is None
    assert not snapshot.snapshot_file(demo_copy, sid).exists()
    monkeypatch.setattr(config, "SNAPSHOT_DAYS", 0)  # configurable: expired at once
    gone = snapshot.freeze(con, demo_copy)
    assert snapshot.info(demo_copy, gone) is None and snapshot.list_snapshots(demo_copy) == []
    monkeypatch.setattr(config, "SNAPSHOT_DAYS", 30)
    other = snapshot.freeze(con, demo_copy)
    assert other != sid and [i.id for i in snapshot.list_snapshots(demo_copy)] == [other]
    assert snapshot.delete(demo_copy, other) and not snapshot.delete(demo_copy, other)
    assert snapshot.list_snapshots(demo_copy) == []
    con.close()


def test_a_snapshot_opens_only_within_the_viewers_scope(demo_copy: Path, app_env: None) -> None:
    from types import SimpleNamespace

    from crm_core.app import snapshot

    con = db.connect(demo_copy)
    east = SimpleNamespace(regions=("华东",), owners=None)
    everything = snapshot.freeze(con, demo_copy)  # made by an unrestricted user
    east_only = snapshot.freeze(con, demo_copy, scope=east, created_by="li")
    con.close()
    assert everything != east_only
    made_all, made_east = snapshot.info(demo_copy, everything), snapshot.info(demo_copy, east_only)
    assert made_all and made_east and made_east.scope == {"regions": ["华东"]}
    assert snapshot.can_view(made_all, None) and snapshot.can_view(made_east, None)
    assert snapshot.can_view(made_east, east)
    assert not snapshot.can_view(made_all, east)  # wider than the viewer may see
    north = SimpleNamespace(regions=("华北",), owners=None)
    assert not snapshot.can_view(made_east, north)
    # Through the app: the refused link is treated like an unknown one (live data, a note).
    at = make_app_test(demo_copy, params={"lang": "en", "snapshot": everything})
    signed_in(at, demo_copy, "east", regions=("华东",))  # a viewer of 华东 only
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The id is shown literally: token_urlsafe's "_" and "-" arrive Markdown-escaped.
    said = f"snapshot={md_escape(everything)}"
    assert any(said in w.value for w in at.sidebar.warning), [w.value for w in at.sidebar.warning]
    assert not any("Frozen" in i.value for i in at.sidebar.info)


def test_weeks_run_monday_to_sunday() -> None:
    # 2024-04-03 was a Wednesday (2024-04-01 a Monday): its week is 04-01..04-07; the last
    # whole week up to it ends on Sunday 2024-03-31; a Sunday is its own week's end.
    assert weekly.week_of(dt.date(2024, 4, 3)) == (dt.date(2024, 4, 1), dt.date(2024, 4, 7))
    assert weekly.last_full_week_end(dt.date(2024, 4, 3)) == dt.date(2024, 3, 31)
    assert weekly.last_full_week_end(dt.date(2024, 3, 31)) == dt.date(2024, 3, 31)
    assert weekly.last_full_week_end(dt.date(2024, 4, 1)) == dt.date(2024, 3, 31)
    f = Filters(end=dt.date(2024, 4, 3))
    assert weekly.report_week_end(None, f) == dt.date(2024, 3, 31)  # type: ignore[arg-type]


def test_present_pages_with_keys_and_has_a_way_back(demo_copy: Path, app_env: None) -> None:
    from crm_core.app import meeting

    con = db.connect(demo_copy)
    expected = meeting.all_slides(con, lang="en")
    con.close()
    at = make_app_test(demo_copy, "pages/present.py", {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == expected[0].title
    # The sidebar's default period (the 12 months to the last order) is a filter the slide names.
    assert any("period 2025-11-01 – 2026-10-31" in c.value for c in at.caption)
    # Arrow keys on the visible buttons, PageUp / PageDown (presenter remotes) on hidden twins.
    shortcuts = {b.key: b.proto.shortcut for b in at.button}
    assert shortcuts["slide_prev"] and shortcuts["slide_next"] and shortcuts["slide_pageup"]
    assert "pagedown" in shortcuts["slide_pagedown"].lower()
    links = at.get("page_link")
    assert [link.proto.label for link in links] == ["Exit presentation"]
    # To the Overview page with the language (and filters) kept, without the slide number.
    assert links[0].proto.page_script_hash and links[0].proto.query_string == "lang=en"
    # Deck, PDF and HTML (their file names carry the data date: test_exports, file_name).
    assert len(at.get("download_button")) == 3
    at.button(key="slide_pagedown").click().run()
    assert at.query_params["slide"] in ("2", ["2"])
    assert at.title[0].value == expected[1].title
    at.button(key="slide_prev").click().run()
    assert at.title[0].value == expected[0].title


def test_a_rerun_waits_for_the_running_render() -> None:
    # Two runs of one session at once would share its database cursor (.streamlit/config.toml).
    import tomllib

    with open(ROOT / ".streamlit" / "config.toml", "rb") as fh:
        assert tomllib.load(fh)["runner"]["fastReruns"] is False


@pytest.mark.parametrize("kind", ["none", "region", "category", "both", "scope"])
def test_weekly_new_customers_follow_the_filtered_lines(demo_con: db.Connection, kind: str) -> None:
    """New customers of a week are those whose first non-return line under the filters falls in
    it: counted here from the lines, for every week of the demo's last year."""
    region, category = demo_con.execute(
        "SELECT (SELECT min(region) FROM customers), (SELECT min(category) FROM orders)"
    ).fetchone()  # type: ignore[misc]
    f = {
        "none": Filters(),
        "region": Filters(region=region),
        "category": Filters(category=category),
        "both": Filters(region=region, category=category),
        "scope": Filters(regions=(region,)),
    }[kind]
    in_region = "o.customer_id IN (SELECT customer_id FROM customers WHERE region = $region)"
    where = " AND ".join(
        ["NOT o.is_return"]
        + ([in_region] if kind in ("region", "both", "scope") else [])
        + (["o.category = $category"] if kind in ("category", "both") else [])
    )
    params = {"region": region} if "$region" in where else {}
    if "$category" in where:
        params["category"] = category
    firsts = demo_con.execute(
        f"SELECT min(o.order_date) FROM orders AS o WHERE {where} GROUP BY o.customer_id", params
    ).fetchall()
    last = demo_con.execute("SELECT max(order_date) FROM orders").fetchone()[0]  # type: ignore[index]
    week_end = last.date()
    counted = 0
    for _ in range(52):
        start = week_end - dt.timedelta(days=6)
        lo = dt.datetime.combine(start, dt.time())
        hi = dt.datetime.combine(week_end + dt.timedelta(days=1), dt.time())
        expected = sum(1 for (first,) in firsts if lo <= first < hi)
        got = weekly.weekly_comparison(demo_con, week_end, f).set_index("measure")
        assert got.loc["new_customers", "this_week"] == expected, (kind, week_end)
        counted += expected
        week_end -= dt.timedelta(days=7)
    assert counted > 0  # the weeks held new customers to count
