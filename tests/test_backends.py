"""The backend seam: URL forms, translation and its shims, loads/rollbacks on PostgreSQL and Spark,
concurrent app processes on one PostgreSQL, the CLI and the pages on a server backend."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, make_app_test
from parity_support import diff, normalize

from crm_core import ingest
from crm_core.engine import backends, config, db, dialects, postgres
from crm_core.metrics import figures

# --------------------------------------------------------------------------- no server needed


@pytest.mark.parametrize(
    ("value", "kind", "master"),
    [
        ("data/crm.duckdb", "duckdb", ""),
        ("/abs/path/crm.duckdb", "duckdb", ""),
        ("duckdb:data/x.duckdb", "duckdb", ""),
        ("postgresql://crm@db.internal:5432/crm", "postgresql", ""),
        ("postgres://crm:secret@127.0.0.1/crm", "postgresql", ""),
        ("spark:local[2]", "spark", "local[2]"),
        ("spark:local[*]", "spark", "local[*]"),
        ("spark://master.internal:7077", "spark", "spark://master.internal:7077"),
        ("sc://connect.internal:15002", "spark", "sc://connect.internal:15002"),
        ("spark:local[2]?warehouse=/srv/crm", "spark", "local[2]"),
    ],
)
def test_target_forms(value: str, kind: str, master: str) -> None:
    t = backends.parse_target(value)
    assert (t.kind, t.master) == (kind, master)


def test_warehouse_and_password_handling() -> None:
    assert backends.parse_target("spark:local[2]?warehouse=/srv/crm").warehouse == "/srv/crm"
    shown = backends.parse_target("postgresql://crm:s3cret@h:5432/crm").display
    assert "s3cret" not in shown and shown == "postgresql://crm@h:5432/crm"


def test_spark_connect_token_is_not_shown() -> None:
    # The sidebar and error messages show Target.display: the token stayed in it.
    shown = backends.parse_target("sc://spark:15002/;token=abc123;user_id=crm").display
    assert "abc123" not in shown and shown == "sc://spark:15002/;token=***;user_id=crm"
    shown = backends.parse_target("postgresql://crm@h/crm?password=pw&sslmode=require").display
    assert "pw&" not in shown and "sslmode=require" in shown


def test_duckdb_default_stays_a_raw_connection(tmp_path: Path) -> None:
    # The embedded default gets no wrapper and no translation: zero overhead.
    con = db.connect(tmp_path / "x.duckdb")
    assert type(con) is duckdb.DuckDBPyConnection
    assert db.is_duckdb(con)
    con.close()


def test_duckdb_never_loads_sqlglot() -> None:
    # The translation layer is for server backends; the default's start-up does not pay for it.
    code = "import sys, crm_core.engine.db, crm_core.app.ui; print('sqlglot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_translation_is_cached_and_binds_parameters() -> None:
    text = db.sql("overview_kpis")
    a = dialects.translate(text, "postgres")
    assert dialects.translate(text, "postgres") is a  # one translation per (text, dialect)
    (st,) = a
    assert st.params and all(f"${i + 1}" in st.sql for i in range(len(st.params)))
    (sp,) = dialects.translate(text, "spark")
    assert all(f":{n}" in sp.sql for n in sp.params)


def test_shims() -> None:
    (drop, create) = dialects.translate("CREATE OR REPLACE TABLE s AS SELECT 1 AS x", "postgres")
    assert drop.sql == "DROP TABLE IF EXISTS s" and create.sql.startswith("CREATE TABLE s AS")
    (pg,) = dialects.translate("SELECT DISTINCT k FROM (SELECT 1 AS k)", "postgres")
    assert "AS _sub1" in pg.sql  # PostgreSQL 15 wants an alias on a derived table
    (sp,) = dialects.translate(
        "SELECT max(CAST(order_date AS DATE)) - min(CAST(order_date AS DATE)) AS d FROM orders",
        "spark",
    )
    assert "DATEDIFF" in sp.sql.upper()  # Spark's DATE - DATE is an INTERVAL, not days
    (t,) = dialects.translate("SELECT date_trunc($grain, order_date) FROM orders", "postgres")
    assert "DATE_TRUNC($1" in t.sql  # a unit parameter stays a parameter


# --------------------------------------------------------------------------- PostgreSQL


# The Overview's explanation joins value_customers to a CTE whose rows PostgreSQL cannot
# estimate (no statistics for a CTE): after an append it planned a nested loop that rebuilt
# value_customers once per customer (64 s for explain_customers on the two-server test's data,
# minutes on a busy machine: the render "hung"). Those files turn nested loops off for their read.
# channel_new_customers, drill_cohort_customers and value_customers fell into the same trap over
# the period's new customers, a cohort's lines, a segment's customers (35 s, 2.2 s, 6 s).
NO_NESTLOOP_FILES = (
    "explain_revenue",
    "explain_customers",
    "explain_orders",
    "explain_complaints",
    "channel_new_customers",
    "drill_cohort_customers",
    "value_customers",
)


def test_planner_settings_of_sql_files() -> None:
    for name in NO_NESTLOOP_FILES:
        assert postgres.planner_settings(db.sql(name)) == (
            ("enable_nestloop", "off"),
            ("jit", "off"),
        )
    # A fragment is expanded into every file that includes it, settings line and all: the line
    # belongs in the named file that was measured (docs/backends.md).
    assert not [f.name for f in config.SQL_DIR.glob("_*.sql") if "@postgres" in f.read_text()]
    assert postgres.planner_settings("SELECT 1") == ()
    with pytest.raises(ValueError, match="work_mem"):
        postgres.planner_settings("-- @postgres work_mem=1GB\nSELECT 1")


def test_postgres_planner_settings_hold_for_one_statement(pg_url: str) -> None:
    pg = db.connect(pg_url)
    q = "SELECT current_setting('enable_nestloop') AS n, current_setting('jit') AS j"
    assert pg.execute("-- @postgres enable_nestloop=off jit=off\n" + q).fetchall() == [
        ("off", "off")
    ]
    # SET LOCAL: the pooled connection plans the next statement as before.
    assert pg.execute(q).fetchall()[0][0] == "on"
    pg.close()


def _revenue(con: db.Connection) -> float:
    # Gross sales of all time (returns excluded), as the Overview reads it.
    return float(figures.base_metrics(con)["revenue"])


def _merged_facts(con: db.Connection) -> list[tuple]:
    """The fact layer's customer days and the customers' order totals (customer_orders), both
    merged by an append (crm_core/engine/summaries.py), engine types evened out."""
    rows = (
        con.execute(
            "SELECT customer_id, line_date, orders, sale_lines, net_amount, profit, prev_date, "
            "next_date FROM customer_days ORDER BY customer_id, line_date"
        ).fetchall()
        + con.execute(
            "SELECT customer_id, first_order_at, last_order_at, orders, revenue, cost "
            "FROM customer_orders ORDER BY customer_id"
        ).fetchall()
    )

    def even(v: object) -> object:
        if v is None or isinstance(v, str | int):
            return v
        if isinstance(v, dt.date):
            return v.isoformat()[:10]
        return round(float(v), 4)  # type: ignore[arg-type]

    return [tuple(even(v) for v in r) for r in rows]


def test_postgres_load_append_rollback(pg_url: str, fixtures: Path, tmp_path: Path) -> None:
    duck = db.connect(tmp_path / "same.duckdb")
    pg = db.connect(pg_url)
    for con in (duck, pg):
        ingest.load(con, [ingest.Source(fixtures / "orders_gbk.csv", "orders")])
        ingest.load(con, [ingest.Source(fixtures / "line_items.csv", "orders")], "append")
    assert _revenue(pg) == pytest.approx(_revenue(duck))
    assert _merged_facts(pg) == _merged_facts(duck)  # the append merged into the fact layer alike
    h_duck, h_pg = ingest.load_history(duck), ingest.load_history(pg)
    assert h_pg["load_id"].tolist() == h_duck["load_id"].tolist() == [2, 1]
    for con in (duck, pg):
        assert ingest.rollback_to_before(con, 2) == [2]
    assert _revenue(pg) == pytest.approx(_revenue(duck)) == 151534.0
    # A refused file changes nothing on PostgreSQL either.
    with pytest.raises(ingest.IngestError):
        ingest.load(pg, [ingest.Source(fixtures / "bad" / "README.md", "orders")])
    assert _revenue(pg) == 151534.0


def _replace_all_and_back(con: db.Connection, fixtures: Path) -> None:
    """customers_bom.csv (4) + orders_gbk.csv (5), then replace-all with line_items.csv: the
    customers are emptied, and rolling back brings them back."""
    ingest.load(con, [ingest.Source(fixtures / "customers_bom.csv")])
    ingest.load(con, [ingest.Source(fixtures / "orders_gbk.csv", "orders")], "append")
    own = ingest.load(con, [ingest.Source(fixtures / "line_items.csv", "orders")], "replace-all")
    assert own.emptied == {"customers": 4}
    assert db.table_counts(con)["customers"] == 0
    hist = ingest.load_history(con)
    assert hist[hist["load_id"] == 3]["table_name"].tolist() == ["orders", "customers"]
    assert ingest.rollback_to_before(con, 3) == [3]
    assert db.table_counts(con)["customers"] == 4
    assert _revenue(con) == 151534.0


def test_postgres_replace_all_and_rollback(pg_url: str, fixtures: Path) -> None:
    _replace_all_and_back(db.connect(pg_url), fixtures)


def test_postgres_failed_swap_leaves_old_data(pg_url: str, fixtures: Path, monkeypatch) -> None:
    pg = db.connect(pg_url)
    ingest.load(pg, [ingest.Source(fixtures / "orders_gbk.csv", "orders")])
    from crm_core.engine import summaries

    def boom(con: db.Connection, after_commit: bool = False) -> None:
        raise RuntimeError("crash while rebuilding summaries")

    monkeypatch.setattr(summaries, "refresh", boom)
    with pytest.raises(RuntimeError):
        ingest.load(pg, [ingest.Source(fixtures / "line_items.csv", "orders")])
    assert _revenue(pg) == 151534.0
    assert ingest.load_history(pg)["load_id"].tolist() == [1]
    assert not [t for t in db.table_columns(pg) if t.startswith("_undo_2")]


READER = textwrap.dedent(
    """
    import json, pathlib, sys, time
    from crm_core.engine import db
    from crm_core.metrics import figures
    from crm_core.metrics import overview
    from crm_core.metrics import value
    con = db.connect(sys.argv[1])
    stop = pathlib.Path(sys.argv[2])
    end = time.monotonic() + 300  # a bound, should the test die before it creates `stop`
    while not stop.exists() and time.monotonic() < end:
        try:
            both = con.execute(
                "SELECT (SELECT sum(amount) FROM orders WHERE NOT is_return), "
                "(SELECT sum(revenue) FROM customer_orders)").fetchone()
            rev = figures.base_metrics(con)["revenue"]
            period = overview.default_period(con)
            overview.kpi_deltas(con, period)
            value.value_pyramid(con, period)
            print(json.dumps({"orders": float(both[0]), "summary": float(both[1]), "rev": rev}),
                  flush=True)
        except Exception as e:
            print(json.dumps({"error": repr(e)}), flush=True)
    """
)


def _json_lines(path: Path) -> list[dict]:
    """The complete JSON lines a reader has written so far."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(x) for x in text.splitlines(keepends=True) if x.endswith("}\n")]


