"""Readers keep working while a large append commits, and each render sees old or new, never a mix."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from crm_core import ingest
from crm_core.app import ui
from crm_core.engine import db
from crm_core.metrics import figures, overview, weekly

READERS = 8
ROWS = 1_000_000


def _orders_csv(path: Path, rows: int) -> None:
    # Orders for existing demo customers, ids that do not collide with the demo's (SO…).
    duckdb.sql(
        f"""COPY (SELECT 'B' || lpad(CAST(i AS VARCHAR), 8, '0') AS 订单编号,
                         'C' || lpad(CAST(1 + i % 4000 AS VARCHAR), 5, '0') AS 客户编号,
                         strftime(TIMESTAMP '2026-06-01' + to_minutes(CAST(i % 100000 AS BIGINT)),
                                  '%Y/%-m/%-d %H:%M') AS 下单时间,
                         CAST(100 + i % 900 AS VARCHAR) || '.50' AS 实付金额
                  FROM range({rows}) AS t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )


def _render(cur: db.Connection) -> tuple[float, float]:
    """What a page render reads: the headline net revenue and the same figure summed per month
    (the monthly trend is net of returns, so it adds up to net_revenue, not to gross revenue)."""
    with ui.consistent_read(cur):
        total = figures.base_metrics(cur)["net_revenue"]
        rng = overview.data_range(cur)
        assert rng is not None
        trend = overview.monthly_trend(cur, overview.Period(*rng))
        end = weekly.report_week_end(cur)
        assert end is not None
        weekly.weekly_comparison(cur, end)
        return total, float(trend["revenue"].sum())


@pytest.mark.slow
def test_readers_during_a_large_append(demo_copy: Path, tmp_path: Path) -> None:
    big = tmp_path / "orders_1m.csv"
    _orders_csv(big, ROWS)
    con = db.connect(demo_copy)
    before, _ = _render(con.cursor())
    # 100.50 + ... : rows i contribute 100 + i % 900 + 0.5; 1,000,000 = 1111 full cycles of 900
    # plus 100 rows (0..99): sum = 1111 * (900*100 + 899*900/2 + 450) + (100*100 + 99*100/2 + 50)
    added = 1111 * (90000 + 404550 + 450) + (10000 + 4950 + 50)
    after_expected = before + added

    seen: list[float] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        cur = con.cursor()
        try:
            while True:
                total, by_month = _render(cur)
                # One render never mixes: both figures come from the same snapshot.
                assert abs(total - by_month) < 1e-6 * max(1.0, total), (total, by_month)
                assert min(abs(total - before), abs(total - after_expected)) < 1e-3, total
                seen.append(total)
                if done.is_set():
                    break
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    result = ingest.load(con, [ingest.Source(big, "orders")], "append")
    done.set()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert result.reports[0].rows_loaded == ROWS
    assert any(abs(s - before) < 1e-3 for s in seen), "readers ran before the commit"
    final, _ = _render(con.cursor())
    assert abs(final - after_expected) < 1e-3
