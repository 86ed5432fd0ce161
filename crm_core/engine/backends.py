"""Server backends behind db.connect: PostgreSQL and Spark SQL, running the same crm_core/sql files.

DuckDB is the default and is not handled here: db.py hands its raw DuckDBPyConnection to every
caller and runs the SQL files as they are. A PostgreSQL or Spark target gets a `Remote` handle
with the same surface the callers use (`execute(sql, {params})` → `fetchone/fetchall/df`,
`cursor()`, `close()`); it accepts the DuckDB-flavoured SQL of crm_core and translates each
statement once with sqlglot (crm_core/dialects.py, cached per statement text and dialect;
never imported for DuckDB). Parameters stay bound: `$name` becomes PostgreSQL's `$n` (psycopg's
RawCursor) or Spark's `:name` marker. docs/backends.md describes the design and its limits.
"""

from __future__ import annotations

import abc
import contextlib
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from crm_core.engine import config
from crm_core.engine.redact import redact
from crm_core.engine.schema import TABLES

if TYPE_CHECKING:
    from crm_core.engine.dialects import Statement

KINDS = ("duckdb", "postgresql", "spark")
# Every write transaction through crm_core takes this advisory lock on PostgreSQL, so writers
# serialise as they do on DuckDB (load ids are max + 1; two loads at once must not share one).
PG_WRITE_LOCK = 7_419_274_001


class BackendUnavailable(RuntimeError):
    """The database server cannot be reached, or its client library is not installed."""


class TransactionConflict(RuntimeError):
    """Another writer committed between this transaction's BEGIN and its first write."""


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """Where the data lives: a DuckDB file, a PostgreSQL URL, or a Spark master + warehouse."""

    kind: str
    url: str
    master: str = ""  # Spark: local[2], local[*], spark://host:7077 or sc://host:15002
    warehouse: str = ""  # Spark: the folder holding the Parquet tables and their manifest

    @property
    def display(self) -> str:
        """The target without a password or token, for captions and logs."""
        if self.kind != "postgresql":
            return redact(self.url)  # sc://host:15002/;token=***
        u = urllib.parse.urlsplit(self.url)
        netloc = u.netloc.rsplit("@", 1)
        if len(netloc) == 2:
            netloc[0] = netloc[0].split(":", 1)[0]
        query = urllib.parse.urlencode(
            [(k, v) for k, v in urllib.parse.parse_qsl(u.query) if k.lower() != "password"]
        )
        return redact(urllib.parse.urlunsplit(u._replace(netloc="@".join(netloc), query=query)))


def parse_target(target: str | Path) -> Target:
    """Classify a CRM_LENS_DB / --db value (URL forms in README, section Backends)."""
    s = str(target).strip()
    low = s.lower()
    if low.startswith(("postgresql://", "postgres://")):
        return Target("postgresql", s)
    if low.startswith(("spark:", "sc://")):
        base, _, query = s.partition("?")
        opts = urllib.parse.parse_qs(query)
        master = base[len("spark:") :] if low.startswith("spark:") else base
        if master.startswith("//"):  # spark://host:7077 is itself a master URL
            master = "spark:" + master
        if not master:
            raise ValueError(f"{s!r}: name a Spark master, e.g. spark:local[2]")
        warehouse = opts.get("warehouse", [config.spark_warehouse()])[0]
        return Target("spark", s, master, warehouse)
    if low.startswith("duckdb:"):
        s = s[len("duckdb:") :]
    return Target("duckdb", s)


def is_remote(target: str | Path | None) -> bool:
    return target is not None and parse_target(target).kind != "duckdb"


# --------------------------------------------------------------------------- results

_local = threading.local()


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow result as DuckDB's .df() would give it (same dtypes on every backend)."""
    con = getattr(_local, "duck", None)
    if con is None:
        con = _local.duck = duckdb.connect()
    return con.from_arrow(table).df()


