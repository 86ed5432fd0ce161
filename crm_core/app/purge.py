"""Right to erasure: remove one customer from the live tables, the undo data, the rejected rows
and the meeting snapshots (`python -m crm_core purge --customer ID`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from crm_core.app import auth, snapshot
from crm_core.engine import db, summaries, tables


class PurgeError(RuntimeError):
    """The purge could not run (a snapshot is open in another process, ...)."""


def _tables_with_customer(con: db.Connection) -> list[str]:
    """Tables with a customer_id column, but a load's stage tables (not loaded data yet: a load
    under way commits its file as read, as it did when its stages were temporary tables)."""
    return sorted(
        t
        for t, cols in db.table_columns(con).items()
        if "customer_id" in cols and not t.startswith(tables.STAGE_PREFIX)
    )


def purge_customer(
    con: db.Connection, customer_id: str, db_file: Path | None = None, actor: str = "cli"
) -> dict:
    """Delete every row naming `customer_id`, in one transaction: from each live table with a
    customer_id column (summaries rebuilt), each undo table (`_undo_<load>_<table>`, so that
    no rollback brings the rows back) and `load_rejects` (rows whose refused value is the id);
    a purge that removed rows is a new line of the load history (mode and status "purge"), so
    the data version changes and every app process recomputes what it showed; `actor`'s
    purge is recorded in the audit log, found or not. Then delete the snapshots of `db_file`
    that contain the customer (a snapshot is a frozen copy: it is removed whole, never edited).
    Returns what was removed:
    {"customer_id", "live_rows": {table: n}, "undo_rows": {table: n}, "rejected_rows": n,
    "snapshots_deleted": [ids]}."""
    cid = customer_id.strip()
    if not cid:
        raise PurgeError("name a customer id, e.g. --customer C00017")
    out: dict[str, Any] = {"customer_id": cid, "live_rows": {}, "undo_rows": {}}
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        for table in _tables_with_customer(cur):
            if table in summaries.SUMMARIES:
                continue  # rebuilt below from the purged tables
            n = _delete(
                cur, f"DELETE FROM {tables.quote_ident(table)} WHERE customer_id = $id", cid
            )
            if n:
                key = "undo_rows" if table.startswith("_undo_") else "live_rows"
                out[key][table] = n
        out["rejected_rows"] = _delete(cur, "DELETE FROM load_rejects WHERE trim(value) = $id", cid)
        removed = sum(out["live_rows"].values()) + sum(out["undo_rows"].values())
        removed += out["rejected_rows"]
        if removed:
            _history_line(cur, out)
        auth.record(cur, actor, "purge", _audit_detail(out), removed)
        summaries.refresh(cur)
        if "result_store" in db.meta_tables(cur):
            cur.execute(db.sql("results_clear"))  # stored page results may list the customer
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()
    out["snapshots_deleted"] = _purge_snapshots(db_file, cid) if db_file else []
    return out


def _history_line(cur: db.Connection, out: dict) -> None:
    """The purge as a load history line: a new load id changes the data version (which keys
    every cached page result), its status keeps it out of rollback and of the live loads."""
    row = cur.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_history").fetchone()
    cur.execute(
        "INSERT INTO load_history VALUES ($id, NULL, NULL, NULL, NULL, 0, 0, 0, 'purge', $at, $at, "
        "'purged', NULL, NULL)",
        {"id": int(row[0]) if row else 1, "at": dt.datetime.now()},
    )


def _audit_detail(out: dict) -> str:
    """What the audit log keeps of a purge: the id it was asked for and how many rows went."""
    tables = {**out["live_rows"], **out["undo_rows"]}
    parts = [f"{t} {n}" for t, n in sorted(tables.items())]
    if out["rejected_rows"]:
        parts.append(f"load_rejects {out['rejected_rows']}")
    return f"customer {out['customer_id']}: " + (", ".join(parts) or "no rows")


def _delete(cur: db.Connection, sql: str, cid: str) -> int:
    count_sql = sql.replace("DELETE FROM", "SELECT count(*) FROM", 1)
    row = cur.execute(count_sql, {"id": cid}).fetchone()
    n = int(row[0]) if row else 0
    if n:
        cur.execute(sql, {"id": cid})
    return n


def _purge_snapshots(db_file: Path, cid: str) -> list[str]:
    gone = []
    for found in snapshot.list_snapshots(db_file):
        path = snapshot.snapshot_file(db_file, found.id)
        try:
            snap = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as e:
            raise PurgeError(
                f"snapshot {found.id} is open in another process (the app?): stop it and run "
                "the purge again; the live data, undo data and rejects are already purged"
            ) from e
        try:
            hit = any(
                snap.execute(
                    f"SELECT 1 FROM {tables.quote_ident(t)} WHERE customer_id = $id LIMIT 1",
                    {"id": cid},
                ).fetchone()
                for t in _tables_with_customer(snap)
            )
        finally:
            snap.close()
        if hit and snapshot.delete(db_file, found.id):
            gone.append(found.id)
    return gone