def _wait_for(what: str, ok: Callable[[], bool], timeout: float = 120.0) -> None:
    """Poll `ok()` every 0.1 s until it is true; fail naming `what` after `timeout` s."""
    end = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_app_processes_while_a_load_commits(
    pg_url: str, shared_data: Path, tmp_path: Path
) -> None:
    pg = db.connect(pg_url)
    ingest.load_demo(pg)
    old = _revenue(pg)
    # Each reader loops until `stop` exists, one JSON line per round into its own file.
    stop = tmp_path / "stop"
    outs = [tmp_path / f"reader-{i}.out" for i in range(2)]
    errs = [tmp_path / f"reader-{i}.err" for i in range(2)]
    readers = []
    for out, err in zip(outs, errs, strict=True):
        with open(out, "w") as o, open(err, "w") as e:
            readers.append(
                subprocess.Popen(
                    [sys.executable, "-c", READER, pg_url, str(stop)],
                    cwd=ROOT,
                    stdout=o,
                    stderr=e,
                    text=True,
                )
            )

    def each_reader(done: Callable[[dict], bool]) -> bool:
        """Whether every reader, still running, has written a line `done` accepts."""
        for r, out, err in zip(readers, outs, errs, strict=True):
            assert r.poll() is None, (out.read_text()[-2000:], err.read_text()[-2000:])
            if not any(done(x) for x in _json_lines(out)):
                return False
        return True

    try:
        _wait_for("both readers looping", lambda: each_reader(lambda x: True))
        src = shared_data / "uci_online_retail" / "online_retail_40k_line_sample.csv"
        ingest.load(pg, [ingest.Source(src, "orders")])
        new = _revenue(pg)
        # Every reader goes on until it has finished a round on the committed load.
        _wait_for(
            "both readers seeing the load",
            lambda: each_reader(lambda x: x.get("rev") == pytest.approx(new)),
        )
        stop.touch()
        for r in readers:
            r.wait(timeout=120)
    finally:
        for r in readers:
            r.kill()
    outs = [(out.read_text(), err.read_text()) for out, err in zip(outs, errs, strict=True)]
    assert old != new
    seen = set()
    for out, err in outs:
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        assert lines, err[-2000:]
        errors = [x["error"] for x in lines if "error" in x]
        assert not errors, errors[:3]
        for x in lines:
            # One query over orders and the summary table: both old or both new, never a mix.
            assert x["orders"] == pytest.approx(x["summary"]), x
            assert x["rev"] in (pytest.approx(old), pytest.approx(new)), x
            seen.add("old" if x["rev"] == pytest.approx(old) else "new")
    assert seen == {"old", "new"}, "the readers did not straddle the load"


