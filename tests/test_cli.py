"""CLI behaviour that the ingest tests do not cover: demo build, a busy database file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from crm_core.engine import db


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


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_prints_what_it_inferred(tmp_path: Path) -> None:
    f = write(
        tmp_path / "inv.csv",
        "订单号,客户编号,开票日期X,金额\nA1,C1,2024/1/31,10\nA2,C2,2024/2/1,20\n",
    )
    out = run_cli("load", "--db", str(tmp_path / "a.duckdb"), "--file", str(f))
    assert out.returncode == 0, out.stderr
    # 2 of 2 values are dates: 100 %.
    assert "  inferred: order_date ← 开票日期X (dates in 100 % of 2 sampled rows)\n" in out.stdout
    v = run_cli("validate", "--file", str(f))
    assert v.returncode == 0 and "inferred: order_date ← 开票日期X" in v.stdout


def test_two_date_columns_are_refused_and_the_advised_map_loads(
    tmp_path: Path, fixtures: Path
) -> None:
    dbp = tmp_path / "a.duckdb"
    f = write(
        tmp_path / "two.csv",
        "订单号,客户编号,开票X,付款X,金额\nA1,C1,2024/1/31,2024/2/3,10\nA2,C2,2024/2/1,2024/2/4,20\n",
    )
    out = run_cli("load", "--db", str(dbp), "--file", str(f))
    assert out.returncode == 2
    assert (
        "error: two.csv: 2 columns could be order_date: '开票X', '付款X'. "
        'Choose one: --map "开票X=order_date"'
    ) in out.stderr
    assert not dbp.exists() or _orders(dbp) == []
    advice = re.search(r'--map "([^"]+)"', out.stderr)
    assert advice
    again = run_cli("load", "--db", str(dbp), "--file", str(f), "--map", advice.group(1))
    assert again.returncode == 0, again.stderr
    assert _orders(dbp) == [("A1", "2024-01-31"), ("A2", "2024-02-01")]
    # The other column, chosen by hand, gives the other dates.
    other = run_cli("load", "--db", str(dbp), "--file", str(f), "--map", "付款X=order_date")
    assert other.returncode == 0, other.stderr
    assert _orders(dbp) == [("A1", "2024-02-03"), ("A2", "2024-02-04")]
    # With several files, a --map applies to the file that has the column; the others are
    # detected as usual.
    both = run_cli(
        "load",
        "--db",
        str(dbp),
        "--file",
        str(f),
        "--file",
        str(fixtures / "customers_bom.csv"),
        "--map",
        "开票X=order_date",
    )
    assert both.returncode == 0, both.stderr
    assert "two.csv: orders — 2 rows read" in both.stdout
    assert "customers_bom.csv: customers — " in both.stdout


def test_map_with_file_applies_before_detection_as_the_errors_advise(tmp_path: Path) -> None:
    # Nothing here has a known header: each failing load names a missing column and advises
    # --map "SOURCE=column"; filling in SOURCE and running again must end in a load.
    dbp = tmp_path / "a.duckdb"
    f = write(
        tmp_path / "export.csv",
        "Ref,Client,When,Total Paid\nR1,001,2024-01-31,10.50\nR2,002,2024-02-01,5\nR3,001,2024-02-02,1\n",
    )
    source_of = {"order_id": "Ref", "customer_id": "Client", "amount": "Total Paid"}
    maps: list[str] = []
    for _ in range(4):
        out = run_cli("load", "--db", str(dbp), "--file", str(f), *maps)
        if out.returncode == 0:
            break
        advice = re.findall(r'--map "SOURCE=(\w+)"', out.stderr)
        assert advice, out.stderr
        column = advice[0] if advice[0] != "column" else "order_id"
        maps += ["--map", f"{source_of[column]}={column}"]
    assert out.returncode == 0, out.stderr
    # The order id first (nothing matched), then the amount: Client repeats (an id) and When
    # holds dates, so those two are found from the values.
    assert maps == ["--map", "Ref=order_id", "--map", "Total Paid=amount"]
    assert "inferred: customer_id ← Client" in out.stdout
    assert "inferred: order_date ← When" in out.stdout
    con = db.connect(dbp)
    try:
        assert con.execute(
            "SELECT order_id, customer_id, CAST(amount AS VARCHAR) FROM orders ORDER BY 1"
        ).fetchall() == [("R1", "001", "10.5000"), ("R2", "002", "5.0000"), ("R3", "001", "1.0000")]
    finally:
        con.close()


def _orders(dbp: Path) -> list[tuple]:
    con = db.connect(dbp)
    try:
        return con.execute(
            "SELECT order_id, strftime(order_date, '%Y-%m-%d') FROM orders ORDER BY 1"
        ).fetchall()
    finally:
        con.close()


def test_report_for_a_year_without_first_purchases(tmp_path: Path) -> None:
    # The last 12 months (2025-02-01 .. 2026-01-31) hold only 001's repeat order: the lifecycle
    # cohorts are empty, and `report` crashed on them.
    from crm_core import ingest
    from crm_core.__main__ import main
    from crm_core.engine import db

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "订单编号,客户编号,下单时间,实付金额\nSO1,001,2024/1/5,100\nSO2,002,2024/2/5,50\n"
        "SO3,001,2026/1/31,80\n",
        encoding="utf-8",
    )
    path = tmp_path / "crm.duckdb"
    con = db.connect(path)
    ingest.load(con, [ingest.Source(orders, "orders")])
    con.close()
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(path), "--out", str(out), "--lang", "en"]) == 0
    assert "<section>" in out.read_text(encoding="utf-8")


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
        run_cli("load", "--db", str(db), "--mode", "replace", "--orders", str(orders)).returncode
        == 0
    )
    assert run_cli("rollback", "--db", str(db), "--to-before", "2").returncode == 0
    log = _audit(db)
    # orders_gbk.csv: 6 lines = header + 5 order lines; the default mode appends (action
    # "load"), the second load replaces the orders table with the same 5 lines.
    assert log == [
        ("load", "load #1: orders_gbk.csv → orders", 5),
        ("replace", "load #2: orders_gbk.csv → orders", 5),
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


def test_deck_into_a_folder_is_named_with_the_data_date(tmp_path: Path, demo_db_file: Path) -> None:
    import shutil

    from pptx import Presentation

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_file, db)
    assert (
        run_cli(
            "user", "add", "east", "--role", "viewer", "--region", "华东", "--db", str(db)
        ).returncode
        == 0
    )
    out = tmp_path / "decks"
    out.mkdir()
    made = run_cli("deck", "--db", str(db), "--as-user", "east", "--out", str(out))
    assert made.returncode == 0, made.stderr
    # The demo's last order is on 2026-10-31; zh is the default language.
    path = out / "客户关系分析-2026-10-31.pptx"
    assert made.stdout.startswith(f"wrote {path}:")
    # The scoped user's deck says on every slide whose data it shows.
    page = list(Presentation(str(path)).slides)[1]
    texts = [sh.text_frame.text for sh in page.shapes if sh.has_text_frame]
    assert "筛选：权限范围 区域：华东" in texts
    assert _audit(db)[-1] == ("export", "deck pptx 客户关系分析-2026-10-31.pptx as east", None)


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` prints every command and its summary (a '%' in a summary once crashed it)."""
    from crm_core.__main__ import main
    from crm_core.cli import COMMANDS

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert "80/95 % intervals" in out  # the forecast summary, its '%' printed as written
    for name in COMMANDS:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0


def test_deck_under_filters_says_them_and_is_dated_by_the_period(
    tmp_path: Path, demo_db_file: Path
) -> None:
    import shutil

    from pptx import Presentation

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_file, db)
    out = tmp_path / "decks"
    out.mkdir()
    made = run_cli(
        "deck", "--db", str(db), "--region", "华东", "--start", "2026-01-01", "--end",
        "2026-06-30", "--out", str(out),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    # The data date of a filtered deck is the filters' end (as the Present page's download).
    path = out / "客户关系分析-2026-06-30.pptx"
    assert path.exists(), sorted(p.name for p in out.iterdir())
    pages = list(Presentation(str(path)).slides)
    line = "筛选：期间 2026年1月1日 至 2026年6月30日；区域 = 华东"
    assert line in pages[0].placeholders[1].text_frame.text  # the title slide's subtitle
    texts = [sh.text_frame.text for sh in pages[1].shapes if sh.has_text_frame]
    assert line in texts
    # A value the data does not hold is refused, naming it.
    bad = run_cli("deck", "--db", str(db), "--region", "=cmd", "--out", str(out))
    assert bad.returncode == 2 and "--region '=cmd' is not in the data" in bad.stderr
