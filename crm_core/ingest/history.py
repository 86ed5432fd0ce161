"""Load history and undo: every load, rolling loads back, the tables holding demo rows."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from crm_core.engine import config, db
from crm_core.engine.schema import TABLES
from crm_core.ingest.checks import _key_expr, _key_name
from crm_core.ingest.decode import sha256_of
from crm_core.ingest.reports import IngestError, Source


def load_history(con: db.Connection) -> pd.DataFrame:
    """Every load, newest first, with whether it can still be rolled back."""
    return db.query(con, "load_history")


def rollback_to_before(con: db.Connection, load_id: int) -> list[int]:
    """Undo load `load_id` and every later one, newest first; returns the loads undone."""
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        loads = cur.execute(
            "SELECT load_id, table_name, min(undo_kind) FROM load_history "
            "WHERE load_id >= $id AND status = 'loaded' GROUP BY 1, 2 ORDER BY 1 DESC",
            {"id": load_id},
        ).fetchall()
        if not loads:
            raise IngestError(f"load {load_id} does not exist or is already rolled back")
        expired = sorted({lid for lid, _, kind in loads if kind == "expired"})
        if expired:
            raise IngestError(
                f"cannot roll back to before load {load_id}: the undo data of load(s) {expired} "
                f"was dropped (only the last {config.UNDO_KEEP} loads keep it)"
            )
        for lid, table, kind in loads:
            undo = f"_undo_{lid}_{table}"
            if kind == "replaced":
                cur.execute(f"DROP TABLE {table}")
                cur.execute(f"ALTER TABLE {undo} RENAME TO {table}")
            else:
                k, name = _key_expr(table), _key_name(table)
                cur.execute(f"DELETE FROM {table} WHERE {k} IN (SELECT {name} FROM {undo}_keys)")
                cur.execute(f"INSERT INTO {table} SELECT * FROM {undo}")
                cur.execute(f"DROP TABLE {undo}")
                cur.execute(f"DROP TABLE {undo}_keys")
        done = sorted({lid for lid, _, _ in loads}, reverse=True)
        cur.execute(
            "UPDATE load_history SET status = 'rolled back' WHERE load_id >= $id "
            "AND status = 'loaded'",
            {"id": load_id},
        )
        from crm_core.engine import summaries

        summaries.refresh(cur)
        cur.execute("COMMIT")
        return done
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def demo_sources() -> list[Source]:
    """The shipped demo CSVs, one per canonical table."""
    return [
        Source(config.DEMO_DIR / f"{t}.csv", t)
        for t in TABLES
        if (config.DEMO_DIR / f"{t}.csv").exists()
    ]


@functools.lru_cache(maxsize=8)
def _file_sha(path: str, mtime_ns: int, size: int) -> str:
    return sha256_of(Path(path))


def demo_hashes() -> dict[str, str]:
    """sha256 of each shipped demo CSV by table (computed once per file version)."""
    out = {}
    for s in demo_sources():
        st = Path(s.path).stat()
        out[s.table or ""] = _file_sha(str(s.path), st.st_mtime_ns, st.st_size)
    return out


def demo_tables(con: db.Connection, hist: pd.DataFrame | None = None) -> list[str]:
    """The canonical tables that still hold rows of the demo company: a live load of the demo
    CSV (same sha256) that no later replace of that table removed. [] when every row is the
    user's own. `hist`: load_history(con), when the caller has it already."""
    hist = load_history(con) if hist is None else hist
    live = hist[hist["status"] == "loaded"].sort_values("load_id", ascending=False)
    demo = demo_hashes()
    counts = db.table_counts(con)
    out = []
    for table in TABLES:
        if not counts[table] or table not in demo:
            continue
        for row in live[live["table_name"] == table].itertuples():
            if row.sha256 == demo[table]:
                out.append(table)
                break
            if row.mode != "append":  # replaced: nothing older is left in the table
                break
    return out
