"""A new app process's one-time work, done at start rather than in a manager's first open.

Before its first page can draw, a process imports what app.py and the pages import (about 2-4 s
on the 2-core class: pandas, plotly, scipy for the churn models, crm_core itself), reads the
message catalogue and digests crm_core's source for the result store's key (results.
code_version). `serve.py` runs `prepare` in a background thread as the server starts; a session
arriving meanwhile simply waits at the import it needs (Python's import lock), never twice.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import logging
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
# Imported by Streamlit itself only when a page first shows a title or an icon (0.3 s).
LAZY_MODULES = ("streamlit.emojis", "streamlit.material_icon_names")


def entry_modules(root: Path = ROOT) -> list[str]:
    """Every module app.py and pages/*.py import at their top level, sorted: `import x`, and
    `from x import y` as x and x.y (y may be a module of package x; a name that is not a module
    is skipped by `prepare`)."""
    names: set[str] = set()
    for path in [root / "app.py", *sorted((root / "pages").glob("*.py"))]:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
    return sorted(names)


def prepare(root: Path = ROOT) -> dict[str, float]:
    """Import the entry modules, read the catalogue, digest the source and draw one chart (plotly
    loads its theme on the first); returns the seconds each step took."""
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    for name in [*entry_modules(root), *LAZY_MODULES]:
        # `from package import function`: not a module; the package is imported already.
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(name)
    took["imports"] = time.perf_counter() - t0

    import plotly.graph_objects as go

    from crm_core.app import results
    from crm_core.present import charts, i18n

    for step, work in (
        # Streamlit's first widget in a process asks inspect.stack() whether it runs in a REPL;
        # the first call maps every loaded module to its file (0.1 s), later ones are quick.
        ("inspect", lambda: inspect.stack(context=0)),
        ("catalogue", i18n.catalogue),
        ("code_version", results.code_version),
        ("chart", lambda: charts.page_spec(go.Figure(go.Bar(x=["a"], y=[1])), i18n.DEFAULT_LANG)),
    ):
        t0 = time.perf_counter()
        work()
        took[step] = time.perf_counter() - t0
    return took


def prepare_in_background(root: Path = ROOT) -> threading.Thread:
    """Run `prepare` in a daemon thread (a failure is logged: the first session then does the
    same work itself)."""

    def run() -> None:
        try:
            took = prepare(root)
            log.info("process prepared: %s", {k: round(v, 2) for k, v in took.items()})
        except Exception:
            log.warning("preparing the process failed", exc_info=True)

    thread = threading.Thread(target=run, name="crm-lens-prepare", daemon=True)
    thread.start()
    return thread
