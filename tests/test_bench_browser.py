"""bench/browser.py without a browser: the pages it visits and the figures it reports.

The browser run itself is a benchmark, not a test (bench/README.md): no timing is asserted.
"""

from __future__ import annotations

from bench import browser


def test_default_pages_are_the_menu_pages_that_draw() -> None:
    pages = browser.chart_pages()
    # app.py's menu order; the Glossary (text) and Data (uploads) draw no chart or table.
    assert pages[:3] == ["overview", "pyramid", "weekly"]
    assert "present" in pages and "customer" in pages
    assert "glossary" not in pages and "data" not in pages
    assert browser.url_path("overview", "overview") == "/"
    assert browser.url_path("pyramid", "overview") == "/pyramid"


def test_summary_keeps_the_cold_round_apart() -> None:
    def nav(s: float, first: float | None, charts: int) -> dict[str, object]:
        return {"s": s, "first_s": first, "charts": charts, "error": None}

    records = {
        "pyramid": [nav(3.0, 1.0, 4), nav(1.0, 0.2, 4), nav(2.0, 0.4, 4), nav(1.5, 0.3, 4)],
        "customer": [nav(0.9, None, 0), nav(0.5, None, 0), nav(0.7, None, 0), nav(0.6, None, 0)],
    }
    pages, overall = browser.summarise(records)
    p = pages["pyramid"]
    # cold = round 1 (3.0); warm rounds 1.0, 2.0, 1.5 -> median 1.5, max 2.0; p95 by nearest
    # rank: round(0.95 * 3 + 0.5) = 3rd of [1.0, 1.5, 2.0] = 2.0; first charts 0.2, 0.4, 0.3
    # -> median 0.3
    assert (p["cold_s"], p["median_s"], p["p95_s"], p["max_s"]) == (3.0, 1.5, 2.0, 2.0)
    assert p["first_chart_median_s"] == 0.3 and p["charts"] == 4
    assert p["runs_s"] == [3.0, 1.0, 2.0, 1.5]
    assert pages["customer"]["first_chart_median_s"] is None
    # overall: the six warm runs 1.0, 2.0, 1.5, 0.5, 0.7, 0.6 -> sorted 0.5 0.6 0.7 1.0 1.5 2.0,
    # median (0.7 + 1.0) / 2 = 0.85, p95 = round(0.95 * 6 + 0.5) = 6th = 2.0, max 2.0
    assert overall == {"median_s": 0.85, "p95_s": 2.0, "max_s": 2.0}
