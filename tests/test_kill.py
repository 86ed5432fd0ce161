"""A load killed with SIGKILL at any point leaves the database openable and either exactly as it
was or with the new load complete, never a mix of the two."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core import ingest
from crm_core.engine import db, summaries

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
N_ROWS = 300_000

# The loading process. It writes each stage it reaches to a marker file; at the stage named by
# `hold` it stops (sleeps) so that the kill lands exactly there.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    db_path, csv_path, marker, hold = sys.argv[1:5]
    from crm_core.engine import db
    from crm_core import ingest
    from crm_core.engine import summaries
    from crm_core.ingest import swap

    def mark(tag):
        with open(marker, "a", encoding="utf-8") as f:
            f.write(f"{tag}\\t{time.time()}\\n")
        if tag == hold:
            time.sleep(60)

    refresh, prune = summaries.refresh, swap._prune_undo

    def refresh_then_mark(cur, **kw):  # inside the swap transaction, after the new rows are in
        refresh(cur, **kw)
        mark("in transaction")

    def prune_then_mark(cur, load_id):  # the last step before COMMIT
        prune(cur, load_id)
        mark("before commit")

    summaries.refresh = refresh_then_mark
    swap._prune_undo = prune_then_mark
    con = db.connect(db_path)
    mark("ready")
    ingest.load(con, [ingest.Source(Path(csv_path), "orders")], "replace",
                progress=lambda frac, msg: mark(msg.split(" ")[0]))
    mark("loaded")
    con.close()
    mark("closed")
    """
)


@dataclass(frozen=True)
class Big:
    path: Path
    amount_sum: Decimal


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Big:
    """A ~14 MB, 300k-row orders file and the sum of its amounts."""
    path = tmp_path_factory.mktemp("kill") / "orders_300k.csv"
    rnd = random.Random(7)
    cents = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("order_id,customer_id,order_date,amount,product\n")
        for i in range(N_ROWS):
            c = rnd.randrange(-5_000, 100_000)
            cents += c
            f.write(
                f"K{i:06d},{rnd.randrange(1, 5000):04d},2024-{rnd.randrange(1, 13):02d}-"
                f"{rnd.randrange(1, 29):02d} 10:00:00,{c / 100:.2f},p{i % 97}\n"
            )
    return Big(path, Decimal(cents) / 100)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kill_base") / "base.duckdb"
    con = db.connect(path)
    ingest.load(
        con,
        [
            ingest.Source(FIXTURES / "customers_bom.csv"),
            ingest.Source(FIXTURES / "orders_gbk.csv"),
        ],
    )
    con.close()
    return path


def snapshot(con: db.Connection, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' ORDER BY 1"
        ).fetchall()
        if r[0] not in skip
    ]
    return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}


def marks(marker: Path) -> dict[str, float]:
    """The stages the child reached, in order, with when (time.time()) it reached them."""
    if not marker.exists():
        return {}
    lines = [ln.split("\t") for ln in marker.read_text(encoding="utf-8").splitlines()]
    return {ln[0]: float(ln[1]) for ln in lines if len(ln) == 2}


