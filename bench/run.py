"""Benchmark suite: load, page query sets, baselines, memory — at S / M / L orders.

    python -m bench.run --sizes S,M            # S = 100 k, M = 1 M, L = 10 M orders, or a number
    python -m bench.run --sizes LI             # 10 M order lines in ~500 k invoices (suffix I)
    python -m bench.run --sizes 20000 --runs 2 --out /tmp/RESULTS.md --data-dir /tmp/bench

Every measurement runs in a subprocess of its own (`--worker TASK`), so peak RSS (VmHWM on
Linux, resource.getrusage elsewhere) belongs to that task alone and "cold" means a fresh process.
Writes bench/RESULTS.md (text below its NOTES marker is kept) and bench/out/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(ROOT))

from bench import steps, targets  # noqa: E402

SIZES = {"S": 100_000, "M": 1_000_000, "L": 10_000_000}
# Issue 16's targets at L: bench/targets.py (also its table at the top of RESULTS.md).
# What one size runs (--steps), in this order; "demo" runs once, after the sizes.
STEPS = (
    "load",
    "pages",
    "variants",
    "cold",
    "plain",
    "pandas",
    "append",
    "first_open",
    "room",
    "demo",
)
NOTES_MARKER = "<!-- notes: everything below this line is kept when bench.run rewrites the file -->"
WORKER_TIMEOUT_S = 3600


# --------------------------------------------------------------------------- workers


def _select_pages() -> None:
    """Keep only the page sets (and their baselines) named in $BENCH_PAGES (comma list; unset =
    all): set by --pages, inherited by every worker process."""
    only = [p for p in os.environ.get("BENCH_PAGES", "").split(",") if p]
    if not only:
        return
    from bench import baselines, pages

    unknown = set(only) - pages.PAGES.keys()
    if unknown:
        raise SystemExit(f"unknown pages {sorted(unknown)}; known: {', '.join(pages.PAGES)}")
    for registry in (pages.PAGES, baselines.BASELINES):
        for name in [n for n in registry if n not in only]:
            del registry[name]


def _rss_mb() -> float:
    """Peak RSS of this process in MB: getrusage's ru_maxrss, except where Linux shows the peak of
    this program image alone (VmHWM). ru_maxrss survives execve: a worker forked from a driver
    that once held 3 GB (DuckDB writing the L files) would report 3 GB whatever it used."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _filters(period: Any, k: int) -> Any:
    """The k-th filter of a run: the default period with its start moved k days — a value no
    earlier run used, so nothing can come from a result cache."""
    from crm_core.metrics.filters import Filters

    return Filters(start=period.start + dt.timedelta(days=k), end=period.end)


def _timed(fn: Any, *args: Any) -> float:
    t = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t) * 1000


def _median_runs(fn: Any, make_args: Any, runs: int, budget_s: float) -> dict[str, Any]:
    """Warm-up once, then `runs` timed calls with fresh arguments (fewer if over budget, ≥ 3)."""
    t0 = time.perf_counter()
    first = _timed(fn, *make_args(0))
    times: list[float] = []
    for k in range(1, runs + 1):
        times.append(_timed(fn, *make_args(k)))
        if len(times) >= 3 and time.perf_counter() - t0 > budget_s:
            break
    return {
        "first_ms": first,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "n": len(times),
    }


