"""Shared per-customer windows (crm_core/facts.py): the same frames as each report computing its
own window from the order lines, whether they read the fact layer or the lines; computed once
per render, recomputed after a load, bounded per connection."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crm_core import ingest
from crm_core.app import meeting
from crm_core.engine import db, facts
from crm_core.metrics import (
    complaints,
    drill,
    lifecycle,
    lifecycle_cohorts,
    overview,
    value,
    weekly,
)
from crm_core.metrics.filters import Filters, filter_options
from crm_core.metrics.overview import Period

UCI = "uci_online_retail/online_retail_40k_line_sample.csv"
BUILDS = ("value_window_build", "value_window_append")
DAY_BUILDS = ("purchase_days_build", "purchase_days_append")


def pyramid_page(con: db.Connection, period: Period, f: Filters, measure: str) -> dict[str, Any]:
    """Every report of the Pyramid page (pages/pyramid.py) plus the value reports other pages
    read from the same window (drill-down lists, the Customer 360 values, the Present slides)."""
    out: dict[str, Any] = {
        "pyramid": value.value_pyramid(con, period, f, measure, lang="en"),
        "pareto": value.pareto(con, period, f),
        "rfm": value.rfm_segments(con, period, f, "en"),
        "migration": value.tier_migration(con, period, f, measure, lang="en"),
        "list": value.customer_list(con, period, f, None, measure, lang="en"),
        "list_tier": value.customer_list(con, period, f, "tier:regular", measure),
        "list_segment": value.customer_list(con, period, f, "segment:important_value", measure),
        "values": value.customer_values(con, period, f, measure),
        "tier_customers": drill.tier_customers(con, period, "gold", f, measure),
        "segment_customers": drill.segment_customers(con, period, "general_winback", f),
        "metrics": value.value_metrics(con, f),
    }
    if measure == "revenue":  # the slides rank by revenue
        for fn in (meeting.pyramid_slides, meeting.pareto_slides, meeting.rfm_slides):
            out[fn.__name__] = [(s.takeaway, s.chart, s.figure.to_json()) for s in fn(con, f, "zh")]
    return out


def lifecycle_page(con: db.Connection, period: Period, f: Filters) -> dict[str, Any]:
    """Every report of the Lifecycle page (pages/lifecycle.py: the report's stages now and the
    day before, new vs lost, cohorts) and the lifecycle calls of other pages."""
    return {
        "report": lifecycle_cohorts.lifecycle_report(con, period.start, period.end, f),
        "counts": lifecycle.stage_counts(con, period.end, f),
        "stages": lifecycle.customer_stages(con, period.end, f),
        # In no particular order (lifecycle_stage_of.sql has no ORDER BY): compared by customer.
        "stage_of": lifecycle.stage_of_customers(con, period.end, f)
        .sort_values("customer_id")
        .reset_index(drop=True),
        "new_lost": lifecycle_cohorts.new_vs_lost(con, period.end, period.start, f),
        "cohorts": lifecycle_cohorts.cohort_retention(con, period.end, period.start, period.end, f),
        # Cohorts acquired up to mid-period, followed to its end: the shared path picks them by
        # their first purchase month, which may lie after the last cohort's end day.
        "cohorts_to_mid": lifecycle_cohorts.cohort_retention(
            con, period.end, period.start, period.start + dt.timedelta(days=45), f
        ),
    }


def overview_page(con: db.Connection, period: Period, f: Filters) -> dict[str, Any]:
    """The Overview page's figures (pages/overview.py): the KPI tiles with their change, the
    monthly series, and the complaint trend's order counts; from the fact layer's days where
    every order lies in one customer's day."""
    return {
        "kpis": overview.kpi_deltas(con, period, f),
        "headline": overview.headline_kpis(con, period, f),
        "monthly": overview.monthly_trend(con, period, f),
        # The complaint trend's orders and active customers (the same day path).
        "complaint_trend": complaints.trend(con, period, "month", f),
        # The weekly report's orders and revenue, for the period's last two weeks.
        "weekly": weekly.weekly_comparison(con, period.end, f),
    }


def assert_same(new: Any, old: Any, where: str) -> None:
    if isinstance(new, pd.DataFrame):
        pd.testing.assert_frame_equal(new, old, obj=where)
    elif dataclasses.is_dataclass(new) and not isinstance(new, type):
        for field in dataclasses.fields(new):
            assert_same(getattr(new, field.name), getattr(old, field.name), f"{where}.{field.name}")
    elif isinstance(new, dict):
        assert new.keys() == old.keys(), where
        for k in new:
            assert_same(new[k], old[k], f"{where}[{k}]")
    elif isinstance(new, list | tuple):
        assert len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert new == old, where


