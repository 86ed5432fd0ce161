"""A manager's wait in a real browser: from a click on a page's menu entry to its last chart.

    python -m bench.browser --rounds 3 --out /tmp/browser-demo.json               # the demo
    python -m bench.browser --entry serve.py --pages overview,pyramid,present
    python -m bench.browser --db /tmp/M.duckdb --rounds 2 --shots /tmp/shots

Serves the app (`streamlit run app.py`, or `--entry serve.py`) on 127.0.0.1 over a private copy
of the database (default: a fresh demo), opens it once in Debian's chromium through Playwright
(1280x800, `?lang=zh`, a zh-CN browser), then, `--rounds` times, clicks every page's entry in
the sidebar menu in turn and times the click to the page's last chart: a run started after the
click (or, for a run too quick to be seen, the page's own title shown in place of the last) has
finished (connected, not running, no status widget), no skeleton or spinner is left,
and every plotly chart of the page (hidden tabs included: Streamlit draws them too) has drawn
its `.main-svg`, all of that holding for 500 ms. The time reported is when that state began
(the page's clock, polled every 20 ms), not when the 500 ms confirmation ended: what the manager
waits for, nothing subtracted. The time to the first drawn chart is noted too. The first round
runs on empty caches and is reported apart (`cold_s`); later rounds give the median, p95 and
max per page and overall. A page that shows a Streamlit exception, or has no last chart within
`--timeout` seconds (counted as that many seconds), is listed under `errors`.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.sessions import ROOT, demo_db, free_port, pct, start_server

CHROMIUM = os.environ.get("CRM_LENS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
LANG = "zh"
TARGET_S = 1.5  # issue 16: browser, demo, navigation to last chart
STABLE_MS = 500  # a finished state must hold this long (a run may rerun itself)
OPEN_TIMEOUT_S = 120.0  # the first open starts the app's imports and opens the database
# What a page draws: plotly charts (directly or through ui.chart / ui.plot / ui.figure) or tables.
DRAWS = re.compile(
    r"plotly_chart|ui\.(chart|plot|figure|table|headed|labelled_table)\(|st\.(dataframe|table)\("
)

# Counts script runs as they start: a MutationObserver sees every change of stApp's run state,
# however short the run. Observers are called in batches, so a run that starts and ends within
# one batch is only visible in the records' old values (reading the attribute now would say
# "notRunning" and miss it): the states are walked in order, each record's old value, then the
# current one. Installed in every page before Streamlit's own scripts (the browser tests use it
# too: tests/e2e/served_app.py).
RUN_COUNTER_JS = """(() => {
    window.__crmRuns = 0;
    let last = null;
    const see = (state) => {
        if (state === 'running' && last !== 'running') window.__crmRuns += 1;
        last = state;
    };
    new MutationObserver((records) => {
        for (const r of records) {
            if (r.type === 'attributes' && r.attributeName === 'data-test-script-state') {
                see(r.oldValue);
            }
        }
        const app = document.querySelector('[data-testid=stApp]');
        see(app && app.getAttribute('data-test-script-state'));
    }).observe(document, {
        subtree: true, childList: true, attributes: true, attributeOldValue: true,
        attributeFilter: ['data-test-script-state'],
    });
})();"""

# Arms a watcher for one navigation to `path`: the click's time (a capture listener: the event
# itself, not Playwright's call), the first drawn chart of a run started after the click, and
# since when the page has been finished with every chart drawn (reset whenever that stops
# holding or the number of charts changes). `path` null: the first open, timed from
# the start of the document's navigation (performance.now() is 0 there), any run counting.
WATCH_JS = """([path, stableMs]) => {
    const title = () => (document.querySelector('h1') || {}).innerText || null;
    const nav = window.__crmNav = {
        clickAt: path === null ? 0 : null, runsBefore: path === null ? 0 : window.__crmRuns || 0,
        firstChart: null, doneSince: null, charts: -1, stable: stableMs, timer: null,
        titleBefore: title(),
    };
    if (path !== null) {
        document.addEventListener('click', () => {
            if (nav.clickAt === null) nav.clickAt = performance.now();
        }, {capture: true, once: true});
    }
    nav.timer = setInterval(() => {
        if (nav.clickAt === null) return;
        const now = performance.now();
        const app = document.querySelector('[data-testid=stApp]');
        // A run seen starting after the click, or one too quick to be seen (a page whose every
        // result is cached can start and end within one render of the frontend, so its script
        // state never shows "running"): the page's own title is on screen in place of the last.
        const started = (window.__crmRuns || 0) > nav.runsBefore
            || (path !== null && location.pathname === path && title() !== null
                && title() !== nav.titleBefore);
        const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
            .filter(c => !c.closest('[data-stale=true]'));
        const drawn = charts.filter(c => c.querySelector('.js-plotly-plot .main-svg')).length;
        if (started && drawn > 0 && nav.firstChart === null) nav.firstChart = now;
        const done = app !== null && started
            && (path === null || location.pathname === path)
            && app.getAttribute('data-test-connection-state') === 'CONNECTED'
            && app.getAttribute('data-test-script-state') === 'notRunning'
            && document.querySelector('[data-testid=stStatusWidget]') === null
            && document.querySelector('[data-testid=stSkeleton]') === null
            && document.querySelector('[data-testid=stSpinner]') === null
            && drawn === charts.length;
        if (!done) { nav.doneSince = null; return; }
        if (nav.doneSince === null || nav.charts !== charts.length) {
            nav.doneSince = now;
            nav.charts = charts.length;
        }
    }, 20);
}"""
DONE_JS = """() => { const n = window.__crmNav;
    return n.doneSince !== null && performance.now() - n.doneSince >= n.stable; }"""
# Stops the watcher: (seconds to the last chart, to the first chart or null, charts).
READ_JS = """() => { const n = window.__crmNav; clearInterval(n.timer);
    const s = (t) => t === null || n.clickAt === null ? null : (t - n.clickAt) / 1000;
    return [s(n.doneSince), s(n.firstChart), n.charts]; }"""
# Links a user clicks to change page: the sidebar menu, and page links on the page (Present
# hides the sidebar; its "exit" link leads to the Overview). Index of a visible one to `path`.
LINKS = "[data-testid=stSidebarNav] a, [data-testid=stPageLink] a"
FIND_JS = """([links, path]) => [...document.querySelectorAll(links)].findIndex(
    a => a.offsetParent !== null && (path === null || new URL(a.href).pathname === path))"""
# What a navigation that timed out was waiting for: which of the finished state's conditions
# failed when it gave up (the click seen, a run started after it, the path, the connection and
# script states, the status widget, skeletons, spinners, charts drawn of charts shown) and the
# page title on screen (whose page it is showing).
STATE_JS = """() => { const n = window.__crmNav;
    const app = document.querySelector('[data-testid=stApp]');
    const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
        .filter(c => !c.closest('[data-stale=true]'));
    const q = (t) => document.querySelector(`[data-testid=${t}]`) !== null;
    return {
        clicked: n.clickAt !== null, runs_after_click: (window.__crmRuns || 0) - n.runsBefore,
        path: location.pathname,
        connection: app && app.getAttribute('data-test-connection-state'),
        script: app && app.getAttribute('data-test-script-state'),
        status_widget: q('stStatusWidget'), skeleton: q('stSkeleton'), spinner: q('stSpinner'),
        charts: charts.length,
        drawn: charts.filter(c => c.querySelector('.js-plotly-plot .main-svg')).length,
        title: (document.querySelector('h1') || {}).innerText || null,
    }; }"""
DRAWN_JS = """() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
    .filter(c => c.querySelector('.js-plotly-plot .main-svg')).length"""


def chart_pages() -> list[str]:
    """app.py's pages that draw charts or tables, in menu order ("overview" is the default page,
    served at /); read from app.py's PAGES list and each page's source, not imported."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets
        ):
            files = [e[0] for e in ast.literal_eval(node.value)]
            return [
                Path(f).stem for f in files if DRAWS.search((ROOT / f).read_text(encoding="utf-8"))
            ]
    raise RuntimeError("app.py has no PAGES list")


