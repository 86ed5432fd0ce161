"""The session's database connection: shared, follows a snapshot link, one read per render."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from crm_core import ingest
from crm_core.app import results, snapshot, warm
from crm_core.app.ui.session import param_notes, scope, viewer_scope
from crm_core.engine import config, db, summaries

log = logging.getLogger(__name__)


# How long an app starting while `python -m crm_core warm` holds the DuckDB file waits for it.
WARM_WAIT = 1800.0


# Called as _shared_connection(path=...): the same cache entry as a positional call, without
# the signature lookup Streamlit makes for each positional argument on every call (a render
# makes one per download button).
@st.cache_resource(show_spinner="Opening the database …")
def _shared_connection(path: str) -> db.Connection:
    db.private_umask()
    con = warm.open_when_free(path, WARM_WAIT, only_while_warming=True)
    empty = con.execute("SELECT count(*) FROM load_history").fetchone()[0] == 0  # type: ignore[index]
    if empty and not any(db.table_counts(con).values()):
        # First start with no data: managers should see real numbers at once.
        ingest.load_demo(con)
    summaries.ensure(con)
    if db.is_duckdb(con):
        snapshot.expire(Path(path))  # links past CRM_LENS_SNAPSHOT_DAYS go at start-up too
    return con


# With no secrets.toml, Streamlit looks for the files again, under a lock, on every read of
# st.secrets, and a render reads it several times (the database target, the sign-in mode).
# That answer is kept this many seconds: a secrets.toml added while the app runs is seen after
# at most that long. A file that exists is parsed once and watched by Streamlit itself.
NO_SECRETS_TTL = 2.0
_no_secrets_until = 0.0


def has_secret(name: str) -> bool:
    """Whether secrets.toml has `name` (a key or a section); False with no secrets.toml."""
    return _secret(name) is not None


def _secret(name: str) -> Any:
    global _no_secrets_until
    if time.monotonic() < _no_secrets_until:
        return None
    try:
        return st.secrets.get(name)
    except FileNotFoundError:  # no secrets.toml: the normal case
        _no_secrets_until = time.monotonic() + NO_SECRETS_TTL
        return None


def _secret_db() -> str | None:
    return _secret("CRM_LENS_DB")


def db_path() -> Path:
    """$CRM_LENS_DB, else `CRM_LENS_DB` in .streamlit/secrets.toml, else data/crm.duckdb."""
    return config.db_path(_secret_db())


def db_target() -> str:
    """Like db_path, as text: also a postgresql:// or spark: URL (README, Backends)."""
    return config.db_target(_secret_db())


def connection() -> db.Connection:
    """This session's cursor on the process-wide database connection; it reads the meeting
    snapshot named by ?snapshot= when there is one."""
    path = db_target()
    key = "_crm_cursor"
    cur = st.session_state.get(key)
    if cur is None or st.session_state.get("_crm_cursor_path") != path:
        cur = _shared_connection(path=path).cursor()
        st.session_state[key] = cur
        st.session_state["_crm_cursor_path"] = path
        st.session_state["_crm_snapshot"] = None
    if db.is_duckdb(cur):  # meeting snapshots are DuckDB files
        _follow_snapshot(cur, Path(path))
    return cur


# A render on a server engine overlapped by a load's commit is run again up to this many times.
RERENDERS = 3
# id(cursor) -> [cursor, data version or None] while consistent_read holds that cursor's read
# transaction, so that every ui.cached call of one render reads the version once. A plain dict,
# not session_state: reading session_state is a point where Streamlit stops a run, and the
# ROLLBACK after a stopped render must not be skipped.
_READS: dict[int, list[Any]] = {}


@contextlib.contextmanager
def consistent_read(con: db.Connection) -> Iterator[None]:
    """Run one page render in one read transaction: every query of the page sees the same data,
    even when a load commits half-way through the render.

    DuckDB gives the render a snapshot. PostgreSQL reads each statement's committed data (a
    page-long snapshot would block a load's swap), so a render that a load's commit overlapped is
    run again (at most RERENDERS times in a row): the render left on screen is all old or all new.
    """
    con.execute("BEGIN TRANSACTION")
    _READS[id(con)] = [con, None]
    stale = False
    try:
        yield
        stale = db.changed_since_begin(con)
    finally:
        _READS.pop(id(con), None)
        con.execute("ROLLBACK")  # read-only: nothing to keep; ends the snapshot
    tries = st.session_state.get("_crm_rerenders", 0)
    if stale and tries < RERENDERS:
        st.session_state["_crm_rerenders"] = tries + 1
        st.rerun()
    st.session_state["_crm_rerenders"] = 0


def fresh_read(con: db.Connection) -> None:
    """Move this render's read transaction forward (after this session committed a load)."""
    con.execute("ROLLBACK")
    con.execute("BEGIN TRANSACTION")
    held = _READS.get(id(con))
    if held is not None and held[0] is con:
        held[1] = None  # the data this render reads may have changed: read the version again