def filter_sets(con: db.Connection, period: Period) -> dict[str, tuple[Period, Filters]]:
    """None; a region; a category; a scoped user (two owners); a short period (the last month);
    a quarter with a category when there is one; a region and a category over a period whose
    edges are not month starts."""
    opts = filter_options(con)
    sets = {"none": (period, Filters())}
    if opts.get("region"):
        sets["region"] = (period, Filters(region=opts["region"][0]))
    if opts.get("category"):
        sets["category"] = (period, Filters(category=opts["category"][-1]))
    if opts.get("owner"):
        sets["scoped"] = (period, Filters(owners=tuple(opts["owner"][:2])))
    short = Period(period.end.replace(day=1), period.end)
    sets["short"] = (short, Filters(start=short.start, end=short.end))
    quarter = Period(period.end - dt.timedelta(days=91), period.end)
    category = opts["category"][0] if opts.get("category") else None
    sets["quarter"] = (quarter, Filters(start=quarter.start, end=quarter.end, category=category))
    if opts.get("region") and category:
        # Edges inside months (the migration's earlier window too): a region and a category.
        mid = Period(period.start + dt.timedelta(days=17), period.end - dt.timedelta(days=9))
        both = Filters(start=mid.start, end=mid.end, region=opts["region"][-1], category=category)
        sets["region_category"] = (mid, both)
    return sets


def check_equal(con: db.Connection, label: str) -> int:
    """The shared windows read the fact layer (customer_days; order_days under the category
    filters); every report compared with each report computing its own window from the lines."""
    period = overview.default_period(con)
    assert period is not None
    assert facts.reads_fact_layer(con)
    checked = 0
    for name, (p, f) in filter_sets(con, period).items():
        for measure in value.measures(con):
            with facts.shared_windows(False):
                old = pyramid_page(con, p, f, measure)
            new = pyramid_page(con, p, f, measure)
            assert_same(new, old, f"{label}/{name}/{measure}")
            checked += 1
        with facts.shared_windows(False):
            old = lifecycle_page(con, p, f)
        assert_same(lifecycle_page(con, p, f), old, f"{label}/{name}/lifecycle")
        with facts.fact_layer(False):  # the Overview from the order lines
            old = overview_page(con, p, f)
        assert_same(overview_page(con, p, f), old, f"{label}/{name}/overview")
    return checked


def test_demo_frames_equal_to_each_report_computing_its_window(demo_con: db.Connection) -> None:
    # 7 filter sets x 2 measures (the demo has costs): every report frame-equal to the old path.
    assert check_equal(demo_con, "demo") == 14


def test_public_dataset_frames_equal(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / UCI
    if not src.is_file():
        pytest.skip(f"public dataset not found: {src}")
    con = db.connect(tmp_path / "uci.duckdb")
    ingest.load(con, [ingest.Source(src, "orders")])
    # Invoice lines only (no customers, no category, no cost): none, the last month, a quarter.
    # An invoice has many lines, each invoice on one day: the days add up to the windows.
    assert con.execute("SELECT * FROM order_proofs").fetchall() == [(False, True)]
    # So the Overview and the complaint trend count orders from the days' sale_orders.
    assert facts.day_orders_add_up(con)
    assert check_equal(con, "uci") == 3
    con.close()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter]:
    """Counts executions of the statements that compute a shared window."""
    seen: Counter = Counter()
    original = db.query_rows

    def counting(con: db.Connection, name: str, **params: Any) -> Any:
        if name in BUILDS:
            seen[(params["start"], params["owners"])] += 1
        return original(con, name, **params)

    monkeypatch.setattr(db, "query_rows", counting)
    yield seen


