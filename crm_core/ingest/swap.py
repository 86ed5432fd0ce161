"""Swap: one transaction keeping undo data, replacing or upserting tables, logging the load."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable

from crm_core.engine import config, db
from crm_core.engine.schema import SQL_TYPES, TABLES
from crm_core.ingest.checks import _key_expr, _key_name
from crm_core.ingest.reports import FileReport, Note


def _next_load_id(con: db.Connection) -> int:
    return int(con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_history").fetchone()[0])  # type: ignore[index]


def _swap(
    cur: db.Connection,
    reports: list[FileReport],
    mode: str,
    started: dt.datetime,
    stage: db.Connection | None = None,
    progress: Callable[[float, str], None] | None = None,
    persisted: bool = False,
) -> tuple[int, dict[str, int]]:
    """One transaction: keep undo data, replace or upsert each table, empty the tables no file
    names (replace-all), refresh summaries, log. Returns the load id and the emptied tables.

    `stage` holds the checked stage tables when it is not `cur` (a scratch DuckDB for a
    PostgreSQL or Spark target): they are shipped into the transaction first. `persisted`:
    the stages are tables of `cur`'s database in the canonical shape (prepare's `persist`),
    so a table replaced by one file becomes that file's stage, renamed, instead of a copy."""
    stage = cur if stage is None else stage
    cols_cache = {t: [c.name for c in TABLES[t].all_columns] for t in TABLES}
    cur.execute("BEGIN TRANSACTION")
    try:
        load_id = _next_load_id(cur)
        if stage is not cur:
            staged_tables = db.table_columns(stage)
            names = [r.stage or "" for r in reports]
            names += [f"{n}_rejects" for n in names if f"{n}_rejects" in staged_tables]
            db.import_tables(cur, stage, names)
        by_table: dict[str, list[FileReport]] = {}
        for r in reports:
            by_table.setdefault(r.table or "", []).append(r)
        undo_kinds: dict[str, str] = {}
        for table, rs in by_table.items():
            cols = ", ".join(cols_cache[table])
            staged = " UNION ALL ".join(f"SELECT {cols} FROM {r.stage}" for r in rs)
            undo = f"_undo_{load_id}_{table}"
            if mode in ("replace", "replace-all"):
                cur.execute(f"ALTER TABLE {table} RENAME TO {undo}")
                if persisted and len(rs) == 1 and _canonical(cur, rs[0].stage or "", table):
                    cur.execute(f"ALTER TABLE {rs[0].stage} RENAME TO {table}")
                else:
                    cur.execute(db.table_ddl(table))
                    cur.execute(f"INSERT INTO {table} ({cols}) {staged}")
                undo_kinds[table] = "replaced"
            else:
                k, name = _key_expr(table), _key_name(table)
                cur.execute(
                    f"CREATE TABLE {undo}_keys AS SELECT DISTINCT {k} AS {name} FROM ({staged})"
                )
                cur.execute(
                    f"CREATE TABLE {undo} AS SELECT * FROM {table} "
                    f"WHERE {k} IN (SELECT {name} FROM {undo}_keys)"
                )
                cur.execute(f"DELETE FROM {table} WHERE {k} IN (SELECT {name} FROM {undo}_keys)")
                cur.execute(f"INSERT INTO {table} ({cols}) {staged}")
                undo_kinds[table] = "upserted"
        emptied: dict[str, int] = {}
        if mode == "replace-all":
            counts = db.table_counts(cur)
            for table in TABLES:
                if table not in by_table and counts[table]:
                    # Kept whole as undo data, like a replaced table: rollback renames it back.
                    cur.execute(f"ALTER TABLE {table} RENAME TO _undo_{load_id}_{table}")
                    cur.execute(db.table_ddl(table))
                    emptied[table] = counts[table]
        replaced = {t for t, rs in by_table.items() if len(rs) == 1} if mode != "append" else set()
        _warn_unknown_customers(cur, reports, replaced)
        from crm_core.engine import summaries

        if progress is not None:
            progress(0.9, "updating the customer facts")
        if mode in ("replace", "replace-all"):
            # On DuckDB the day tables are built after the commit (batch.load): until then
            # reports read the order lines, with the same numbers.
            summaries.refresh(cur, after_commit=db.is_duckdb(cur))
        else:  # appended order lines merge into the fact layer: only their customers change
            orders = "orders" in by_table
            summaries.refresh_append(cur, f"_undo_{load_id}_orders" if orders else None)
        finished = dt.datetime.now()
        for r in reports:
            cur.execute(
                "INSERT INTO load_history VALUES ($id, $file, $table, $sha, $enc, $read, $loaded, "
                "$rejected, $mode, $start, $end, 'loaded', $warn, $undo)",
                {
                    "id": load_id,
                    "file": r.file_name,
                    "table": r.table,
                    "sha": r.sha256,
                    "enc": r.encoding,
                    "read": r.rows_read,
                    "loaded": r.rows_loaded,
                    "rejected": r.rows_rejected,
                    "mode": mode,
                    "start": started,
                    "end": finished,
                    "warn": json.dumps(r.warnings, ensure_ascii=False),
                    "undo": undo_kinds[r.table or ""],
                },
            )
            rej = f"{r.stage}_rejects"
            if stage.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = $t", {"t": rej}
            ).fetchone()[0]:  # type: ignore[index]
                cur.execute(
                    f"INSERT INTO load_rejects SELECT $id, $file, $table, row_number, column_name, "
                    f"value, reason FROM {rej}",
                    {"id": load_id, "file": r.file_name, "table": r.table},
                )
        for table, n in emptied.items():
            # One history row per emptied table (no file): rollback finds its undo data here.
            cur.execute(
                "INSERT INTO load_history VALUES ($id, NULL, $table, NULL, NULL, 0, 0, 0, $mode, "
                "$start, $end, 'loaded', $warn, 'replaced')",
                {
                    "id": load_id,
                    "table": table,
                    "mode": mode,
                    "start": started,
                    "end": finished,
                    "warn": json.dumps(
                        [f"{table}: emptied, {n} row(s) removed (no file named it)"],
                        ensure_ascii=False,
                    ),
                },
            )
        _prune_undo(cur, load_id)
        cur.execute("COMMIT")
        return load_id, emptied
    except BaseException:
        cur.execute("ROLLBACK")
        raise