def test_concurrent_loads_serialise(pg_url: str, fixtures: Path) -> None:
    pg = db.connect(pg_url)
    ingest.load(pg, [ingest.Source(fixtures / "orders_gbk.csv", "orders")])
    a, b = pg.cursor(), pg.cursor()
    a.execute("BEGIN TRANSACTION")
    b.execute("BEGIN TRANSACTION")
    a.execute("UPDATE load_history SET warnings = warnings WHERE load_id = 1")
    a.execute("COMMIT")
    b.execute("UPDATE load_history SET warnings = warnings WHERE load_id = 1")  # no change: ok
    b.execute("COMMIT")
    c, d = pg.cursor(), pg.cursor()
    c.execute("BEGIN TRANSACTION")
    d.execute("BEGIN TRANSACTION")
    c.execute("INSERT INTO load_history (load_id, status) VALUES (99, 'loaded')")
    c.execute("COMMIT")
    with pytest.raises(backends.TransactionConflict):
        d.execute("DELETE FROM load_history WHERE load_id = 99")
    d.execute("ROLLBACK")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_metrics_on_postgres_and_spark(pg_url: str, spark_url: str, demo_db_file: Path) -> None:
    assert _cli("demo", "--db", pg_url).returncode == 0
    spark = db.connect(spark_url)
    ingest.load_demo(spark)  # in this process; the CLI's own Spark reads the same warehouse
    want = json.loads(_cli("metrics", "--db", str(demo_db_file), "--json").stdout)
    for url in (pg_url, spark_url):
        out = _cli("metrics", "--db", url, "--json")
        assert out.returncode == 0, out.stderr[-3000:]
        got = json.loads(out.stdout)
        assert not diff(normalize(want), normalize(got)), diff(normalize(want), normalize(got))


