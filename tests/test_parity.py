"""The same metrics on DuckDB, PostgreSQL and Spark: one load path, one set of SQL files.

For the demo data and the UCI online-retail sample, every value of `metrics --json` and every
page call of crm_core.metrics.pagesets must be equal on the three engines (floats within 1e-9 relative,
rows order-insensitive); every SQL query those calls ran must return the same rows, in the same
order of its ORDER BY keys where it has one. Engines start once per test session
(tests/backend_servers.py); a missing PostgreSQL or Java skips, except in CI.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from conftest import shared_data_dir
from parity_support import diff, normalize
from sqlglot import exp

from crm_core import ingest
from crm_core.engine import backends, db, dialects
from crm_core.metrics import pagesets
from crm_core.metrics.figures import metrics
from crm_core.metrics.filters import Filters

# World.engine asks for the Spark session by name at run time: say so for the parallel runs.
pytestmark = pytest.mark.spark

ENGINES = ("postgresql", "spark")
UCI = "uci_online_retail/online_retail_40k_line_sample.csv"


def _sources(dataset: str) -> list[ingest.Source]:
    if dataset == "demo":
        return ingest.demo_sources()
    path = shared_data_dir() / UCI
    if not path.is_file():
        pytest.skip(f"public dataset not found: {path} (set CRM_LENS_SHARED_DATA)")
    return [ingest.Source(path, "orders")]


def _selected(calls: list[Any]) -> list[Any]:
    """The page calls of the modules named in $CRM_LENS_PARITY_MODULES (comma list, e.g.
    "value,lifecycle"; unset = every call): to rerun the cases a change affects."""
    only = {m for m in os.environ.get("CRM_LENS_PARITY_MODULES", "").split(",") if m}
    return [c for c in calls if not only or c.name.split(".")[0] in only]


class World:
    """One dataset loaded into the three engines through ingest.load."""

    def __init__(self, dataset: str, root: Path) -> None:
        self.dataset = dataset
        self.root = root
        self.cons: dict[str, db.Connection] = {}
        self.duck = db.connect(root / "crm.duckdb")
        ingest.load(self.duck, _sources(dataset))
        self.calls = _selected(pagesets.calls(self.duck))
        self._reference: dict[str, Any] | None = None
        self.recorded: list[tuple[str, dict[str, Any]]] = []

    def engine(self, name: str, request: pytest.FixtureRequest) -> db.Connection:
        if name not in self.cons:
            if name == "postgresql":
                url = request.getfixturevalue("pg_server").create_database()
            else:
                request.getfixturevalue("spark_session")
                url = f"spark:local[2]?warehouse={self.root / 'warehouse'}"
            con = db.connect(url)
            ingest.load(con, _sources(self.dataset))
            self.cons[name] = con
        return self.cons[name]

    def reference(self) -> dict[str, Any]:
        """DuckDB's results of every page call, recording each SQL file it ran."""
        if self._reference is None:
            with _recording(self.recorded):
                self._reference = {c.name: outcome(c, self.duck) for c in self.calls}
        return self._reference


def outcome(call: Any, con: Any) -> Any:
    """A call's normalised result; a refusal the data calls for (a model the history cannot pin
    down, too few customers) is an outcome too: every engine must refuse alike."""
    from crm_core.metrics.clv import ClvRefused, FitError

    try:
        return normalize(call(con))
    except (ClvRefused, FitError) as e:
        return f"refused: {type(e).__name__}"


@contextlib.contextmanager
def _recording(into: list[tuple[str, dict[str, Any]]]) -> Iterator[None]:
    original_query, original_rows = db.query, db.query_rows
    mine = threading.get_ident()

    def query(con: db.Connection, name: str, **params: Any) -> Any:
        if threading.get_ident() == mine:
            into.append((name, params))
        return original_query(con, name, **params)

    def query_rows(con: db.Connection, name: str, **params: Any) -> Any:
        if threading.get_ident() == mine:
            into.append((name, params))
        return original_rows(con, name, **params)

    db.query, db.query_rows = query, query_rows  # type: ignore[assignment]
    try:
        yield
    finally:
        db.query, db.query_rows = original_query, original_rows  # type: ignore[assignment]


