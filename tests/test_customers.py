"""customers.customer_table and `customers --json`: one row per customer, hand-computed fixture
(tests/fixtures/net, table in conftest.py) and the demo database."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from crm_core.engine import db
from crm_core.metrics import clv, customers, lifecycle, overview, value
from crm_core.metrics.filters import Filters

KEYS = list(customers.COLUMNS)
NET_2024 = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_known_customer_once(net_con: db.Connection) -> None:
    # Known: N01-N05, N07 (customers table), N06 (orders only), N08 (a lead only) = 8 rows.
    # Tiers over 2024 as in test_value: N02 diamond (800); N07 600, N06 100, N01 2.90 regular;
    # N03 (200 - 200) sleeping; N04 (0.00 only), N05 (no order), N08 (lead only) prospects.
    df = customers.customer_table(net_con, NET_2024).set_index("customer_id")
    assert list(df.reset_index().columns) == KEYS
    assert df["tier"].to_dict() == {
        "N01": "regular", "N02": "diamond", "N03": "sleeping", "N04": "prospect",
        "N05": "prospect", "N06": "regular", "N07": "regular", "N08": "prospect",
    }  # fmt: skip
    assert df.loc["N01", "net_revenue"] == pytest.approx(2.90)  # 168,000 - 167,997.10
    assert df.loc["N01", "gross_revenue"] == 168000
    assert df.loc["N07", "returns_amount"] == 400
    assert df["orders"].to_dict() == {
        "N01": 1, "N02": 2, "N03": 1, "N04": 0, "N05": 0, "N06": 1, "N07": 1, "N08": 0,
    }  # fmt: skip
    assert df.loc["N02", "last_order_date"] == dt.date(2024, 8, 1)
    assert df.loc["N02", "rfm_segment"] == "important_value"
    # Lifecycle as of 2024-12-31: N05 has no purchase -> prospect; N08 is unknown to lifecycle
    # (leads only) -> no stage. Six customers with a purchase, under the churn model's minimum
    # of 20: no fit, so p_alive is null for everyone.
    assert df.loc["N05", "lifecycle_stage"] == "prospect"
    assert pd.isna(df.loc["N08", "lifecycle_stage"])
    assert df["p_alive"].isna().all()
    assert pd.isna(df.loc["N06", "name"])  # not in the customers table


def test_cli_customers_json(net_con: db.Connection, db_file: Path) -> None:
    net_con.close()
    out = run_cli("customers", "--json", "--db", str(db_file), "--start", "2024-01-01",
                  "--end", "2024-12-31")  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["customer_id"] for r in rows] == [f"N0{i}" for i in range(1, 9)]
    assert all(list(r) == KEYS for r in rows)
    n01 = rows[0]
    assert (n01["tier"], n01["orders"], n01["last_order_date"]) == ("regular", 1, "2024-05-01")
    assert n01["net_revenue"] == pytest.approx(2.90)
    assert (n01["rfm_segment"], n01["lifecycle_stage"], n01["p_alive"]) == (
        "general_winback", "stability", None,
    )  # fmt: skip
    n05 = rows[4]
    assert (n05["tier"], n05["net_revenue"], n05["last_order_date"]) == ("prospect", 0.0, None)
    # --region East keeps the customers table's East customers only (N01, N02, N05): an id not
    # in the customers table cannot pass a customer filter. Buyers: N02 800, N01 2.90 -> n = 2,
    # ceil(.02) = ceil(.1) = ceil(.4) = 1 -> N02 diamond, N01 regular.
    out = run_cli("customers", "--db", str(db_file), "--region", "East", "--start", "2024-01-01",
                  "--end", "2024-12-31")  # fmt: skip
    east = {r["customer_id"]: r["tier"] for r in json.loads(out.stdout)}
    assert east == {"N01": "regular", "N02": "diamond", "N05": "prospect"}
    bad = run_cli("customers", "--db", str(db_file), "--start", "2024-12-31", "--end", "2024-01-01")
    assert bad.returncode == 2 and "is after --end" in bad.stderr


def test_demo_table_agrees_with_the_pages(demo_con: db.Connection) -> None:
    df = customers.customer_table(demo_con)
    period = overview.default_period(demo_con)
    assert period is not None
    n_customers = demo_con.execute("SELECT count(*) FROM customers").fetchone()[0]
    assert len(df) == df["customer_id"].nunique() == n_customers  # every order's customer is known
    pyr = value.value_pyramid(demo_con, period).set_index("tier")["customers"]
    assert df["tier"].value_counts().reindex(pyr.index, fill_value=0).tolist() == pyr.tolist()
    stages = lifecycle.stage_counts(demo_con, period.end).set_index("stage")["customers"]
    assert df["lifecycle_stage"].value_counts().reindex(stages.index, fill_value=0).tolist() == (
        stages.tolist()
    )
    fit = clv.churn_clv(demo_con).customers["p_alive"]
    got = df.set_index("customer_id")["p_alive"]
    assert got.notna().sum() == len(fit)
    assert (got[fit.index] == fit).all()


def test_table_period_defaults(net_con: db.Connection) -> None:
    # Last order date 2024-09-01 (1006): default 2023-09-02 .. 2024-09-01; --end alone takes the
    # 12 months up to it; --start alone runs to the last order date.
    P = overview.Period
    assert customers.table_period(net_con) == P(dt.date(2023, 9, 2), dt.date(2024, 9, 1))
    got = customers.table_period(net_con, Filters(end=dt.date(2024, 2, 29)))
    assert got == P(dt.date(2023, 3, 1), dt.date(2024, 2, 29))
    got = customers.table_period(net_con, Filters(start=dt.date(2024, 1, 1)))
    assert got == P(dt.date(2024, 1, 1), dt.date(2024, 9, 1))