def test_cli_demo_output_hides_the_password(pg_url: str) -> None:
    # `demo` printed "demo database ready: postgresql://user:password@...".
    with_password = pg_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    assert with_password != pg_url
    out = _cli("demo", "--db", with_password)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "s3cret-pw" not in out.stdout + out.stderr
    assert "demo database ready: postgresql://postgres@" in out.stdout


def test_pages_render_on_postgres(pg_url: str, app_env: None) -> None:
    ingest.load_demo(db.connect(pg_url))
    pages = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))
    for page in pages:
        at = make_app_test(pg_url, page, {"lang": "en"}).run()  # type: ignore[arg-type]
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page


def test_a_render_overlapped_by_a_commit_is_flagged(pg_url: str, fixtures: Path) -> None:
    pg = db.connect(pg_url)
    ingest.load(pg, [ingest.Source(fixtures / "orders_gbk.csv", "orders")])
    reader = pg.cursor()
    reader.execute("BEGIN TRANSACTION")
    _revenue(reader)
    assert not reader.changed_since_begin()
    ingest.load(pg, [ingest.Source(fixtures / "line_items.csv", "orders")], "append")
    # The reader's next statement sees the new rows: its render would mix, so it is flagged.
    assert reader.changed_since_begin()
    reader.execute("ROLLBACK")
    reader.execute("BEGIN TRANSACTION")
    assert not reader.changed_since_begin()
    reader.execute("ROLLBACK")


