"""Meeting snapshots: a frozen, read-only copy of the data as of one load, shareable by link."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from crm_core import db, summaries
from crm_core.schema import TABLES

_lock = threading.Lock()
# What a snapshot holds: every table a page reads, not the undo data.
SNAPSHOT_TABLES = (*TABLES, *summaries.SUMMARIES, "load_history")


def current_version(con: db.Connection) -> int:
    """The newest load whose data is live (0 for a database that was never loaded)."""
    row = con.execute(
        "SELECT coalesce(max(load_id), 0) FROM load_history WHERE status = 'loaded'"
    ).fetchone()
    return int(row[0]) if row else 0


def snapshot_dir(db_file: Path) -> Path:
    """Where the snapshots of a database file live: a folder beside it."""
    return db_file.parent / f"{db_file.stem}-snapshots"


def snapshot_file(db_file: Path, version: int) -> Path:
    return snapshot_dir(db_file) / f"load-{version}.duckdb"


def freeze(con: db.Connection, db_file: Path) -> int:
    """Copy the live data into a snapshot file named for the current load; returns that load."""
    version = current_version(con)
    target = snapshot_file(db_file, version)
    with _lock:
        if target.exists():
            return version
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        cur = con.cursor()
        try:
            cur.execute("ATTACH $path AS crm_lens_freeze", {"path": str(tmp)})
            have = set(db.table_columns(cur))
            cur.execute("BEGIN TRANSACTION")  # one consistent read of every table
            for name in SNAPSHOT_TABLES:
                if name in have:
                    cur.execute(f"CREATE TABLE crm_lens_freeze.{name} AS SELECT * FROM main.{name}")
            cur.execute("COMMIT")
            cur.execute("DETACH crm_lens_freeze")
        finally:
            cur.close()
        # Only a complete file ever carries the snapshot's name.
        os.replace(tmp, target)
    return version


def available(db_file: Path) -> list[int]:
    """Versions that have a snapshot file, newest first."""
    d = snapshot_dir(db_file)
    found = (
        [
            int(m.group(1))
            for p in d.glob("load-*.duckdb")
            if (m := re.fullmatch(r"load-(\d+)\.duckdb", p.name))
        ]
        if d.is_dir()
        else []
    )
    return sorted(found, reverse=True)


def use(cur: db.Connection, db_file: Path, version: int | None) -> bool:
    """Point this cursor at a snapshot (or back at live data with None); False if it is gone."""
    if version is None:
        name = db_file.stem.replace('"', '""')  # the live file's catalog is named after it
        cur.execute("USE main" if _has_main(cur) else f'USE "{name}"')
        return True
    path = snapshot_file(db_file, version)
    if not path.exists():
        return False
    alias = f"snapshot_{version}"  # from an int: safe as an identifier
    with _lock:
        attached = {
            r[0] for r in cur.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        }
        if alias not in attached:
            cur.execute(f"ATTACH $path AS {alias} (READ_ONLY)", {"path": str(path)})
    cur.execute(f"USE {alias}")
    return True


def _has_main(cur: db.Connection) -> bool:
    names = {r[0] for r in cur.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    return "main" in names
