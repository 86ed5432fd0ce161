"""PostgreSQL backend: crm_core's SQL files on a psycopg 3 pool, writers serialised by a lock."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from crm_core.engine import config
from crm_core.engine.backends import BackendUnavailable, Remote, Result, Target, TransactionConflict
from crm_core.engine.redact import redact

if TYPE_CHECKING:
    from crm_core.engine.dialects import Statement

# Every write transaction through crm_core takes this advisory lock on PostgreSQL, so writers
# serialise as they do on DuckDB (load ids are max + 1; two loads at once must not share one).
PG_WRITE_LOCK = 7_419_274_001

# A SQL file may ask PostgreSQL's planner for settings its reads need: a line
# `-- @postgres enable_nestloop=off jit=off`. They hold for that statement only (SET LOCAL in its
# own transaction). Why: the planner has no statistics for a CTE's rows, so a filter on one (a
# date range, `row_number() = 1`) can be estimated at 1 row where there are thousands, and a
# nested loop then computes its inner side once per row. Our tables carry no indexes, so a
# nested loop never saves a scan. With nested loops off the cost estimates cross jit_above_cost,
# hence jit=off as well (compiling took longer than the query).
_PG_SETTINGS = re.compile(r"^--\s*@postgres\s+(.+)$", re.MULTILINE)
_PG_SETTING = re.compile(r"^(enable_[a-z]+|jit)=(on|off)$")


@functools.lru_cache(maxsize=4096)  # as dialects.translate: the same texts every render
def planner_settings(query: str) -> tuple[tuple[str, str], ...]:
    """The `-- @postgres name=value ...` settings of a SQL text, in order (ValueError on any
    other than enable_*/jit = on/off)."""
    out = []
    for line in _PG_SETTINGS.findall(query):
        for item in line.split():
            m = _PG_SETTING.match(item)
            if m is None:
                raise ValueError(f"unknown -- @postgres setting: {item!r}")
            out.append((m.group(1), m.group(2)))
    return tuple(out)


_PG_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.int64(),
    700: pa.float32(),
    701: pa.float64(),
    1700: pa.float64(),  # numeric: DuckDB's .df() turns DECIMAL into float64 as well
    19: pa.string(),
    25: pa.string(),
    705: pa.string(),
    1042: pa.string(),
    1043: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1186: pa.duration("us"),
    1009: pa.list_(pa.string()),
    1015: pa.list_(pa.string()),
    1016: pa.list_(pa.int64()),
}


def _pg_arrow(names: list[str], oids: list[int], rows: list[tuple]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for oid, values in zip(oids, cols, strict=True):
        t = _PG_ARROW.get(oid)
        if oid == 1700:
            values = tuple(None if v is None else float(v) for v in values)
        arrays.append(pa.array(values, type=t) if t is not None else pa.array(values))
    return pa.Table.from_arrays(arrays, names=names)


class PgConnection(Remote):
    """PostgreSQL through a psycopg 3 pool. Reads borrow a pooled connection per statement.

    BEGIN … COMMIT follows DuckDB's single-writer model without holding locks for readers: the
    real PostgreSQL transaction starts at the block's first write, which takes the crm_core
    write lock (writers queue) and checks that no other load or rollback committed since
    BEGIN (else TransactionConflict, nothing changed). Reads inside a block each see committed
    data; a page-long snapshot would hold table locks that block a load's swap.
    """

    dialect = "postgres"

    def __init__(self, target: Target, pool: Any = None) -> None:
        self.target = target
        self._own_pool = pool is None
        if pool is None:
            pool = _pg_pool(target.url)
        self._pool = pool
        self._block = False  # inside BEGIN … COMMIT
        self._version0: tuple | None = None  # the load history as of BEGIN
        self._pinned: Any = None  # the psycopg connection of the block's write transaction

    def cursor(self) -> PgConnection:
        return PgConnection(self.target, self._pool)

    def close(self) -> None:
        if self._block:
            self._finish("ROLLBACK")
        if self._own_pool:
            self._pool.close()

    def execute(self, query: str, parameters: Mapping[str, Any] | None = None) -> Result:
        params = parameters or {}
        from crm_core.engine import dialects  # sqlglot: loaded by server backends only

        stmts = dialects.translate(query, "postgres")
        settings = planner_settings(query)
        result = Result()
        for st in stmts:
            if dialects.is_begin(st.tree):
                self._begin()
            elif dialects.is_end(st.tree):
                self._finish(st.sql)
            elif self._block and (self._pinned is not None or dialects.is_write(st.tree)):
                result = self._run(self._writer(), st, params)
            else:
                with self._pool.connection() as c:
                    if len(stmts) == 1 and not settings:
                        return self._run(c, st, params)
                    # A shim's statement pair is one atomic change; SET LOCAL ends with it.
                    with c.transaction():
                        for name, value in settings:
                            c.execute(f"SET LOCAL {name} = {value}")
                        for s in stmts:
                            result = self._run(c, s, params)
                    return result
        return result

    @staticmethod
    def _run(conn: Any, st: Statement, params: Mapping[str, Any]) -> Result:
        missing = [n for n in st.params if n not in params]
        if missing:
            raise KeyError(f"missing SQL parameters: {missing}")
        with conn.cursor() as cur:
            cur.execute(st.sql, [params[n] for n in st.params] if st.params else None)
            if cur.description is None:
                return Result()
            names = [d.name for d in cur.description]
            oids = [d.type_code for d in cur.description]
            rows = cur.fetchall()
        return Result(names, rows, lambda: _pg_arrow(names, oids, rows))

    def _load_version(self, conn: Any) -> tuple | None:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('load_history') IS NOT NULL")
            if not cur.fetchone()[0]:
                return None
            cur.execute(
                "SELECT count(*), coalesce(max(load_id), 0), "
                "coalesce(sum(load_id) FILTER (WHERE status = 'loaded'), 0) FROM load_history"
            )
            return tuple(cur.fetchone())

    def _begin(self) -> None:
        if self._block:
            raise RuntimeError("a transaction is already open on this cursor")
        with self._pool.connection() as c:
            self._version0 = self._load_version(c)
        self._block = True

    def changed_since_begin(self) -> bool:
        if not self._block:
            return False
        with self._pool.connection() as c:
            return self._load_version(c) != self._version0

    def _writer(self) -> Any:
        """The block's write transaction, started (lock taken, freshness checked) on first use."""
        if self._pinned is not None:
            return self._pinned
        conn = self._pool.getconn()
        try:
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock($1)", [PG_WRITE_LOCK])
            if self._load_version(conn) != self._version0:
                raise TransactionConflict(
                    "another load or rollback committed while this one was prepared; "
                    "nothing was changed — run it again"
                )
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            self._pool.putconn(conn)
            raise
        self._pinned = conn
        return conn

    def _finish(self, how: str) -> None:
        if not self._block:
            raise RuntimeError(f"{how}: no transaction is open on this cursor")
        conn, self._pinned, self._block = self._pinned, None, False
        if conn is None:
            return
        try:
            conn.execute("COMMIT" if how.upper().startswith("COMMIT") else "ROLLBACK")
        finally:
            self._pool.putconn(conn)

    def table_columns(self) -> dict[str, set[str]]:
        rows = self.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ).fetchall()
        out: dict[str, set[str]] = {}
        for t, c in rows:
            out.setdefault(t, set()).add(c)
        return out

    def import_tables(self, source: duckdb.DuckDBPyConnection, names: list[str]) -> None:
        import tempfile

        from crm_core.engine import dialects

        if not self._block:
            raise RuntimeError("import_tables needs BEGIN first (the temp tables drop at COMMIT)")
        conn = self._writer()
        with tempfile.TemporaryDirectory(prefix="crm_lens_pg_") as tmp:
            for name in names:
                cols = source.execute(f"DESCRIBE {name}").fetchall()
                ddl = ", ".join(f"{c[0]} {dialects.pg_type(c[1])}" for c in cols)
                conn.execute(f"CREATE TEMP TABLE {name} ({ddl}) ON COMMIT DROP")
                csv_path = Path(tmp) / f"{name}.csv"
                # DuckDB writes NULL as an empty field and '' as "", as COPY's csv format reads.
                source.execute(f"COPY {name} TO '{csv_path}' (FORMAT csv, HEADER false)")
                with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy,
                    open(csv_path, "rb") as f,
                ):
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        copy.write(chunk)
                csv_path.unlink()


def _pg_pool(url: str) -> Any:
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise BackendUnavailable("PostgreSQL needs psycopg: pip install -r requirements.txt") from e
    pool = ConnectionPool(
        conninfo=url,
        min_size=1,
        max_size=config.PG_POOL_SIZE,
        timeout=config.PG_POOL_WAIT,
        kwargs={"autocommit": True, "cursor_factory": psycopg.RawCursor},
        open=False,
        name="crm_lens",
    )
    try:
        pool.open(wait=True, timeout=config.PG_CONNECT_TIMEOUT)
    except Exception as e:
        pool.close()
        raise BackendUnavailable(
            redact(f"cannot connect to {Target('postgresql', url).display}: {e}")
        ) from e
    return pool