def _canonical(cur: db.Connection, name: str, table: str) -> bool:
    """Whether table `name` has the columns and types of the canonical `table`, in order."""
    want = [(c.name, SQL_TYPES[c.kind]) for c in TABLES[table].all_columns]
    got = cur.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
        "AND database_name = current_database() AND schema_name = 'main' AND NOT internal "
        "ORDER BY column_index",
        {"t": name},
    ).fetchall()
    return [(n, t) for n, t in got] == want


def _warn_unknown_customers(
    cur: db.Connection, reports: list[FileReport], replaced: set[str]
) -> None:
    """Warn of each file's rows naming a customer the customers table does not hold. A table in
    `replaced` now holds its one file's rows alone: they are read from there, one stored column,
    rather than through the stage's view (6 s instead of 1 s for 10 M order lines)."""
    if not cur.execute("SELECT count(*) FROM customers").fetchone()[0]:  # type: ignore[index]
        return  # an orders-only database: every customer is known from orders
    for r in reports:
        if r.table in (None, "customers") or "customer_id" not in r.mapping.values():
            continue
        rows = r.table if r.table in replaced else r.stage
        n = cur.execute(
            f"SELECT count(*) FROM {rows} s WHERE s.customer_id IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)"
        ).fetchone()[0]  # type: ignore[index]
        if n:
            r.warnings.append(
                Note(
                    f"{r.file_name}: {n} row(s) name a customer id that is not in the "
                    "customers table (loaded; they count as customers known from orders)",
                    "unknown_customers",
                    file=r.file_name,
                    n=n,
                )
            )


def _undo_tables(cur: db.Connection) -> list[tuple[int, str]]:
    out = []
    for name in sorted(db.table_columns(cur)):
        m = re.match(r"_undo_(\d+)_", name)
        if m:
            out.append((int(m.group(1)), name))
    return out


def _prune_undo(cur: db.Connection, load_id: int) -> None:
    for lid, name in _undo_tables(cur):
        if lid <= load_id - config.UNDO_KEEP:
            cur.execute(f"DROP TABLE {name}")
            cur.execute(
                "UPDATE load_history SET undo_kind = 'expired' WHERE load_id = $id "
                "AND status = 'loaded'",
                {"id": lid},
            )
