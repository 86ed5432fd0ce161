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


def _audit(db: Path) -> list[tuple]:
    out = run_cli("audit", "--db", str(db), "--json", "--limit", "50")
    assert out.returncode == 0, out.stderr
    return [(r["action"], r["detail"], r["rows"]) for r in reversed(json.loads(out.stdout))]


def test_user_commands_and_their_audit_lines(tmp_path: Path) -> None:
    db = tmp_path / "users.duckdb"
    add = run_cli(
        "user", "add", "华东经理", "--role", "viewer", "--region", "华东", "--password-stdin",
        "--db", str(db), input="long-enough-1\n",
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert add.stdout.strip() == "added 华东经理 (viewer)"
    users = json.loads(run_cli("user", "list", "--json", "--db", str(db)).stdout)
    assert [(u["name"], u["role"], u["regions"], u["has_password"]) for u in users] == [
        ("华东经理", "viewer", ["华东"], True)
    ]
    assert "hash" not in json.dumps(users)
    # Refusals exit 2 with the reason: duplicate, too short, unknown user.
    again = run_cli("user", "add", "华东经理", "--role", "admin", "--db", str(db))
    assert again.returncode == 2 and "exists already" in again.stderr
    short = run_cli(
        "user", "passwd", "华东经理", "--password-stdin", "--db", str(db), input="short\n"
    )
    assert short.returncode == 2 and "at least 8" in short.stderr
    gone = run_cli("user", "remove", "nobody", "--db", str(db))
    assert gone.returncode == 2 and "no such user" in gone.stderr
    passwd = run_cli(
        "user", "passwd", "华东经理", "--password-stdin", "--db", str(db), input="long-enough-2\n"
    )
    assert passwd.returncode == 0, passwd.stderr
    assert run_cli("user", "remove", "华东经理", "--db", str(db)).returncode == 0
    assert run_cli("user", "list", "--db", str(db)).stdout.strip() == "no accounts: sign-in is off"
    assert _audit(db) == [
        ("user_add", "华东经理 role=viewer regions=['华东'] owners=[]", None),
        ("user_passwd", "华东经理", None),
        ("user_remove", "华东经理", None),
    ]


def test_metrics_as_user_is_that_users_scope(tmp_path: Path, demo_db_file: Path) -> None:
    import shutil

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_file, db)
    add = run_cli(
        "user", "add", "east", "--role", "viewer", "--region", "华东", "--db", str(db),
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    as_user = run_cli("metrics", "--db", str(db), "--json", "--as-user", "east")
    region = run_cli("metrics", "--db", str(db), "--json", "--region", "华东")
    everything = json.loads(run_cli("metrics", "--db", str(db), "--json").stdout)
    assert as_user.returncode == 0 and region.returncode == 0, as_user.stderr + region.stderr
    scoped, filtered = json.loads(as_user.stdout), json.loads(region.stdout)
    for echo in ("filters", "filters_not_applied"):  # what was asked, not what was counted
        scoped.pop(echo, None), filtered.pop(echo, None)
    assert scoped == filtered and scoped["revenue"] < everything["revenue"]
    # Filters narrow the scope, never widen it; an unknown account is an error.
    outside = run_cli("metrics", "--db", str(db), "--as-user", "east", "--region", "华北")
    assert outside.returncode == 2 and "outside east's scope" in outside.stderr
    nobody = run_cli("metrics", "--db", str(db), "--as-user", "nobody")
    assert nobody.returncode == 2 and "no such user: 'nobody'" in nobody.stderr


def test_cli_loads_and_rollbacks_are_audited(tmp_path: Path, fixtures: Path) -> None:
    db = tmp_path / "audited.duckdb"
    orders = fixtures / "orders_gbk.csv"
    assert run_cli("load", "--db", str(db), "--orders", str(orders)).returncode == 0
    assert (
        run_cli("load", "--db", str(db), "--mode", "append", "--orders", str(orders)).returncode
        == 0
    )
    assert run_cli("rollback", "--db", str(db), "--to-before", "2").returncode == 0
    log = _audit(db)
    # orders_gbk.csv: 6 lines = header + 5 order lines; the append upserts the same 5 keys.
    assert log == [
        ("replace", "load #1: orders_gbk.csv → orders", 5),
        ("load", "load #2: orders_gbk.csv → orders", 5),
        ("rollback", "undid load(s) #2", None),
    ]
    actors = json.loads(run_cli("audit", "--db", str(db), "--json").stdout)
    assert {r["actor"] for r in actors} <= {"cli", f"cli:{__import__('getpass').getuser()}"}


def test_report_as_user_is_an_audited_export(tmp_path: Path, demo_db_file: Path) -> None:
    import shutil

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_file, db)
    assert (
        run_cli(
            "user", "add", "east", "--role", "viewer", "--region", "华东", "--db", str(db)
        ).returncode
        == 0
    )
    out = tmp_path / "east.html"
    made = run_cli(
        "report", "--db", str(db), "--lang", "en", "--as-user", "east", "--out", str(out)
    )
    assert made.returncode == 0, made.stderr
    assert out.stat().st_size > 0
    assert _audit(db)[-1] == ("export", "report html east.html as east", None)
