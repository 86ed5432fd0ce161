"""Complaint analytics: hand-computed fixtures, public export formats, demo and real data, page."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, make_app_test

from crm_core import ingest
from crm_core.engine import db, facts, summaries
from crm_core.metrics import complaints, complaints_outcomes, figures
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import caveat_text, charts, i18n

T = dt.datetime


def add(con: db.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts of column -> value) into a canonical table; after order lines, rebuild
    the summary tables from them, as every load does (the fact layer, customer_orders)."""
    if table == "orders":
        rows = [{"line_no": 1, "is_return": False, "amount": 100, **r} for r in rows]
    cols = sorted({k for r in rows for k in r})
    con.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [[r.get(c) for c in cols] for r in rows],
    )
    if table == "orders":
        summaries.refresh(con)


def complaint(cid: str, received: T, category: str = "A", **kw: Any) -> dict[str, Any]:
    return {"complaint_id": cid, "received_at": received, "category": category, **kw}


# --------------------------------------------------------------------------- stages and SLA


def test_stage_durations_with_missing_intermediate_timestamps(con: db.Connection) -> None:
    add(
        con,
        "complaints",
        [
            # A: no feedback logged, so "closed" runs from "handled".
            complaint(
                "A",
                T(2026, 3, 2, 8),
                accepted_at=T(2026, 3, 2, 9),
                handled_at=T(2026, 3, 2, 13),
                closed_at=T(2026, 3, 3, 9),
            ),
            # B: no acceptance logged, so "handled" runs from receipt; it still reached "accepted".
            complaint(
                "B",
                T(2026, 3, 2, 10),
                handled_at=T(2026, 3, 2, 16),
                feedback_at=T(2026, 3, 2, 18),
                closed_at=T(2026, 3, 3, 10),
            ),
            complaint("C", T(2026, 3, 3, 8), accepted_at=T(2026, 3, 3, 8, 30)),  # still open
            # D: accepted an hour before it was received, a data error.
            complaint("D", T(2026, 3, 4, 10), accepted_at=T(2026, 3, 4, 9)),
        ],
    )
    df = complaints.stage_funnel(con, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    s = df.set_index("stage")
    assert list(df["stage"]) == list(complaints.STAGES)
    # B reached "accepted" and A "feedback" through their later stages.
    assert s["reached"].tolist() == [4, 4, 2, 2, 2]
    assert s["logged"].tolist() == [4, 3, 2, 1, 2]
    # accepted: A 9-8 = 1 h, C 0.5 h; D (-1 h) is an error, left out.
    assert s.loc["accepted", "measured"] == 2 and s.loc["accepted", "errors"] == 1
    assert s.loc["accepted", "median_h"] == pytest.approx(0.75)  # (0.5 + 1) / 2
    assert s.loc["accepted", "p90_h"] == pytest.approx(0.95)  # 0.5 + 0.9 * (1 - 0.5)
    # handled: A 13-9 = 4 h (from acceptance), B 16-10 = 6 h (from receipt) -> median 5.
    assert s.loc["handled", "median_h"] == pytest.approx(5.0)
    assert s.loc["handled", "p90_h"] == pytest.approx(5.8)  # 4 + 0.9 * 2
    assert s.loc["feedback", "median_h"] == pytest.approx(2.0)  # B 18-16
    # closed: A from handled 13:00 to 9:00 next day = 20 h; B from feedback 18:00 to 10:00 = 16 h.
    assert s.loc["closed", "median_h"] == pytest.approx(18.0)


def _sla_fixture(con: db.Connection) -> None:
    d = T(2026, 3, 2, 8)
    add(
        con,
        "complaints",
        [
            # Exactly 4 h to accept and 48 h to resolve: both within (medium severity).
            complaint(
                "K1", d, severity="中", accepted_at=T(2026, 3, 2, 12), handled_at=T(2026, 3, 4, 8)
            ),
            # One second later: both breached.
            complaint(
                "K2",
                d,
                severity="中",
                accepted_at=T(2026, 3, 2, 12, 0, 1),
                handled_at=T(2026, 3, 4, 8, 0, 1),
            ),
            # High severity: 2 h 01 to accept breaches (it would be fine as medium); 23 h resolve ok.
            complaint(
                "K3",
                d,
                severity="高",
                accepted_at=T(2026, 3, 2, 10, 1),
                handled_at=T(2026, 3, 3, 7),
            ),
            # Open, 3 h old at the as-of time: both pending.
            complaint("K4", T(2026, 3, 10, 9), severity="低"),
            # Open, 5 h old: accept already breached, resolve pending.
            complaint("K5", T(2026, 3, 10, 7), severity="中"),
            # Blank severity gets the medium hours: 3 h accept ok, 72 h resolve breached.
            complaint("K6", d, accepted_at=T(2026, 3, 2, 11), handled_at=T(2026, 3, 5, 8)),
        ],
    )


def test_sla_breach_boundary_and_severity(con: db.Connection) -> None:
    _sla_fixture(con)
    period, as_of = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), T(2026, 3, 10, 12)
    row = complaints.sla_breaches(con, period, as_of=as_of).iloc[0]
    # accept: met K1, K6; breached K2, K3, K5; pending K4 -> 3 / 5.
    assert (row.accept_met, row.accept_breached, row.accept_pending) == (2, 3, 1)
    assert row.accept_breach_rate == pytest.approx(0.6)
    # resolve: met K1, K3; breached K2, K6; pending K4, K5 -> 2 / 4.
    assert (row.resolve_met, row.resolve_breached, row.resolve_pending) == (2, 2, 2)
    assert row.resolve_breach_rate == pytest.approx(0.5)
    by_sev = complaints.sla_breaches(con, period, "severity", as_of=as_of).set_index("severity")
    assert by_sev.loc["高", "accept_breached"] == 1
    # A configured SLA, medium may take 60 h to resolve: K2 (48 h + 1 s) is met now, K6 (72 h,
    # blank = medium) is still breached -> 1 / 4.
    loose = complaints.Sla(accept=(2, 4, 4), resolve=(24, 60, 48))
    row = complaints.sla_breaches(con, period, sla=loose, as_of=as_of).iloc[0]
    assert row.resolve_breach_rate == pytest.approx(0.25)
    assert complaints.Sla.from_cells({k: h for k, (_, h) in loose.cells().items()}) == loose


