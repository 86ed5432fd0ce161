"""Warming after a load: every page's default view rendered headless, so that the slow results
its first open needs are in the result store (app/results.py) for every app process.

An app on DuckDB holds its file alone, so after an upload it warms a copy instead
(`warm_copy`): the data a page reads (a meeting snapshot's tables) copied in one read, warmed
by a process of its own, and the stored results (same data version) inserted back.

Exact by construction: the pages run as a browser would open them (app.py, the sidebar's
default filters, each page's default widgets) through Streamlit's AppTest, and whatever they
compute through `ui.cached` is stored. AppTest swaps Streamlit's process-wide runtime while it
runs, so this runs in a process of its own (`python -m crm_core warm`), never inside a serving
app; on DuckDB that process must be the only one with the file open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crm_core.app import auth, results, snapshot
from crm_core.engine import backends, config, db

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
# A page's render may take minutes on 10 M order lines the first time.
PAGE_TIMEOUT = 900
# How long a warm waits for the process that loaded to let go of a DuckDB file.
OPEN_WAIT = 60.0


def marker(target: str) -> Path | None:
    """For a DuckDB file, `<file>.warming`: it names the warming process while that process
    holds the file, so that an app starting meanwhile waits instead of failing."""
    t = backends.parse_target(target)
    return Path(t.url).with_name(Path(t.url).name + ".warming") if t.kind == "duckdb" else None


def warming_pid(target: str) -> int | None:
    """The process warming `target` now, if any (a marker of a process that died is ignored)."""
    m = marker(target)
    try:
        pid = int(m.read_text()) if m else 0
        if pid > 0:
            os.kill(pid, 0)
            return pid
    except (OSError, ValueError):
        pass
    return None


def pages() -> list[str]:
    """Every page of the app, as app.py's navigation names them (pages/*.py)."""
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))


def open_when_free(target: str, wait: float, only_while_warming: bool = False) -> db.Connection:
    """db.connect(target), retrying for up to `wait` seconds while another process holds the
    DuckDB file; with `only_while_warming`, only while that process is a warm (warming_pid)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return db.connect(target)
        except db.DatabaseBusy:
            gone = only_while_warming and warming_pid(target) is None
            if gone or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _unscoped_account(con: db.Connection) -> auth.Account | None:
    """With accounts, an account that sees everything (an administrator first); None when sign-in
    is off (the local user is the administrator)."""
    if not auth.user_count(con):
        return None
    users = auth.list_users(con)
    users = users[(users["regions"].map(len) == 0) & (users["owners"].map(len) == 0)]
    if users.empty:
        raise WarmRefused("no account sees every region and owner: nothing unscoped to warm")
    users = users.assign(admin=users["role"] != "admin").sort_values(["admin", "name"])
    return auth.get_account(con, str(users["name"].iloc[0]))


class WarmRefused(RuntimeError):
    """The default views cannot be rendered here (e.g. only scoped accounts exist)."""


def _render(page: str, lang: str, account: auth.Account | None) -> tuple[float, list[str]]:
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    class ServedPagesManager(PagesManager):
        """As a served app after its first session: app.py's navigation runs the page (AppTest
        would otherwise re-arm the legacy pages/ runner and render every page twice)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    app_test_module.PagesManager = ServedPagesManager  # type: ignore[misc]
    at = AppTest.from_file(str(APP), default_timeout=PAGE_TIMEOUT)
    at.query_params["lang"] = lang
    if account is not None:
        at.session_state["_crm_account"] = account
    at.switch_page(page)
    t0 = time.perf_counter()
    at.run()
    return time.perf_counter() - t0, [str(e.value)[:200] for e in at.exception]


def warm(
    target: str | None = None,
    langs: Sequence[str] = ("zh", "en"),
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Render each page's default view in each language, unscoped, storing what the pages
    compute; rows of older data or code versions are deleted first. Returns
    {"target", "data_version", "pruned", "pages": [{"page", "lang", "seconds", "errors"}],
    "results", "bytes", "seconds"}."""
    import streamlit as st

    target = str(target or config.db_target())
    t0 = time.perf_counter()
    con = open_when_free(target, OPEN_WAIT)
    try:
        supported = results.supported(con)
        pruned = results.prune(con) if supported else 0
        account = _unscoped_account(con)
    finally:
        con.close()
    out: dict[str, Any] = {"target": backends.parse_target(target).display, "pruned": pruned}
    if not supported:
        return {**out, "skipped": "this backend keeps no result store (Spark)", "pages": []}
    os.environ["CRM_LENS_DB"] = target
    # This process serves nobody: with sign-in off its headless sessions are the local user.
    st.config.set_option("server.address", "127.0.0.1")
    st.cache_resource.clear()
    done = []
    m = marker(target)
    if m:
        m.write_text(str(os.getpid()))
    try:
        for lang in langs:
            for page in only or pages():
                seconds, errors = _render(page, lang, account)
                done.append(
                    {"page": page, "lang": lang, "seconds": round(seconds, 2), "errors": errors}
                )
        con = open_when_free(target, OPEN_WAIT)
        try:
            held = results.summary(con)
        finally:
            con.close()
    finally:
        if m:
            m.unlink(missing_ok=True)
        st.cache_resource.clear()
    return {
        **out,
        "data_version": held["data_version"],
        "pages": done,
        "results": held["results"],
        "bytes": held["bytes"],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def start_background(target: str, log_file: Path | None = None) -> int:
    """Start `python -m crm_core warm --db TARGET` detached; returns its process id. Its
    output goes to `log_file` (default: none)."""
    out: Any = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm_core", "warm", "--db", target, "--json"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if log_file:
            out.close()
    return proc.pid


def warm_copy(con: db.Connection, db_file: Path, langs: Sequence[str] = ("zh", "en"),
              only: Sequence[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Warm a DuckDB file this process holds: copy what the pages read (meeting snapshot's
    tables: the data, its summaries and load history; no accounts, so the copy renders
    unscoped), run `python -m crm_core warm` on the copy, and insert its stored results into
    `con`'s store. Returns {"imported": results inserted, "warm": the warm's JSON output (None
    when it failed), "stderr": the end of its error output}."""
    work = db_file.with_name(f"{db_file.name}.warm-{os.getpid()}.duckdb")
    for stale in (work, work.with_name(work.name + ".wal")):
        stale.unlink(missing_ok=True)
    cur = con.cursor()
    try:
        snapshot.copy_tables(con, work)
        args = [sys.executable, "-m", "crm_core", "warm", "--db", str(work), "--json"]
        for lang in langs:
            args += ["--lang", lang]
        for page in only or ():
            args += ["--page", page]
        run = subprocess.run(
            args, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        try:
            printed = json.loads(run.stdout)
        except ValueError:
            printed = None
        cur.execute("ATTACH $path AS crm_lens_warm (READ_ONLY)", {"path": str(work)})
        try:
            n = cur.execute(db.sql("results_import")).fetchone()
        finally:
            cur.execute("DETACH crm_lens_warm")
        return {"imported": int(n[0]) if n else 0, "warm": printed, "stderr": run.stderr[-2000:]}
    finally:
        cur.close()
        for done in (work, work.with_name(work.name + ".wal")):
            done.unlink(missing_ok=True)
