"""crm_core's layers, read from the source: no import cycle, and no import against the layer order.

The order, bottom to top (docs/architecture.md): engine < ingest, metrics < present < app < the
CLI (crm_core/__main__.py and crm_core/cli/) and pages/. A package may import itself and the
packages it lists below; present may read engine's settings (engine.config) but not query.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "crm_core"

# package -> the packages (or single modules) of crm_core it may import besides itself
ALLOWED: dict[str, set[str]] = {
    "engine": set(),
    "ingest": {"engine"},
    "metrics": {"engine"},
    "present": {"metrics", "engine.config"},
    "app": {"engine", "ingest", "metrics", "present"},
    "cli": {"engine", "ingest", "metrics", "present", "app"},
}


def module_name(path: Path) -> str:
    """crm_core/engine/db.py -> crm_core.engine.db; a package's __init__ -> the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of crm_core by its dotted name."""
    return {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The crm_core modules `path` imports anywhere in it (at the top or inside a function)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("crm_core")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            if not mod.startswith("crm_core"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in known else mod)
    return {m for m in out if m in known and m != me}


def graph() -> dict[str, set[str]]:
    """Module -> the crm_core modules it imports."""
    mods = modules()
    return {m: imports_of(p, set(mods)) for m, p in mods.items()}


def layer(module: str) -> str | None:
    """The layer a module belongs to: engine, ingest, metrics, present, app or cli."""
    parts = module.split(".")
    if module == "crm_core":
        return None
    if parts[1] in ("__main__", "cli"):
        return "cli"
    return parts[1]


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of g, each as the path that closes it (Tarjan's strongly connected
    components of more than one module, or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in g[v]:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def violations(g: dict[str, set[str]]) -> list[str]:
    """Imports against the layer order, as "importer -> imported (layer -> layer)"."""
    out = []
    for m, deps in sorted(g.items()):
        mine = layer(m)
        if mine is None:
            continue
        for d in sorted(deps):
            theirs = layer(d)
            if theirs is None or theirs == mine:
                continue
            allowed = ALLOWED[mine]
            short = d.removeprefix("crm_core.")
            if theirs in allowed or any(short == a or short.startswith(a + ".") for a in allowed):
                continue
            out.append(f"{m} -> {d} ({mine} -> {theirs})")
    return out


def test_every_module_is_in_a_layer():
    # Only the package marker and the CLI live at the top of crm_core; everything else is in a
    # layer package, so a new module has to say where it belongs.
    loose = [m for m in modules() if m.count(".") == 1 and layer(m) not in ALLOWED]
    assert loose == []


def test_there_is_no_import_cycle():
    assert cycles(graph()) == []


def test_no_import_goes_against_the_layer_order():
    assert violations(graph()) == []


def test_only_the_app_layer_imports_streamlit():
    bad = []
    for m, p in modules().items():
        if layer(m) in ("app", "cli"):
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            bad += [f"{m}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert bad == []


def test_present_never_takes_a_connection():
    # present words and draws results it is handed; a function taking `con` would query.
    takers = []
    for m, p in modules().items():
        if layer(m) != "present":
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                a.arg in ("con", "cur", "connection") for a in node.args.args
            ):
                takers.append(f"{m}.{node.name}")
    assert takers == []


def test_every_package_says_what_it_owns_and_may_import():
    for pkg in ("engine", "ingest", "metrics", "present", "app"):
        doc = ast.get_docstring(ast.parse((CORE / pkg / "__init__.py").read_text()))
        assert doc and "import" in doc, pkg


@pytest.mark.parametrize(
    ("importer", "imported", "expected"),
    [
        # a metric reaching up into a chart, and the engine reaching into a metric
        ("crm_core.metrics.value", "crm_core.present.charts", "metrics -> present"),
        ("crm_core.engine.db", "crm_core.metrics.value", "engine -> metrics"),
    ],
)
def test_the_checks_catch_a_back_import(importer, imported, expected):
    g = graph()
    g[importer] = g[importer] | {imported}
    assert any(expected in v for v in violations(g))
    # and a back-import that closes a loop is also a cycle
    g[imported] = g[imported] | {importer}
    assert cycles(g)


def test_files_stay_small_unless_they_are_data():
    # A file over ~500 lines holds several jobs; data (message catalogues, SQL, the table
    # catalogue) is exempt.
    data = {"crm_core.engine.schema"}
    big = {
        m: n
        for m, p in modules().items()
        if m not in data and (n := len(p.read_text(encoding="utf-8").splitlines())) > 560
    }
    assert big == {}