def test_backlog_by_age(con: db.Connection) -> None:
    _sla_fixture(con)
    df = complaints.backlog(con, as_of=T(2026, 3, 12, 12))
    # Open (no closed time): all six; K4 and K5 are 2 days old (bucket 1-3), K1-3, K6 10 days.
    got = df.groupby("age_label")["complaints"].sum().to_dict()
    assert got == {"1–3": 2, "7–30": 4}


def test_headline_median_errors_and_satisfaction(con: db.Connection) -> None:
    d = T(2026, 3, 2, 0)
    add(
        con,
        "complaints",
        [
            complaint("R1", d, closed_at=d + dt.timedelta(hours=10), satisfaction=5),
            complaint("R2", d, closed_at=d + dt.timedelta(hours=20), satisfaction=4),
            complaint("R3", d, closed_at=d + dt.timedelta(hours=30), satisfaction=3),
            # A closed time counts whatever the status says.
            complaint("R4", d, closed_at=d + dt.timedelta(hours=41), status="处理中"),
            complaint("R5", d, closed_at=d - dt.timedelta(hours=1), satisfaction=1),  # error
            complaint("R6", d),  # open
        ],
    )
    h = complaints.headline(con)
    assert h["complaints"] == 6
    assert h["median_resolution_hours"] == pytest.approx(25.0)  # (20 + 30) / 2, R5 left out
    assert h["resolution_time_errors"] == 1
    assert h["satisfied_share"] == pytest.approx(0.5)  # 5 and 4 of 5, 4, 3, 1


def test_metrics_on_an_empty_database(con: db.Connection) -> None:
    out = figures.metrics(con)
    assert out["complaints_monthly"] == {}
    assert out["median_resolution_hours"] is None
    assert out["sla_breach_rate"] is None
    assert out["satisfied_share"] is None
    assert out["resolution_time_errors"] == 0
    json.dumps(out, default=str)


# --------------------------------------------------------------------------- trend


