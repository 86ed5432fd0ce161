"""CLI behaviour that the ingest tests do not cover: demo build, a busy database file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def test_demo_then_metrics(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    assert run_cli("demo", "--db", str(db)).returncode == 0
    out = run_cli("metrics", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout)
    assert m["tables"]["customers"] > 1000
    assert m["revenue"] > 0
    assert m["first_order_date"] < m["last_order_date"]


def test_load_while_another_process_holds_the_file(tmp_path: Path, fixtures: Path) -> None:
    # DuckDB allows one process per file: the CLI must stop with a clear message, not hang or
    # corrupt the holder's data.
    db = tmp_path / "busy.duckdb"
    assert (
        run_cli("load", "--db", str(db), "--orders", str(fixtures / "orders_gbk.csv")).returncode
        == 0
    )
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        out = run_cli("load", "--db", str(db), "--orders", str(fixtures / "line_items.csv"))
        assert out.returncode == 2
        assert "in use by another process" in out.stderr
        assert time.monotonic() - t0 < 60
    finally:
        holder.kill()
        holder.wait()
    m = json.loads(run_cli("metrics", "--db", str(db), "--json").stdout)
    assert m["revenue"] == 151534.0  # the first load, untouched


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    out = run_cli("metrics", "--db", str(tmp_path / "nope.duckdb"), "--json")
    assert out.returncode == 2
    assert "no such database" in out.stderr


def test_metrics_json_net_of_returns(net_con, db_file: Path) -> None:
    # The returns fixture (conftest.py), all time for the headline block:
    #   revenue (gross sales) 50 + 168,000 + 500 + 300 + 200 + 0 + 100 + 1,000 = 170,150.00
    #   returns_amount |-167,997.10| + |-200| + |400| = 168,597.10
    #   net_revenue 170,150.00 - 168,597.10 = 1,552.90
    #   customers_with_orders: net > 0 -> N01 52.90, N02, N06, N07 = 4 (N03 0, N04 0 are not)
    # Default window: the 12 months to the last order date (1006, 2024-09-01), 2023-09-02 ..
    # 2024-09-01: buyers N02 800, N07 600, N06 100, N01 2.90 (its 2023-06-01 line is outside)
    # -> diamond N02; top 20 % = 1 customer: 800 / 1,502.90.
    net_con.close()
    out = run_cli("metrics", "--json", "--db", str(db_file))
    assert out.returncode == 0, out.stderr
    m = json.loads(out.stdout)
    assert m["revenue"] == 170150.0
    assert m["returns_amount"] == 168597.1
    assert m["net_revenue"] == 1552.9
    assert m["customers_with_orders"] == 4
    assert m["tiers"]["diamond"] == {
        "customers": 1,
        "revenue": 800.0,
        "revenue_share": 800 / 1502.9,
    }
    assert m["tiers"]["regular"]["customers"] == 3
    assert abs(m["pareto_top20_share"] - 800 / 1502.9) < 1e-12
