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


def test_history_json_lists_each_file_of_each_load(tmp_path: Path, fixtures: Path) -> None:
    db = tmp_path / "h.duckdb"
    assert (
        run_cli("load", "--db", str(db), "--orders", str(fixtures / "orders_gbk.csv")).returncode
        == 0
    )
    out = run_cli("history", "--db", str(db), "--json")
    assert out.returncode == 0, out.stderr
    [h] = json.loads(out.stdout)
    assert (h["load_id"], h["file_name"], h["table_name"]) == (1, "orders_gbk.csv", "orders")
    assert h["encoding"] == "gb18030"
    assert isinstance(h["warnings"], list)
