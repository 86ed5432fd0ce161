"""Shared fixtures: a fresh DuckDB file per test, the fixture folder, the shared datasets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backend_servers import pg_server, pg_url, spark_session, spark_url  # noqa: F401

from crm_core.engine import db

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# No background warm after the tests' loads (a process per load, holding the DuckDB file).
os.environ.setdefault("CRM_LENS_WARM_AFTER_LOAD", "0")

# --------------------------------------------------------------------------- parallel runs
# pytest runs the suite on several processes (pyproject.toml: `-n auto --dist loadgroup`, see
# README). Tests that share an expensive start-up go to one worker as one xdist group, so it
# happens once: the local Spark (a JVM, tests/backend_servers.py), the browser tests' shared app
# server, and each module- or class-scoped fixture (a module's tests stay together). Every other
# test goes to whichever worker is free. Session fixtures that are cheap (the demo database,
# a throw-away PostgreSQL, chromium) start once per worker that needs them.
SHARED_STARTS = {"spark_session": "spark", "server": "served-app"}
_GROUP_ORDER = ("spark", "served-app")  # the name a merged group takes, first match wins


def _shared_keys(item: pytest.Item) -> list[str]:
    """What `item` shares with other tests: SHARED_STARTS names, `scope-node::fixture` keys."""
    keys = ["spark"] if item.get_closest_marker("spark") else []
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return keys
    for name in info.names_closure:
        if name in SHARED_STARTS:
            keys.append(SHARED_STARTS[name])
        defs = info.name2fixturedefs.get(name) or ()
        scope = defs[-1].scope if defs else "function"
        node_type = {"class": pytest.Class, "module": pytest.Module, "package": pytest.Package}
        if scope in node_type:
            node = item.getparent(node_type[scope])
            keys.append(f"{node.nodeid if node else scope}::{name}")
    return keys


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that share an expensive start-up with one xdist_group (transitively: a module
    with a module fixture whose tests also use Spark goes with Spark)."""
    # An xdist worker sees `loadgroup` (its own `dist` is "no"); -n 0 and plain pytest: neither.
    if not (config.getoption("loadgroup", False) or config.getoption("dist", "no") == "loadgroup"):
        return
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    keyed = [(item, _shared_keys(item)) for item in items]
    for _, keys in keyed:
        for k in keys:
            parent[find(k)] = find(keys[0])
    members: dict[str, list[str]] = {}
    for k in list(parent):
        members.setdefault(find(k), []).append(k)
    names = {
        root: next((g for g in _GROUP_ORDER if g in ks), min(ks).split("::")[0])
        for root, ks in members.items()
    }
    group = {item: names[find(keys[0])] for item, keys in keyed if keys}
    for item, name in group.items():
        item.add_marker(pytest.mark.xdist_group(name))

    # Start the longest work first (pyproject: --no-loadscope-reorder keeps this order): the
    # shared start-ups' groups, then the tests marked slow, then the rest as collected.
    def rank(item: pytest.Item) -> int:
        name = group.get(item)
        if name in _GROUP_ORDER:
            return _GROUP_ORDER.index(name)
        return len(_GROUP_ORDER) + (name is not None or not item.get_closest_marker("slow"))

    items.sort(key=rank)  # stable: a module's tests stay in their order


