"""The query layer: connect, read named SQL files, run them with bound parameters."""

from __future__ import annotations

import contextlib
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from crm_core.engine import backends, config
from crm_core.engine.schema import SQL_TYPES, TABLES

# DuckDB (the default) is a raw DuckDBPyConnection; PostgreSQL and Spark are a backends.Remote
# with the same execute(sql, {params}) → fetchone/fetchall/df surface (docs/backends.md).
Connection = duckdb.DuckDBPyConnection | backends.Remote

_INCLUDE = re.compile(r"--\s*@include\s+(\w+)")
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")

# Book-keeping tables. load_history is the audit trail the UI shows; load_rejects keeps every
# refused row's raw value so a rejection loses nothing.
META_DDL = (
    """CREATE TABLE IF NOT EXISTS load_history (
        load_id BIGINT, file_name VARCHAR, table_name VARCHAR, sha256 VARCHAR, encoding VARCHAR,
        rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT, mode VARCHAR,
        started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, warnings VARCHAR,
        undo_kind VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS load_rejects (
        load_id BIGINT, file_name VARCHAR, table_name VARCHAR, row_number BIGINT,
        column_name VARCHAR, value VARCHAR, reason VARCHAR)""",
    # Sign-in accounts (crm_core/auth.py): regions / owners are JSON lists (empty = all).
    """CREATE TABLE IF NOT EXISTS users (
        name VARCHAR, password_hash VARCHAR, role VARCHAR, regions VARCHAR, owners VARCHAR,
        created_at TIMESTAMP, changed_at TIMESTAMP, failed_logins BIGINT,
        locked_until TIMESTAMP)""",
    # Who did what when: sign-ins, loads, replaces, rollbacks, exports, snapshots, user changes.
    """CREATE TABLE IF NOT EXISTS audit_log (
        logged_at TIMESTAMP, actor VARCHAR, action VARCHAR, detail VARCHAR, rows BIGINT)""",
)
META_TABLES = ("load_history", "load_rejects", "users", "audit_log")
# Book-keeping columns added after their table first shipped: ensure_schema adds them to older
# databases. users: where the weekly digest goes (crm_core/digest.py) and in which language.
META_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (
        ("email", "VARCHAR"),
        ("webhook", "VARCHAR"),
        ("webhook_format", "VARCHAR"),
        ("lang", "VARCHAR"),
    ),
}


class DatabaseBusy(RuntimeError):
    """Another process holds the DuckDB file (DuckDB allows one process per file)."""


def table_ddl(name: str) -> str:
    """CREATE TABLE statement of a canonical table (identifiers come from schema.py only)."""
    cols = ", ".join(f"{c.name} {SQL_TYPES[c.kind]}" for c in TABLES[name].all_columns)
    return f"CREATE TABLE {name} ({cols})"


def connect(path: str | Path | None = None, read_only: bool = False) -> Connection:
    """Open the database (creating tables that are missing) with server-safe settings: a DuckDB
    file, or a postgresql:// or spark: URL (default: $CRM_LENS_DB, else data/crm.duckdb)."""
    if not path or backends.is_remote(path):
        target = backends.parse_target(path or config.db_target())
        if target.kind != "duckdb":
            return backends.connect(target)
        path = target.url
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise DatabaseBusy(
                f"{path} is in use by another process (DuckDB allows one process per database "
                "file). Stop the app, or load through the app's Data page."
            ) from e
        raise
    con.execute("SET enable_progress_bar = false")
    con.execute("SET memory_limit = $m", {"m": config.MEMORY_LIMIT})
    if config.THREADS:
        con.execute("SET threads = $t", {"t": config.THREADS})
    if not read_only:
        private_files(path, path.with_name(path.name + ".wal"))
        ensure_schema(con)
    return con


def private_umask() -> None:
    """From now on this process creates files (database WAL, snapshots, staged uploads,
    exports) readable by their owner only. Called once by the app and by the CLI."""
    os.umask(0o077)


