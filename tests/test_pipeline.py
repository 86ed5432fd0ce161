"""Lead pipeline: reached-stage funnel with a skipped stage, stage order, close rate, Maven export,
24 h delivery follow-up boundaries, contact cadence, overdue leads; the demo data and the shared
per-view contact counts against each report computing its own; the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_app_test
from test_facts import assert_same

from crm_core import ingest
from crm_core.engine import db, facts
from crm_core.metrics import figures, overview, pipeline
from crm_core.metrics.filters import Filters, filter_options
from crm_core.metrics.pipeline import followup
from crm_core.metrics.pipeline.stages import _classify
from crm_core.present import i18n


def _load(con: db.Connection, folder: Path, **files: str) -> None:
    sources = []
    for table, text in files.items():
        path = folder / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        sources.append(ingest.Source(path, table))
    ingest.load(con, sources, "replace")


def _stats(rows: list[tuple], changed: bool = True) -> pd.DataFrame:
    """pipeline_stage_stats-shaped rows: (stage, outcome, leads, median days to stage)."""
    return pd.DataFrame(
        {
            "segment": "(all)",
            "stage": [r[0] for r in rows],
            "outcome": [r[1] for r in rows],
            "leads": [r[2] for r in rows],
            "with_stage_time": [r[2] if changed else 0 for r in rows],
            "median_days_to_stage": [r[3] if changed else None for r in rows],
            "median_days_to_close": None,
            "median_days_in_stage": None,
        }
    )


LEADS = """lead_id,created_at,stage,outcome,grade,owner,source,stage_changed_at,closed_at
L1,2024-12-01 09:00,新线索,,H,王芳,车展,2024-12-01 09:00,
L2,2024-12-01 09:00,报价,,A,王芳,车展,2024-12-06 09:00,
L3,2024-11-01 09:00,成交,赢单,H,李强,网络线索,2024-11-11 09:00,2024-11-11 09:00
L4,2024-11-01 09:00,战败,输单,C,李强,网络线索,2024-11-21 09:00,2024-11-21 09:00
L5,2024-11-15 09:00,报价,输单,B,王芳,车展,2024-11-25 09:00,2024-11-25 09:00
"""


@pytest.fixture
def leads_con(tmp_path: Path) -> Iterator[db.Connection]:
    con = db.connect(tmp_path / "leads.duckdb")
    _load(con, tmp_path, leads=LEADS)
    yield con
    con.close()


def test_funnel_with_a_skipped_stage(leads_con: db.Connection) -> None:
    stats = pipeline.stage_stats(leads_con)
    order = pipeline.stage_order(stats)
    assert order.vocabulary == "zh_auto" and order.basis == "vocabulary"
    f = pipeline.lead_funnel(stats, order).set_index("step")
    # Nobody is at 已联系 or 到店/试驾 now, but L2 (报价), L3 (won) and L5 (lost at 报价) passed them.
    # L4 says only 战败: it counts at the entry stage.
    assert f["reached"].tolist() == [5, 3, 3, 3, 1]
    assert f["lost_here"].tolist() == [1, 0, 0, 1, 0]
    assert f["conversion"].round(4).tolist()[1:] == [0.6, 1.0, 1.0, round(1 / 3, 4)]
    assert f["key"].tolist() == ["new_lead", "contacted", "visit_test_drive", "quote", "won"]
    # With evidence that unlabelled losses got further, they can be placed there.
    g = pipeline.lead_funnel(stats, order, lost_reached="已联系").set_index("step")
    assert g["reached"].tolist() == [5, 4, 3, 3, 1]


def test_close_rate_and_prospects_needed(leads_con: db.Connection) -> None:
    rates = pipeline.close_rates(pipeline.stage_stats(leads_con)).iloc[0]
    # won L3; lost L4, L5; open L1, L2.
    assert (rates["won"], rates["lost"], rates["open"]) == (1, 2, 2)
    assert rates["close_rate"] == pytest.approx(1 / 3)
    assert rates["lead_to_win"] == pytest.approx(1 / 5)
    assert pipeline.prospects_needed(10, 0.2) == 50  # the course's 1 : 5
    assert pipeline.prospects_needed(10, 1 / 3) == 30
    assert pipeline.prospects_needed(7, 0.22) == 32  # 31.8 -> 32
    assert pipeline.prospects_needed(10, None) is None


def test_funnel_by_grade(leads_con: db.Connection) -> None:
    rep = pipeline.funnel_report(leads_con, None, None)
    assert rep is not None and rep.unplaced_lost == 1
    by = pipeline.funnel_by(leads_con, None, None, by="grade").set_index("grade")
    steps = ["新线索", "已联系", "到店/试驾", "报价", "成交"]
    assert by.loc["H", steps].tolist() == [2, 1, 1, 1, 1]  # L1 new, L3 won
    assert by.loc["B", steps].tolist() == [1, 1, 1, 1, 0]  # L5 lost at 报价
    assert by.loc["H", "close_rate"] == 1.0
    assert by.index.tolist() == ["H", "A", "B", "C"]  # most leads first, then by name


def test_stage_stats_with_all_is_both_statements(demo_con: db.Connection) -> None:
    # funnel_by's one statement: the stats of all leads and of the segments, frame-equal to
    # stage_stats for each, under a period and a source filter too.
    period = overview.default_period(demo_con)
    assert period is not None
    source = Filters(source=filter_options(demo_con)["source"][0])
    for start, end, f in [(None, None, Filters()), (period.start, period.end, source)]:
        as_of = end or pipeline.data_end(demo_con)
        assert as_of is not None
        for by in ("source", "owner", "grade"):
            stats, seg = pipeline.stage_stats_with_all(demo_con, start, end, f, by, as_of)
            pd.testing.assert_frame_equal(
                stats, pipeline.stage_stats(demo_con, start, end, f, None, as_of)
            )
            pd.testing.assert_frame_equal(
                seg, pipeline.stage_stats(demo_con, start, end, f, by, as_of)
            )


def test_velocity_from_a_current_stage_export(leads_con: db.Connection) -> None:
    v = pipeline.velocity(pipeline.stage_stats(leads_con, as_of=dt.date(2024, 12, 10)))
    row = v[(v["stage"] == "报价") & (v["status"] == "open")].iloc[0]
    assert row["median_days_to_stage"] == 5.0  # L2: created 12-01, at 报价 since 12-06
    assert row["median_days_in_stage"] == 4.625  # 12-06 09:00 -> end of 12-10 = 4 d 15 h
    won = v[v["status"] == "won"].iloc[0]
    assert won["median_days_to_close"] == 10.0


def test_stage_order_vocabularies_and_fallback() -> None:
    maven = pipeline.stage_order(
        _stats(
            [("Engaging", None, 5, None), ("Won", None, 4, None), ("Lost", None, 3, None)],
            changed=False,
        )
    )
    assert maven.vocabulary == "maven" and maven.steps == ("Prospecting", "Engaging", "Won")
    # Stages no vocabulary knows: ordered by median days to reach them, and said so.
    odd = _stats(
        [
            ("Intro", None, 9, 0.0),
            ("Contract", None, 2, 20.0),
            ("Demo", None, 4, 6.0),
            ("Signed", "won", 3, 30.0),
            ("Dropped", "lost", 5, 12.0),
        ]
    )
    o = pipeline.stage_order(odd)
    assert o.basis == "timing" and o.stages == ("Intro", "Demo", "Contract")
    assert o.won == "Signed" and "dropped" in o.lost_values
    assert set(o.inferred) == {"Intro", "Demo", "Contract"}
    # Without stage-change times: by lead count, larger first.
    c = pipeline.stage_order(
        _stats(
            [
                ("Intro", None, 9, 0),
                ("Contract", None, 2, 0),
                ("Demo", None, 4, 0),
                ("Signed", "won", 3, 0),
            ],
            changed=False,
        )
    )
    assert c.basis == "count" and c.stages == ("Intro", "Demo", "Contract")
    # A stage the zh vocabulary lacks is slotted in by timing among the known ones.
    mixed = _stats(
        [
            ("新线索", None, 9, 0.0),
            ("已联系", None, 5, 2.0),
            ("二次到店", None, 3, 9.0),
            ("报价", None, 2, 12.0),
            ("成交", "赢单", 2, 15.0),
        ]
    )
    m = pipeline.stage_order(mixed)
    assert m.stages == ("新线索", "已联系", "到店/试驾", "二次到店", "报价")
    f = pipeline.lead_funnel(mixed, m)
    assert f["reached"].is_monotonic_decreasing


def test_maven_pipeline_export(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "maven_pipeline" / "sales_pipeline.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    con = db.connect(tmp_path / "maven.duckdb")
    result = ingest.load(con, [ingest.Source(path, "leads")], "replace")
    assert result.reports[0].rows_loaded == 8300  # 500 Prospecting rows have no engage_date
    stats = pipeline.stage_stats(con)
    order = pipeline.stage_order(stats)
    assert order.vocabulary == "maven"
    f = pipeline.lead_funnel(stats, order)
    assert f["step"].tolist() == ["Prospecting", "Engaging", "Won"]
    assert f["reached"].tolist() == [8300, 1589 + 4238, 4238]
    assert f["reached"].is_monotonic_decreasing
    assert pipeline.close_rates(stats, order)["close_rate"].iloc[0] == pytest.approx(
        4238 / (4238 + 2473)
    )
    out = figures.metrics(con)
    assert list(out["lead_funnel"]) == ["prospecting", "engaging", "won"]
    assert out["followup_24h_share"] is None  # no orders, no interactions
    con.close()


# --------------------------------------------------------------------------- follow-up

FU_CUSTOMERS = """customer_id,name,owner
A,in 23:59,王芳
B,at 24:00,王芳
C,at 24:01,李强
D,before the order,李强
E,never called,李强
"""
FU_ORDERS = """order_id,customer_id,order_date,amount,category
o1,A,2024-03-01 10:00,150000,新车销售
o2,B,2024-03-01 10:00,150000,新车销售
o3,C,2024-03-01 10:00,150000,新车销售
o4,D,2024-03-01 10:00,150000,新车销售
o5,E,2024-03-01 10:00,150000,新车销售
s1,A,2024-03-05 10:00,500,维修保养
"""
FU_INTERACTIONS = """interaction_id,customer_id,occurred_at,purpose
i1,A,2024-03-02 09:59,交车回访
i2,B,2024-03-02 10:00,交车回访
i3,C,2024-03-02 10:01,交车回访
i4,D,2024-03-01 09:59,线索跟进
"""


@pytest.fixture
def fu_con(tmp_path: Path) -> Iterator[db.Connection]:
    con = db.connect(tmp_path / "fu.duckdb")
    _load(con, tmp_path, customers=FU_CUSTOMERS, orders=FU_ORDERS, interactions=FU_INTERACTIONS)
    yield con
    con.close()


def test_24h_boundaries(fu_con: db.Connection) -> None:
    assert pipeline.delivery_category(fu_con) == "新车销售"
    d = pipeline.followup_deliveries(fu_con, dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    got = dict(zip(d["customer_id"], d["within"], strict=True))
    # 23 h 59 m in; exactly 24 h in (both ends included); 24 h 01 m out; before the order out.
    assert got == {"A": True, "B": True, "C": False, "D": False, "E": False}
    assert d.set_index("customer_id").loc["C", "hours_to_contact"] == pytest.approx(24 + 1 / 60)
    assert "s1" not in set(d["order_id"])  # a service visit is not a delivery
    march = (fu_con, dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    s = pipeline.followup_summary(*march).iloc[0]
    # A and B of the 5 deliveries in time: 2 / 5; hours A 23.98, B 24, C 24.02 -> median 24.
    assert (s["segment"], s["deliveries"], s["within"], s["share"]) == ("(all)", 5, 2, 0.4)
    assert s["median_hours"] == pytest.approx(24.0)
    by = pipeline.followup_summary(*march, by="owner").set_index("owner")
    assert by.loc["王芳", "share"] == 1.0 and by.loc["李强", "share"] == 0.0
    assert by["deliveries"].sum() == 5
    # The page's one statement for both groupings gives the same two frames, also when a period
    # has no deliveries (no rows).
    for span in (march, (fu_con, dt.date(2023, 1, 1), dt.date(2023, 1, 31))):
        both = pipeline.followup_summaries(*span)
        pd.testing.assert_frame_equal(both[0], pipeline.followup_summary(*span))
        pd.testing.assert_frame_equal(both[1], pipeline.followup_summary(*span, by="owner"))


def test_all_orders_count_without_a_delivery_category(fu_con: db.Connection) -> None:
    assert pipeline.delivery_category(fu_con, ("New vehicle",)) is None
    d = pipeline.followup_deliveries(
        fu_con, dt.date(2024, 3, 1), dt.date(2024, 3, 31), category=None
    )
    assert len(d) == 6  # s1 counts too, and has no contact after it


CADENCE_LEADS = """lead_id,created_at,stage,grade,owner,closed_at,outcome
H1,2024-12-01 00:00,已联系,H,王芳,,
A1,2024-12-01 00:00,已联系,A,王芳,,
C1,2024-12-01 00:00,新线索,C,李强,,
W1,2024-11-01 00:00,成交,H,李强,2024-11-05 00:00,赢单
"""
CADENCE_CONTACTS = """interaction_id,lead_id,occurred_at
c1,H1,2024-12-01 12:00
c2,H1,2024-12-04 00:00
c3,H1,2024-12-08 00:00
c4,A1,2024-12-05 00:00
c5,W1,2024-11-01 06:00
c6,W1,2024-11-03 00:00
"""


def test_grade_cadence_and_overdue(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "cadence.duckdb")
    _load(con, tmp_path, leads=CADENCE_LEADS, interactions=CADENCE_CONTACTS)
    as_of = dt.date(2024, 12, 10)  # measured at the end of the day: 2024-12-11 00:00
    contacts = pipeline.lead_contacts(con, as_of).set_index("lead_id")
    # H1: open 10 days, 3 contacts -> every 3.33 d (required 2); W1: 4 days, 2 contacts -> 2 d.
    assert contacts.loc["H1", "actual_days"] == pytest.approx(10 / 3)
    assert contacts.loc["W1", "actual_days"] == 2.0
    assert contacts.loc["H1", "hours_to_first_contact"] == 12.0
    cad = pipeline.grade_cadence(con, as_of).set_index("grade")
    assert cad.index.tolist() == ["H", "A", "C"]
    assert cad.loc["H", "on_cadence_share"] == 0.5  # W1 on cadence, H1 not
    assert cad.loc["H", "median_actual_days"] == pytest.approx((10 / 3 + 2) / 2)
    assert cad.loc["C", "never_contacted"] == 1
    assert cad.loc["C", "required_days"] == 30.0
    # H1: 12-08 -> 12-11 = 3 d > 2 (1 d overdue); A1: 6 d <= 7; C1: 10 d since creation <= 30.
    assert contacts.loc["H1", "days_overdue"] == pytest.approx(1.0)
    assert contacts.loc["A1", "days_overdue"] == pytest.approx(6 - 7)
    order = pipeline.stage_order(pipeline.stage_stats(con, as_of=as_of))
    owners = pipeline.overdue_by_owner(con, as_of, order).set_index("owner")
    # W1 (李强) is won: 王芳 has H1 and A1 open, H1 overdue; 李强 has C1, not overdue (-20 d).
    assert owners.loc["王芳", ["open_leads", "overdue"]].tolist() == [2, 1]
    assert owners.loc["李强", ["open_leads", "overdue", "max_days_overdue"]].tolist() == [1, 0, -20]
    assert owners.index.tolist() == ["王芳", "李强"]  # most overdue first
    assert pipeline.overdue_list(con, as_of, order)["lead_id"].tolist() == ["H1"]
    # A stricter house rule for A leads (5 days) makes A1 overdue too.
    strict = pipeline.overdue_list(con, as_of, order, intervals={"A": 5.0})
    # A1: 12-05 -> 12-11 = 6 d > 5; both 1 d overdue for the same owner: by lead id.
    assert strict["lead_id"].tolist() == ["A1", "H1"]
    assert strict.set_index("lead_id").loc["A1", "days_overdue"] == pytest.approx(1.0)
    # What the page lists: the longest overdue of the two, and that the list holds two; with
    # room for both, the list in its own order. W1 (won) and C1 (-20 d) are never listed.
    top, n = pipeline.overdue_top(con, as_of, order, intervals={"A": 5.0}, limit=1)
    assert n == 2 and top["lead_id"].tolist() == ["A1"]  # 1 d each: the tie goes by lead id
    top, n = pipeline.overdue_top(con, as_of, order, intervals={"A": 5.0}, limit=5)
    pd.testing.assert_frame_equal(top, strict)
    assert pipeline.overdue_top(con, as_of, order, limit=5)[1] == 1
    con.close()


# --------------------------------------------------------------------------- demo data


def test_demo_funnel(demo_con: db.Connection) -> None:
    rep = pipeline.funnel_report(demo_con, None, None)
    assert rep is not None and rep.order.vocabulary == "zh_auto"
    f = rep.funnel
    assert f["reached"].is_monotonic_decreasing
    assert f["conversion"].dropna().between(0, 1).all()
    assert f["reached"].iloc[0] == 8000
    for by in ("source", "owner", "grade"):
        seg = pipeline.funnel_by(demo_con, None, None, by=by)
        assert seg["leads"].sum() == 8000
        for _, row in seg[list(rep.order.steps)].iterrows():
            assert row.is_monotonic_decreasing
    assert 0.15 < rep.rates["close_rate"].iloc[0] < 0.3  # about the course's 1 : 5
    out = figures.metrics(demo_con)
    funnel = list(out["lead_funnel"].values())
    assert funnel == sorted(funnel, reverse=True)
    assert out["lead_funnel"]["won"] == rep.rates["won"].iloc[0]
    assert 0 < out["followup_24h_share"] < 1


def test_demo_followup_finds_lax_owners(demo_con: db.Connection) -> None:
    rep = pipeline.followup_report(demo_con, dt.date(2025, 11, 1), dt.date(2026, 10, 31))
    assert rep is not None and rep.delivery_category == "新车销售"
    shares = rep.by_owner["share"]
    assert shares.min() < 0.7 < shares.max()  # some consultants are sloppy
    assert rep.cadence["grade"].tolist() == ["H", "A", "B", "C"]
    assert len(rep.overdue) > 0


def pipeline_reports(con: db.Connection, start: dt.date | None, end: dt.date | None, f: Filters):
    """Every report of the Pipeline page (pages/pipeline.py: funnel, funnel by each attribute,
    follow-up) and the pipeline calls of other pages (the digest's overdue list, the drill-down's
    stage statistics), plus a stricter house rule and the lead-level drill-down."""
    as_of = end or pipeline.data_end(con)
    assert as_of is not None
    return {
        "funnel": pipeline.funnel_report(con, start, end, f),
        **{by: pipeline.funnel_by(con, start, end, f, by) for by in ("source", "owner", "grade")},
        "followup": pipeline.followup_report(con, start, end, f),
        "digest": pipeline.overdue_list(con, as_of, end=as_of, filters=f),
        "strict": pipeline.overdue_by_owner(con, as_of, None, end, f, {"H": 1.0, "B": 5.0}),
        "strict_cadence": pipeline.grade_cadence(con, as_of, start, end, f, {"A": 3.0}),
        "stats": pipeline.stage_stats(con, start, end, f, None, as_of),
        "contacts": pipeline.lead_contacts(con, as_of, start, end, f),
    }


def test_shared_contact_counts_frame_equal_on_the_demo(demo_con: db.Connection) -> None:
    # Each report reading the view's shared contact counts gives the frames of each report
    # computing its own from the interactions: no filter, a source, a region, a scoped user (two owners),
    # a region with one owner, the last month, and the whole history (no period end).
    con = demo_con
    opts = filter_options(con)
    period = overview.default_period(con)
    assert period is not None
    sets = {
        "none": (period.start, period.end, Filters()),
        "source": (period.start, period.end, Filters(source=opts["source"][0])),
        "region": (period.start, period.end, Filters(region=opts["region"][-1])),
        "scoped": (period.start, period.end, Filters(owners=tuple(opts["owner"][:2]))),
        "region_owner": (
            period.start,
            period.end,
            Filters(region=opts["region"][0], owner=opts["owner"][1]),
        ),
        "month": (period.end.replace(day=1), period.end, Filters()),
        "all_time": (None, None, Filters()),
    }
    for name, (start, end, f) in sets.items():
        with facts.shared_windows(False):
            old = pipeline_reports(con, start, end, f)
        new = pipeline_reports(con, start, end, f)
        assert new["followup"] is not None and len(new["followup"].overdue), name
        assert_same(new, old, name)


def test_still_open_classifies_each_stage_outcome_pair_as_each_lead(
    demo_con: db.Connection,
) -> None:
    # Every demo lead (open, won, lost; outcomes missing or given): the pairwise classification
    # gives each lead's row-wise one.
    as_of = pipeline.data_end(demo_con)
    assert as_of is not None
    order = followup._open_order(demo_con, as_of, None, Filters())
    assert order is not None
    leads = pipeline.lead_contacts(demo_con, as_of)
    # None closed after as_of (the demo's closed leads closed by then): the stage decides.
    closed = pd.Series(False, index=leads.index)
    won, lost = set(order.won_values), set(order.lost_values)
    rowwise = (_classify(leads["stage"], leads["outcome"], won, lost) == "open") | closed
    assert rowwise.any() and not rowwise.all()
    pd.testing.assert_series_equal(followup._still_open(leads, order, closed), rowwise)


def _old_cut(full: pd.DataFrame, limit: int) -> pd.DataFrame:
    # What the page listed before overdue_top: the whole list cut in pandas.
    if len(full) <= limit:
        return full
    return full.nlargest(limit, "days_overdue", keep="first").reset_index(drop=True)


@pytest.mark.parametrize("shared", [True, False])
def test_overdue_top_is_the_cut_of_the_whole_list(demo_con: db.Connection, shared: bool) -> None:
    # The page's list, computed in SQL, equals the whole overdue list cut in pandas, and the
    # count equals its length: several filters and limits (fewer, as many as and more than the
    # list holds), contact counts shared or each report's own.
    con = demo_con
    opts = filter_options(con)
    as_of = pipeline.data_end(con)
    assert as_of is not None
    sets = [
        Filters(),
        Filters(region=opts["region"][0]),
        Filters(source=opts["source"][0]),
        Filters(owners=tuple(opts["owner"][:2])),
    ]
    with facts.shared_windows(shared):
        for f in sets:
            full = pipeline.overdue_list(con, as_of, None, as_of, f)
            assert len(full) > 5, f
            for limit in (5, len(full), len(full) + 7):
                top, n = pipeline.overdue_top(con, as_of, None, as_of, f, None, limit)
                assert n == len(full), (f, limit)
                pd.testing.assert_frame_equal(top, _old_cut(full, limit), obj=f"{f} {limit}")
            rep = pipeline.followup_report(con, None, as_of, f, shown=5)
            assert rep is not None and rep.overdue_total == len(full)
            pd.testing.assert_frame_equal(rep.overdue, pipeline.rounded(_old_cut(full, 5)))


def test_overdue_top_with_separator_characters_in_stages(tmp_path: Path) -> None:
    # A stage holding one of the characters that delimit the open (stage, outcome) pairs in
    # SQL: the whole list is cut in pandas instead, with the same result.
    con = db.connect(tmp_path / "sep.duckdb")
    _load(con, tmp_path, leads=CADENCE_LEADS, interactions=CADENCE_CONTACTS)
    con.execute("UPDATE leads SET stage = '已' || chr(31) || '联系' WHERE stage = '已联系'")
    as_of = dt.date(2024, 12, 10)
    order = pipeline.stage_order(pipeline.stage_stats(con, as_of=as_of))
    full = pipeline.overdue_list(con, as_of, order, intervals={"A": 5.0})
    assert any("\x1f" in str(s) for s in full["stage"]) and len(full) == 2
    top, n = pipeline.overdue_top(con, as_of, order, intervals={"A": 5.0}, limit=1)
    assert n == 2
    pd.testing.assert_frame_equal(top, _old_cut(full, 1))
    con.close()


def test_contact_counts_computed_once_per_view(
    demo_con: db.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[str] = []
    original = db.query_rows

    def counting(con: db.Connection, name: str, **params: object) -> object:
        if name.startswith("lead_contact_counts_"):
            builds.append(name)
        return original(con, name, **params)

    monkeypatch.setattr(db, "query_rows", counting)
    period = overview.default_period(demo_con)
    assert period is not None
    demo_con.execute("BEGIN TRANSACTION")
    try:
        pipeline.followup_report(demo_con, period.start, period.end)
        # Cadence and both overdue lists join their leads to one set of contact counts.
        assert builds == ["lead_contact_counts_build"]
        # Other filters, the same day: the same counts; another day: counts of their own.
        pipeline.followup_report(demo_con, period.start, period.end, Filters(source="车展"))
        assert builds == ["lead_contact_counts_build"]
        earlier = period.end - dt.timedelta(days=30)
        pipeline.followup_report(demo_con, period.start, earlier)
        assert builds == ["lead_contact_counts_build", "lead_contact_counts_append"]
    finally:
        demo_con.execute("ROLLBACK")


# --------------------------------------------------------------------------- page


def test_page_renders_with_filters(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/pipeline.py", {"lang": "en", "region": "华东"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 2
    assert not at.main.info  # the sidebar notes that the demo data is shown


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_without_leads_or_interactions(
    lang: str, tmp_path: Path, fixtures: Path, app_env: None
) -> None:
    path = tmp_path / "small.duckdb"
    con = db.connect(path)
    sources = [ingest.Source(fixtures / n) for n in ("customers_bom.csv", "orders_gbk.csv")]
    ingest.load(con, sources, "replace")
    con.close()
    at = make_app_test(path, "pages/pipeline.py", {"lang": lang}).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [i.value for i in at.info]
    assert shown == [i18n.t("pipeline.no_leads", lang), i18n.t("pipeline.no_interactions", lang)]


def test_page_on_the_maven_export(shared_data: Path, tmp_path: Path, app_env: None) -> None:
    path = shared_data / "maven_pipeline" / "sales_pipeline.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    db_path = tmp_path / "maven.duckdb"
    con = db.connect(db_path)
    ingest.load(con, [ingest.Source(path, "leads")], "replace")
    con.close()
    at = make_app_test(db_path, "pages/pipeline.py", {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]
    # No orders, no interactions: the funnel shows, the follow-up part asks for a file.
    assert [i.value for i in at.info] == [i18n.t("pipeline.no_interactions", "zh")]
    assert at.metric[0].value == "8,300"
