"""The measurements of bench.run beyond page sets and baselines: filter variants of the heavy
pages, an append to a loaded database, warm + first open in a fresh app process, a room of
sessions, and the demo's room and browser navigation. Each runs in a process of its own."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APPEND_ORDERS = 100_000
# Pages whose target names a filter kind: no filter, a category, a customer attribute.
VARIANT_PAGES = ("pyramid", "lifecycle")
VARIANTS = ("category", "region")


def variants(con: Any, period: Any, runs: int, budget_s: float, median_runs: Any) -> dict:
    """Pyramid and Lifecycle with a category filter and with a region filter (the first value
    of each in the data), each run with a period start never used before."""
    import dataclasses
    import datetime as dt

    from bench import pages
    from crm_core.metrics.filters import Filters, filter_options

    options = filter_options(con)
    out: dict[str, Any] = {}
    for name in (p for p in VARIANT_PAGES if p in pages.PAGES):
        fn = pages.PAGES[name]
        for kind in VARIANTS:
            values = options.get(kind) or []
            if not values:
                out[f"{name}/{kind}"] = {"error": f"the data has no {kind}"}
                continue

            def make(k: int, kind: str = kind, value: str = values[0]) -> tuple:
                f = Filters(start=period.start + dt.timedelta(days=k), end=period.end)
                return con, dataclasses.replace(f, **{kind: value})  # type: ignore[arg-type]

            out[f"{name}/{kind}"] = {
                "value": values[0],
                **median_runs(fn, make, min(runs, 3), budget_s),
            }
    return out


def worker_append(db_path: str, orders_csv: str, n: int = APPEND_ORDERS) -> dict[str, Any]:
    """Append `n` new orders (the first n lines of the size's orders export under new order ids:
    the same customers, products and dates) to a copy of the loaded database, fact layer
    included; the seconds of the whole load and of its steps."""
    import duckdb

    from crm_core import ingest
    from crm_core.engine import db

    work = Path(tempfile.mkdtemp(prefix="crm_lens_append_", dir=Path(db_path).parent))
    try:
        copy = work / "crm.duckdb"
        shutil.copy(db_path, copy)
        csv = work / "orders_append.csv"
        src = duckdb.connect()
        head = src.execute(
            "SELECT * FROM read_csv($p, all_varchar = true, header = true) LIMIT 0",
            {"p": orders_csv},
        ).description
        first = head[0][0]  # the order id column, as bench/gen.py writes it first
        src.execute(
            f'COPY (SELECT * REPLACE (\'AP\' || "{first}" AS "{first}") '
            "FROM read_csv($p, all_varchar = true, header = true) LIMIT $n) "
            f"TO '{csv}' (HEADER, DELIMITER ',')",
            {"p": orders_csv, "n": n},
        )
        src.close()
        stages: list[tuple[float, str]] = []
        t0 = time.perf_counter()
        con = db.connect(str(copy))
        result = ingest.load(
            con,
            [ingest.Source(csv, "orders")],
            "append",
            progress=lambda f, m: stages.append((time.perf_counter(), m)),
        )
        con.close()
        t_end = time.perf_counter()
        marks = [(t0, "open database"), *stages, (t_end, "")]
        steps: list[dict[str, Any]] = [
            {"step": m, "s": b[0] - a} for (a, m), b in itertools.pairwise(marks)
        ]
        return {
            "append_s": t_end - t0,
            "orders": n,
            "rows": sum(r.rows_loaded for r in result.reports),
            "steps": [s for s in steps if s["s"] >= 0.05],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def first_open(db_path: str, pages: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`python -m crm_core warm` on the database, then each page opened once in a fresh
    interpreter as serve.py serves it (bench/first_open.py --prepare): the first manager's wait
    after a load, in every process."""
    from bench import sessions  # every app page a manager opens (Data has no figures)

    pages = pages or tuple(p or "overview" for p in sessions.PAGES)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    warm = subprocess.run(
        [sys.executable, "-m", "crm_core", "warm", "--db", db_path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    out: dict[str, Any] = {"warm_s": time.perf_counter() - t, "pages": {}}
    if warm.returncode != 0:
        out["error"] = f"warm failed: {(warm.stderr or warm.stdout).strip()[-300:]}"
        return out
    for name in pages:
        cmd = [sys.executable, "-m", "bench.first_open", "--db", db_path]
        cmd += ["--one", f"pages/{name}.py", "--prepare"]
        try:
            run = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=900
            )
            lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
            if not lines:
                raise RuntimeError((run.stderr or run.stdout).strip()[-300:])
            one = json.loads(lines[-1])
            out["pages"][name] = {"error": "; ".join(one["errors"])[:300]} if one["errors"] else one
        except Exception as e:  # a page that fails is reported, the others still run
            out["pages"][name] = {"error": f"{type(e).__name__}: {e}"[:300]}
    return out


def _json_of(cmd: list[str], js: Path, timeout_s: float) -> Any:
    """Run a bench command that writes its results to `js`; the parsed JSON, or {"error"}."""
    try:
        run = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    if run.returncode != 0 or not js.exists():
        return {"error": (run.stderr or run.stdout).strip()[-300:]}
    return json.loads(js.read_text())


def room(db_path: str | None, sessions: int, rounds: int, timeout_s: float = 3600) -> dict:
    """bench.sessions: `sessions` real sessions at once over the app's websocket, each visiting
    every page `rounds` times (the first, cold round left out of the percentiles)."""
    with tempfile.TemporaryDirectory(prefix="crm_lens_room_") as tmp:
        js = Path(tmp) / "room.json"
        cmd = [sys.executable, "-m", "bench.sessions", "--sessions", str(sessions)]
        cmd += ["--rounds", str(rounds), "--out", str(js)]
        cmd += ["--db", db_path] if db_path else []
        got = _json_of(cmd, js, timeout_s)
        return got if isinstance(got, dict) else dict(got[0]["summary"])


def browser(rounds: int, timeout_s: float = 1800) -> dict:
    """bench.browser: navigation to the last chart of every page in chromium, the demo, zh."""
    with tempfile.TemporaryDirectory(prefix="crm_lens_browser_") as tmp:
        js = Path(tmp) / "browser.json"
        cmd = [sys.executable, "-m", "bench.browser", "--rounds", str(rounds), "--out", str(js)]
        return dict(_json_of(cmd, js, timeout_s))