def private_files(*paths: Path) -> None:
    """Make our own database files readable and writable by their owner only (they hold
    customers' personal data); files of other owners are left alone."""
    for p in paths:
        with contextlib.suppress(OSError):
            if p.stat().st_uid == os.getuid():
                os.chmod(p, 0o600)


def ensure_schema(con: Connection) -> None:
    """Create missing canonical and book-keeping tables; add columns newer versions introduced."""
    for ddl in META_DDL:
        con.execute(ddl)
    existing = table_columns(con)
    for meta, added in META_COLUMNS.items():
        for column, kind in added:
            if column not in existing.get(meta, set()):
                con.execute(f"ALTER TABLE {meta} ADD COLUMN {column} {kind}")
    for name, table in TABLES.items():
        if name not in existing:
            con.execute(table_ddl(name))
            continue
        for col in table.all_columns:
            if col.name not in existing[name]:
                con.execute(f"ALTER TABLE {name} ADD COLUMN {col.name} {SQL_TYPES[col.kind]}")


def table_columns(con: Connection) -> dict[str, set[str]]:
    """Tables of the main schema and their column names."""
    if isinstance(con, backends.Remote):
        return con.table_columns()
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for t, c in rows:
        out.setdefault(t, set()).add(c)
    return out


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for work that must happen in DuckDB whatever the target (a load's
    decoding, typing and checks) — the first half of a load into PostgreSQL or Spark."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET memory_limit = $m", {"m": config.MEMORY_LIMIT})
    if config.THREADS:
        con.execute("SET threads = $t", {"t": config.THREADS})
    ensure_schema(con)
    return con


def is_duckdb(con: Connection) -> bool:
    """True for the embedded DuckDB default, False for a PostgreSQL or Spark handle."""
    return not isinstance(con, backends.Remote)


def changed_since_begin(con: Connection) -> bool:
    """Whether a load committed since `con`'s BEGIN, so that the block's reads may mix old and
    new data: never on DuckDB, whose block is a snapshot."""
    return isinstance(con, backends.Remote) and con.changed_since_begin()


def import_tables(con: Connection, source: Connection, names: list[str]) -> None:
    """Copy tables of a scratch DuckDB into `con`'s open transaction as temporary tables."""
    if isinstance(con, backends.Remote) and isinstance(source, duckdb.DuckDBPyConnection):
        con.import_tables(source, names)


@cache
def sql(name: str) -> str:
    """Text of crm_core/sql/<name>.sql with `-- @include fragment` lines expanded."""
    text = (config.SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: sql("_" + m.group(1)).strip(), text)


def duckdb_only(name: str) -> bool:
    """Whether crm_core/sql/<name>.sql runs on DuckDB only (its first line says "-- DuckDB
    only"): the shared windows of crm_core/facts.py, which other engines compute per report."""
    return sql(name).startswith("-- DuckDB only")


def _bind(text: str, params: dict[str, Any]) -> dict[str, Any]:
    # DuckDB refuses parameters a statement does not use; pass exactly the ones it names.
    names = set(_PARAM.findall(text))
    missing = names - params.keys()
    if missing:
        raise KeyError(f"missing SQL parameters: {sorted(missing)}")
    return {k: v for k, v in params.items() if k in names}


def query(con: Connection, name: str, **params: Any) -> pd.DataFrame:
    """Run a named SQL file with bound $parameters and return the result as a DataFrame."""
    text = sql(name)
    return con.execute(text, _bind(text, params)).df()


def query_rows(con: Connection, name: str, **params: Any) -> list[tuple]:
    """Run a named SQL file and return plain tuples (cheap for small results)."""
    text = sql(name)
    return con.execute(text, _bind(text, params)).fetchall()


def scalar(con: Connection, name: str, **params: Any) -> Any:
    """Run a named SQL file returning one value."""
    rows = query_rows(con, name, **params)
    return rows[0][0] if rows else None


def table_counts(con: Connection) -> dict[str, int]:
    """Row counts of the canonical tables (0 for a table that does not exist)."""
    existing = table_columns(con)
    return {
        name: (con.execute(f"SELECT count(*) FROM {name}").fetchone() or (0,))[0]
        if name in existing
        else 0
        for name in TABLES
    }
