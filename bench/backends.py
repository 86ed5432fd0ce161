"""The bench page sets on DuckDB, PostgreSQL and Spark local, side by side.

    python -m bench.backends --size S                       # 100 k orders, all three engines
    python -m bench.backends --size L --engines duckdb,postgresql --pg postgresql://u@h/db
    python -m bench.backends --size L --engines spark --runs 1 --no-warm --out bench/out/spark.md

Loads bench/data/<size>/*.csv (written by `python -m bench.run` / bench.gen) through
crm_core.ingest into each engine — PostgreSQL: --pg URL, else a throw-away local server started
as the tests start one (tests/backend_servers.py); Spark: local[2] with a temp warehouse — then
times every page set of bench.pages (median of --runs, a new filter value each run, so no result
comes from a cache) and prints a Markdown table (also written to --out when given).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bench import pages  # noqa: E402
from crm_core import ingest  # noqa: E402
from crm_core.engine import db  # noqa: E402
from crm_core.metrics import overview  # noqa: E402
from crm_core.metrics.filters import Filters  # noqa: E402

ENGINES = ("duckdb", "postgresql", "spark")
# The throw-away server gets what a DBA would give a 2-core, 24 GB analytics box; PostgreSQL's
# defaults (128 MB shared buffers, 4 MB work_mem) would make every sort and hash spill to disk.
PG_SETTINGS = {
    "shared_buffers": "2GB",
    "work_mem": "256MB",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "12GB",
    "max_wal_size": "8GB",
    "max_parallel_workers_per_gather": "2",
}


def _sources(data: Path) -> list[ingest.Source]:
    names = ("customers", "orders", "complaints", "leads", "interactions")
    return [ingest.Source(data / f"{t}.csv", t) for t in names if (data / f"{t}.csv").exists()]


def _timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_engine(
    target: str,
    data: Path,
    runs: int,
    names: list[str],
    warm: bool = True,
    progress: Callable[[dict[str, Any]], None] = lambda out: None,
) -> dict[str, Any]:
    """Load time and the median time of each page set on one engine.

    `progress` gets the results so far after the load and after each page set, so a long run
    (Spark at L) that is stopped still leaves what it measured.
    """
    t0 = time.perf_counter()
    con = db.connect(target)
    ingest.load(con, _sources(data))
    out: dict[str, Any] = {"load_s": time.perf_counter() - t0, "pages": {}, "warm": warm}
    _log(f"  load {out['load_s']:.1f} s")
    progress(out)
    period = overview.default_period(con)
    if period is None:
        return out
    for i, name in enumerate(names):
        fn = pages.PAGES[name]
        # Period starts no earlier page set used either: Present runs the other pages' queries,
        # and Spark's result cache would answer those from the earlier page sets.
        first = 1 + i * runs
        if warm:  # plans, caches, JIT
            _log(
                f"  {name} warm {_timed(lambda fn=fn: fn(con, Filters(start=period.start, end=period.end))):.1f} s"
            )
        times = [
            _timed(
                lambda k=k, fn=fn: fn(
                    con, Filters(start=period.start + dt.timedelta(days=k), end=period.end)
                )
            )
            for k in range(first, first + runs)
        ]
        out["pages"][name] = statistics.median(times)
        _log(f"  {name} {' '.join(f'{t:.1f}' for t in times)} s")
        progress(out)
    con.close()
    return out


def _log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def render(size: str, results: dict[str, dict[str, Any]]) -> str:
    engines = list(results)
    lines = [
        f"### Backends at size {size} ({dt.date.today()})",
        "",
        "| | " + " | ".join(engines) + " |",
        "|---|" + "---:|" * len(engines),
        "| load (s) | " + " | ".join(f"{results[e]['load_s']:.1f}" for e in engines) + " |",
    ]
    for page in pages.PAGES:
        cells = [results[e]["pages"].get(page) for e in engines]
        lines.append(
            f"| {page} (ms) | "
            + " | ".join("–" if c is None else f"{c * 1000:.0f}" for c in cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.backends", description=__doc__)
    ap.add_argument("--size", default="S", help="a folder of bench/data (S, M, L)")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "data")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default: a throw-away server)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", default=",".join(pages.PAGES), help="page sets to time")
    ap.add_argument(
        "--no-warm",
        action="store_true",
        help="skip the untimed first run of each page set (halves a slow engine's run)",
    )
    ap.add_argument("--out", type=Path, default=None, help="Markdown table; a .json beside it")
    args = ap.parse_args(argv)
    names = [n for n in args.pages.split(",") if n]
    unknown = sorted(set(names) - set(pages.PAGES))
    if unknown:
        print(f"unknown page sets: {', '.join(unknown)}; known: {', '.join(pages.PAGES)}")
        return 2
    data = args.data_dir / args.size
    if not (data / "orders.csv").exists():
        print(f"no bench data in {data}: run python -m bench.run --sizes {args.size} first")
        return 2
    server = None
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="crm_lens_bench_") as tmp:
        try:
            for engine in args.engines.split(","):
                if engine == "duckdb":
                    target = str(Path(tmp) / "crm.duckdb")
                elif engine == "postgresql":
                    if args.pg:
                        target = args.pg
                    else:
                        from backend_servers import PgServer, _pg_bin

                        bindir = _pg_bin()
                        if bindir is None:
                            print("PostgreSQL is not installed; skipping it")
                            continue
                        server = PgServer(bindir, PG_SETTINGS)
                        server.start()
                        target = server.create_database()
                else:
                    target = f"spark:local[2]?warehouse={Path(tmp) / 'warehouse'}"
                _log(f"{engine}: loading {data} …")
                results[engine] = bench_engine(
                    target,
                    data,
                    args.runs,
                    names,
                    warm=not args.no_warm,
                    progress=lambda out, e=engine: _save(args.out, args.size, {**results, e: out}),
                )
        finally:
            if server is not None:
                server.stop()
    print(render(args.size, results))
    _save(args.out, args.size, results)
    return 0


def _save(out: Path | None, size: str, results: dict[str, dict[str, Any]]) -> None:
    if out is None:
        return
    out.write_text(render(size, results), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
