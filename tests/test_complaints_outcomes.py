"""Complaint outcomes and the Complaints page's report: the report is, part by part, what each
function returns on its own (demo data, several filter sets), and the result store gives it back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from crm_core.app import results
from crm_core.engine import db
from crm_core.metrics import complaints as c
from crm_core.metrics import complaints_outcomes as co
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period
from crm_core.present import complaint_text

DEMO_YEAR = Period(dt.date(2025, 11, 1), dt.date(2026, 10, 31))  # the demo's default period
# The demo's generated 配件缺货 surge: the fortnight from Monday 2026-03-02 is a spike.
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
CASES = {
    "none": (DEMO_YEAR, NO_FILTERS),
    "region": (DEMO_YEAR, Filters(region="华东")),
    "category": (DEMO_YEAR, Filters(category="维修保养")),  # not a complaint attribute: ignored
    "short": (MARCH, NO_FILTERS),
    "nothing": (MARCH, Filters(region="no such region")),  # no complaint passes
}


def one_by_one(con: db.Connection, period: Period, f: Filters) -> dict[str, Any]:
    """The report's parts as the page computed them before the report: one call each."""
    return {
        "headline": c.headline(con, period, f),
        "coverage": c.coverage(con),
        "year_over_year": c.year_over_year(con, period, f),
        "sla_warnings": c.sla_warnings(con, period, f),
        "stages": c.stage_funnel(con, period, f),
        "backlog": c.backlog(con, f),
        "scores": co.satisfaction_scores(con, period, f),
        "satisfaction": co.satisfaction_by(con, period, "category", f),
        "by_resolution": co.satisfaction_by_resolution(con, period, f),
        "compensation": co.compensation_by_category(con, period, f),
        "retention": co.retention(con, period, f),
        "repeaters": co.repeat_complainants(con, period, f),
        "pareto": co.pareto(con, period, f),
    }


@pytest.mark.parametrize("case", list(CASES))
def test_report_is_each_function_frame_by_frame(demo_con: db.Connection, case: str) -> None:
    period, f = CASES[case]
    rep = co.complaints_report(demo_con, period, f)
    for name, want in one_by_one(demo_con, period, f).items():
        got = getattr(rep, name)
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=f"{case}.{name}")
        else:
            assert got == want, (case, name)
    spikes = c.spike_flags(demo_con, period, f)
    lists = list(co.SPIKE_LIST_COLUMNS)
    pd.testing.assert_frame_equal(rep.spikes, spikes.drop(columns=lists), check_exact=True)
    flagged = [list(x) if isinstance(x, tuple) else x for x in rep.spike_flagged]
    assert flagged == [x if isinstance(x, list) else [] for x in spikes["flagged"]]
    # The spike list the page shows is what it built from the full frame before.
    before = spikes.assign(triggers_text=c.spike_triggers(spikes, "总量"))
    shown = complaint_text.spike_table(rep.spikes, rep.spike_flagged, "总量")
    want = before[list(complaint_text.SPIKE_TABLE_COLUMNS)]
    pd.testing.assert_frame_equal(shown, want, check_exact=True)
    if case == "short":  # the surge fortnight is on the list, found by a category's own rule
        assert "配件缺货" in shown["triggers_text"].iloc[0]
    if case == "nothing":
        assert rep.headline["complaints"] == 0 and rep.spikes.empty


@pytest.mark.parametrize("case", ["none", "nothing"])
def test_report_goes_through_the_result_store(demo_con: db.Connection, case: str) -> None:
    # ui.cached keeps the report for every process only if it loads back exactly as it is.
    rep = co.complaints_report(demo_con, *CASES[case])
    back = results.loads(results.dumps(rep))
    assert type(back) is co.ComplaintsReport
    for name, value in vars(rep).items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(getattr(back, name), value, check_exact=True)
        else:
            assert getattr(back, name) == value, name