def test_spike_rule_flags_an_injected_spike_and_no_flat_week(con: db.Connection) -> None:
    monday = dt.date(2026, 1, 5)
    rows = []
    for week in range(1, 21):
        b = 15 if week in (17, 18) else 3  # category B jumps from 3 to 15 a week for two weeks
        day = T.combine(monday + dt.timedelta(weeks=week - 1, days=1), dt.time(10))
        for cat, n in (("A", 3), ("B", b)):
            rows += [
                complaint(f"{week}-{cat}-{i}", day + dt.timedelta(minutes=i), cat) for i in range(n)
            ]
    add(con, "complaints", rows)
    flags = complaints.spike_flags(con)
    week = {k: monday + dt.timedelta(weeks=k - 1) for k in range(1, 21)}
    # Fortnights (k-1, k) are judged from k = 15 on (12 earlier fortnights of baseline).
    # Flat fortnights: a = 2 * sqrt(12 + 3/8) equals the median, MAD 0 -> z = 0, never flagged.
    # Weeks 16+17: B = 3 + 15 = 18, baseline 6: z = 2*sqrt(18.375) - 2*sqrt(6.375) = 3.52 > 3;
    # the total 24 against 12 gives 2*sqrt(24.375) - 2*sqrt(12.375) = 2.84: only B is flagged.
    # Weeks 17+18 (B 30) and 18+19 (B 18, one high fortnight in the baseline keeps MAD 0) too.
    assert list(flags["start_date"]) == [week[16], week[17], week[18]]
    assert [d[0] for d in flags["drivers"]] == ["B", "B", "B"]
    assert flags["flagged"].tolist() == [["B"], ["B"], ["B"]]
    assert flags["driver_excess"].tolist() == [[12.0], [24.0], [12.0]]  # 18-6, 30-6, 18-6
    assert flags["total_flagged"].tolist() == [False, True, False]  # 36 vs 12: z = 5.03
    assert flags.loc[1, "z"] == pytest.approx(2 * (36.375**0.5 - 12.375**0.5))
    assert flags["drivers_text"][1] == "B +24"
    # The list shows what put each fortnight on it, always above the stated rule (> 3.0), not the
    # total's z (2.84 in weeks 16+17): B's z is 2*sqrt(18.375) - 2*sqrt(6.375) = 3.52 there,
    # 2*sqrt(30.375) - 2*sqrt(6.375) = 5.97 in weeks 17+18 (above the total's 5.03), 3.52 again.
    b_18, b_30 = 2 * (18.375**0.5 - 6.375**0.5), 2 * (30.375**0.5 - 6.375**0.5)
    assert flags["trigger_z"].tolist() == pytest.approx([b_18, b_30, b_18])
    assert (flags["trigger_z"] > complaints.SPIKE_Z).all()
    assert complaints.spike_triggers(flags, "总量") == ["B", "总量、B", "B"]


def test_rates_per_1000(con: db.Connection) -> None:
    add(con, "customers", [{"customer_id": c} for c in ("C1", "C2", "C3", "C4")])
    add(
        con,
        "orders",
        [
            {"order_id": "O1", "line_no": 1, "customer_id": "C1", "order_date": T(2026, 3, 2)},
            {"order_id": "O1", "line_no": 2, "customer_id": "C1", "order_date": T(2026, 3, 2)},
            {"order_id": "O2", "customer_id": "C2", "order_date": T(2026, 3, 5)},
            {"order_id": "O3", "customer_id": "C3", "order_date": T(2026, 3, 9)},
            {"order_id": "O4", "customer_id": "C1", "order_date": T(2026, 3, 20)},
            {
                "order_id": "O5",
                "customer_id": "C4",
                "order_date": T(2026, 3, 21),
                "is_return": True,
            },
            {"order_id": "O6", "customer_id": "C4", "order_date": T(2026, 2, 21)},
        ],
    )
    add(
        con,
        "complaints",
        [
            complaint("K0", T(2026, 2, 25), customer_id="C4"),
            complaint("K1", T(2026, 3, 3), customer_id="C1"),
            complaint("K2", T(2026, 3, 30)),  # anonymous: counts in the rate's numerator
        ],
    )
    df = complaints.trend(con, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), "month")
    assert len(df) == 1  # February is before the period
    row = df.iloc[0]
    # March: 2 complaints; orders O1-O4 = 4 (O1 has two lines, O5 is a return); buyers C1-C3 = 3.
    assert (row.complaints, row.orders, row.active_customers) == (2, 4, 3)
    assert row.per_1000_orders == pytest.approx(500.0)  # 1000 * 2 / 4
    assert row.per_1000_customers == pytest.approx(2000 / 3)  # 1000 * 2 / 3
    assert row.rolling_median != row.rolling_median  # NaN: only 2 of 3 months exist
    # Filters follow the customer: region of C4 only -> the February complaint.
    con.execute("UPDATE customers SET region = 'east' WHERE customer_id = 'C4'")
    assert complaints.monthly_counts(con, Filters(region="east")) == {"2026-02": 1}
    assert complaints.monthly_counts(con) == {"2026-02": 1, "2026-03": 2}


