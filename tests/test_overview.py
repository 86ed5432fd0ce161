"""Overview KPIs and the monthly trend on the returns fixture: revenue and buyers are net."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crm_core.engine import db, facts
from crm_core.metrics import overview
from crm_core.metrics.overview import Period

NET_2024 = Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))


def test_headline_kpis_are_net(net_con: db.Connection) -> None:
    # Fixture table in conftest.py. 2024 net revenue: N01 2.90 + N02 800 + N03 0 + N04 0
    # + N06 100 + N07 600 = 1,502.90. Active customers (net > 0): N01, N02, N06, N07 = 4.
    # Orders (distinct non-return orders): 536379, 1001, 1002, 1003, 1005, 1006, 1007 = 7.
    # Known: N01-N05, N07 (customers table) + N06 (orders only) = 7.
    k = overview.headline_kpis(net_con, NET_2024)
    assert k["customers"] == 7
    assert k["active_customers"] == 4
    assert float(k["revenue"]) == pytest.approx(1502.90)
    assert k["orders"] == 7


def test_monthly_trend_counts_returns_in_their_month(net_con: db.Connection) -> None:
    # February: N07 1,000 - 400 (C1008 on 02-03) = 600, one order, one buyer.
    # May: N01 168,000 - 167,997.10 = 2.90. June: N03 200 - 200 = 0 -> no buyer that month.
    # July: N04's 0.00 order: an order, no buyer.
    m = overview.monthly_trend(net_con, NET_2024).set_index("month")
    m.index = [d.month for d in m.index]
    assert float(m.loc[2, "revenue"]) == 600
    assert float(m.loc[5, "revenue"]) == pytest.approx(2.90)
    assert (float(m.loc[6, "revenue"]), m.loc[6, "orders"], m.loc[6, "customers"]) == (0, 1, 0)
    assert (m.loc[7, "orders"], m.loc[7, "customers"]) == (1, 0)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        (dt.date(2024, 2, 2), dt.date(2024, 6, 9)),  # C1008 of 02-03 in, C1004 of 06-10 out
        (dt.date(2024, 5, 1), dt.date(2024, 5, 1)),  # one day: N01's sale and its return
    ],
)
def test_fact_layer_days_give_the_figures_of_the_lines(
    net_con: db.Connection, start: dt.date, end: dt.date
) -> None:
    # Every order of the fixture is one line: the days count the orders (the 0.00 order 1005
    # included) and the periods, cut at any day, hold exactly the lines of their days.
    assert facts.day_orders_add_up(net_con)
    period = Period(start, end)
    with facts.fact_layer(False):
        kpis, monthly = (
            overview.kpi_deltas(net_con, period),
            overview.monthly_trend(net_con, period),
        )
    pd.testing.assert_frame_equal(overview.kpi_deltas(net_con, period), kpis)
    pd.testing.assert_frame_equal(overview.monthly_trend(net_con, period), monthly)


def test_delta_colours() -> None:
    # A rise in complaints is bad news (red), in revenue good (green); the customer count is
    # all customers on file, so it has no change to show.
    assert overview.delta_color("complaints") == "inverse"
    assert overview.delta_color("revenue") == "normal"
    assert overview.delta_color("customers") == "off"


def test_prior_coverage(net_con: db.Connection) -> None:
    # Orders run 2023-06-01 .. 2024-09-01. 2024 (366 days) is compared with 2022-12-31 ..
    # 2023-12-31, of which 2023-06-01 .. 2023-12-31 = 30+31+31+30+31+30+31 = 214 days hold data.
    assert overview.prior_coverage(net_con, NET_2024) == pytest.approx(214 / 366)
    # 2023-06-05 .. 06-14 is compared with 05-26 .. 06-04: 4 of its 10 days are in the data.
    assert overview.prior_coverage(
        net_con, Period(dt.date(2023, 6, 5), dt.date(2023, 6, 14))
    ) == pytest.approx(0.4)