def _follow_snapshot(cur: db.Connection, path: Path) -> None:
    raw = st.query_params.to_dict().get("snapshot")  # as .get, without a KeyError when absent
    found = snapshot.info(path, raw) if raw is not None else None
    if found is not None and not snapshot.can_view(found, viewer_scope()):
        found = None  # said like an unknown link: the id's existence is not revealed
    if raw is not None and found is None:
        st.session_state["_crm_param_notes"] = [*param_notes(), ("snapshot", raw[:60])]
    wanted = found.id if found else None
    if wanted != st.session_state.get("_crm_snapshot"):
        snapshot.use(cur, path, wanted)
        st.session_state["_crm_snapshot"] = wanted
        st.session_state["_crm_snapshot_info"] = found


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_call(
    call: Any,
    _target: str,
    _version: tuple,
    _args: tuple,
    _kwargs: tuple,
    _con: db.Connection,
    _store: bool = True,
) -> Any:
    # `call` alone (call_key) tells one call from another: the rest is not hashed again.
    target, args, kwargs = _target, _args, _kwargs
    data_version, scoped = _version[:-1], _version[-1]
    k = results.key(data_version, target, args, kwargs, scoped) if _store else None
    if k is not None:
        try:
            with _live() as cur:
                found, value = results.get(cur, k)
            if found:
                return value
        except Exception:  # a store that cannot answer (refused payload, lost server): compute
            log.warning("result store: cannot read %s", target, exc_info=True)
    value, seconds = results.timed_call(target, _con, args, kwargs)
    if k is not None:
        try:
            with _live() as cur:  # committed at once, outside this render's read transaction
                results.put(cur, k, value, seconds)
                # Rows of versions a rollback left behind go too (the current one is read now).
                results.prune(cur)
        except results.NotStorable as e:
            log.info("result store: %s kept in this process only (%s)", target, e)
        except Exception:  # a failed write never breaks the page
            log.warning("result store: cannot write %s", target, exc_info=True)
    return value


def cached(fn: Any, con: db.Connection, *args: Any, **kwargs: Any) -> Any:
    """fn(con, *args, **kwargs), computed once per (database file, loads, arguments).

    For slow results such as model fits: a load or a rollback changes the data version and so
    recomputes; `fn` must be a module-level crm_core function and the arguments hashable.
    Exceptions are not cached, except a refusal of the data (clv.ClvRefused), which is kept as
    a result (results.Refusal) and raised again on every read. Kept in this process's memory
    and, on DuckDB and PostgreSQL, in the database's result store (crm_core/app/results.py) for
    every other process, until the data changes; a meeting snapshot's reads use the memory cache
    only.
    """
    version = (*read_version(con), scope())
    target = f"{fn.__module__}.{fn.__qualname__}"
    items = tuple(sorted(kwargs.items()))
    store = results.supported(con) and st.session_state.get("_crm_snapshot") is None
    # The signed-in scope is part of the key (version[-1]) even when the arguments lack it.
    key = call_key(target, str(db_path()), version, args, items)
    # Keywords after the key: Streamlit looks up the signature for each positional argument.
    value = _cached_call(
        key, _target=target, _version=version, _args=args, _kwargs=items, _con=con, _store=store
    )
    if isinstance(value, results.Refusal):
        raise value.error()
    return value


def call_key(target: str, path: str, version: tuple, args: tuple, kwargs: tuple) -> Any:
    """What tells one ui.cached call from another in this process's memory: the text of the call
    (as the result store names it, results.key), hashed by Streamlit as one string instead of
    argument by argument; the arguments themselves when one of them prints as a memory address
    (it could not be told from another object of that type)."""
    text = repr((target, path, version, args, kwargs))
    return (target, path, version, args, kwargs) if " at 0x" in text else text


def read_version(con: db.Connection) -> tuple:
    """The data version (sql/data_version.sql) `con` reads: once per render on DuckDB, whose
    render reads one snapshot (consistent_read); on every call elsewhere (a fragment's rerun,
    or a server engine, where a load's commit may land between two statements)."""
    held = _READS.get(id(con))
    if held is None or held[0] is not con or not db.is_duckdb(con):
        return tuple(db.query_rows(con, "data_version")[0])
    if held[1] is None:
        held[1] = tuple(db.query_rows(con, "data_version")[0])
    return held[1]


def detached_read() -> Callable[..., Any]:
    """For work Streamlit runs outside the session (a download's data callable, built when
    clicked): `read(fn, *args)` runs fn(cursor, *args) on a cursor of its own that reads what
    this session reads now (the live data, or its meeting snapshot), and closes it."""
    path = st.session_state.get("_crm_cursor_path") or db_target()
    sid = st.session_state.get("_crm_snapshot")
    shared = _shared_connection(path=path)  # bound now: the callable runs without a session

    def read(fn: Callable[..., Any], *args: Any) -> Any:
        cur = shared.cursor()
        try:
            if sid is not None and db.is_duckdb(cur) and not snapshot.use(cur, Path(path), sid):
                raise RuntimeError("the meeting snapshot this page showed is gone")
            return fn(cur, *args)
        finally:
            cur.close()

    return read


@contextlib.contextmanager
def _live() -> Iterator[db.Connection]:
    """A cursor of its own on the live database: never a meeting snapshot, never inside this
    render's read transaction (so that what it writes is committed at once)."""
    cur = _shared_connection(path=db_target()).cursor()
    try:
        yield cur
    finally:
        cur.close()