def url_path(name: str, default: str) -> str:
    """The path Streamlit serves a page at: the default page at /, the others at /<name>."""
    return "/" if name == default else f"/{name}"


def navigate(page: Any, name: str, path: str | None, timeout_s: float) -> dict[str, Any]:
    """Click the menu entry of `path` (None: the page already opening) and wait for its last
    chart. Returns {"s", "first_s", "charts", "error"}; a timeout counts as timeout_s."""
    error = None
    if path is not None and page.evaluate(FIND_JS, [LINKS, path]) < 0:
        # No link to it on screen (Present's slides hide the menu): leave by a page link first.
        leave = page.evaluate(FIND_JS, [LINKS, None])
        if leave >= 0:
            away = page.evaluate(
                "([l, i]) => new URL(document.querySelectorAll(l)[i].href).pathname", [LINKS, leave]
            )
            navigate(page, "leave", away, timeout_s)
    page.evaluate(WATCH_JS, [path, STABLE_MS])
    try:
        if path is not None:
            index = page.evaluate(FIND_JS, [LINKS, path])
            if index < 0:
                raise LookupError(f"no visible link to {path}")
            page.locator(LINKS).nth(index).click(timeout=timeout_s * 1000)
        page.wait_for_function(DONE_JS, timeout=timeout_s * 1000, polling=50)
    except Exception as exc:  # Playwright's TimeoutError, no link, or the page went away
        error = f"{name}: no last chart within {timeout_s:g} s ({type(exc).__name__}: {exc})"
        error = " ".join(error.split())[:300]
        try:
            error += f"; waiting on {json.dumps(page.evaluate(STATE_JS), sort_keys=True)}"
        except Exception as gone:  # the page itself went away
            error += f"; page state unreadable ({type(gone).__name__})"
    last_s, first_s, charts = page.evaluate(READ_JS)
    if error is not None:
        last_s = timeout_s
    else:
        shown = page.locator("[data-testid=stException]").all_inner_texts()
        if shown:
            error = f"{name}: Streamlit exception: {' '.join(shown[0].split())[:200]}"
    return {"s": last_s, "first_s": first_s, "charts": max(charts, 0), "error": error}