def test_trend_counts_from_the_fact_layer_days(con: db.Connection) -> None:
    add(con, "customers", [{"customer_id": c} for c in ("C1", "C2", "C3")])
    add(con, "customers", [{"customer_id": "C4", "region": "east"}])
    add(
        con,
        "orders",
        [
            {"order_id": "O1", "customer_id": "C1", "order_date": T(2026, 3, 2, 10)},
            {"order_id": "O2", "customer_id": "C1", "order_date": T(2026, 3, 2, 15)},
            {"order_id": "O3", "customer_id": "C1", "order_date": T(2026, 3, 20)},
            {"order_id": "O4", "customer_id": "C4", "order_date": T(2026, 2, 27)},
            {"order_id": "O5", "customer_id": "C4", "order_date": T(2026, 3, 3)},
            {"order_id": "O6", "customer_id": "C3", "order_date": T(2026, 3, 9), "is_return": True},
        ],
    )
    add(
        con,
        "complaints",
        [
            complaint("K1", T(2026, 3, 3), customer_id="C1"),
            complaint("K2", T(2026, 3, 5), customer_id="C4"),
        ],
    )
    # Every order is one line: the trend reads customer_days.
    assert facts.day_orders_add_up(con)
    march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    m = complaints.trend(con, march, "month")
    # March: orders O1, O2, O3, O5 = 4 (O6 is a return); buyers C1 (first on 03-02; 03-20 has
    # its previous purchase day in March) and C4 (previous purchase day in February) = 2.
    assert m[["orders", "active_customers"]].values.tolist() == [[4, 2]]
    weeks = complaints.trend(con, Period(dt.date(2026, 3, 2), dt.date(2026, 3, 22)), "week")
    # Weeks from Monday 03-02: O1, O2, O5 by C1, C4 | C3's return only | O3 by C1.
    assert weeks[["orders", "active_customers"]].values.tolist() == [[3, 2], [0, 0], [1, 1]]
    east = complaints.trend(con, march, "month", Filters(region="east"))
    assert east[["orders", "active_customers"]].values.tolist() == [[1, 1]]  # O5 by C4
    for grain, period, f in [
        ("day", march, Filters()),
        ("week", march, Filters(region="east")),
        ("month", march, Filters(owners=("nobody",))),
    ]:
        with facts.fact_layer(False):
            lines = complaints.trend(con, period, grain, f)
        pd.testing.assert_frame_equal(complaints.trend(con, period, grain, f), lines)


def test_retention_and_repeat_complainants(con: db.Connection) -> None:
    add(con, "customers", [{"customer_id": "C1", "name": "张三", "owner": "李四"}])
    add(
        con,
        "complaints",
        [
            # C1: SLA met (accepted 2 h, handled 10 h), a second complaint 26 days later.
            complaint(
                "K1",
                T(2026, 1, 10, 9),
                customer_id="C1",
                severity="中",
                owner="王芳",
                accepted_at=T(2026, 1, 10, 11),
                handled_at=T(2026, 1, 10, 19),
            ),
            complaint("K2", T(2026, 2, 5, 9), "B", customer_id="C1", owner="刘洋"),
            # C2: resolved after 100 h (breached); next complaint 106 days later: no repeat.
            complaint("K3", T(2026, 1, 15, 9), customer_id="C2", handled_at=T(2026, 1, 19, 13)),
            complaint("K4", T(2026, 5, 1, 9), customer_id="C2"),
        ],
    )
    add(
        con,
        "orders",
        [
            {"order_id": "O1", "customer_id": "C1", "order_date": T(2026, 3, 1)},  # 50 days on
            {"order_id": "O2", "customer_id": "C3", "order_date": T(2026, 2, 1)},  # C3 reference
            {"order_id": "O3", "customer_id": "C3", "order_date": T(2026, 5, 1)},  # 89 days on
            {"order_id": "O4", "customer_id": "C4", "order_date": T(2026, 2, 10)},  # no repeat
            {"order_id": "O5", "customer_id": "C9", "order_date": T(2026, 12, 31)},  # data horizon
        ],
    )
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    ret = complaints_outcomes.retention(con, period).set_index("customer_group")
    # met: C1 retained 1/1; breached: C2 0/1; never complained: C3 yes, C4 no -> 1/2.
    # C1's own order in the window does not make it a never-complainer; C9 ordered after March.
    assert ret["customers"].to_dict() == {"met": 1, "breached": 1, "never": 2}
    assert ret["retention"].to_dict() == {"met": 1.0, "breached": 0.0, "never": 0.5}
    rep = complaints_outcomes.repeat_complainants(
        con, Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    )
    assert rep[["customer_id", "name", "account_owner", "complaints"]].values.tolist() == [
        ["C1", "张三", "李四", 2]
    ]
    assert rep["handlers"][0] == "刘洋, 王芳"