def wait_for(marker: Path, tag: str, proc: subprocess.Popen, timeout: float = 30) -> bool:
    """Wait until the child has marked `tag` (False if it exited first)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if tag in marks(marker):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    raise AssertionError(f"the loading process never reached {tag!r}")


def kill_run(
    tmp: Path,
    baseline: Path,
    big: Big,
    *,
    at: str | None,
    hold: str = "",
    delay: float = 0.0,
    kill: bool = True,
) -> tuple[str, dict[str, float]]:
    """Load `big` over a copy of the baseline in a child process and SIGKILL it: at the marked
    stage `at` (plus `delay` seconds), or `delay` seconds after the process started. With
    kill=False the load runs to its end."""
    dbp = tmp / "crm.duckdb"
    for p in tmp.glob("crm.duckdb*"):
        p.unlink()
    shutil.copy(baseline, dbp)
    marker = tmp / "marker.txt"
    marker.unlink(missing_ok=True)
    script = tmp / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(dbp), str(big.path), str(marker), hold],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if not kill:
            pass
        elif at is None or wait_for(marker, at, proc):
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (-signal.SIGKILL, 0), err.decode(errors="replace")
    return str(dbp), marks(marker)


def check_state(dbp: str, before: dict[str, list[tuple]], big: Big) -> str:
    """'old' when the database is exactly as before, 'new' when the load is complete."""
    con = db.connect(dbp)  # the killed file opens (DuckDB replays or drops its WAL)
    try:
        n, total, keys = con.execute(
            "SELECT count(*), sum(amount), count(DISTINCT order_id) FROM orders"
        ).fetchone()  # type: ignore[misc]
        if n == len(before["orders"]):
            assert snapshot(con) == before, "a partial load is visible"
            return "old"
        # Otherwise the whole load must be there, with its undo data and its history row.
        assert (n, keys, total) == (N_ROWS, N_ROWS, big.amount_sum), "a partial load is visible"
        now = snapshot(con, skip=("orders", "customer_orders"))
        assert now["customers"] == before["customers"]
        assert now["_undo_2_orders"] == before["orders"]
        assert now["load_history"][:-1] == before["load_history"]
        assert now["load_history"][-1][:3] == (2, "orders_300k.csv", "orders")
        assert now["load_history"][-1][11] == "loaded"
        summary = db.sql("summary_customer_orders")
        stale = con.execute(
            f"SELECT count(*) FROM ((FROM customer_orders EXCEPT ALL ({summary})) "
            f"UNION ALL (({summary}) EXCEPT ALL FROM customer_orders))"
        ).fetchone()
        assert stale == (0,), "summary out of step with orders"
        # The day tables are built after the commit; a kill before they are, and the reopening
        # connection builds them (summaries.ensure).
        for name in summaries.AFTER_COMMIT:
            days = db.sql(f"summary_{name}")
            stale = con.execute(
                f"SELECT count(*) FROM ((FROM {name} EXCEPT ALL ({days})) "
                f"UNION ALL (({days}) EXCEPT ALL FROM {name}))"
            ).fetchone()
            assert stale == (0,), f"{name} out of step with orders"
        # The load can still be undone, back to exactly the old data.
        ingest.rollback_to_before(con, 2)
        after = snapshot(con)
        for t in ("customers", "orders", "customer_orders"):
            assert after[t] == before[t]
        return "new"
    finally:
        con.close()


# (stage to wait for, stage the child holds at, extra delay, the only acceptable outcome)
AT_STAGES = [
    ("reading", "reading", 0.0, "old"),
    ("checking", "checking", 0.0, "old"),
    ("swapping", "swapping", 0.0, "old"),
    ("in transaction", "in transaction", 0.0, "old"),
    ("before commit", "before commit", 0.0, "old"),
    ("building", "building", 0.0, "new"),  # after COMMIT, before the day tables
    ("done", "done", 0.0, "new"),
    ("loaded", "", 0.0, "new"),  # races with close() and its checkpoint
]
# Seconds after the process started; fractions of an undisturbed load's time ("ready" to
# "loaded", measured first on this machine) after the child reported "ready".
AFTER_START = [0.2, 0.5, 1.0]
LOAD_FRACTIONS = [0.15, 0.35, 0.55, 0.75, 0.9, 0.97]


def test_kill_at_each_stage(tmp_path: Path, baseline: Path, big: Big) -> None:
    con = db.connect(baseline)
    before = snapshot(con)
    con.close()
    for at, hold, delay, expected in AT_STAGES:
        dbp, stages = kill_run(tmp_path, baseline, big, at=at, hold=hold, delay=delay)
        assert at in stages
        assert check_state(dbp, before, big) == expected, (at, stages)


def test_kill_at_random_moments(tmp_path: Path, baseline: Path, big: Big) -> None:
    con = db.connect(baseline)
    before = snapshot(con)
    con.close()
    # An undisturbed load first: it completes, and times the load on this machine.
    dbp, reached = kill_run(tmp_path, baseline, big, at=None, kill=False)
    assert "closed" in reached
    assert check_state(dbp, before, big) == "new"
    span = reached["loaded"] - reached["ready"]
    runs = [(None, d) for d in AFTER_START] + [("ready", f * span) for f in LOAD_FRACTIONS]
    for at, delay in runs:
        dbp, reached = kill_run(tmp_path, baseline, big, at=at, delay=delay)
        outcome = check_state(dbp, before, big)
        if "before commit" not in reached:
            assert outcome == "old", reached  # COMMIT not reached: nothing may show
        if "done" in reached:
            assert outcome == "new", reached  # COMMIT returned: all of it must be there
    # The killed file is still a working database: a new load goes through.
    con = db.connect(tmp_path / "crm.duckdb")
    try:
        ingest.load(con, [ingest.Source(FIXTURES / "orders_gbk.csv")], "append")
        assert con.execute("SELECT count(*) FROM orders WHERE order_id = 'SO3'").fetchone() == (1,)
    finally:
        con.close()