def worker_load(db_path: str, files: dict[str, str]) -> dict[str, Any]:
    """crm_core's full load of every file, then DuckDB's bare CTAS of the same files."""
    import duckdb

    from crm_core import ingest
    from crm_core.engine import config, db
    from crm_core.ingest import batch

    Path(db_path).unlink(missing_ok=True)
    Path(db_path + ".wal").unlink(missing_ok=True)
    stages: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    con = db.connect(db_path)
    sources = [ingest.Source(Path(p), t) for t, p in files.items()]
    result = ingest.load(
        con, sources, "replace", progress=lambda f, m: stages.append((time.perf_counter(), m))
    )
    con.close()
    t_end = time.perf_counter()
    load_s = t_end - t0
    rss = _rss_mb()
    # Each progress message starts a step that lasts until the next one.
    marks = [(t0, "open database"), *stages, (t_end, "")]
    steps = [
        {"step": m, "s": t_next - t}
        for (t, m), (t_next, _) in itertools.pairwise(marks)
        if t_next - t >= 0.05 or m
    ]
    # The core load ends at its commit: the fact layer's day tables are built after it, while
    # pages read the order lines (issue 16's "core load, fact layer after commit").
    committed = next((t for t, m in stages if m == batch.DAYS_STEP), t_end)
    bare_path = db_path + ".bare.duckdb"
    Path(bare_path).unlink(missing_ok=True)
    t1 = time.perf_counter()
    bare = duckdb.connect(bare_path)
    bare.execute("SET enable_progress_bar = false")
    bare.execute("SET memory_limit = $m", {"m": config.MEMORY_LIMIT})
    if config.THREADS:
        bare.execute("SET threads = $t", {"t": config.THREADS})
    for t, p in files.items():
        bare.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv('{p}')")
    bare.close()
    bare_s = time.perf_counter() - t1
    Path(bare_path).unlink(missing_ok=True)
    return {
        "load_s": load_s,
        "core_s": committed - t0,
        "bare_s": bare_s,
        "rss_mb": rss,
        "rows": {r.table: r.rows_loaded for r in result.reports},
        "steps": steps,
    }


def worker_pages(db_path: str, runs: int, budget_s: float) -> dict[str, Any]:
    """Every page set: warm-up, then `runs` uncached runs; the Overview equality results."""
    from bench import baselines, pages
    from crm_core.engine import db
    from crm_core.metrics import overview

    con = db.connect(db_path)
    period = overview.default_period(con)
    assert period is not None, "no orders loaded"
    out: dict[str, Any] = {
        "pages": {},
        "period": [period.start.isoformat(), period.end.isoformat()],
    }
    for name, fn in pages.PAGES.items():
        try:
            out["pages"][name] = _median_runs(
                fn, lambda k, fn=fn: (con, _filters(period, k)), runs, budget_s
            )
        except Exception as e:  # a page set that fails is reported, not fatal
            out["pages"][name] = {"error": f"{type(e).__name__}: {e}"[:300]}
            traceback.print_exc()
    if "variants" in _steps():
        out["variants"] = steps.variants(con, period, runs, budget_s, _median_runs)
    out["rss_mb"] = _rss_mb()
    out["checks"] = _checks(con, period, lambda b, f: b.core(con, f), baselines)
    con.close()
    return out


def _steps() -> set[str]:
    """The steps named in $BENCH_STEPS (set by --steps, inherited by the workers)."""
    return set(os.environ.get("BENCH_STEPS", ",".join(STEPS)).split(","))


def _checks(con: Any, period: Any, run: Any, baselines: Any) -> dict[str, list[Any]]:
    f0 = _filters(period, 0)
    options = baselines.core_overview(con, f0)["options"]
    out: dict[str, list[Any]] = {}
    for name, b in baselines.BASELINES.items():
        try:
            out[name] = [run(b, f) for f in baselines.check_filters(f0, options)]
        except Exception:  # reported as "not run" by _equality; the other baselines go on
            traceback.print_exc()
    return out


def worker_cold(db_path: str, page: str) -> dict[str, Any]:
    """One page set in this fresh process: open the database, run it once."""
    t0 = time.perf_counter()
    from bench import pages
    from crm_core.engine import db
    from crm_core.metrics import overview

    t1 = time.perf_counter()
    con = db.connect(db_path)
    period = overview.default_period(con)
    pages.PAGES[page](con, _filters(period, 100))
    t2 = time.perf_counter()
    con.close()
    return {"cold_ms": (t2 - t1) * 1000, "imports_ms": (t1 - t0) * 1000, "rss_mb": _rss_mb()}