def test_retention_from_the_days_equals_the_order_lines(con: db.Connection) -> None:
    # Order times decide retention; the fact layer's days decide it only where every time of a
    # day gives the same answer, and the order lines decide the rest (complaints_retention_days).
    d0, end = T(2026, 1, 10), T(2026, 1, 10) + dt.timedelta(days=180)
    orders = [
        ("N1", d0 + dt.timedelta(hours=10), False),  # two lines at the same time: not retained
        ("N1", d0 + dt.timedelta(hours=10), False),
        ("N2", d0 + dt.timedelta(hours=10), False),  # a later line the same day: retained
        ("N2", d0 + dt.timedelta(hours=15), False),
        ("N3", d0 + dt.timedelta(hours=10), False),  # 180 days on, earlier in the day: retained
        ("N3", end + dt.timedelta(hours=9), False),
        ("N4", d0 + dt.timedelta(hours=10), False),  # 180 days on, later in the day: not
        ("N4", end + dt.timedelta(hours=11), False),
        ("N5", d0 + dt.timedelta(hours=10), False),  # 179 days on: retained
        ("N5", end - dt.timedelta(hours=1), False),
        ("N6", d0 + dt.timedelta(hours=10), False),  # 181 days on: not
        ("N6", end + dt.timedelta(days=1), False),
        ("N7", d0 + dt.timedelta(hours=10), False),  # a return later that day: not
        ("N7", d0 + dt.timedelta(hours=12), True),
        ("K1", d0 + dt.timedelta(hours=12), False),  # after the complaint that day: retained
        ("K2", d0 + dt.timedelta(hours=8), False),  # before the complaint that day: not
        ("K3", end + dt.timedelta(hours=9), False),  # 180 days on, earlier in the day: retained
        # The horizon: a reference must be at most 180 days before 2026-12-31 12:00, so on
        # 2026-07-04 one at 11:00 is a reference and one at 13:00 is not.
        ("B1", T(2026, 7, 4, 11), False),
        ("B2", T(2026, 7, 4, 13), False),
        ("B2", T(2026, 7, 5, 13), False),
        ("H", T(2026, 12, 31, 12), False),
    ]
    add(
        con,
        "orders",
        [
            {"order_id": f"O{i}", "customer_id": c, "order_date": t, "is_return": r}
            for i, (c, t, r) in enumerate(orders)
        ],
    )
    add(
        con,
        "complaints",
        [complaint(k, d0 + dt.timedelta(hours=10), customer_id=k) for k in ("K1", "K2", "K3")],
    )
    assert facts.has_day_layer(con)
    for period in (
        Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        Period(dt.date(2026, 6, 1), dt.date(2026, 7, 31)),
    ):
        days = complaints_outcomes.retention(con, period)
        with facts.fact_layer(False):
            assert not facts.has_day_layer(con)
            lines = complaints_outcomes.retention(con, period)
        pd.testing.assert_frame_equal(days, lines, check_exact=True)
    ret = days.set_index("customer_group")  # June-July: B1 is a reference, B2 is not
    assert ret["customers"].to_dict() == {"never": 1} and ret["retained"]["never"] == 0
    ret = complaints_outcomes.retention(con, Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31)))
    never = ret.set_index("customer_group").loc["never"]
    assert (never["customers"], never["retained"]) == (7, 3)  # N2, N3, N5
    assert ret["retained"].sum() == 3 + 2  # and K1, K3


