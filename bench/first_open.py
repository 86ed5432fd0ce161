"""First open of each page in a fresh app process, after `python -m crm_core warm`.

    python -m crm_core warm --db /tmp/M.duckdb          # a copy: never the bench file itself
    python -m bench.first_open --db /tmp/M.duckdb --pages overview,present,pyramid --runs 3

Each run of each page is a new interpreter that opens the page once through AppTest as a served
app runs it (app.py's navigation, the sidebar, the page's default widgets), in Chinese, and
reports the time of that first run: what the first manager to open the page waits for on the
server. `--prepare` first does what serve.py does at start (crm_core/app/startup.py: imports,
catalogue); without it the run includes those imports, as under a plain `streamlit run app.py`.
Streamlit and its CLI are imported before timing in both cases (a server has them). Runs with
and without --prepare alternate page by page when `--both` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _one(db: str, page: str, prepare: bool) -> dict:
    """In this (fresh) process: open `page` once; its first run's seconds and errors."""
    os.environ["CRM_LENS_DB"] = db
    import click  # noqa: F401  a served app was started by Streamlit's click CLI
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    class ServedPagesManager(PagesManager):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            PagesManager.uses_pages_directory = False

    app_test_module.PagesManager = ServedPagesManager  # type: ignore[misc]
    prepared = 0.0
    if prepare:
        from crm_core.app import startup

        t0 = time.perf_counter()
        startup.prepare()
        prepared = time.perf_counter() - t0
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    # A server registers the installed components once, at its start (0.5-0.7 s of scanning
    # package metadata); AppTest does it in its first run. Done here, before the clock starts.
    from streamlit.components.v2.component_manager import BidiComponentManager

    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    at._bidi_component_manager = components
    at.query_params["lang"] = "zh"
    at.switch_page(page)
    t0 = time.perf_counter()
    at.run()
    return {
        "page": page,
        "prepare": prepare,
        "prepared_s": round(prepared, 3),
        "first_s": round(time.perf_counter() - t0, 3),
        "errors": [str(e.value)[:200] for e in at.exception],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.first_open", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--db", required=True, help="a warmed copy of a bench database")
    ap.add_argument("--pages", default="overview,present,pyramid,lifecycle,churn_clv")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prepare", action="store_true", help="as serve.py: prepare, then open")
    ap.add_argument("--both", action="store_true", help="alternate without and with --prepare")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(_one(a.db, a.one, a.prepare)))
        return 0
    modes = [False, True] if a.both else [a.prepare]
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(a.runs):
        for name in a.pages.split(","):
            for prepare in modes:
                cmd = [sys.executable, "-m", "bench.first_open", "--db", a.db]
                cmd += ["--one", f"pages/{name}.py"] + (["--prepare"] if prepare else [])
                run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
                out = json.loads(run.stdout.strip().splitlines()[-1])
                if out["errors"]:
                    raise SystemExit(f"{name}: {out['errors']}")
                times.setdefault((name, prepare), []).append(out["first_s"])
    print(f"{a.db}: first open in a fresh process, {a.runs} runs, load {os.getloadavg()[0]:.1f}")
    print("| page | prepared at start | median s | runs s |")
    print("|---|---|---|---|")
    for (name, prepare), ts in times.items():
        runs = ", ".join(f"{t:.2f}" for t in ts)
        print(f"| {name} | {'yes' if prepare else 'no'} | {statistics.median(ts):.2f} | {runs} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