def worker_plain(db_path: str, runs: int, budget_s: float) -> dict[str, Any]:
    """The baseline pages in plain SQL over the raw tables."""
    from bench import baselines
    from crm_core.engine import db
    from crm_core.metrics import overview

    con = db.connect(db_path)
    period = overview.default_period(con)
    out: dict[str, Any] = {"timings": {}}
    for name, b in baselines.BASELINES.items():
        try:
            out["timings"][name] = _median_runs(
                b.plain, lambda k, b=b: (con, _filters(period, k)), runs, budget_s
            )
        except Exception as e:  # e.g. out of memory under the limit: reported, not fatal
            out["timings"][name] = {"error": f"{type(e).__name__}: {e}"[:200]}
            traceback.print_exc()
    out["checks"] = _checks(con, period, lambda b, f: b.plain(con, f), baselines)
    out["rss_mb"] = _rss_mb()
    con.close()
    return out


def worker_pandas(db_path: str, runs: int, budget_s: float) -> dict[str, Any]:
    """The baseline pages the pandas way: tables read into DataFrames once, then groupby."""
    from bench import baselines
    from crm_core.engine import db
    from crm_core.metrics import overview

    con = db.connect(db_path, read_only=True)
    period = overview.default_period(con)
    out: dict[str, Any] = {"timings": {}, "read_s": {}}
    frames: dict[str, Any] = {}
    read: dict[Any, Any] = {}  # baselines sharing a read function share its frames
    for name, b in baselines.BASELINES.items():
        t = time.perf_counter()
        if b.pandas_read not in read:
            read[b.pandas_read] = b.pandas_read(con)
        frames[name] = read[b.pandas_read]
        out["read_s"][name] = time.perf_counter() - t
        try:
            out["timings"][name] = _median_runs(
                b.pandas,
                lambda k, b=b, name=name: (frames[name], _filters(period, k)),
                runs,
                budget_s,
            )
        except Exception as e:
            out["timings"][name] = {"error": f"{type(e).__name__}: {e}"[:200]}
            traceback.print_exc()
    out["checks"] = _checks(con, period, lambda b, f: b.pandas(frames[_name(b)], f), baselines)
    out["rss_mb"] = _rss_mb()
    con.close()
    return out


def _name(b: Any) -> str:
    from bench import baselines

    return next(k for k, v in baselines.BASELINES.items() if v is b)


def worker_gen(n: int, out_dir: str, shape: str = "orders") -> dict[str, Any]:
    """The CSV files of `n` orders, or `n` order lines (shape "lines"; bench/gen.py), made or
    reused."""
    from bench import gen

    return {"files": {t: str(p) for t, p in gen.generate(n, Path(out_dir), shape).items()}}


WORKERS: dict[str, Any] = {
    "gen": worker_gen,
    "load": worker_load,
    "pages": worker_pages,
    "cold": worker_cold,
    "plain": worker_plain,
    "pandas": worker_pandas,
    "append": steps.worker_append,
}


# --------------------------------------------------------------------------- driver