def test_pareto_vital_few(con: db.Connection) -> None:
    d = T(2026, 3, 2)
    cats = "A" * 5 + "B" * 3 + "C" + "D"
    add(con, "complaints", [complaint(f"K{i}", d, c) for i, c in enumerate(cats)])
    df = complaints_outcomes.pareto(con, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    # shares .5 .3 .1 .1, cumulative .5 .8 .9 1: A and B reach 80 %; C starts at 80 %.
    assert df["category"].tolist() == ["A", "B", "C", "D"]
    assert df["cumulative_share"].tolist() == pytest.approx([0.5, 0.8, 0.9, 1.0])
    assert df["vital_few"].tolist() == [True, True, False, False]
    fig = charts.complaint_pareto(df, "t", {"complaints": "n", "cumulative_share": "c"})
    assert [t.type for t in fig.data] == ["bar", "scatter"]


# --------------------------------------------------------------------------- public exports


def test_nyc311_export_with_12_hour_times_loads(con: db.Connection, fixtures: Path) -> None:
    src = ingest.Source(fixtures / "complaints" / "nyc311_12h.csv")
    result = ingest.load(con, [src])
    assert result.reports[0].table == "complaints"
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT complaint_id, received_at, closed_at, handled_at, category, subcategory, "
            "owner, channel, status FROM complaints"
        ).fetchall()
    }
    assert rows["38070822"] == (
        T(2018, 1, 15, 14, 30, 12),
        T(2018, 1, 15, 16, 30, 12),
        T(2018, 1, 15, 16, 30, 12),
        "Noise - Residential",
        "Loud Music/Party",
        "NYPD",
        "ONLINE",
        "Closed",
    )
    # 12:05 AM is just after midnight, 12:35 PM just after noon.
    assert rows["38070823"][:2] == (T(2018, 1, 20, 0, 5), T(2018, 1, 20, 12, 35))
    assert rows["38070827"][0] == T(2018, 6, 26, 10, 58, 54)
    assert rows["38070826"][1] is None  # still open
    assert complaints.monthly_counts(con) == {"2018-01": 3, "2018-02": 2, "2018-06": 1}
    h = complaints.headline(con)
    # Hours to close: 2, 12.5, 48, 24 (38070825 closed an hour before it was created: an error).
    assert h["median_resolution_hours"] == pytest.approx(18.25)  # (12.5 + 24) / 2
    assert h["resolution_time_errors"] == 1
    # Resolve SLA (48 h, blank severity): met 2, 12.5, 48 (the boundary), 24; the open one is
    # 136 days old at the last receipt: breached; the negative one is invalid -> 1 / 5.
    assert h["sla_breach_rate"] == pytest.approx(0.2)


def test_chinese_header_export_loads(con: db.Connection, fixtures: Path) -> None:
    src = ingest.Source(fixtures / "complaints" / "complaints_zh.csv")
    report = ingest.load(con, [src]).reports[0]
    assert report.table == "complaints"
    # Without 投诉时间, 受理时间 is the time the complaint was received.
    assert report.mapping["受理时间"] == "received_at"
    rows = con.execute(
        "SELECT complaint_id, customer_id, received_at, handled_at, feedback_at, closed_at, "
        "category, channel, severity, owner, satisfaction, compensation, status "
        "FROM complaints ORDER BY complaint_id"
    ).fetchall()
    assert rows[0] == (
        "TS-0001",
        "C001",
        T(2026, 3, 2, 9),
        T(2026, 3, 2, 21),
        T(2026, 3, 3, 9),
        T(2026, 3, 3, 10, 30),
        "配件缺货",
        "电话",
        "高",
        "王芳",
        4.0,
        Decimal("1200"),
        "已结案",
    )
    assert rows[1][2:6] == (T(2026, 3, 5, 14), T(2026, 3, 7, 14), None, T(2026, 3, 8, 9))
    assert rows[2][1] == "007"  # leading zeros kept
    h = complaints.headline(con)
    assert h["median_resolution_hours"] == pytest.approx(46.25)  # (25.5 + 67) / 2
    assert h["satisfied_share"] == pytest.approx(0.5)  # 4 of 4 and 2
    # TS-0002 is handled exactly 48 h after receipt (medium): within the SLA.
    sla = complaints.sla_breaches(
        con, Period(dt.date(2026, 3, 1), dt.date(2026, 4, 30)), "category"
    )
    assert sla.set_index("category").loc["服务态度", "resolve_met"] == 1


# --------------------------------------------------------------------------- demo and real data