def render(con: db.Connection, page: Callable[[], Any]) -> None:
    """One page render as app.py runs it (ui.consistent_read): one read transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        page()
    finally:
        con.execute("ROLLBACK")


def test_window_computed_once_per_render_and_again_after_a_load(
    demo_copy: Path, tmp_path: Path, builds: Counter
) -> None:
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    earlier = value.earlier_period(period)
    page = lambda: pyramid_page(con, period, Filters(), "revenue")  # noqa: E731
    render(con, page)
    # The 11 value reports and 3 slides read two windows, each computed once: the period's and
    # the migration's earlier one.
    assert builds == {(period.start, None): 1, (earlier.start, None): 1}
    builds.clear()
    render(con, lambda: pyramid_page(con, period, Filters(), "profit"))
    # Ranked by profit: the tiers need the period's and the earlier window ranked so; Pareto and
    # RFM reuse the profit-ranked rows, and the revenue-ranked metrics add the third.
    assert builds == {(period.start, None): 2, (earlier.start, None): 1}
    builds.clear()
    render(con, page)  # the render's ROLLBACK dropped them: a render computes its own
    assert sum(builds.values()) == 2
    # A scoped user is another window, never the unscoped one.
    owner = filter_options(con)["owner"][0]
    scope = "\x1f" + owner + "\x1f"  # Filters.params() of that scope
    render(con, lambda: pyramid_page(con, period, Filters(owners=(owner,)), "revenue"))
    assert builds[(period.start, scope)] == 1

    # Outside a transaction (CLI, bench) the windows stay on the connection until the data
    # version changes.
    builds.clear()
    page()
    page()
    assert sum(builds.values()) == 2
    before = value.value_pyramid(con, period)
    orders = tmp_path / "more.csv"
    cid = con.execute("SELECT min(customer_id) FROM customers").fetchone()[0]  # type: ignore[index]
    day = period.end.isoformat()
    orders.write_text(
        f"order_id,customer_id,order_date,amount,category\nX-NEW-1,{cid},{day} 10:00:00,"
        "1000000.00,新车销售\n",
        encoding="utf-8",
    )
    ingest.load(con, [ingest.Source(orders, "orders")], "append")
    page()
    assert sum(builds.values()) == 4  # recomputed: both windows, once each
    after = value.value_pyramid(con, period)
    # One more order of 1,000,000.00 in the window: the tiers' net revenue grows by exactly that.
    assert after["revenue"].sum() - before["revenue"].sum() == pytest.approx(1_000_000.00)
    with facts.shared_windows(False):
        pd.testing.assert_frame_equal(value.value_pyramid(con, period), after)
    con.close()


def test_windows_bounded_per_connection(demo_copy: Path, builds: Counter) -> None:
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    for months in range(6):  # six periods, one month apart: six windows asked for
        p = Period(period.start - dt.timedelta(days=31 * months), period.end)
        value.value_pyramid(con, p)
    assert sum(builds.values()) == 6
    held = db.query_rows(con, "shared_window_keys", kind="value_window")
    assert len(held) == facts.MAX_WINDOWS  # the oldest two were dropped
    ids = {r[0] for r in held}
    rows = con.execute("SELECT DISTINCT window_id FROM value_window_rows").fetchall()
    assert {r[0] for r in rows} == ids == {3, 4, 5, 6}
    con.close()


def test_earlier_window_keeps_its_tiers_alone(demo_con: db.Connection) -> None:
    # The migration's earlier window (scores False) keeps what ranks and tiers its customers:
    # the same customers, tiers, value ranks, net revenue and profit as a scored window of the
    # same period, whether it adds up the fact layer's days (its pass sums those alone) or the
    # order lines; its other figures are NULL, never a 0 that could be read as one.
    period = overview.default_period(demo_con)
    assert period is not None
    earlier = value.earlier_period(period)
    kept = ["customer_id", "tier_no", "value_rank", "revenue", "profit"]
    dropped = ["gross_revenue", "returns_amount", "orders", "last_order_date", "recency_days"]
    dropped += ["r_score", "f_score", "m_score", "rfm_code", "name", "region"]
    for on in (True, False):
        with facts.fact_layer(on):
            params = value._params(earlier, Filters())
            tiers = facts.value_window(demo_con, {**params, "scores": False})
            scored = facts.value_window(demo_con, params)
        assert tiers is not None and scored is not None and tiers != scored
        read = "SELECT * FROM value_window_rows WHERE window_id = $w ORDER BY customer_id"
        a = demo_con.execute(read, {"w": tiers}).df()
        b = demo_con.execute(read, {"w": scored}).df()
        assert len(a) == len(b) > 0
        pd.testing.assert_frame_equal(a[kept], b[kept])
        assert a[dropped].isna().all().all()
        assert b[["gross_revenue", "orders", "r_score", "rfm_code"]].notna().any().all()


def test_other_engines_and_the_old_path_compute_their_own(demo_con: db.Connection) -> None:
    with facts.shared_windows(False):
        assert facts.value_window(demo_con, {}) is None


def test_windows_read_the_order_lines_without_the_fact_layer(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slots: list[Any] = []
    original = db.query_rows

    def watching(con: db.Connection, name: str, **params: Any) -> Any:
        if name in BUILDS:
            slots.append(params["_slots"])
        return original(con, name, **params)

    monkeypatch.setattr(db, "query_rows", watching)
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    value.value_pyramid(con, period)
    with facts.fact_layer(False):  # the raw path, switched off by hand
        raw = value.value_pyramid(con, period)
    # A database whose proof fails (an order over two days) or a meeting snapshot made before the
    # fact layer (no tables): the order lines, and the same frame.
    con.execute("UPDATE order_proofs SET orders_one_day = FALSE")
    assert not facts.reads_fact_layer(con)
    p2 = Period(period.start + dt.timedelta(days=1), period.end)
    value.value_pyramid(con, p2)
    con.execute("DROP TABLE customer_days")
    assert not facts.reads_fact_layer(con)
    # Ranked by revenue (the default), each window reads M from the value rank.
    m = facts.M_FROM_RANK
    assert slots == [facts.VALUE_WINDOW.facts + m, m, m]
    with facts.shared_windows(False):
        pd.testing.assert_frame_equal(value.value_pyramid(con, period), raw)
    con.close()


def test_purchase_days_computed_once_per_lifecycle_render(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: Counter = Counter()
    original = db.query_rows

    def counting(con: db.Connection, name: str, **params: Any) -> Any:
        if name in DAY_BUILDS:
            seen[params["category"]] += 1
        return original(con, name, **params)

    monkeypatch.setattr(db, "query_rows", counting)
    con = db.connect(demo_copy)
    period = overview.default_period(con)
    assert period is not None
    render(con, lambda: lifecycle_page(con, period, Filters()))
    # Six calls, three of them the report's (stages at two dates, new vs lost, cohorts): one
    # customer x day aggregation, shared by all.
    assert seen == {None: 1}
    category = filter_options(con)["category"][0]
    render(con, lambda: lifecycle_page(con, period, Filters(category=category)))
    assert seen == {None: 1, category: 1}
    con.close()


def test_pages_compute_each_window_once_per_render(
    demo_copy: Path, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import make_app_test

    seen: Counter = Counter()
    original = db.query_rows

    def counting(con: db.Connection, name: str, **params: Any) -> Any:
        if name in BUILDS + DAY_BUILDS:
            seen[name.split("_")[0]] += 1
        return original(con, name, **params)

    monkeypatch.setattr(db, "query_rows", counting)
    at = make_app_test(demo_copy, "pages/pyramid.py", {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    # Five tabs (tiers, Pareto, RFM, migration, list) in one render: the period's window and the
    # migration's earlier one, once each.
    assert seen == {"value": 2}
    seen.clear()
    at = make_app_test(demo_copy, "pages/lifecycle.py", {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert seen == {"purchase": 1}


def test_m_score_from_the_value_rank_equals_ntile_with_ties(tmp_path: Path) -> None:
    # Buyer Kii orders once on 2024-01-ii; revenue ties at 50, 100, 200 and 300; costs make the
    # profit order differ. Ranked by revenue the shared window reads M from the value rank
    # (ntile's formula), ranked by profit it sorts again: both equal the per-report ntile(5)
    # for every count of buyers n = 12 .. 1 (the window starting on day k holds 13 - k buyers).
    revenue = [300, 100, 100, 200, 100, 200, 50, 300, 100, 50, 200, 100]
    cost = [290, 10, 60, 100, 90, 150, 0, 100, 50, 40, 10, 70]
    lines = [
        f"O{i},K{i:02d},2024-01-{i:02d},{r}.00,{c}.00"
        for i, (r, c) in enumerate(zip(revenue, cost, strict=True), start=1)
    ]
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,order_date,amount,cost\n" + "\n".join(lines) + "\n")
    con = db.connect(tmp_path / "ties.duckdb")
    ingest.load(con, [ingest.Source(orders, "orders")])
    assert facts.reads_fact_layer(con)
    end = dt.date(2024, 1, 31)
    for k in range(1, 13):
        p = Period(dt.date(2024, 1, k), end)
        for measure in ("revenue", "profit"):
            new = value.customer_list(con, p, measure=measure, lang="en")
            with facts.shared_windows(False):
                old = value.customer_list(con, p, measure=measure, lang="en")
            pd.testing.assert_frame_equal(new, old, obj=f"k={k} {measure}")
    # All 12 buyers, M's order (revenue ascending, id descending): K10 K07 | K12 K09 K05 K03 K02
    # | K11 K06 K04 | K08 K01; ntile(5) over 12 rows: 12 // 5 = 2 per bucket, the first
    # 12 % 5 = 2 buckets one more: 3, 3, 2, 2, 2 rows.
    m = value.customer_list(con, Period(dt.date(2024, 1, 1), end)).set_index("customer_id")
    assert m["m_score"].sort_index().tolist() == [5, 3, 2, 4, 2, 4, 1, 5, 2, 1, 3, 1]
    #   K01 5, K02 3, K03 2, K04 4, K05 2, K06 4, K07 1, K08 5, K09 2, K10 1, K11 3, K12 1
    con.close()


def test_r_score_from_recency_places_equals_ntile_with_ties(tmp_path: Path) -> None:
    # Buyers K1 K2 order on Jan 1, K3 K4 K5 on Jan 2, K6 K7 on Jan 3 (100.00 each); as of Jan 31
    # their recencies are 30, 29, 28. R's order (recency descending, customer_id descending):
    # K2 K1 | K5 K4 K3 | K7 K6, places 0..6; ntile(5) over 7 rows: 7 // 5 = 1 per bucket, the
    # first 7 % 5 = 2 one more: places 0-1 -> 1, 2-3 -> 2, 4 -> 3, 5 -> 4, 6 -> 5. Recency 30
    # lies in one quintile; 29 and 28 span two, where customer_id decides.
    days = [1, 1, 2, 2, 2, 3, 3]
    lines = [f"O{i},K{i},2024-01-0{d},100.00" for i, d in enumerate(days, start=1)]
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,order_date,amount\n" + "\n".join(lines) + "\n")
    con = db.connect(tmp_path / "recency.duckdb")
    ingest.load(con, [ingest.Source(orders, "orders")])
    assert facts.reads_fact_layer(con)
    end = dt.date(2024, 1, 31)
    r = value.customer_list(con, Period(dt.date(2024, 1, 1), end)).set_index("customer_id")
    assert r["r_score"].sort_index().tolist() == [1, 1, 3, 2, 2, 5, 4]
    #   K1 1, K2 1, K3 3, K4 2, K5 2, K6 5, K7 4
    for k in (1, 2, 3):  # 7, 5 and 2 buyers: every count the same as ntile over the lines
        p = Period(dt.date(2024, 1, k), end)
        new = value.customer_list(con, p, lang="en")
        with facts.shared_windows(False):
            old = value.customer_list(con, p, lang="en")
        pd.testing.assert_frame_equal(new, old, obj=f"from Jan {k}")
    con.close()


def test_pareto_from_the_value_rank_equals_the_sorted_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Buyers K1..K7 with revenue 300, 100, 100, 200, 100, 50, 200 (ties at 100 and 200; costs
    # make the profit order differ). The Pareto order (revenue descending, then customer_id):
    # K1 300 | K4 200, K7 200 | K2 100, K3 100, K5 100 | K6 50; running sums 300, 500, 700,
    # 800, 900, 1000, 1050. With points = 3 and n = 7 a rank r is in bucket ceil(3r / 7):
    # ranks 1-2 -> 1, 3-4 -> 2, 5-7 -> 3, so the curve's points are ranks 2, 4, 7 with
    # cumulative revenue 500, 800, 1050; the top 20 %: ceil(0.2 * 7) = 2 buyers, 500 / 1050.
    revenue = [300, 100, 100, 200, 100, 50, 200]
    cost = [290, 10, 60, 100, 90, 0, 150]
    lines = [
        f"O{i},K{i},2024-01-0{i},{r}.00,{c}.00"
        for i, (r, c) in enumerate(zip(revenue, cost, strict=True), start=1)
    ]
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,order_date,amount,cost\n" + "\n".join(lines) + "\n")
    with db.connect(tmp_path / "pareto.duckdb") as con:
        ingest.load(con, [ingest.Source(orders, "orders")])
    names: list[str] = []
    real = db.query

    def named(c: Any, name: str, **params: Any) -> pd.DataFrame:
        names.append(name)
        return real(c, name, **params)

    monkeypatch.setattr(db, "query", named)
    p = Period(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    for measure, path in (("revenue", "value_pareto_ranked"), ("profit", "value_pareto_shared")):
        with db.connect(tmp_path / "pareto.duckdb") as fresh:
            value.value_pyramid(fresh, p, measure=measure)  # the page's window, by `measure`
            names.clear()
            new = value.pareto(fresh, p, points=3)
            assert path in names, (measure, names)
            with facts.shared_windows(False):
                old = value.pareto(fresh, p, points=3)
        assert (new.customers, new.top_customers) == (old.customers, old.top_customers) == (7, 2)
        assert new.top_revenue_share == old.top_revenue_share == 500 / 1050
        pd.testing.assert_frame_equal(new.curve, old.curve)
        assert new.curve["customer_share"].tolist() == [0, 2 / 7, 4 / 7, 1]
        assert new.curve["revenue_share"].tolist() == [0, 500 / 1050, 800 / 1050, 1]
