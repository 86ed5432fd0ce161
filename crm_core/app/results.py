"""The result store: slow page results kept in the database, shared by every app process.

`ui.cached` keeps a result in its process's memory; this table keeps it for every process and
every restart, until the data changes. A row is keyed by the data version (sql/data_version.sql),
the code version (a digest of crm_core's source: a new release never reads an older one's
results), the call (function and arguments, a language included where it is one) and the
signed-in scope. Rows of other versions never answer; `prune` deletes them after each load.

Format: pickle, read back by a restricted Unpickler (Python docs, "Restricting Globals") that
builds only an allow-list of classes: builtins containers, datetime, Decimal, numpy arrays and
scalars, plotly figures, and crm_core's own result types (dataclasses, named tuples, enums).
A plotly figure is kept as its JSON (read back without validating it again). Every pandas
frame inside a result is written as an Arrow IPC stream (zstd) instead of being
pickled, so no pandas or pyarrow internals are ever unpickled; object columns Arrow cannot type
(ints beside Decimals) go beside the stream as lists of allowed scalars. A frame that would not
come back identically (dtypes, index, column labels) makes the result process-cache only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import importlib
import io
import logging
import pickle
import time
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa

from crm_core.engine import backends, db
from crm_core.metrics.clv import ClvRefused
from crm_core.present.i18n import LANGS

log = logging.getLogger(__name__)

# Results larger than this stay in the process cache only (a full customer list at 1 M customers).
MAX_BYTES = 256 * 2**20

# (module, name) pairs a stored result may name, beyond crm_core's result types.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {("builtins", name) for name in ("set", "frozenset", "slice", "complex", "range", "bytearray")}
    | {("datetime", name) for name in ("date", "datetime", "time", "timedelta", "timezone")}
    | {("decimal", "Decimal"), ("collections", "OrderedDict")}
    | {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy.dtypes", "Float64DType"),
        ("numpy.dtypes", "Int64DType"),
        ("numpy.dtypes", "BoolDType"),
        ("numpy.dtypes", "ObjectDType"),
        ("plotly.graph_objs._figure", "Figure"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
    }
)


class Refused(pickle.UnpicklingError):
    """A stored payload names something outside the allow-list: it is not loaded."""


def _result_type(obj: Any) -> bool:
    """A crm_core class a result may hold: plain data, built without running its own code."""
    if not isinstance(obj, type):
        return False
    return (
        dataclasses.is_dataclass(obj)
        or issubclass(obj, enum.Enum)
        or (issubclass(obj, tuple) and hasattr(obj, "_fields"))
    )


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        if module == "crm_core" or module.startswith("crm_core."):
            found = super().find_class(module, name)
            if _result_type(found):
                return found
        raise Refused(f"stored result names {module}.{name}, which is not allowed")

    def persistent_load(self, pid: Any) -> Any:
        kind, data = pid
        if kind == "arrow-frame" and isinstance(data, bytes):
            return _arrow_frame(data)
        if kind == "arrow-frame-objects" and isinstance(data, tuple) and len(data) == 2:
            return _with_object_columns(_arrow_frame(data[0]), data[1])
        if kind == "plotly-figure" and isinstance(data, dict):
            # Built from its own JSON as it was stored, not validated again: a slide deck's
            # figures load in 8 ms instead of 0.11 s (every Present first open in a process).
            return go.Figure(data, _validate=False)
        raise Refused(f"unknown stored object {kind!r}")


def _arrow_frame(data: Any) -> pd.DataFrame:
    if not isinstance(data, bytes):
        raise Refused("a stored frame is not an Arrow stream")
    table = pa.ipc.open_stream(data).read_all()
    table.validate(full=True)
    return table.to_pandas()


def _with_object_columns(rest: pd.DataFrame, columns: Any) -> pd.DataFrame:
    """`rest` with the object columns put back at their places: [(position, label, values)]."""
    out = rest.copy()
    for position, label, values in columns:
        if not isinstance(position, int) or not isinstance(values, list):
            raise Refused("a stored object column is malformed")
        out.insert(position, label, pd.Series(values, index=out.index, dtype=object))
    return out


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, pd.DataFrame):
            return frame_record(obj)
        if type(obj) is go.Figure:
            return ("plotly-figure", obj.to_plotly_json())
        return None


class NotStorable(ValueError):
    """A result the store cannot give back identically: kept in the process cache only."""


def frame_bytes(df: pd.DataFrame) -> bytes:
    """The frame as an Arrow IPC stream, if Arrow gives it back identically."""
    try:
        table = pa.Table.from_pandas(df)
        back = table.to_pandas()
        pd.testing.assert_frame_equal(back, df, check_exact=True)
    except (pa.ArrowException, AssertionError, TypeError, ValueError) as e:
        raise NotStorable(f"frame does not round-trip through Arrow: {e}") from e
    if back.attrs != df.attrs:
        raise NotStorable("frame attrs do not round-trip through Arrow")
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def frame_record(df: pd.DataFrame) -> tuple[str, Any]:
    """How a frame is stored: an Arrow stream; a frame whose object columns Arrow cannot type
    (Python ints beside Decimals, as a KPI table's values) as the other columns' Arrow stream
    plus each object column's values (allowed scalars, pickled by the restricted rules). Either
    only if it gives the frame back identically, else NotStorable."""
    try:
        return ("arrow-frame", frame_bytes(df))
    except NotStorable:
        positions = [i for i, t in enumerate(df.dtypes) if pd.api.types.is_object_dtype(t)]
        if not positions or df.columns.has_duplicates:
            raise
    rest = df.drop(columns=[df.columns[i] for i in positions])
    columns = [(i, df.columns[i], df.iloc[:, i].tolist()) for i in positions]
    back = _with_object_columns(rest, columns)
    try:
        pd.testing.assert_frame_equal(back, df, check_exact=True)
    except AssertionError as e:
        raise NotStorable(f"frame does not round-trip with its object columns apart: {e}") from e
    return ("arrow-frame-objects", (frame_bytes(rest), columns))


def dumps(value: Any) -> bytes:
    """The stored form of a result; NotStorable when it would not load back as it is."""
    buf = io.BytesIO()
    try:
        _Pickler(buf, protocol=5).dump(value)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise NotStorable(str(e)) from e
    data = buf.getvalue()
    try:
        loads(data)  # what a reader will do: refuse now rather than at every read
    except Refused as e:
        raise NotStorable(str(e)) from e
    return data


def loads(data: bytes) -> Any:
    """A stored result, built only from allowed classes (Refused otherwise)."""
    return _Unpickler(data).load()


@functools.cache
def code_version() -> str:
    """A digest of crm_core's source (Python, SQL, messages): results of other code never answer."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".sql", ".toml") and "__pycache__" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def version_text(version: tuple) -> str:
    """The data version row (sql/data_version.sql) as the store keys it."""
    return ":".join(str(v) for v in version)


@dataclasses.dataclass(frozen=True)
class Key:
    """Where a result lives in the store."""

    data_version: str
    target: str
    call: str  # sha256 of the arguments and scope
    scope: str
    lang: str  # the call's language argument, "" when it has none


def key(version: tuple, target: str, args: tuple, kwargs: tuple, scope: Any) -> Key | None:
    """The store key of a call, or None when an argument has no stable text (an object
    printed with its memory address could never be found again)."""
    text = repr((target, args, kwargs, scope))
    if " at 0x" in text:
        return None
    langs = [v for v in (*args, *dict(kwargs).values()) if isinstance(v, str) and v in LANGS]
    lang = str(dict(kwargs).get("lang", langs[0] if langs else ""))
    call = hashlib.sha256(text.encode()).hexdigest()
    return Key(version_text(version), target, call, repr(scope), lang)


def supported(con: db.Connection) -> bool:
    """Whether the backend keeps the store: DuckDB and PostgreSQL. Spark writes every INSERT
    as a new Parquet folder and manifest version, which would empty Spark's own result cache."""
    return getattr(con, "dialect", "") != "spark"


def supported_target(target: str) -> bool:
    """Like `supported`, from a --db / CRM_LENS_DB value."""
    return backends.parse_target(target).kind != "spark"


def get(con: db.Connection, k: Key) -> tuple[bool, Any]:
    """(True, result) when the store holds the call for this data and code version."""
    rows = db.query_rows(
        con, "results_get", data_version=k.data_version, code_version=code_version(), call=k.call
    )
    if not rows:
        return False, None
    payload = rows[0][0]
    return True, loads(bytes(payload))


def put(con: db.Connection, k: Key, value: Any, seconds: float) -> int:
    """Store a result (committed at once on `con`, which must be outside a read transaction);
    returns the payload's size, 0 when it stays in the process cache only."""
    data = dumps(value)
    if len(data) > MAX_BYTES:
        return 0
    db.query_rows(
        con,
        "results_put",
        data_version=k.data_version,
        code_version=code_version(),
        call=k.call,
        target=k.target,
        scope=k.scope,
        lang=k.lang,
        payload=data,
        payload_bytes=len(data),
        compute_seconds=round(seconds, 3),
        stored_at=dt.datetime.now().replace(microsecond=0),
    )
    return len(data)


def prune(con: db.Connection) -> int:
    """Delete the rows of every other data or code version than the database's current one;
    returns how many went."""
    if not supported(con):
        return 0
    version = version_text(tuple(db.query_rows(con, "data_version")[0]))
    before = db.scalar(con, "results_count") or 0
    db.query_rows(con, "results_prune", data_version=version, code_version=code_version())
    return int(before) - int(db.scalar(con, "results_count") or 0)


def summary(con: db.Connection) -> dict[str, Any]:
    """What the store holds for the current data version: results and bytes."""
    version = version_text(tuple(db.query_rows(con, "data_version")[0]))
    rows = db.query_rows(con, "results_summary", data_version=version, code_version=code_version())
    n, size = rows[0] if rows else (0, 0)
    return {"data_version": version, "results": int(n or 0), "bytes": int(size or 0)}


@dataclasses.dataclass(frozen=True)
class Refusal:
    """A call's answer that the data cannot support it (clv.ClvRefused, e.g. too short a history
    for a churn fit): as much a result of the data as a figure, so it is kept like one (process
    cache and store) and raised again, the same, wherever it is read."""

    key: str
    message: str
    facts: dict[str, Any]

    @classmethod
    def of(cls, e: ClvRefused) -> Refusal:
        return cls(e.key, str(e), dict(e.facts))

    def error(self) -> ClvRefused:
        """The refusal as the call raised it: same key, message and facts."""
        return ClvRefused(self.key, self.message, **self.facts)


def call(target: str, con: db.Connection, args: tuple, kwargs: tuple) -> Any:
    """Run a module-level crm_core function named by its dotted path; a refusal (ClvRefused) is
    returned as a `Refusal`, not raised."""
    module, _, name = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)(con, *args, **dict(kwargs))
    except ClvRefused as e:
        return Refusal.of(e)


def timed_call(target: str, con: db.Connection, args: tuple, kwargs: tuple) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = call(target, con, args, kwargs)
    return value, time.perf_counter() - t0