def run_worker(task: str, args: dict[str, Any], timeout: float = WORKER_TIMEOUT_S) -> dict:
    """Run one task in a fresh interpreter; its JSON result, or {"error": ...}."""
    cmd = [sys.executable, "-m", "bench.run", "--worker", task, json.dumps(args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    try:
        p = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        reason = "killed (out of memory?)" if p.returncode in (-9, 137) else " | ".join(tail)
        return {"error": f"exit {p.returncode}: {reason}"[:400]}
    out = json.loads(lines[-1])
    out["wall_s"] = wall
    return out


def _label(spec: str) -> tuple[str, int, str]:
    """(label, n, shape) of a size: S, M, L or a number of orders (one line each); with the
    suffix I (LI, MI, 20000I) as many order lines, in invoices of 1 to 40 lines."""
    spec = spec.strip().upper()
    shape, suffix = ("lines", "I") if spec.endswith("I") else ("orders", "")
    spec = spec.removesuffix(suffix)
    if spec in SIZES:
        return spec + suffix, SIZES[spec], shape
    n = int(float(spec))
    return (f"{n // 1000}k" if n < 1_000_000 else f"{n / 1e6:g}M") + suffix, n, shape


def bench_size(
    label: str,
    n: int,
    data_dir: Path,
    runs: int,
    pandas_timeout: float,
    log: Any,
    shape: str = "orders",
    room: int = 8,
) -> dict:
    from bench import pages

    d = data_dir / label
    t = time.perf_counter()
    # In a subprocess: keeps this driver process small.
    made = run_worker("gen", {"n": n, "out_dir": str(d), "shape": shape})
    if "error" in made:
        raise RuntimeError(f"generating {label}: {made['error']}")
    files = {t: Path(p) for t, p in made["files"].items()}
    res: dict[str, Any] = {"label": label, "orders": n, "shape": shape}
    res["gen_s"] = time.perf_counter() - t
    res["loadavg"] = [os.getloadavg()[0]]
    res["csv_mb"] = sum(f.stat().st_size for f in files.values()) / 1e6
    log(f"{label}: {res['csv_mb']:.0f} MB of CSV in {res['gen_s']:.1f} s")
    db_path = str(d / "crm.duckdb")
    todo = _steps()
    res["load"] = {}
    if "load" in todo or not Path(db_path).exists():
        res["load"] = run_worker(
            "load", {"db_path": db_path, "files": {t: str(p) for t, p in files.items()}}
        )
        log(f"{label}: load {_fmt(res['load'], 'load_s')} s, bare {_fmt(res['load'], 'bare_s')} s")
    budget = 120.0
    res["pages"] = res["plain"] = res["pandas"] = {}
    res["cold"] = {}
    if "pages" in todo:
        res["pages"] = run_worker("pages", {"db_path": db_path, "runs": runs, "budget_s": budget})
        log(f"{label}: pages {res['pages'].get('error') or 'done'}")
    if "cold" in todo:
        res["cold"] = {
            p: run_worker("cold", {"db_path": db_path, "page": p}, timeout=900) for p in pages.PAGES
        }
        log(f"{label}: cold done")
    if "plain" in todo:
        res["plain"] = run_worker("plain", {"db_path": db_path, "runs": runs, "budget_s": budget})
        log(f"{label}: plain SQL {res['plain'].get('error') or 'done'}")
    if "pandas" in todo:
        res["pandas"] = run_worker(
            "pandas",
            {"db_path": db_path, "runs": runs, "budget_s": budget},
            timeout=pandas_timeout,
        )
        log(f"{label}: pandas {res['pandas'].get('error') or 'done'}")
    if "append" in todo:
        res["append"] = run_worker(
            "append", {"db_path": db_path, "orders_csv": str(files["orders"])}
        )
        log(f"{label}: append {_fmt(res['append'], 'append_s')} s")
    if "first_open" in todo:  # warms the file: after every step that times uncached sets
        res["first_open"] = steps.first_open(db_path)
        log(f"{label}: warm {_fmt(res['first_open'], 'warm_s')} s, first opens done")
    if "room" in todo:
        res["room"] = steps.room(db_path, room, rounds=2)
        log(f"{label}: {room} sessions p95 {_fmt(res['room'], 'p95_s', digits=2)} s")
    res["equal"] = _equality(res)
    res["loadavg"].append(os.getloadavg()[0])
    return res


def _equality(res: dict[str, Any]) -> dict[str, Any]:
    """Per baseline page: 'yes' when crm_core, plain SQL and pandas agree on every check filter."""
    from bench.baselines import same

    out = {}
    core = res["pages"].get("checks", {})
    for name, want in core.items():
        verdicts = []
        for other in ("plain", "pandas"):
            got = res.get(other, {}).get("checks", {}).get(name)
            if got is None:
                verdicts.append(f"{other}: not run")
            elif not same(want, got):
                verdicts.append(f"{other}: DIFFERENT")
        out[name] = "; ".join(verdicts) or "yes"
    return out


def _fmt(d: dict, key: str, scale: float = 1.0, digits: int = 1) -> str:
    v = d.get(key)
    return f"{v * scale:,.{digits}f}" if isinstance(v, (int, float)) else "–"


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


# --------------------------------------------------------------------------- report


def render(results: list[dict[str, Any]], meta: dict[str, Any], demo: dict | None = None) -> str:
    out = [
        "# Benchmark results",
        "",
        f"`{meta['command']}` — {meta['date']}, {meta['machine']}. "
        f"DuckDB {meta['duckdb']}, pandas {meta['pandas']}, Python {meta['python']}; "
        f"DuckDB memory_limit {meta['memory_limit']}, threads {meta['threads']}. "
        "Times are wall clock on a shared VM; ratios are measured in the same run. "
        "The OS page cache is warm (the data was just written); *cold* means a fresh process.",
        "",
        "1-minute load average at the start and end of each size: "
        + ", ".join(f"{r['label']} {r['loadavg'][0]:.1f} → {r['loadavg'][-1]:.1f}" for r in results)
        + f" (on {meta['cores']} cores).",
        "",
        "Sizes: orders; customers ≈ orders/10, leads and interactions ≈ orders/5, complaints ≈ "
        "orders/50 (bench/gen.py). Targets are for L; smaller sizes show the trend."
        + (
            " Sizes ending in I (LI = 10 M) are order lines in invoices of 1–40 lines (20.5 on "
            "average), customers ≈ lines/100, leads and interactions ≈ invoices/5, complaints ≈ "
            "invoices/50, about 5 % of the invoices ending with a return line."
            if any(r.get("shape") == "lines" for r in results)
            else ""
        ),
        "",
        *targets.target_rows(results, demo or {}),
        "",
        "## Load (decode, map, type, validate, swap, refresh summaries) vs bare CTAS",
        "",
        "Core load: up to the load's commit, the customer summaries included; the fact layer's "
        "day tables are built after it, while pages read the order lines (the whole load: "
        "both). The ratio is the core load's.",
        "",
        f"| size | CSV MB | rows | core load s | day tables after commit s | whole load s | bare CTAS s | ratio | ≤ {targets.LOAD_RATIO}× | load peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        ld = r["load"]
        if not ld:
            continue
        if "error" in ld:
            out.append(f"| {r['label']} | {r['csv_mb']:.0f} | | error: {ld['error']} | | | | | | |")
            continue
        core = ld.get("core_s", ld["load_s"])
        ratio = core / ld["bare_s"]
        out.append(
            f"| {r['label']} | {r['csv_mb']:,.0f} | {sum(ld['rows'].values()):,} | "
            f"{core:.1f} | {ld['load_s'] - core:.1f} | {ld['load_s']:.1f} | {ld['bare_s']:.1f} | "
            f"{ratio:.2f}× | {_met(ratio <= targets.LOAD_RATIO)} | {ld['rss_mb']:,.0f} |"
        )
    out += [
        "",
        "Load steps in seconds (from ingest's progress callback; each lasts until the next):",
        "",
    ]
    for r in results:
        steps = r["load"].get("steps") or []
        out.append(f"- {r['label']}: " + ", ".join(f"{s['step']} {s['s']:.1f}" for s in steps))
    out += [
        "",
        "## Pages: full crm_core query set per page (the sidebar reads its data facts once per data version, as the app keeps them)",
        "",
        "Uncached = median of N runs in a warm process, each with a period start never used "
        "before; first = the first run in that process; cold = a fresh process opening the "
        "database and running the set once (imports not included). Target: issue 16's "
        "uncached change at L (sets named *_per_report / *_lines / *_blas_threads time an "
        "earlier path of a page, for comparison).",
        "",
        "| size | page | uncached median ms | min–max ms | N | first ms | target | cold ms |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        pages = r["pages"].get("pages", {})
        if "error" in r["pages"]:
            out.append(f"| {r['label']} | all | error: {r['pages']['error']} | | | | | |")
        for name, p in pages.items():
            cold = r["cold"].get(name, {})
            cold_ms = cold.get("cold_ms")
            if "error" in p:
                out.append(f"| {r['label']} | {name} | error: {p['error']} | | | | | |")
                continue
            limit = targets.page_target_s(name) * 1000
            verdict = (
                "–"
                if name.endswith(targets.COMPARISONS)
                else f"≤ {limit / 1000:g} s: {_met(p['median_ms'] <= limit)}"
            )
            out.append(
                f"| {r['label']} | {name} | {p['median_ms']:,.0f} | "
                f"{p['min_ms']:,.0f}–{p['max_ms']:,.0f} | {p['n']} | {p['first_ms']:,.0f} | "
                f"{verdict} | "
                + (f"{cold_ms:,.0f}" if cold_ms is not None else cold.get("error", "–"))
                + " |"
            )
    out += [
        "",
        "## Page sets vs plain SQL over raw tables vs pandas",
        "",
        "Same filters, same run. Plain SQL = the page's numbers written straight over orders / "
        "customers / complaints (bench/baselines.py). pandas = a hand-made dashboard: tables read "
        "into DataFrames once (read time shown, not counted; the pages share one read), then "
        "masks and groupby per interaction. Equal = crm_core, plain SQL and pandas give the same "
        "numbers for 4 filter combinations (none, region, category, both). Overview: every number "
        "of the page. Pyramid: customers and revenue per value tier; Lifecycle: customers and "
        "12-month revenue per stage — for these two the crm_core column times the whole page set "
        "(Pareto, RFM, migration, customer list; transitions, new vs lost, cohorts), so their "
        "ratios understate.",
        "",
        f"| size | page | crm_core ms | plain SQL ms | crm_core / plain | ≤ {targets.PYRAMID_OVER_PLAIN:g}× (Pyramid) | pandas ms | pandas / crm_core | ≥ {targets.PANDAS_OVER_CORE:g}× | pandas read s | pandas peak RSS MB | equal |",
        "|---|---|---:|---:|---:|---|---:|---:|---|---:|---:|---|",
    ]
    for r in results:
        for name, verdict in (r.get("equal") or {}).items():
            core = r["pages"].get("pages", {}).get(name, {}).get("median_ms")
            plain = r["plain"].get("timings", {}).get(name, {}).get("median_ms")
            pdm = r["pandas"].get("timings", {}).get(name, {}).get("median_ms")
            pr = core / plain if core and plain else None
            pd_r = pdm / core if core and pdm else None
            pd_err = r["pandas"].get("timings", {}).get(name, {}).get("error")
            pandas_cell = (
                f"{pdm:,.0f}" if pdm else f"not run ({pd_err or r['pandas'].get('error', '?')})"
            )
            plain_err = r["plain"].get("timings", {}).get(name, {}).get("error")
            plain_cell = _n(plain) if plain or not plain_err else f"not run ({plain_err})"
            out.append(
                f"| {r['label']} | {name} | {_n(core)} | {plain_cell} | "
                f"{f'{pr:.1f}×' if pr else '–'} | "
                f"{_met(pr <= targets.PYRAMID_OVER_PLAIN if pr and name == 'pyramid' else None)} | "
                f"{pandas_cell} | {f'{pd_r:.1f}×' if pd_r else '–'} | "
                f"{_met(pd_r >= targets.PANDAS_OVER_CORE if pd_r else None)} | "
                f"{_fmt(r['pandas'].get('read_s', {}), name)} | {_fmt(r['pandas'], 'rss_mb', digits=0)} | "
                f"{verdict} |"
            )
    out += [
        "",
        "## Peak RSS of the app process",
        "",
        "The process that ran every page set (warm-up + N runs each).",
        "",
        f"| size | app peak RSS MB | ≤ {targets.RSS_MB:,.0f} MB | largest cold page process MB |",
        "|---|---:|---|---:|",
    ]
    for r in results:
        rss = r["pages"].get("rss_mb")
        cold = max((c.get("rss_mb", 0) for c in r["cold"].values()), default=0)
        out.append(
            f"| {r['label']} | {_n(rss)} | {_met(rss <= targets.RSS_MB if rss else None)} | {_n(cold)} |"
        )
    out += targets.detail_tables(results, demo or {})
    return "\n".join(out) + "\n"


def _n(v: Any) -> str:
    return f"{v:,.0f}" if isinstance(v, (int, float)) else "–"


def write_results(path: Path, text: str) -> None:
    """Write the generated part, keeping hand-written notes below the marker."""
    notes = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            notes = old[old.index(NOTES_MARKER) + len(NOTES_MARKER) :]
    path.write_text(text + "\n" + NOTES_MARKER + (notes or "\n"), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--sizes",
        default="S,M",
        help="comma list of S, M, L or order counts; suffix I for order lines (LI, 20000I)",
    )
    ap.add_argument("--runs", type=int, default=5, help="timed runs per page (median; ≥ 5)")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    ap.add_argument("--json", type=Path, default=None, help="raw results (default: bench/out/)")
    ap.add_argument("--pandas-timeout", type=float, default=1800.0, help="seconds")
    ap.add_argument("--pages", default=None, help="comma list of page sets (default: all)")
    ap.add_argument(
        "--steps",
        default=",".join(STEPS),
        help=f"comma list of steps (default: all: {','.join(STEPS)}); demo runs once",
    )
    ap.add_argument("--room", type=int, default=8, help="sessions at once in each size's room")
    ap.add_argument("--demo-room", type=int, default=20, help="sessions at once on the demo")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("args", nargs="?", default="{}", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.pages:
        os.environ["BENCH_PAGES"] = a.pages
    unknown_steps = set(a.steps.split(",")) - set(STEPS)
    if unknown_steps:
        ap.error(f"unknown steps {sorted(unknown_steps)}; known: {', '.join(STEPS)}")
    os.environ["BENCH_STEPS"] = a.steps
    _select_pages()
    if a.worker:
        print(json.dumps(WORKERS[a.worker](**json.loads(a.args)), default=str))
        return 0

    import duckdb
    import pandas as pd

    from bench import pages
    from crm_core.engine import config

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    log(f"pages: {', '.join(pages.PAGES)}")
    results = []
    for spec in a.sizes.split(","):
        label, n, shape = _label(spec)
        results.append(
            bench_size(label, n, a.data_dir, a.runs, a.pandas_timeout, log, shape, a.room)
        )
    demo: dict[str, Any] = {}
    if "demo" in _steps():
        demo["room"] = steps.room(None, a.demo_room, rounds=3)
        log(f"demo: {a.demo_room} sessions p95 {_fmt(demo['room'], 'p95_s', digits=2)} s")
        demo["browser"] = steps.browser(rounds=5)
        log(f"demo: browser {demo['browser'].get('error') or 'done'}")
    meta = {
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM, "
        f"{platform.system()} {platform.machine()}",
        "cores": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
        "memory_limit": config.MEMORY_LIMIT,
        "threads": config.THREADS or "default",
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    write_results(a.out, render(results, meta, demo))
    js = a.json or ROOT / "bench" / "out" / f"results-{'-'.join(r['label'] for r in results)}.json"
    js.parent.mkdir(parents=True, exist_ok=True)
    js.write_text(
        json.dumps({"meta": meta, "results": results, "demo": demo}, indent=1, default=str)
    )
    log(f"wrote {a.out} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