def check_later(page: Any, name: str, nav: dict[str, Any], shots: Path, tag: str) -> str | None:
    """Screenshots when timing stopped and 2 s later; an error when charts were still coming."""
    page.screenshot(path=str(shots / f"{tag}-stop.png"))
    page.wait_for_timeout(2000)
    page.screenshot(path=str(shots / f"{tag}-later.png"))
    later = int(page.evaluate(DRAWN_JS))
    if later != nav["charts"]:
        return f"{name}: {nav['charts']} charts when timing stopped, {later} two seconds later"
    return None


def stats(values: list[float]) -> dict[str, float]:
    return {
        "median_s": statistics.median(values),
        "p95_s": pct(values, 0.95),
        "max_s": max(values),
    }


def summarise(records: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, float]]:
    """Per page: the cold (first) round apart, median / p95 / max over the later rounds (over
    the cold one when there is a single round); overall: every later navigation of every page."""
    pages: dict[str, Any] = {}
    warm_all: list[float] = []
    for name, runs in records.items():
        times = [r["s"] for r in runs]
        warm = times[1:] or times
        firsts = [r["first_s"] for r in (runs[1:] or runs) if r["first_s"] is not None]
        pages[name] = {
            "cold_s": times[0],
            **stats(warm),
            "first_chart_median_s": statistics.median(firsts) if firsts else None,
            "charts": max(r["charts"] for r in runs),
            "runs_s": times,
        }
        warm_all += warm
    return pages, stats(warm_all)


