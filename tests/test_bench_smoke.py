"""The benchmark suite at a smoke size: it runs end to end, and the three ways agree.

No timing assertions: CI machines are too noisy for them (bench/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run


@pytest.mark.slow
def test_bench_suite_at_smoke_size(tmp_path: Path) -> None:
    out, raw = tmp_path / "RESULTS.md", tmp_path / "results.json"
    args = ["--sizes", "20000", "--runs", "1", "--data-dir", str(tmp_path / "data")]
    # The steps that start app servers and browsers (first open, rooms, demo) stay out of CI.
    args += ["--steps", "load,pages,variants,cold,plain,pandas,append"]
    assert run.main([*args, "--out", str(out), "--json", str(raw)]) == 0

    text = out.read_text(encoding="utf-8")
    assert "| 20k | overview |" in text and run.NOTES_MARKER in text
    (result,) = json.loads(raw.read_text())["results"]
    assert "error" not in result["load"], result["load"]
    assert result["load"]["rows"]["orders"] == 20_000
    # Every registered page set ran at least once without an error.
    failed = {p: r["error"] for p, r in result["pages"]["pages"].items() if "error" in r}
    assert not failed, failed
    assert all("cold_ms" in c for c in result["cold"].values()), result["cold"]
    # crm_core, plain SQL over the raw tables and pandas give the same Overview, Pyramid and
    # Lifecycle numbers.
    want = {"overview": "yes", "pyramid": "yes", "lifecycle": "yes"}
    assert result["equal"] == want, result["equal"]
    assert "| 20k | lifecycle |" in text.split("## Page sets vs plain SQL")[1]
    # Pyramid and Lifecycle ran with a category and a region filter; 20,000 orders were
    # appended under new ids (the whole 20 k export), fact layer included.
    assert set(result["pages"]["variants"]) == {
        f"{p}/{k}" for p in ("pyramid", "lifecycle") for k in ("category", "region")
    }
    assert all("median_ms" in v for v in result["pages"]["variants"].values())
    assert result["append"]["rows"] == 20_000, result["append"]
    assert "## Issue 16's targets" in text and "| 20k | 20,000 |" in text


def test_equality_check_notices_a_difference() -> None:
    from bench.baselines import same

    a = {"kpis": {"revenue": [100.0, 90.0]}, "monthly": [["2024-01-01", 1.0]]}
    assert same(a, json.loads(json.dumps(a)))
    assert not same(a, {"kpis": {"revenue": [100.02, 90.0]}, "monthly": [["2024-01-01", 1.0]]})
    assert not same(a, {"kpis": {"revenue": [100.0, 90.0]}, "monthly": []})


def test_size_labels_name_the_shape() -> None:
    assert run._label("M") == ("M", 1_000_000, "orders")
    assert run._label("20000") == ("20k", 20_000, "orders")
    # Suffix I: as many order lines, in invoices of 1 to 40 lines.
    assert run._label("LI") == ("LI", 10_000_000, "lines")
    assert run._label("20000i") == ("20kI", 20_000, "lines")


def test_line_item_shape_loads_and_the_baselines_agree(tmp_path: Path) -> None:
    from bench import baselines, gen
    from crm_core import ingest
    from crm_core.engine import db
    from crm_core.metrics import overview

    # 8000 lines: enough customers to hold every region and owner the leads name, so that the
    # plain-SQL sidebar options (from customers) match crm_core's.
    files = gen.generate(8000, tmp_path / "data", "lines")
    one_line = gen.generate(50, tmp_path / "one")
    for t, f in files.items():  # the same export columns as the one-line-per-order shape
        assert f.read_text().splitlines()[0] == one_line[t].read_text().splitlines()[0], t
    con = db.connect(tmp_path / "crm.duckdb")
    result = ingest.load(con, [ingest.Source(p, t) for t, p in files.items()], "replace")
    rows = {r.table: r.rows_loaded for r in result.reports}
    # 8000 lines; 8000 // 100 = 80 customers; 8000 * 2 // 41 = 390 invoices' worth of leads
    # (390 // 5 = 78), interactions (78) and complaints (max(390 // 50, 5) = 7).
    assert rows == {
        "customers": 80,
        "orders": 8000,
        "complaints": 7,
        "leads": 78,
        "interactions": 78,
    }
    (n_inv, most, fewest, ret_inv, ret_pos), *_ = con.execute(
        "SELECT count(*), max(n), min(n), count(*) FILTER (WHERE r > 0), "
        "count(*) FILTER (WHERE r > 0 AND NOT last_is_return) FROM ("
        "  SELECT order_id, count(*) AS n, count(*) FILTER (WHERE is_return) AS r,"
        "         arg_max(is_return AND amount < 0 AND quantity < 0, line_no) AS last_is_return"
        "  FROM orders GROUP BY order_id)"
    ).fetchall()
    # Invoices of 1 to 40 lines, about 20 on average; some end with one negative return line.
    assert 8000 / 25 < n_inv < 8000 / 16 and fewest >= 1 and most <= 40
    assert ret_inv > 0 and ret_pos == 0
    # crm_core, plain SQL and pandas give the same Overview, Pyramid and Lifecycle numbers.
    period = overview.default_period(con)
    assert period is not None
    f0 = run._filters(period, 0)
    options = baselines.core_overview(con, f0)["options"]
    for name, b in baselines.BASELINES.items():
        frames = b.pandas_read(con)
        for f in baselines.check_filters(f0, options):
            want = b.core(con, f)
            assert baselines.same(want, b.plain(con, f)), (name, f)
            assert baselines.same(want, b.pandas(frames, f)), (name, f)
    con.close()


def test_target_table_judges_each_row_at_l() -> None:
    from bench import targets

    def size(label: str, pyramid_ms: float, region_ms: float) -> dict:
        pages = {n: {"median_ms": 900.0} for n in ("overview", "lifecycle", "present")}
        pages |= {"pyramid": {"median_ms": pyramid_ms}, "pyramid_per_report": {"median_ms": 1e6}}
        variants = {"pyramid/region": {"median_ms": region_ms}}
        return {"label": label, "shape": "orders", "pages": {"pages": pages, "variants": variants}}

    rows = targets.target_rows([size("M", 500, 200), size("L", 3_900, 1_200)], {})
    table = {r.split(" | ")[0].lstrip("| "): r for r in rows if r.startswith("| ")}
    pyramid = table["uncached change, no filter or a category filter: Pyramid (s, the slower)"]
    # 3.9 s at L against ≤ 4 s; M's 0.5 s is shown beside it.
    assert "M 0.50 · L 3.90" in pyramid and pyramid.endswith("| met |")
    region = table["uncached change, a customer-attribute filter (region): Pyramid (s)"]
    assert region.endswith("| **not met** |")  # 1.2 s against ≤ 1 s
    # The earlier path's 1,000 s comparison set is not a page: the slowest other page is 0.9 s.
    assert table["uncached change: every other page, slowest (s)"].endswith("| met |")
    # Nothing measured at L: no verdict rather than a guess.
    assert table["append 100 k orders, fact layer included (s)"].endswith("| not measured | – |")
    # A browser navigation that timed out fails the row, whatever the percentile: 43 of 44
    # navigations within 0.7 s put the p95 at 0.7 s, the 44th never drew its last chart.
    quick = {"overall": {"p95_s": 0.7, "median_s": 0.3}, "errors": []}
    stuck = {**quick, "errors": ["round 3, channels: no last chart within 60 s (TimeoutError)"]}
    browser = "browser, demo, navigation to the last chart, p95 over pages (s)"
    for demo, verdict in ((quick, "| met |"), (stuck, "| **not met** |")):
        rows = targets.target_rows([size("L", 3_900, 900)], {"browser": demo})
        row = next(r for r in rows if r.startswith(f"| {browser}"))
        assert row.endswith(verdict) and ("1 navigation(s) failed" in row) == bool(demo["errors"])
