"""Right to erasure: one customer leaves the live tables, undo data, rejects and snapshots."""

from __future__ import annotations

import json
from pathlib import Path

from crm_core import ingest
from crm_core.__main__ import main
from crm_core.app import snapshot
from crm_core.engine import db


def _count(con: db.Connection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]  # type: ignore[index]


def test_purge_customer_everywhere(db_file: Path, fixtures: Path, tmp_path: Path, capsys) -> None:
    con = db.connect(db_file)
    before = snapshot.freeze(con, db_file)  # load 0: no customers yet, kept
    ingest.load(
        con,
        [ingest.Source(fixtures / "customers_bom.csv"), ingest.Source(fixtures / "orders_gbk.csv")],
    )  # load 1
    after = snapshot.freeze(con, db_file)  # holds customer 001: deleted
    ingest.load(con, [ingest.Source(fixtures / "customers_bom.csv")])  # load 2: undo copy
    odd = tmp_path / "odd.csv"  # a row whose refused order date is the id itself
    odd.write_text(
        "订单编号,客户编号,下单时间,实付金额\nSO9,003,001,10\nSO10,003,2024/5/1,20\n",
        encoding="utf-8",
    )
    ingest.load(con, [ingest.Source(odd, "orders", skip_bad_rows=True)], "append")  # load 3
    assert _count(con, "SELECT count(*) FROM load_rejects WHERE value = '001'") == 1
    con.close()

    assert main(["purge", "--db", str(db_file), "--customer", "001"]) == 0
    out = json.loads(capsys.readouterr().out)
    # customers: 001 (张三) once; orders: SO1 and SO2 are 001's; the undo copy of customers
    # from load 2 holds 001 once; one rejected value "001"; the snapshot after load 1.
    assert out == {
        "customer_id": "001",
        "live_rows": {"customers": 1, "orders": 2},
        "undo_rows": {"_undo_2_customers": 1},
        "rejected_rows": 1,
        "snapshots_deleted": [after],
    }
    con = db.connect(db_file)
    for table in ("customers", "orders", "customer_orders", "_undo_2_customers"):
        assert _count(con, f"SELECT count(*) FROM {table} WHERE customer_id = '001'") == 0
    assert _count(con, "SELECT count(*) FROM customers") == 3  # 002, 003, 004 stay
    assert _count(con, "SELECT count(*) FROM load_rejects WHERE value = '001'") == 0
    assert [i.id for i in snapshot.list_snapshots(db_file)] == [before]
    # Rolling load 2 back does not bring 001 back.
    ingest.rollback_to_before(con, 2)
    assert _count(con, "SELECT count(*) FROM customers WHERE customer_id = '001'") == 0
    con.close()
    # A second purge finds nothing.
    assert main(["purge", "--db", str(db_file), "--customer", "001"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["live_rows"] == {} and again["undo_rows"] == {} and again["rejected_rows"] == 0


def test_a_purge_changes_the_data_version_and_is_audited(db_file: Path, fixtures: Path) -> None:
    # A running app keys every result it holds in memory by the data version: a purge that
    # removed rows must change it, or the app keeps showing the erased customer until restart.
    from crm_core.app import auth, purge

    con = db.connect(db_file)
    ingest.load(
        con,
        [ingest.Source(fixtures / "customers_bom.csv"), ingest.Source(fixtures / "orders_gbk.csv")],
    )  # load 1
    before = db.query_rows(con, "data_version")[0]
    out = purge.purge_customer(con, "001", actor="cli:ops")
    after = db.query_rows(con, "data_version")[0]
    assert after != before
    hist = ingest.load_history(con)
    line = hist[hist["mode"] == "purge"]
    # One history line with load id 2 (load 1 + 1), nothing to roll back, no file named.
    assert line[["load_id", "status", "can_roll_back"]].values.tolist() == [[2, "purged", False]]
    assert line["file_name"].isna().all()
    # customers 1 row, orders 2 rows (SO1, SO2): 3 rows removed.
    assert out["live_rows"] == {"customers": 1, "orders": 2}
    log = auth.audit_log(con)
    assert log[["actor", "action", "detail", "rows"]].values.tolist()[0] == [
        "cli:ops",
        "purge",
        "customer 001: customers 1, orders 2",
        3,
    ]
    # A purge that finds nothing is audited but leaves the version (and history) alone.
    purge.purge_customer(con, "no-such-id", actor="cli:ops")
    assert db.query_rows(con, "data_version")[0] == after
    assert (ingest.load_history(con)["mode"] == "purge").sum() == 1
    assert auth.audit_log(con)["detail"].iloc[0] == "customer no-such-id: no rows"
    # The live loads, and so the demo-data check, ignore the purge line.
    assert ingest.history.demo_tables(con) == []
    con.close()


def test_a_purge_leaves_a_load_under_way_alone(db_file: Path, fixtures: Path) -> None:
    # A load's stage tables (_load_<pid>_…) are its file as read, not loaded data: the purge
    # neither edits nor reports them (the load commits its file as read).
    import os

    from crm_core.app import purge

    con = db.connect(db_file)
    ingest.load(con, [ingest.Source(fixtures / "customers_bom.csv")])  # 001 is loaded
    stage = f"_load_{os.getpid()}_0a1b2c3d_0"
    con.execute(f"CREATE TABLE {stage} AS SELECT '001' AS customer_id")
    out = purge.purge_customer(con, "001", actor="cli:ops")
    assert out["live_rows"] == {"customers": 1} and out["undo_rows"] == {}
    assert _count(con, f"SELECT count(*) FROM {stage}") == 1
    con.close()
