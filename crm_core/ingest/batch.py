"""A batch of files: validated in a scratch database, or checked whole, then swapped in."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Callable, Iterable

from crm_core.engine import config, db, summaries, tables
from crm_core.ingest import swap, uploads
from crm_core.ingest.checks import _check_batch
from crm_core.ingest.files import prepare
from crm_core.ingest.history import demo_sources
from crm_core.ingest.reports import FileReport, IngestError, LoadResult, Source

Progress = Callable[[float, str], None]
MODES = ("append", "replace", "replace-all")
log = logging.getLogger(__name__)
# The progress message that starts the build of the fact layer's day tables after the commit.
DAYS_STEP = "building the daily facts"


def validate(sources: Iterable[Source]) -> list[FileReport]:
    """Check files as a load would, in a scratch database; the real database is not touched."""
    con = db.scratch()  # the same memory cap as a load
    wd = uploads.work_dir()
    reports = []
    try:
        for i, s in enumerate(sources):
            try:
                reports.append(prepare(con, s, wd, f"stage_{i}"))
            except IngestError as e:
                reports.extend(e.reports)
        return reports
    finally:
        con.close()
        shutil.rmtree(wd, ignore_errors=True)


def load(
    con: db.Connection,
    sources: list[Source],
    mode: str = "replace",
    progress: Progress | None = None,
) -> LoadResult:
    """Load files as one batch: all files are checked first, then swapped in one transaction.

    `mode`: "append" adds the files' rows, a row whose key is already loaded replaces it;
    "replace" swaps in each named table whole; "replace-all" does that and also empties every
    canonical table no file names (the demo data gone in one step). Each can be rolled back.
    The CLI and the Data page append by default; this function's default stays "replace" for
    the scripts and tests written against it."""
    if mode not in MODES:
        raise IngestError(f"unknown mode {mode!r}; use one of {MODES}")
    if not sources:
        raise IngestError("no files to load")
    say = progress or (lambda f, m: None)
    cur = con.cursor()  # temp tables live on this cursor only
    # PostgreSQL / Spark: decode, type and check in a scratch DuckDB; _swap ships the stage.
    stage = cur if db.is_duckdb(con) else db.scratch()
    # A DuckDB replace stages each file as a table of the database, renamed into place by the
    # swap; its name carries the process id, so that a later process drops what a crashed
    # load left (tables.drop_stages).
    persist = stage is cur and mode != "append"
    prefix = tables.stage_prefix() if persist else "stage_"
    wd = uploads.work_dir()
    started = dt.datetime.now()
    reports: list[FileReport] = []
    try:
        for i, s in enumerate(sources):
            say(0.8 * i / len(sources), f"reading {s.file_name}")
            try:
                reports.append(prepare(stage, s, wd, f"{prefix}{i}", persist))
            except IngestError as e:
                reports.extend(e.reports)
        say(0.8, "checking")
        bad = [r for r in reports if not r.ok]
        if not bad:
            _check_batch(stage, reports)
            bad = [r for r in reports if not r.ok]
        if bad:
            raise IngestError("\n".join(r.error_text() for r in bad), reports)
        say(0.85, "swapping in")
        load_id, emptied = swap._swap(cur, reports, mode, started, stage, say, persist)
        _build_days(cur, say)
        say(1.0, "done")
        return LoadResult(load_id, reports, emptied)
    finally:
        if persist:
            _drop_stages(cur, prefix)
        if stage is not cur:
            stage.close()
        cur.close()
        shutil.rmtree(wd, ignore_errors=True)


def _drop_stages(cur: db.Connection, prefix: str) -> None:
    """Drop this load's stage tables the swap did not rename into place."""
    try:
        tables.drop_stages(cur, prefix)
    except Exception:  # never hides the load's own error; the next process drops them
        log.warning("a load's stage tables were not dropped", exc_info=True)


def _build_days(cur: db.Connection, say: Progress) -> None:
    """The fact layer's day tables a DuckDB replace left to build after its commit. The load
    has committed whatever happens here: should the build fail, reports keep reading the order
    lines (the same numbers, slower) until the next load or the next start builds them."""
    if not db.is_duckdb(cur) or not summaries.pending(cur):
        return  # an append merged them inside its transaction
    say(0.95, DAYS_STEP)
    try:
        summaries.build_after_commit(cur)
    except Exception:
        log.warning("the fact layer's day tables were not built after the load", exc_info=True)


def load_demo(con: db.Connection, progress: Progress | None = None) -> LoadResult:
    """Replace every table with the demo company's data."""
    sources = demo_sources()
    if not sources:
        raise IngestError(f"no demo data in {config.DEMO_DIR}")
    return load(con, sources, "replace", progress)