def shared_data_dir() -> Path:
    """../shared/data next to the project, or $CRM_LENS_SHARED_DATA."""
    env = os.environ.get("CRM_LENS_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.is_dir():
        pytest.skip(f"public datasets not found at {d} (set CRM_LENS_SHARED_DATA)")
    return d


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "crm.duckdb"


@pytest.fixture
def con(db_file: Path) -> Iterator[db.Connection]:
    c = db.connect(db_file)
    yield c
    c.close()


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per test session (tests must not modify it)."""
    from crm_core import ingest

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    c = db.connect(path)
    ingest.load_demo(c)
    c.close()
    return path


@pytest.fixture
def demo_con(demo_db_file: Path) -> Iterator[db.Connection]:
    c = db.connect(demo_db_file)
    yield c
    c.close()


def make_app_test(
    db_path: Path, page: str | None = None, params: dict | None = None, legacy: bool = False
):
    """An AppTest of app.py on `db_path` (optionally switched to `page`), not yet run.

    AppTest re-arms Streamlit's legacy pages/ flag before every run, so each run of a page would
    first go through ui.page_guard()'s rerun, which drops one-shot button clicks. A served app
    clears that flag once per process; `legacy=False` models that, `legacy=True` the very first
    deep link after a server start.
    """
    import streamlit as st
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    class ServedPagesManager(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    app_test_module.PagesManager = PagesManager if legacy else ServedPagesManager  # type: ignore[misc]

    os.environ["CRM_LENS_DB"] = str(db_path)
    st.cache_resource.clear()  # the shared connection must follow CRM_LENS_DB
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    return at


def signed_in(at, db_path: Path, name: str, role: str = "viewer", regions=(), owners=()):
    """`at` with `name` signed in for real: the account is added to `db_path` (so sign-in is on)
    and the session holds it as the login form leaves it; the app re-reads it on every run."""
    from crm_core.app import auth
    from crm_core.engine import db

    con = db.connect(db_path)
    auth.add_user(con, name, role, f"{name}-password", regions=tuple(regions), owners=tuple(owners))
    con.close()
    at.session_state["_crm_account"] = auth.Account(name, role, tuple(regions), tuple(owners))
    return at


@pytest.fixture
def demo_copy(demo_db_file: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database that a test may change."""
    import shutil

    dst = tmp_path / "demo_copy.duckdb"
    shutil.copy(demo_db_file, dst)
    return dst


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restore CRM_LENS_DB and drop the cached connection after an AppTest."""
    import streamlit as st

    monkeypatch.setenv("CRM_LENS_DB", os.environ.get("CRM_LENS_DB", ""))
    yield
    st.cache_resource.clear()


@pytest.fixture(scope="session")
def hostile_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database with Markdown / HTML payloads in cells and a file name (tests/hostile.py),
    built once per test session (tests must not modify it)."""
    from hostile import build_hostile_db

    return build_hostile_db(tmp_path_factory.mktemp("hostile") / "hostile.duckdb")


@pytest.fixture
def hostile_copy(hostile_db_file: Path, tmp_path: Path) -> Path:
    import shutil

    dst = tmp_path / "hostile_copy.duckdb"
    shutil.copy(hostile_db_file, dst)
    return dst


# The returns fixture (tests/fixtures/net/), seen over 2024 (as of 2024-12-31). Window lines:
#   N01  536379 168,000.00 on 05-01 10:00, cancelled by C536383 -167,997.10 at 10:12 -> net 2.90
#        (and 536001 50.00 on 2023-06-01, before the window)
#   N02  1001 500 (03-01), 1002 300 (08-01)                                 -> net 800
#   N03  1003 200 (06-01), C1004 -200 (06-10)                              -> net 0
#   N04  1005 0.00 (07-01): a zero-value line only                         -> net 0
#   N05  customers table only (created 2024-02-01), no order
#   N06  1006 100 (09-01); not in the customers table                      -> net 100
#   N07  1007 1,000 (02-01), C1008 400 on 02-03: a C-invoice, positive amount -> net 600
#   N08  a lead's customer id only (leads.csv)
@pytest.fixture
def net_con(con: db.Connection) -> db.Connection:
    from crm_core import ingest

    d = FIXTURES / "net"
    ingest.load(
        con,
        [
            ingest.Source(d / "customers.csv", "customers"),
            ingest.Source(d / "orders.csv", "orders"),
            ingest.Source(d / "leads.csv", "leads"),
        ],
    )
    return con


@pytest.fixture
def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The download buttons' data callables by file name, as pages register them (Streamlit
    builds a download when it is clicked): call one to get the file's bytes."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made: dict[str, Any] = {}
    add = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kw):  # type: ignore[no-untyped-def]
        made[file_name] = data_callable
        return add(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return made
