"""Two page sets timed alternately in one process: a before / after ratio a shared machine holds.

    python -m bench.ab --db bench/data/M/crm.duckdb --pages pyramid_per_report,pyramid --runs 5

bench.run times each page set's runs back to back, so a neighbour's load that comes and goes
falls on one set more than the other. Here run k of A and run k of B follow each other with the
same filter (a period start never used before, as in bench.run), after one warm-up each. Wall
time and process CPU time (every DuckDB thread included) are printed per set, with medians and
the ratio of the medians, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="a database bench.run loaded")
    ap.add_argument("--pages", required=True, help="two page sets: before,after")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args(argv)
    from bench import pages
    from bench.run import _filters
    from crm_core.engine import db
    from crm_core.metrics import overview

    names = a.pages.split(",")
    if len(names) != 2 or not set(names) <= pages.PAGES.keys():
        raise SystemExit(f"--pages takes two of: {', '.join(pages.PAGES)}")
    con = db.connect(a.db, read_only=True)
    period = overview.default_period(con)
    load = [os.getloadavg()[0]]
    times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for k in range(a.runs + 1):  # k = 0: warm-up
        for n in names:
            w, c = time.perf_counter(), _cpu_s()
            # The default period's start moved 3 + k days: a view of about the default's size
            # (a move past its end, as 1000 + k days once was, leaves every set an empty period).
            pages.PAGES[n](con, _filters(period, 3 + k))
            if k:
                times[n].append((time.perf_counter() - w, _cpu_s() - c))
    load.append(os.getloadavg()[0])
    con.close()
    med = {n: [statistics.median(x[i] for x in times[n]) for i in (0, 1)] for n in names}
    print(f"{a.db}: {a.runs} alternating runs, load average {load[0]:.1f} -> {load[1]:.1f}")
    for n in names:
        walls = ", ".join(f"{w:.2f}" for w, _ in times[n])
        print(f"  {n}: wall median {med[n][0]:.2f} s ({walls}), CPU median {med[n][1]:.2f} s")
    before, after = names
    print(
        f"  {before} / {after}: wall {med[before][0] / med[after][0]:.2f}x, "
        f"CPU {med[before][1] / med[after][1]:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
