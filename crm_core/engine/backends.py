"""What the server backends share: targets, fully fetched results, the `Remote` handle, and
the `Connection` type every query function takes.

DuckDB is the default and is not handled here: db.py hands its raw DuckDBPyConnection to every
caller and runs the SQL files as they are. A PostgreSQL or Spark target (postgres.py,
sparkdb.py) gets a `Remote` handle with the same surface the callers use (`execute(sql,
{params})` → `fetchone/fetchall/df`, `cursor()`, `close()`); it accepts the DuckDB-flavoured SQL
of crm_core and translates each statement once with sqlglot (crm_core/engine/dialects.py, cached
per statement text and dialect; never imported for DuckDB). Parameters stay bound: `$name`
becomes PostgreSQL's `$n` (psycopg's RawCursor) or Spark's `:name` marker. docs/backends.md
describes the design and its limits.
"""

from __future__ import annotations

import abc
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from crm_core.engine import config
from crm_core.engine.redact import redact

KINDS = ("duckdb", "postgresql", "spark")


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


# DuckDB (the default) is a raw DuckDBPyConnection; PostgreSQL and Spark are a Remote with the
# same execute(sql, {params}) → fetchone/fetchall/df surface (docs/backends.md).
Connection = duckdb.DuckDBPyConnection | Remote


def iter_sql_names() -> Iterator[str]:
    """Every query file of crm_core/sql (fragments excluded)."""
    for p in sorted(config.SQL_DIR.glob("*.sql")):
        if not p.name.startswith("_"):
            yield p.stem
