"""The fact layer (crm_core/engine/summaries.py): day tables built at load, merged by an append
and left equal to a full rebuild by every load, undo and rollback; the proofs they rest on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from crm_core import ingest
from crm_core.engine import db, facts, summaries
from crm_core.metrics import overview

FACTS = ("customer_orders", "order_proofs", "order_days", "customer_days")
HEADER = "order_id,customer_id,order_date,amount,category,cost\n"
D = dt.date


def load(con: db.Connection, tmp_path: Path, name: str, rows: str, mode: str) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    ingest.load(con, [ingest.Source(path, "orders")], mode)


def table(con: db.Connection, name: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {name} ORDER BY ALL").df()


def rebuilt(con: db.Connection, name: str) -> pd.DataFrame:
    """The table as a full rebuild (summary_<name>.sql over every order line) makes it."""
    text = db.sql(f"summary_{name}")
    return con.execute(f"SELECT * FROM ({text}) AS s ORDER BY ALL").df()


def assert_as_rebuilt(con: db.Connection) -> None:
    for name in FACTS:
        pd.testing.assert_frame_equal(table(con, name), rebuilt(con, name), obj=name)


def day(con: db.Connection, customer: str, when: dt.date) -> dict:
    cur = con.execute(
        "SELECT * FROM customer_days WHERE customer_id = $c AND line_date = $d",
        {"c": customer, "d": when},
    )
    names = [c[0] for c in cur.description]
    rows = cur.fetchall()
    assert len(rows) <= 1
    return dict(zip(names, rows[0], strict=True)) if rows else {}


def test_new_database_has_the_fact_tables_empty(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "new.duckdb")
    have = db.table_columns(con)
    assert set(summaries.SUMMARIES) <= have.keys()
    assert con.execute("SELECT count(*) FROM customer_days").fetchone() == (0,)
    # No order at all: every order is (vacuously) one line on one day.
    assert con.execute("SELECT * FROM order_proofs").fetchall() == [(True, True)]
    con.close()


def test_appends_merge_into_what_a_rebuild_makes(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "facts.duckdb")
    load(
        con,
        tmp_path,
        "first",
        "O1,C1,2024-01-05 10:00,100.00,A,60.00\n"
        "O2,C1,2024-01-05 15:00,50.00,B,\n"
        "O3,C2,2024-02-01 09:00,200.00,A,150.00\n"
        "O4,C2,2024-03-01 09:00,80.00,A,50.00\n",
        "replace",
    )
    assert_as_rebuilt(con)
    c1 = day(con, "C1", D(2024, 1, 5))
    # Two orders on 5 Jan in two categories: orders 2, net 100 + 50 = 150, profit only where the
    # cost is known: 100 - 60 = 40. Its only purchase day: no previous, no next.
    assert (c1["orders"], c1["lines"], float(c1["net_amount"]), float(c1["profit"])) == (
        2, 2, 150.0, 40.0,
    )  # fmt: skip
    assert c1["prev_date"] is None and c1["next_date"] is None
    assert day(con, "C2", D(2024, 2, 1))["next_date"] == D(2024, 3, 1)
    before = {name: table(con, name) for name in FACTS}

    # An append of customers only: the day tables (built from order lines alone) stay as they are.
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name,region\nC1,Ann,North\n", encoding="utf-8")
    ingest.load(con, [ingest.Source(path, "customers")], "append")
    for name in FACTS:
        pd.testing.assert_frame_equal(table(con, name), before[name], obj=name)
    assert_as_rebuilt(con)

    # A new customer, and an existing one buying on a new day.
    load(
        con,
        tmp_path,
        "second",
        "O5,C3,2024-03-02 11:00,30.00,A,\nO6,C1,2024-02-10 12:00,70.00,A,40.00\n",
        "append",
    )
    assert_as_rebuilt(con)
    # C1 now buys on 5 Jan and 10 Feb: each is the other's neighbour.
    assert day(con, "C1", D(2024, 1, 5))["next_date"] == D(2024, 2, 10)
    assert day(con, "C1", D(2024, 2, 10))["prev_date"] == D(2024, 1, 5)

    # Upserts: O3 moves to 2 Feb at 210.00; O4 changes hands from C2 to C3 (C2 is touched only
    # through the line it lost, which the undo table holds).
    load(
        con,
        tmp_path,
        "third",
        "O3,C2,2024-02-02 09:00,210.00,A,150.00\nO4,C3,2024-03-01 09:00,80.00,A,50.00\n",
        "append",
    )
    assert_as_rebuilt(con)
    assert day(con, "C2", D(2024, 2, 1)) == {} and day(con, "C2", D(2024, 3, 1)) == {}
    c2 = day(con, "C2", D(2024, 2, 2))
    assert float(c2["net_amount"]) == 210.0 and c2["next_date"] is None
    # C3: 1 Mar (O4) then 2 Mar (O5).
    assert day(con, "C3", D(2024, 3, 1))["next_date"] == D(2024, 3, 2)
    after_third = {name: table(con, name) for name in FACTS}

    # A return on 11 Feb: net -20, returns 20, no sale line, so not a purchase day (no
    # neighbours) and C1's purchase days keep theirs.
    load(con, tmp_path, "fourth", "R1,C1,2024-02-11 10:00,-20.00,A,-12.00\n", "append")
    assert_as_rebuilt(con)
    r = day(con, "C1", D(2024, 2, 11))
    assert (r["orders"], r["sale_lines"], r["has_bought"]) == (0, 0, 0)
    # Net -20; returns |-20| = 20; profit takes the margin back: -(20 - 12) = -8.
    assert (float(r["net_amount"]), float(r["returns_amount"]), float(r["profit"])) == (
        -20.0, 20.0, -8.0,
    )  # fmt: skip
    assert r["prev_date"] is None and r["next_date"] is None
    assert day(con, "C1", D(2024, 2, 10))["next_date"] is None

    # Undoing the return's append leaves the tables as a rebuild makes them: as after the third.
    last = int(con.execute("SELECT max(load_id) FROM load_history").fetchone()[0])  # type: ignore[index]
    ingest.rollback_to_before(con, last)
    assert_as_rebuilt(con)
    for name in FACTS:
        pd.testing.assert_frame_equal(table(con, name), after_third[name], obj=name)
    con.close()


@pytest.mark.parametrize(
    ("rows", "proofs", "orders"),
    [
        # One line per order: both proofs hold.
        ("I1,C1,2024-01-05,2,5.00,10.00,A\nI2,C1,2024-01-06,1,7.00,7.00,A\n", (True, True), 2),
        # Invoice I1 has two lines on one day, in two categories: not one line per order, still
        # one day; the customer's day counts it once (order_days once per category).
        ("I1,C1,2024-01-05,2,5.00,10.00,A\nI1,C1,2024-01-05,1,7.00,7.00,B\n", (False, True), 1),
        # Invoice I1's lines fall on two days: once on each day, 1 + 1 = 2, where a window over
        # both days has one order: the proof fails and the windows read the lines.
        ("I1,C1,2024-01-05,2,5.00,10.00,A\nI1,C1,2024-01-06,1,7.00,7.00,A\n", (False, False), 2),
    ],
)
def test_order_proofs(tmp_path: Path, rows: str, proofs: tuple[bool, bool], orders: int) -> None:
    con = db.connect(tmp_path / "lines.duckdb")
    path = tmp_path / "lines.csv"
    path.write_text(
        "order_id,customer_id,order_date,quantity,unit_price,amount,category\n" + rows,
        encoding="utf-8",
    )
    ingest.load(con, [ingest.Source(path, "orders")], "replace")
    assert con.execute("SELECT * FROM order_proofs").fetchall() == [proofs]
    assert con.execute("SELECT sum(orders) FROM customer_days").fetchone() == (orders,)
    assert_as_rebuilt(con)
    con.close()


def test_data_range_reads_customer_days_or_the_lines_of_an_older_catalog(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "range.duckdb")
    assert overview.data_range(con) is None  # never loaded: the (empty) fact layer says so
    load(
        con,
        tmp_path,
        "orders",
        "O1,C1,2024-01-05 10:00,100.00,A,\nR1,C1,2024-03-09 10:00,-5.00,A,\n"
        "O2,C2,2024-02-01 23:59,20.00,B,\n",
        "replace",
    )
    # Non-return orders on 5 Jan and 1 Feb; the return on 9 Mar does not count.
    assert overview.data_range(con) == (D(2024, 1, 5), D(2024, 2, 1))
    con.execute("DROP TABLE customer_days")  # as in a snapshot frozen before the fact layer
    assert not facts.has_fact_layer(con)
    assert overview.data_range(con) == (D(2024, 1, 5), D(2024, 2, 1))
    con.close()


ROWS = (
    "O1,C1,2024-01-05 10:00,100.00,A,60.00\nO2,C2,2024-02-01 09:00,200.00,B,150.00\n"
    "R1,C1,2024-03-09 10:00,-5.00,A,\nO3,C2,2024-03-01 09:00,80.00,A,50.00\n"
)


def test_a_replace_builds_the_day_tables_after_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = db.connect(tmp_path / "after.duckdb")
    load(con, tmp_path, "old", "X1,C9,2023-06-01 10:00,999.00,Z,\n", "replace")
    build = summaries.build_after_commit
    seen: dict[str, object] = {}

    def look_first(cur: db.Connection) -> None:
        # Another session, between the load's commit and the day tables' build: the new lines
        # are there, no day table of the old data is, and reports read the order lines.
        other = con.cursor()
        seen["layer"] = facts.has_fact_layer(other)
        seen["views"] = summaries._views(other)
        seen["range"] = overview.data_range(other)
        seen["kpis"] = overview.headline_kpis(other, overview.Period(D(2024, 1, 1), D(2024, 3, 31)))
        other.close()
        build(cur)

    monkeypatch.setattr(summaries, "build_after_commit", look_first)
    load(con, tmp_path, "new", ROWS, "replace")
    assert seen["layer"] is False
    assert seen["views"] == {"customer_orders"}  # its rows computed from the order lines
    assert summaries._views(con) == set()
    # C1 and C2; net revenue 100 + 200 + 80 - 5 = 375 from orders O1, O2, O3.
    assert seen["kpis"] == {
        "customers": 2, "active_customers": 2, "revenue": 375, "orders": 3, "complaints": 0
    }  # fmt: skip
    # Non-return orders from 5 Jan to 1 Mar; the return on 9 Mar does not count.
    assert seen["range"] == (D(2024, 1, 5), D(2024, 3, 1))
    assert facts.has_fact_layer(con)
    assert_as_rebuilt(con)
    # The same figures from the fact layer as from the order lines in the window.
    assert (
        overview.headline_kpis(con, overview.Period(D(2024, 1, 1), D(2024, 3, 31))) == seen["kpis"]
    )
    con.close()


def test_a_failed_day_build_keeps_the_load_and_is_made_up_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "failed.duckdb"
    con = db.connect(path)
    original = summaries._rebuild

    def failing(cur: db.Connection, names: list[str]) -> None:
        if names and set(names) <= set(summaries.AFTER_COMMIT):
            raise RuntimeError("disk full")
        original(cur, names)

    monkeypatch.setattr(summaries, "_rebuild", failing)
    load(con, tmp_path, "orders", ROWS, "replace")  # the build fails: logged, not raised
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (4,)
    assert not facts.has_fact_layer(con)
    assert overview.data_range(con) == (D(2024, 1, 5), D(2024, 3, 1))
    con.close()
    monkeypatch.setattr(summaries, "_rebuild", original)
    con = db.connect(path)  # the next start: summaries.ensure builds them
    assert facts.has_fact_layer(con)
    assert_as_rebuilt(con)

    # Failed again, then an append: it rebuilds the day tables it would have merged.
    monkeypatch.setattr(summaries, "_rebuild", failing)
    load(con, tmp_path, "again", ROWS, "replace")
    assert not facts.has_fact_layer(con)
    monkeypatch.setattr(summaries, "_rebuild", original)
    load(con, tmp_path, "more", "O4,C3,2024-03-02 11:00,30.00,A,\n", "append")
    assert facts.has_fact_layer(con)
    assert_as_rebuilt(con)
    assert overview.data_range(con) == (D(2024, 1, 5), D(2024, 3, 2))
    con.close()


def test_days_without_sale_orders_are_rebuilt_and_read_through_the_lines_until(
    tmp_path: Path,
) -> None:
    """A database built before customer_days and order_days had sale_orders: reports count
    orders over the lines, and the next writable open rebuilds the two tables."""
    path = tmp_path / "old.duckdb"
    con = db.connect(path)
    # O1 has two lines (one order on C1's 5 Jan); O2 one line; R1 a return.
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "order_id,customer_id,order_date,quantity,unit_price,category\n"
        "O1,C1,2024-01-05 10:00,1,100.00,A\nO1,C1,2024-01-05 10:00,1,50.00,B\n"
        "O2,C2,2024-02-01 09:00,2,100.00,B\nR1,C1,2024-03-09 10:00,-1,5.00,A\n",
        encoding="utf-8",
    )
    ingest.load(con, [ingest.Source(lines, "orders")], "replace")
    assert con.execute("SELECT * FROM order_proofs").fetchall() == [(False, True)]
    assert facts.day_orders_add_up(con)
    # Distinct non-return orders of C1's 5 Jan: O1 once although two lines.
    assert day(con, "C1", D(2024, 1, 5))["sale_orders"] == 1
    period = overview.Period(D(2024, 1, 1), D(2024, 3, 31))
    kpis = overview.headline_kpis(con, period)
    assert kpis["orders"] == 2  # O1 and O2
    for name in ("customer_days", "order_days"):
        con.execute(f"ALTER TABLE {name} DROP COLUMN sale_orders")
    assert not facts.day_orders_add_up(con)
    assert overview.headline_kpis(con, period) == kpis  # from the order lines
    con.close()
    con = db.connect(path)
    assert facts.day_orders_add_up(con)
    assert_as_rebuilt(con)
    assert overview.headline_kpis(con, period) == kpis
    con.close()
