"""The query layer: connect, read named SQL files, run them with bound parameters."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from crm_core.engine import backends, config, summaries, tables
from crm_core.engine.backends import Connection as Connection
from crm_core.engine.postgres import PgConnection
from crm_core.engine.schema import TABLES
from crm_core.engine.sqlfiles import Slots as Slots
from crm_core.engine.sqlfiles import duckdb_only as duckdb_only
from crm_core.engine.sqlfiles import sql as sql
from crm_core.engine.tables import META_COLUMNS as META_COLUMNS
from crm_core.engine.tables import META_DDL as META_DDL
from crm_core.engine.tables import META_TABLES as META_TABLES
from crm_core.engine.tables import ensure_schema as ensure_schema
from crm_core.engine.tables import meta_tables as meta_tables
from crm_core.engine.tables import table_columns as table_columns
from crm_core.engine.tables import table_ddl as table_ddl

_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


class DatabaseBusy(RuntimeError):
    """Another process holds the DuckDB file (DuckDB allows one process per file)."""


def connect(path: str | Path | None = None, read_only: bool = False) -> Connection:
    """Open the database (creating tables that are missing) with server-safe settings: a DuckDB
    file, or a postgresql:// or spark: URL (default: $CRM_LENS_DB, else data/crm.duckdb)."""
    if not path or backends.is_remote(path):
        target = backends.parse_target(path or config.db_target())
        if target.kind != "duckdb":
            return connect_server(target)
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
        tables.drop_stages(con, stale=True)
        summaries.ensure(con)  # a new database has them too, empty
    return con


def connect_server(target: backends.Target) -> backends.Remote:
    """A handle on a PostgreSQL or Spark target, with the canonical tables created."""
    con: backends.Remote
    if target.kind == "postgresql":
        con = PgConnection(target)
    elif target.kind == "spark":
        from crm_core.engine import sparkdb

        con = sparkdb.connect(target)
    else:
        raise ValueError(f"not a server backend: {target.url}")
    for attempt in range(3):
        have = table_columns(con)
        if (
            all(t in have for t in meta_tables(con))
            and all(
                {c.name for c in tb.all_columns} <= have.get(t, set()) for t, tb in TABLES.items()
            )
            and not summaries.outdated(have)
        ):
            return con  # the usual case: nothing to create, no write lock taken
        con.execute("BEGIN TRANSACTION")  # app processes starting at once: one creates tables
        try:
            ensure_schema(con)
            summaries.ensure(con)
            con.execute("COMMIT")
        except backends.TransactionConflict:
            con.execute("ROLLBACK")
            if attempt == 2:
                con.close()
                raise
        except BaseException:
            con.execute("ROLLBACK")
            con.close()
            raise
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


def _bind(text: str, params: dict[str, Any]) -> dict[str, Any]:
    # DuckDB refuses parameters a statement does not use; pass exactly the ones it names.
    names = set(_PARAM.findall(text))
    missing = names - params.keys()
    if missing:
        raise KeyError(f"missing SQL parameters: {sorted(missing)}")
    return {k: v for k, v in params.items() if k in names}


def query(con: Connection, name: str, **params: Any) -> pd.DataFrame:
    """Run a named SQL file with bound $parameters and return the result as a DataFrame.
    `_slots=` (not a parameter): fragments swapped for others (sqlfiles.Slots)."""
    text = sql(name, params.pop("_slots", ()))
    return con.execute(text, _bind(text, params)).df()


def query_arrow(con: Connection, name: str, **params: Any) -> pa.Table:
    """query's rows as an Arrow table, for a result read into arrays rather than a frame: on
    DuckDB straight from the result (a million rows in two thirds of the time of a DataFrame),
    elsewhere from query's frame (so with its types); `_slots=` as query's."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return pa.Table.from_pandas(query(con, name, **params), preserve_index=False)
    text = sql(name, params.pop("_slots", ()))
    return con.sql(text, params=_bind(text, params)).to_arrow_table()


def query_rows(con: Connection, name: str, **params: Any) -> list[tuple]:
    """Run a named SQL file and return plain tuples (cheap for small results); `_slots=` as
    query's."""
    text = sql(name, params.pop("_slots", ()))
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