def test_overlapped_renders_run_again_a_bounded_number_of_times(
    pg_url: str, app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.app import ui

    ingest.load_demo(db.connect(pg_url))
    calls: list[int] = []

    def always_changed(self: postgres.PgConnection) -> bool:
        calls.append(1)
        return True  # as if a load committed during every render

    monkeypatch.setattr(postgres.PgConnection, "changed_since_begin", always_changed)
    at = make_app_test(pg_url, "pages/overview.py", {"lang": "en"}).run()  # type: ignore[arg-type]
    assert not at.exception, [e.value for e in at.exception]
    assert at.title
    assert len(calls) == ui.RERENDERS + 1  # the first render, then RERENDERS reruns, then it stops


# --------------------------------------------------------------------------- Spark


def test_spark_load_append_rollback(spark_url: str, fixtures: Path, tmp_path: Path) -> None:
    duck = db.connect(tmp_path / "same.duckdb")
    sp = db.connect(spark_url)
    for con in (duck, sp):
        ingest.load(con, [ingest.Source(fixtures / "orders_gbk.csv", "orders")])
        ingest.load(con, [ingest.Source(fixtures / "line_items.csv", "orders")], "append")
    assert _revenue(sp) == pytest.approx(_revenue(duck))
    assert _merged_facts(sp) == _merged_facts(duck)  # the append merged into the fact layer alike
    assert ingest.load_history(sp)["load_id"].tolist() == [2, 1]
    assert ingest.rollback_to_before(sp, 2) == [2]
    assert _revenue(sp) == 151534.0
    # Another process (here: another cursor) sees the committed manifest.
    assert _revenue(db.connect(spark_url)) == 151534.0


def test_spark_replace_all_and_rollback(spark_url: str, fixtures: Path) -> None:
    _replace_all_and_back(db.connect(spark_url), fixtures)