def test_demo_spike_is_flagged_with_parts_shortage(demo_con: db.Connection) -> None:
    flags = complaints.spike_flags(demo_con)
    surge = flags[
        (flags["start_date"] <= dt.date(2026, 3, 15)) & (flags["end_date"] >= dt.date(2026, 3, 2))
    ]
    assert len(surge), flags[["start_date", "drivers_text"]]
    assert all(d[0] == "配件缺货" for d in surge["drivers"])
    assert all("配件缺货" in f for f in surge["flagged"])
    # The monthly view agrees: March 2026 has the most complaints of its year.
    months = complaints.monthly_counts(demo_con)
    year = {m: n for m, n in months.items() if m.startswith("2026")}
    assert max(year, key=year.__getitem__) == "2026-03"
    yoy = complaints.year_over_year(demo_con, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert yoy["last_year"].tolist() == [months["2025-03"]]


def test_demo_metrics_block(demo_con: db.Connection) -> None:
    out = figures.metrics(demo_con)
    total = demo_con.execute("SELECT count(*) FROM complaints").fetchone()[0]  # type: ignore[index]
    assert sum(out["complaints_monthly"].values()) == total
    assert all(re.fullmatch(r"\d{4}-\d{2}", m) for m in out["complaints_monthly"])
    assert 0 < out["median_resolution_hours"] < 24 * 30
    assert 0 < out["sla_breach_rate"] < 1 and 0 < out["satisfied_share"] < 1


def _cfpb_months(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            _day, month, year = row["Date_received"].split("-")  # day first: 27-04-2023
            counts[f"{year}-{month}"] = counts.get(f"{year}-{month}", 0) + 1
    return dict(sorted(counts.items()))


def test_cfpb_upload_through_the_data_page(
    demo_copy: Path, app_env: None, shared_data: Path
) -> None:
    path = shared_data / "cfpb_complaints" / "cfpb_sample_3999_mostly_2023-04.csv"
    at = make_app_test(demo_copy, "pages/data.py", {"lang": "en"}).run()
    at.get("file_uploader")[0].set_value((path.name, path.read_bytes(), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="file0_table").value == "complaints"
    at.radio(key="load_mode").set_value("replace").run()  # the CFPB file instead of the demo's
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("committed" in s.value for s in at.success), [s.value for s in at.success]
    con = db.connect(demo_copy)
    with open(path, encoding="utf-8", newline="") as f:
        products = {r["Product"] for r in csv.DictReader(f)}
    categories = {r[0] for r in con.execute("SELECT DISTINCT category FROM complaints").fetchall()}
    assert categories == products  # Product -> category
    first = con.execute("SELECT count(*), min(received_at) FROM complaints").fetchone()
    assert first == (3999, T(2012, 8, 6))  # day-first dates: 06-08-2012 is 6 August
    assert complaints.monthly_counts(con) == _cfpb_months(path)
    assert complaints.headline(con)["sla_breach_rate"] is None  # no handling timestamps
    con.close()
    # The complaints page: the trend works, the SLA tab names the columns it needs.
    at = make_app_test(demo_copy, "pages/complaints.py", {"lang": "en"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("handled_at" in i.value for i in at.info), [i.value for i in at.info]
    trend = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars = [_values(t["y"]) for t in trend["data"] if t["type"] == "bar"]
    assert sum(sum(b) for b in bars) == 3995  # the 12 months up to the last complaint


def _values(y: Any) -> list[float]:
    """A plotly JSON array: a plain list, or typed-array bytes {"dtype", "bdata"}."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    return list(y)


# --------------------------------------------------------------------------- page


def test_complaints_page_with_filters(demo_copy: Path, app_env: None) -> None:
    at = make_app_test(demo_copy, "pages/complaints.py", {"lang": "en", "region": "华东"}).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    con = db.connect(demo_copy)
    f = Filters(start=at.sidebar.date_input(key="start").value, region="华东")
    period = Period(f.start, at.sidebar.date_input(key="end").value)  # type: ignore[arg-type]
    head = complaints.headline(con, period, f)
    con.close()
    assert shown["Complaints"] == f"{head['complaints']:,}"
    assert shown["SLA breach rate"] == i18n.fmt_pct(head["sla_breach_rate"])
    at.radio(key="c_grain").set_value("week").run()
    at.selectbox(key="c_split").set_value("severity").run()
    assert not at.exception, [e.value for e in at.exception]


def test_page_message_keys_exist() -> None:
    text = (ROOT / "pages" / "complaints.py").read_text(encoding="utf-8")
    keys = set(re.findall(r"""\btx\(\s*["']([a-z_]+)["']""", text))
    # The page's widgets module (crm_core/app/sections/complaints.py) says some of them itself.
    view = (ROOT / "crm_core" / "app" / "sections" / "complaints.py").read_text(encoding="utf-8")
    keys |= set(re.findall(r"""\bt\(\s*["']complaints\.([a-z_]+)["']""", view))
    assert len(keys) > 20
    missing = [k for k in keys if not i18n.has(f"complaints.{k}")]
    assert not missing
    for col in ["stage", *complaints.STAGES, *complaints.GRAINS, *complaints.SPLITS]:
        assert i18n.has(f"complaints.col.{col}"), col


# --------------------------------------------------------------------------- what the data cannot tell


def test_negative_durations_are_counted_not_dropped(con: db.Connection) -> None:
    d = T(2026, 3, 2, 8)
    add(
        con,
        "complaints",
        [
            # Feedback 2 h, 4 h and 9 h after handling.
            complaint("N1", d, handled_at=T(2026, 3, 2, 10), feedback_at=T(2026, 3, 2, 12)),
            complaint("N2", d, handled_at=T(2026, 3, 2, 10), feedback_at=T(2026, 3, 2, 14)),
            complaint("N3", d, handled_at=T(2026, 3, 2, 10), feedback_at=T(2026, 3, 2, 19)),
            # Feedback logged an hour before handling: a data error.
            complaint("N4", d, handled_at=T(2026, 3, 2, 10), feedback_at=T(2026, 3, 2, 9)),
        ],
    )
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    s = complaints.stage_funnel(con, period).set_index("stage")
    # feedback: 2, 4, 9 h measured -> median 4; N4 (-1 h) counted as an error, left out.
    assert s.loc["feedback", "measured"] == 3 and s.loc["feedback", "errors"] == 1
    assert s.loc["feedback", "median_h"] == pytest.approx(4.0)
    neg = {"accepted": 0, "handled": 0, "feedback": 1, "closed": 0}
    assert complaints.negative_durations(con) == neg
    assert complaints.metrics_block(con)["complaint_negative_durations"] == neg
    got = {w["code"]: w for w in complaints.sla_warnings(con, period)}
    assert got["negative_durations"]["durations"] == 1
    assert got["negative_durations"]["stages"] == {"feedback": 1}
    warnings = {w["code"]: w for w in caveat_text.with_messages(figures.metrics(con)["warnings"])}
    assert warnings["negative_durations"]["message"].startswith("1 stage times are before")
    assert "Feedback 1" in warnings["negative_durations"]["message"]
    zh = caveat_text.message(got["negative_durations"], "zh")
    assert zh.startswith("1 条记录的处理时间为负") and "已单独计数，未计入时长" in zh


def test_accept_sla_needs_acceptance_times(con: db.Connection) -> None:
    d = T(2026, 3, 2, 8)
    add(
        con,
        "complaints",
        [
            # No acceptance times at all: handled 10 h and 50 h after receipt (medium: 48 h).
            complaint("Q1", d, severity="中", handled_at=T(2026, 3, 2, 18)),
            complaint("Q2", d, severity="中", handled_at=T(2026, 3, 4, 10)),
        ],
    )
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    h = complaints.headline(con, period)
    # Resolve SLA: Q1 met (10 h), Q2 breached (50 h) -> 1 / 2; the accept SLA is not reported
    # (before, it was taken from the handled time: an upper bound passed off as a measurement).
    assert h["sla_breach_rate"] == pytest.approx(0.5)
    assert h["accept_breach_rate"] is None
    row = complaints.sla_breaches(con, period).iloc[0]
    assert row.resolve_breach_rate == pytest.approx(0.5)
    assert pd.isna(row.accept_breach_rate) and pd.isna(row.accept_met)
    assert figures.metrics(con)["sla_accept_breach_rate"] is None
    codes = [w["code"] for w in complaints.sla_warnings(con, period)]
    assert codes == ["no_acceptance_time"]


def test_page_says_what_the_clock_cannot_tell(demo_copy: Path, app_env: None) -> None:
    con = db.connect(demo_copy)
    # The latest handled complaint with feedback (inside the default period) gets its feedback
    # an hour before handling, and no complaint keeps its acceptance time.
    con.execute(
        "UPDATE complaints SET feedback_at = handled_at - INTERVAL 1 HOUR "
        "WHERE complaint_id = (SELECT max_by(complaint_id, received_at) FROM complaints "
        "WHERE handled_at IS NOT NULL AND feedback_at IS NOT NULL)"
    )
    con.execute("UPDATE complaints SET accepted_at = NULL")
    con.close()
    at = make_app_test(demo_copy, "pages/complaints.py", {"lang": "zh"}).run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("1 条记录的处理时间为负") for w in warnings), warnings
    assert any("已单独计数，未计入时长" in w for w in warnings)
    assert any("文件中没有受理时间" in i.value for i in at.info), [i.value for i in at.info]