class Result:
    """A fully fetched result, read as DuckDB's execute() is: rows, or a frame via Arrow."""

    def __init__(
        self,
        names: list[str] | None = None,
        rows: list[tuple] | None = None,
        arrow: pa.Table | Callable[[], pa.Table] | None = None,
    ) -> None:
        self._names = names or []
        self._rows = rows
        self._arrow = arrow
        self._i = 0

    @property
    def description(self) -> list[tuple[str]]:
        return [(n,) for n in self._names]

    def _all(self) -> list[tuple]:
        if self._rows is None:
            t = self.arrow()
            cols = [c.to_pylist() for c in t.columns]
            self._rows = list(zip(*cols, strict=True)) if cols else []
        return self._rows

    def fetchone(self) -> tuple | None:
        rows = self._all()
        if self._i >= len(rows):
            return None
        self._i += 1
        return rows[self._i - 1]

    def fetchall(self) -> list[tuple]:
        rows = self._all()
        rest, self._i = rows[self._i :], len(rows)
        return rest

    def arrow(self) -> pa.Table:
        if self._arrow is None:
            return pa.table({})
        if callable(self._arrow):
            self._arrow = self._arrow()
        return self._arrow

    def df(self) -> pd.DataFrame:
        return arrow_to_frame(self.arrow())

    fetchdf = df


class Remote(abc.ABC):
    """A connection to a server backend; each cursor() is an independent session."""

    dialect: str = ""
    target: Target

    @abc.abstractmethod
    def execute(self, query: str, parameters: Mapping[str, Any] | None = None) -> Result:
        """Run one statement with bound parameters."""

    @abc.abstractmethod
    def cursor(self) -> Remote:
        """A new, independent session on the same server."""

    def changed_since_begin(self) -> bool:
        """Whether a load or rollback committed since this cursor's BEGIN, so that the reads of
        the block may mix old and new data (engines whose blocks are not snapshots say so)."""
        return False

    def close(self) -> None:  # noqa: B027 - optional: most sessions hold nothing to release
        """Release the session's resources (nothing by default)."""

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def table_columns(self) -> dict[str, set[str]]:
        """Tables of the database (not temporary ones) and their column names."""

    @abc.abstractmethod
    def import_tables(self, source: duckdb.DuckDBPyConnection, names: list[str]) -> None:
        """Copy tables of a DuckDB connection (a load's typed stage) into this session, as
        temporary tables that live until the end of the current transaction."""


# --------------------------------------------------------------------------- PostgreSQL

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
                    if len(stmts) == 1:
                        return self._run(c, st, params)
                    with c.transaction():  # a shim's statement pair is one atomic change
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


# --------------------------------------------------------------------------- connect


def connect(target: Target) -> Remote:
    """A handle on a PostgreSQL or Spark target, with the canonical tables created."""
    from crm_core.engine import db

    con: Remote
    if target.kind == "postgresql":
        con = PgConnection(target)
    elif target.kind == "spark":
        from crm_core.engine import sparkdb

        con = sparkdb.connect(target)
    else:
        raise ValueError(f"not a server backend: {target.url}")
    for attempt in range(3):
        have = db.table_columns(con)
        if all(t in have for t in db.META_TABLES) and all(
            {c.name for c in tb.all_columns} <= have.get(t, set()) for t, tb in TABLES.items()
        ):
            return con  # the usual case: nothing to create, no write lock taken
        con.execute("BEGIN TRANSACTION")  # app processes starting at once: one creates tables
        try:
            db.ensure_schema(con)
            con.execute("COMMIT")
        except TransactionConflict:
            con.execute("ROLLBACK")
            if attempt == 2:
                con.close()
                raise
        except BaseException:
            con.execute("ROLLBACK")
            con.close()
            raise
    return con


def iter_sql_names() -> Iterator[str]:
    """Every query file of crm_core/sql (fragments excluded)."""
    for p in sorted(config.SQL_DIR.glob("*.sql")):
        if not p.name.startswith("_"):
            yield p.stem