def table(result: dict[str, Any]) -> str:
    """The result as a short markdown table."""
    lines = [
        f"entry {result['entry']}, {result['rounds']} rounds, {result['viewport']}, "
        f"lang {result['lang']}, load average {result['loadavg'][0]:.2f} -> "
        f"{result['loadavg'][1]:.2f}; first open {result['open_s']:.2f} s",
        "",
        "| page | charts | cold s | median s | p95 s | max s | first chart s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p in result["pages"].items():
        first = "" if p["first_chart_median_s"] is None else f"{p['first_chart_median_s']:.2f}"
        lines.append(
            f"| {name} | {p['charts']} | {p['cold_s']:.2f} | {p['median_s']:.2f} | "
            f"{p['p95_s']:.2f} | {p['max_s']:.2f} | {first} |"
        )
    o = result["overall"]
    lines.append(f"| **all** | | | {o['median_s']:.2f} | {o['p95_s']:.2f} | {o['max_s']:.2f} | |")
    verdict = "met" if o["max_s"] <= TARGET_S and not result["errors"] else "not met"
    lines.append(f"\ntarget: last chart <= {TARGET_S} s after the click (issue 16): {verdict}")
    lines += [f"error: {e}" for e in result["errors"]]
    return "\n".join(lines)


def measure(
    url: str, pages: list[str], rounds: int, timeout_s: float, shots: Path | None
) -> tuple[float, dict[str, list[dict[str, Any]]], list[str]]:
    """Open the app once, then visit every page `rounds` times by its menu entry: the first
    open's time, the records per page, the errors."""
    from playwright.sync_api import sync_playwright

    default = "overview"
    records: dict[str, list[dict[str, Any]]] = {p: [] for p in pages}
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
            ctx.add_init_script(RUN_COUNTER_JS)
            page = ctx.new_page()
            page.goto(f"{url}/?lang={LANG}", timeout=OPEN_TIMEOUT_S * 1000)
            opened = navigate(page, "open", None, OPEN_TIMEOUT_S)
            if opened["error"]:
                errors.append(opened["error"])
            # The page on screen is visited last in each round: a click on it would not navigate.
            order = [p for p in pages if p != default] + [p for p in pages if p == default]
            current = default
            for r in range(rounds):
                for name in order:
                    if name == current:  # one page asked for: step away first, untimed
                        away = default if name != default else "glossary"
                        navigate(page, away, url_path(away, default), timeout_s)
                    current = name
                    nav = navigate(page, name, url_path(name, default), timeout_s)
                    if shots is not None and nav["error"] is None:
                        nav["error"] = check_later(page, name, nav, shots, f"{name}-r{r}")
                    if nav["error"]:
                        errors.append(f"round {r + 1}, {nav['error']}")
                    if nav["error"] and "no last chart" in nav["error"]:
                        # Start again from a fresh open, so one stuck page spoils no other.
                        page.goto(f"{url}/?lang={LANG}", timeout=OPEN_TIMEOUT_S * 1000)
                        navigate(page, "reopen", None, OPEN_TIMEOUT_S)
                        current = default
                    records[name].append(nav)
        finally:
            browser.close()
    return opened["s"], records, errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="database to serve (a copy is used); default: the demo")
    ap.add_argument("--pages", help="comma-separated page names; default: every chart/table page")
    ap.add_argument("--rounds", type=int, default=3, help="visits of every page; the 1st is cold")
    ap.add_argument("--entry", default="app.py", choices=["app.py", "serve.py"])
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one navigation may take")
    ap.add_argument("--out", type=Path, help="write the result as JSON")
    ap.add_argument(
        "--shots",
        type=Path,
        help="directory for a screenshot when timing stops and one 2 s later (adds 2 s a visit; "
        "more charts drawn by then is an error)",
    )
    a = ap.parse_args(argv)
    known = chart_pages()
    pages = a.pages.split(",") if a.pages else known
    unknown = sorted(set(pages) - set(known))
    if unknown:
        ap.error(f"unknown pages: {', '.join(unknown)} (known: {', '.join(known)})")
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    if a.shots:
        a.shots.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="crm_lens_browser_") as tmp:
        tmpd = Path(tmp)
        if a.db:
            db_file = tmpd / "served.duckdb"
            shutil.copy(a.db, db_file)
        else:
            db_file = demo_db(tmpd)
        port = free_port()
        server = start_server(db_file, port, tmpd / "server.log", entry=a.entry)
        try:
            open_s, records, errors = measure(
                f"http://127.0.0.1:{port}", pages, a.rounds, a.timeout, a.shots
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except Exception:
                server.kill()
                server.wait(timeout=10)
    by_page, overall = summarise(records)
    result = {
        "entry": a.entry,
        "db": str(a.db) if a.db else "demo",
        "rounds": a.rounds,
        "viewport": f"{VIEWPORT['width']}x{VIEWPORT['height']}",
        "lang": LANG,
        "loadavg": [load_start, os.getloadavg()[0]],
        "open_s": open_s,
        "pages": by_page,
        "overall": overall,
        "errors": errors,
    }
    print(table(result), flush=True)
    if a.out:
        a.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