@pytest.fixture(scope="module", params=["demo", "uci"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(request.param, tmp_path_factory.mktemp(request.param))


@pytest.mark.parametrize("engine", ENGINES)
def test_metrics_json(world: World, engine: str, request: pytest.FixtureRequest) -> None:
    con = world.engine(engine, request)
    want, got = normalize(metrics(world.duck)), normalize(metrics(con))
    assert not diff(want, got, "metrics"), diff(want, got, "metrics")


# A source filter with a two-region, four-owner scope: the scope's delimited parameter and strpos
# must match the same rows on every engine (one owner is outside the regions: no rows of his).
SCOPED = Filters(
    source="网络线索", regions=("华东", "华南"), owners=("张伟", "王丽娟", "黄俊杰", "赵磊")
)


@pytest.mark.parametrize("engine", ENGINES)
def test_page_calls_under_filters_and_scope(
    world: World, engine: str, request: pytest.FixtureRequest
) -> None:
    if world.dataset != "demo":
        pytest.skip("the scope needs customers with regions and owners")
    con = world.engine(engine, request)
    failures = []
    for call in _selected(pagesets.calls(world.duck, SCOPED)):
        want = outcome(call, world.duck)
        try:
            got = outcome(call, con)
        except Exception as e:
            failures.append(f"{call.name}: {type(e).__name__}: {str(e)[:300]}")
            continue
        failures += diff(want, got, call.name)[:3]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("engine", ENGINES)
def test_page_calls(world: World, engine: str, request: pytest.FixtureRequest) -> None:
    con = world.engine(engine, request)
    assert len(world.calls) >= 5, "the registry lost the overview calls"
    failures = []
    for call, want in zip(world.calls, world.reference().values(), strict=True):
        try:
            got = outcome(call, con)
        except Exception as e:  # report every call, not just the first failure
            failures.append(f"{call.name}: {type(e).__name__}: {str(e)[:300]}")
            continue
        failures += diff(want, got, call.name)[:3]
    assert not failures, "\n".join(failures)


def _order_keys(text: str) -> list[str] | None:
    """Output columns a query's top-level ORDER BY sorts on (None: no ORDER BY)."""
    tree = sqlglot.parse_one(text, read="duckdb")
    order = tree.args.get("order")
    if order is None:
        return None
    keys = []
    for o in order.expressions:
        e = o.this
        if isinstance(e, exp.Literal) and e.is_int:
            keys.append(int(e.name) - 1)
        else:
            keys.append(e.alias_or_name)
    return keys  # type: ignore[return-value]


@pytest.mark.parametrize("engine", ENGINES)
def test_sql_files(world: World, engine: str, request: pytest.FixtureRequest) -> None:
    con = world.engine(engine, request)
    world.reference()
    seen: set[tuple[str, str]] = set()
    failures = []
    for name, params in world.recorded:
        key = (name, repr(sorted(params.items(), key=lambda kv: kv[0])))
        # DuckDB's shared windows (crm_core/facts.py): other engines run the report's own file,
        # compared call by call in test_page_calls.
        if key in seen or db.duckdb_only(name):
            continue
        seen.add(key)
        want = db.query(world.duck, name, **params)
        got = db.query(con, name, **params)
        d = diff(normalize(want), normalize(got), name)
        keys = _order_keys(db.sql(name))
        if not d and keys:
            cols = [want.columns[k] if isinstance(k, int) else k for k in keys]
            cols = [c for c in cols if c in want.columns]
            if cols:
                d = diff(
                    normalize(want[cols].values.tolist()),
                    normalize(got[cols].values.tolist()),
                    f"{name} ORDER BY {cols}",
                )
        failures += d[:3]
    assert not failures, "\n".join(failures)


def test_every_sql_file_translates() -> None:
    # Generic over crm_core/sql: a file another feature adds is checked the day it lands.
    names = list(backends.iter_sql_names())
    assert names
    for name in names:
        text = db.sql(name)
        for dialect in ("postgres", "spark"):
            stmts = dialects.translate(text, dialect)
            assert stmts, (name, dialect)
            # Every parameter stays bound ($n / :name), by the names the file declares.
            assert {p for st in stmts for p in st.params} <= set(db._PARAM.findall(text)), name


def test_registry_covers_every_domain_module() -> None:
    names = {n.split(".")[0] for n, _ in pagesets._functions()}
    assert "overview" in names
    for module in ("value", "lifecycle", "pipeline", "complaints", "clv", "channels"):
        if (Path(pagesets.__file__).parent / f"{module}.py").exists():
            assert module in names, module
