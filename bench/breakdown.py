"""Where a page set's time goes: seconds per SQL file and outside SQL, for one uncached run.

    python -m bench.breakdown --db /tmp/L.duckdb --pages pyramid,present,churn_clv

Opens the database, warms each page set once (a fresh process still compiles and caches), then
runs it with a period start never used before while every named SQL file read through
crm_core.engine.db (query, query_rows, scalar) is timed; prints the set's wall and CPU seconds,
the SQL files that took the most, and the time outside them (Python, pandas, model fits).
A profile of a bench row, not a measurement of its own: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import functools
import time
from typing import Any

from bench import pages
from crm_core.engine import db
from crm_core.metrics import overview
from crm_core.metrics.filters import Filters


def _timed_sql(spent: collections.Counter[str], calls: collections.Counter[str]) -> None:
    for name in ("query", "query_rows", "scalar"):
        fn = getattr(db, name)

        @functools.wraps(fn)
        def timed(con: Any, sql_name: str, *args: Any, _fn: Any = fn, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return _fn(con, sql_name, *args, **kwargs)
            finally:
                spent[sql_name] += time.perf_counter() - t
                calls[sql_name] += 1

        setattr(db, name, timed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.breakdown", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--db", required=True)
    ap.add_argument("--pages", default="overview,pyramid,lifecycle,complaints,churn_clv,present")
    ap.add_argument("--top", type=int, default=6)
    a = ap.parse_args(argv)
    con = db.connect(a.db)
    period = overview.default_period(con)
    assert period is not None, "no orders loaded"
    spent: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    _timed_sql(spent, calls)
    for k, name in enumerate(a.pages.split(",")):
        fn = pages.PAGES[name]
        fn(con, Filters(start=period.start + dt.timedelta(days=7 + 2 * k), end=period.end))
        spent.clear()
        calls.clear()
        f = Filters(start=period.start + dt.timedelta(days=8 + 2 * k), end=period.end)
        t, c = time.perf_counter(), time.process_time()
        fn(con, f)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        in_sql = sum(spent.values())
        top = ", ".join(
            f"{n} {s:.2f}" + (f" ×{calls[n]}" if calls[n] > 1 else "")
            for n, s in spent.most_common(a.top)
        )
        print(
            f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU; SQL {in_sql:.2f} s in "
            f"{sum(calls.values())} statements ({top}); outside SQL {wall - in_sql:.2f} s",
            flush=True,
        )
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
