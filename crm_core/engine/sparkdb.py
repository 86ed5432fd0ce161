"""Spark SQL backend: Parquet tables in one warehouse folder, committed through a manifest.

Spark has no transactions and Parquet tables no DELETE/UPDATE/RENAME, yet ingest, rollback and
summaries run the same DuckDB-flavoured statements on every engine. So this module keeps the
catalog itself: `<warehouse>/_manifest.json` names, for every table, its Parquet folders and
schema. Each cursor registers the tables as temporary views of its own Spark session. A write
transaction (BEGIN … COMMIT) holds a lock file, writes new Parquet folders for what changes
(INSERT adds a folder; DELETE/UPDATE/ALTER rewrite the table; RENAME and DROP only edit the
manifest), and COMMIT replaces the manifest with one atomic rename. Readers see the old
manifest or the new one, never a mix; ROLLBACK (or a crash) leaves the old one in place.
Limits (docs/backends.md): the lock and the rename need one POSIX file system shared by every
process (a local disk, or NFS for a cluster) — not an object store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from crm_core.engine import backends, config, dialects
from crm_core.engine.backends import Remote, Result, Target
from crm_core.engine.dialects import Statement
from crm_core.engine.lru import LRU
from crm_core.engine.redact import redact

MANIFEST = "_manifest.json"
# Every Spark session crm_core opens; timestamps are wall-clock values as in DuckDB/PostgreSQL.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    # DuckDB and PostgreSQL do not cap WITH RECURSIVE (a calendar of weeks or days); Spark stops
    # at 100 levels by default.
    "spark.sql.cteRecursionLevelLimit": "100000",
}
_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


# Query results per (warehouse, manifest version, SQL, parameters).
_results: LRU[tuple, Any] = LRU(config.SPARK_RESULT_CACHE_SIZE)


def session(master: str) -> Any:
    """The process-wide SparkSession for a master (local[2], spark://h:7077, sc://h:15002)."""
    with _sessions_lock:
        spark = _sessions.get(master)
        if spark is not None and not _stopped(spark):
            return spark
        try:
            from pyspark.sql import SparkSession
        except ImportError as e:  # pragma: no cover - depends on the installation
            raise backends.BackendUnavailable(
                "Spark needs pyspark: pip install -r requirements-spark.txt"
            ) from e
        builder: Any = SparkSession.builder.appName("crm-lens")
        if master.startswith("sc://"):
            builder = builder.remote(master)
        else:
            builder = (
                builder.master(master)
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", str(config.SPARK_SHUFFLE_PARTITIONS))
                .config("spark.driver.memory", config.SPARK_DRIVER_MEMORY)
            )
        for k, v in _conf(master).items():
            builder = builder.config(k, v)
        try:
            spark = builder.getOrCreate()
        except Exception as e:
            raise backends.BackendUnavailable(redact(f"cannot start Spark ({master}): {e}")) from e
        with contextlib.suppress(Exception):
            spark.sparkContext.setLogLevel("FATAL")
        _sessions[master] = spark
        return spark


def _stopped(spark: Any) -> bool:
    try:
        sc = spark.sparkContext
        return sc._jsc is None
    except Exception:  # Spark Connect has no SparkContext
        return False


def _conf(master: str) -> dict[str, str]:
    conf = dict(SESSION_CONF)
    if master.startswith("local"):
        # Adaptive execution re-plans every stage: worth it on a cluster's big skewed joins,
        # pure overhead on one machine's page queries (the overview KPIs: 3.2 s -> 1.5 s).
        conf["spark.sql.adaptive.enabled"] = "false"
    return conf


def _new_session(root: Any, master: str) -> Any:
    """A Spark session of its own (temporary views and settings) on the shared context."""
    try:
        s = root.newSession()
    except Exception:  # Spark Connect: one remote session per cursor
        from pyspark.sql import SparkSession

        s = SparkSession.builder.remote(master).create()
    for k, v in _conf(master).items():
        s.conf.set(k, v)
    return s


class Warehouse:
    """The manifest, the data folders and the writer lock of one Spark database."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        (self.root / "staging").mkdir(exist_ok=True)
        self.manifest = self.root / MANIFEST

    def stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.manifest)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def read(self) -> tuple[int, dict[str, dict[str, Any]]]:
        try:
            doc = json.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0, {}
        return int(doc["version"]), doc["tables"]

    def write(self, version: int, tables: dict[str, dict[str, Any]]) -> None:
        tmp = self.root / f".{MANIFEST}.{uuid.uuid4().hex}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": version, "tables": tables}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.manifest)  # the commit point

    def new_dir(self) -> str:
        return f"data/{uuid.uuid4().hex}"

    def gc(self, *keep: dict[str, dict[str, Any]]) -> None:
        """Delete data folders that neither the new nor the previous manifest names (a reader
        still on the previous one keeps working)."""
        used = {p for tables in keep for t in tables.values() for p in t["paths"]}
        for d in (self.root / "data").iterdir():
            if f"data/{d.name}" not in used:
                shutil.rmtree(d, ignore_errors=True)


class SparkConnection(Remote):
    """A cursor on a Spark warehouse: its own Spark session, views synced to the manifest."""

    dialect = "spark"

    def __init__(self, target: Target, root: Any, warehouse: Warehouse) -> None:
        self.target = target
        self._root = root
        self._wh = warehouse
        self._spark = _new_session(root, target.master)
        self._views: dict[str, tuple[tuple[str, ...], str]] = {}  # name -> (paths, schema)
        self._frames: dict[str, Any] = {}  # name -> the DataFrame behind its view
        self._stamp: tuple[int, int] | bool | None = False  # False: never synced
        self._committed: dict[str, dict[str, Any]] = {}
        self._version = 0
        self._pending: dict[str, dict[str, Any]] | None = None  # tables inside a transaction
        self._base = 0  # the manifest version a transaction started from
        self._lock_file: Any = None
        self._staging: Path | None = None
        self._temp: set[str] = set()

    def cursor(self) -> SparkConnection:
        return SparkConnection(self.target, self._root, self._wh)

    def close(self) -> None:
        if self._pending is not None:
            self._rollback()

    # ---------------------------------------------------------------- catalog

    def _tables(self) -> dict[str, dict[str, Any]]:
        if self._pending is not None:
            return self._pending
        self._sync()
        return self._committed

    def _sync(self) -> None:
        stamp = self._wh.stamp()
        if stamp == self._stamp:
            return
        self._version, self._committed = self._wh.read()
        self._stamp = stamp
        self._register(self._committed)

    def _register(self, tables: dict[str, dict[str, Any]]) -> None:
        from pyspark.sql.types import StructType

        for name in [n for n in self._views if n not in tables]:
            self._spark.catalog.dropTempView(name)
            self._drop_frame(name)
        for name, t in tables.items():
            key = (tuple(t["paths"]), t["schema"])
            if self._views.get(name) == key:
                continue
            schema = StructType.fromJson(json.loads(t["schema"]))
            paths = [str(self._wh.root / p) for p in t["paths"]]
            df = (
                self._spark.read.schema(schema).parquet(*paths)
                if paths
                else (self._spark.createDataFrame([], schema))
            )
            if config.SPARK_CACHE:  # pages query the same tables again and again
                df = df.cache()
            self._drop_frame(name)
            df.createOrReplaceTempView(name)
            self._views[name] = key
            self._frames[name] = df

    def _drop_frame(self, name: str) -> None:
        key = self._views.pop(name, None)
        df = self._frames.pop(name, None)
        live = {tuple(t["paths"]) for t in self._committed.values()}
        # Spark shares one cache entry per table version between sessions: keep it while the
        # committed manifest still names that version (a writer's pending views replace it).
        if df is not None and config.SPARK_CACHE and (key is None or key[0] not in live):
            df.unpersist(blocking=False)

    def table_columns(self) -> dict[str, set[str]]:
        from pyspark.sql.types import StructType

        return {
            name: set(StructType.fromJson(json.loads(t["schema"])).fieldNames())
            for name, t in self._tables().items()
        }

    # ---------------------------------------------------------------- statements

    def execute(self, query: str, parameters: dict[str, Any] | None = None) -> Result:  # type: ignore[override]
        params = dict(parameters or {})
        result = Result()
        for st in dialects.translate(query, "spark"):
            missing = [n for n in st.params if n not in params]
            if missing:
                raise KeyError(f"missing SQL parameters: {missing}")
            args = {n: params[n] for n in st.params}
            tree = st.tree
            if isinstance(tree, exp.Transaction):
                self._begin()
            elif isinstance(tree, exp.Commit):
                self._commit()
            elif isinstance(tree, exp.Rollback):
                self._rollback()
            elif dialects.is_write(tree):
                if self._pending is not None:
                    self._write(tree, args)
                else:  # a write outside a transaction commits at once, as in DuckDB
                    self._begin()
                    try:
                        self._write(tree, args)
                    except BaseException:
                        self._rollback()
                        raise
                    self._commit()
            else:
                result = self._query(st, args)
        return result

    def _query(self, st: Statement, args: dict[str, Any]) -> Result:
        if self._pending is None:
            self._sync()
        # The data only changes at a commit, so a result is valid for its manifest version:
        # the pages repeat queries, and each costs Spark a job or more.
        version = self._base if self._pending is not None else self._version
        key = None
        if self._lock_file is None:  # not inside a write
            key = (str(self._wh.root), version, st.sql, repr(sorted(args.items())))
            table = _results.get(key)
            if table is not None:
                return Result(list(table.column_names), None, table)
        try:
            table = self._spark.sql(st.sql, args=args or None).toArrow()
        except Exception:
            # A commit during the query may have deleted folders it was reading (two versions
            # old): read the new manifest and run it once more.
            if self._pending is not None or self._wh.stamp() == self._stamp:
                raise
            self._sync()
            table = self._spark.sql(st.sql, args=args or None).toArrow()
            key = None  # computed on a newer version than the key names
        if key is not None and table.nbytes <= config.SPARK_RESULT_CACHE_MAX_BYTES:
            _results.put(key, table)
        return Result(list(table.column_names), None, table)

    def _df(self, tree: exp.Expr, args: dict[str, Any]) -> Any:
        return self._spark.sql(tree.sql("spark", comments=False), args=args or None)

    # ---------------------------------------------------------------- transactions

    def _begin(self) -> None:
        """A snapshot: this cursor's views stay on the manifest of BEGIN until COMMIT/ROLLBACK;
        the writer's lock is taken by the first write (_writer)."""
        if self._pending is not None:
            raise RuntimeError("a transaction is already open on this cursor")
        self._sync()
        self._base = self._version
        self._pending = json.loads(json.dumps(self._committed))

    def _writer(self) -> None:
        if self._lock_file is not None:
            return
        lock = open(self._wh.root / "_lock", "w")  # noqa: SIM115 - held until COMMIT/ROLLBACK
        fcntl.flock(lock, fcntl.LOCK_EX)
        self._lock_file = lock
        if self._wh.read()[0] != self._base:
            raise backends.TransactionConflict(
                "another load or rollback committed while this one was prepared; nothing was "
                "changed — run it again"
            )

    def _end(self) -> None:
        for name in self._temp:
            self._spark.catalog.dropTempView(name)
            self._views.pop(name, None)
        self._temp.clear()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        self._pending = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _commit(self) -> None:
        if self._pending is None:
            raise RuntimeError("COMMIT: no transaction is open on this cursor")
        new, old = self._pending, self._committed
        try:
            if self._lock_file is not None:  # a read-only block has nothing to publish
                self._wh.write(self._base + 1, new)
                self._wh.gc(new, old)
        finally:
            self._end()
        self._stamp = False
        self._sync()

    def _rollback(self) -> None:
        if self._pending is None:
            raise RuntimeError("ROLLBACK: no transaction is open on this cursor")
        try:
            if self._lock_file is not None:
                self._wh.gc(self._wh.read()[1], self._committed)  # drop what this one wrote
        finally:
            self._end()
        self._stamp = False
        self._register({})  # views may point at the abandoned folders
        self._sync()

    def import_tables(self, source: duckdb.DuckDBPyConnection, names: list[str]) -> None:
        if self._pending is None:
            raise RuntimeError("import_tables needs BEGIN first")
        self._writer()
        if self._staging is None:
            self._staging = self._wh.root / "staging" / uuid.uuid4().hex
            self._staging.mkdir(parents=True)
        for name in names:
            path = self._staging / f"{name}.parquet"
            source.execute(f"COPY {name} TO '{path}' (FORMAT parquet)")
            self._spark.read.parquet(str(path)).createOrReplaceTempView(name)
            self._temp.add(name)

    # ---------------------------------------------------------------- writes

    def _save(self, df: Any) -> dict[str, Any]:
        rel = self._wh.new_dir()
        df.write.mode("errorifexists").parquet(str(self._wh.root / rel))
        return {"paths": [rel], "schema": df.schema.json()}

    def _set(self, name: str, table: dict[str, Any] | None) -> None:
        assert self._pending is not None
        if table is None:
            self._pending.pop(name, None)
        else:
            self._pending[name] = table
        self._register(self._pending)

    def _schema(self, name: str) -> Any:
        from pyspark.sql.types import StructType

        assert self._pending is not None
        if name not in self._pending:
            raise LookupError(f"Table {name!r} does not exist")
        return StructType.fromJson(json.loads(self._pending[name]["schema"]))

    def _write(self, tree: exp.Expr, args: dict[str, Any]) -> None:
        assert self._pending is not None
        self._writer()
        if isinstance(tree, exp.Create):
            self._create(tree, args)
        elif isinstance(tree, exp.Insert):
            self._insert(tree, args)
        elif isinstance(tree, exp.Delete):
            name = tree.this.name
            self._schema(name)
            where = tree.args.get("where")
            if where is None:
                df = self._spark.table(name).limit(0)
            else:
                # Rows where the condition is NULL stay, as in SQL's DELETE: EXCEPT ALL the
                # deleted ones rather than filtering on NOT cond.
                gone = exp.select("*").from_(name).where(where.this.copy())
                df = self._df(exp.except_(exp.select("*").from_(name), gone, distinct=False), args)
            self._set(name, self._save(df))
        elif isinstance(tree, exp.Update):
            name = tree.this.name
            schema = self._schema(name)
            sets = {e.this.name: e.expression for e in tree.expressions}
            where = tree.args.get("where")
            cols = []
            for f in schema.fields:
                if f.name in sets:
                    value: exp.Expr = sets[f.name].copy()
                    if where is not None:
                        value = exp.case().when(where.this.copy(), value).else_(exp.column(f.name))
                    cols.append(exp.cast(value, f.dataType.simpleString()).as_(f.name))
                else:
                    cols.append(exp.column(f.name))
            self._set(name, self._save(self._df(exp.select(*cols).from_(name), args)))
        elif isinstance(tree, exp.Alter):
            name = tree.this.name
            for action in tree.args.get("actions") or []:
                if isinstance(action, exp.AlterRename):
                    table = self._pending.get(name)
                    if table is None:
                        raise LookupError(f"Table {name!r} does not exist")
                    self._set(name, None)
                    name = action.this.name
                    self._set(name, table)
                elif isinstance(action, exp.ColumnDef):
                    self._schema(name)
                    col = exp.cast(exp.null(), action.args["kind"].copy()).as_(action.name)
                    df = self._df(exp.select("*", col).from_(name), args)
                    self._set(name, self._save(df))
                else:
                    raise NotImplementedError(f"Spark backend: {tree.sql('duckdb')}")
        elif isinstance(tree, exp.Drop):
            for t in tree.args.get("tables") or [tree.this]:
                if t.name not in self._pending and not tree.args.get("exists"):
                    raise LookupError(f"Table {t.name!r} does not exist")
                self._set(t.name, None)

    def _create(self, tree: exp.Create, args: dict[str, Any]) -> None:
        assert self._pending is not None
        if tree.kind != "TABLE" or tree.find(exp.TemporaryProperty):
            raise NotImplementedError(f"Spark backend: {tree.sql('duckdb')[:80]}")
        schema_def = tree.this if isinstance(tree.this, exp.Schema) else None
        name = (schema_def.this if schema_def is not None else tree.this).name
        if name in self._pending:
            if tree.args.get("exists"):
                return
            raise LookupError(f"Table {name!r} already exists")
        if schema_def is not None:
            ddl = ", ".join(
                f"{c.name} {c.args['kind'].sql('spark')}"
                for c in schema_def.expressions
                if isinstance(c, exp.ColumnDef)
            )
            df = self._spark.createDataFrame([], ddl)
        else:
            df = self._df(tree.expression, args)
        self._set(name, self._save(df))

    def _insert(self, tree: exp.Insert, args: dict[str, Any]) -> None:
        from pyspark.sql import functions as F

        assert self._pending is not None
        target = tree.this
        if isinstance(target, exp.Schema):
            name, cols = target.this.name, [c.name for c in target.expressions]
        else:
            name, cols = target.name, []
        schema = self._schema(name)
        src = self._df(tree.expression, args)
        cols = cols or schema.fieldNames()[: len(src.columns)]
        src = src.toDF(*cols)
        df = src.select(
            *[
                (F.col(f.name) if f.name in cols else F.lit(None)).cast(f.dataType).alias(f.name)
                for f in schema.fields
            ]
        )
        table = dict(self._pending[name])
        rel = self._wh.new_dir()
        df.write.mode("errorifexists").parquet(str(self._wh.root / rel))
        table["paths"] = [*table["paths"], rel]
        if len(table["paths"]) > config.SPARK_MAX_SEGMENTS:  # compact many small inserts
            self._set(name, table)
            table = self._save(self._spark.table(name))
        self._set(name, table)


def connect(target: Target) -> SparkConnection:
    """A cursor on the Spark warehouse of `target` (its folder is created when missing)."""
    return SparkConnection(target, session(target.master), Warehouse(target.warehouse))
