"""Issue 16's target table and the tables of bench/steps.py's measurements, for RESULTS.md."""

from __future__ import annotations

from typing import Any

# Issue 16's targets (at L unless the row says otherwise), in seconds, MB and ratios.
FIRST_OPEN_S = 1.0
PAGE_S = {"pyramid": 4.0, "lifecycle": 5.0, "present": 15.0}
OTHER_PAGE_S = 2.0
ATTRIBUTE_S = {"pyramid": 1.0, "lifecycle": 1.0}
LINE_ITEM_PAGE_S = 1.0
PYRAMID_OVER_PLAIN = 2.0
PANDAS_OVER_CORE = 3.0
RSS_MB = 1536.0
LOAD_RATIO = 2.2
APPEND_S = 10.0
DEMO_ROOM = 20
DEMO_ROOM_P95_S = 2.0
ROOM = 8
ROOM_P95_S = 6.0
BROWSER_S = 1.5
# Page sets that time an earlier path of a page for comparison, not a page of the app.
COMPARISONS = ("_per_report", "_lines", "_blas_threads")


def app_pages(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The page sets of a size's run that are pages of the app, by name."""
    got = res.get("pages", {}).get("pages", {})
    return {k: v for k, v in got.items() if not k.endswith(COMPARISONS)}


def page_target_s(name: str) -> float:
    """The uncached-change target of a page at L."""
    return PAGE_S.get(name, OTHER_PAGE_S)


def _cell(text: Any) -> str:
    """Text that stays inside one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


def _s(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:,.2f}"


def _by_size(results: list[dict], value: Any, fmt: Any = _s) -> str:
    """'S 0.12 · M 0.40 · L 1.30' from value(res) per size (None = not measured)."""
    cells = []
    for r in results:
        v = value(r)
        if v is not None:
            cells.append(f"{r['label']} {fmt(v)}")
    return " · ".join(cells) or "not measured"


def _at(results: list[dict], label: str) -> dict | None:
    return next((r for r in results if r["label"] == label), None)


def _median(res: dict, name: str) -> float | None:
    v = app_pages(res).get(name, {}).get("median_ms")
    return v if isinstance(v, (int, float)) else None


def _variant(res: dict, key: str) -> float | None:
    v = res.get("pages", {}).get("variants", {}).get(key, {}).get("median_ms")
    return v if isinstance(v, (int, float)) else None


def _worst(res: dict, names: Any) -> tuple[str, float] | None:
    got = [(n, m) for n in names if (m := _median(res, n)) is not None]
    return max(got, key=lambda x: x[1]) if got else None


def _first_open_worst(res: dict) -> tuple[str, float] | None:
    pages = res.get("first_open", {}).get("pages", {})
    got = [(n, p["first_s"]) for n, p in pages.items() if "first_s" in p]
    return max(got, key=lambda x: x[1]) if got else None


def _others(res: dict) -> list[str]:
    return [n for n in app_pages(res) if n not in PAGE_S]


def target_rows(results: list[dict], demo: dict) -> list[str]:
    """Issue 16's table: every row with what was measured per size and met / not met at L."""
    big = [r for r in results if r.get("shape") != "lines"]
    L = _at(results, "L")
    LI = _at(results, "LI")
    rows: list[tuple[str, str, str, bool | None]] = []

    def worst_fmt(v: tuple[str, float]) -> str:
        return f"{v[1]:.2f} ({v[0]})"

    fo = _first_open_worst(L) if L else None
    rows.append(
        (
            "first open of each page after a load, server time, slowest page (s)",
            f"≤ {FIRST_OPEN_S:.1f}",
            _by_size(big, _first_open_worst, worst_fmt),
            None if fo is None else fo[1] <= FIRST_OPEN_S,
        )
    )
    for name in ("pyramid", "lifecycle"):

        def none_or_cat(r: dict, name: str = name) -> float | None:
            got = [v for v in (_median(r, name), _variant(r, f"{name}/category")) if v is not None]
            return max(got) if got else None

        v = none_or_cat(L) if L else None
        rows.append(
            (
                f"uncached change, no filter or a category filter: {name.title()} (s, the slower)",
                f"≤ {PAGE_S[name]:.0f}",
                _by_size(big, none_or_cat),
                None if v is None else v <= PAGE_S[name] * 1000,
            )
        )
    for name in ("pyramid", "lifecycle"):
        v = _variant(L, f"{name}/region") if L else None
        rows.append(
            (
                f"uncached change, a customer-attribute filter (region): {name.title()} (s)",
                f"≤ {ATTRIBUTE_S[name]:.0f}",
                _by_size(big, lambda r, name=name: _variant(r, f"{name}/region")),
                None if v is None else v <= ATTRIBUTE_S[name] * 1000,
            )
        )
    v = _median(L, "present") if L else None
    rows.append(
        (
            "uncached change: Present (s)",
            f"≤ {PAGE_S['present']:.0f}",
            _by_size(big, lambda r: _median(r, "present")),
            None if v is None else v <= PAGE_S["present"] * 1000,
        )
    )
    w = _worst(L, _others(L)) if L else None
    rows.append(
        (
            "uncached change: every other page, slowest (s)",
            f"≤ {OTHER_PAGE_S:.0f}",
            _by_size(big, lambda r: _worst(r, _others(r)), lambda v: f"{v[1] / 1000:.2f} ({v[0]})"),
            None if w is None else w[1] <= OTHER_PAGE_S * 1000,
        )
    )
    li = _worst(LI, app_pages(LI)) if LI else None
    lines = [r for r in results if r.get("shape") == "lines"]
    rows.append(
        (
            "line-item data (≈ 20 lines per invoice): every page uncached, slowest (s)",
            f"≤ {LINE_ITEM_PAGE_S:.0f} at LI",
            _by_size(
                lines, lambda r: _worst(r, app_pages(r)), lambda v: f"{v[1] / 1000:.2f} ({v[0]})"
            ),
            None if li is None else li[1] <= LINE_ITEM_PAGE_S * 1000,
        )
    )

    def over_plain(r: dict) -> float | None:
        core = _median(r, "pyramid")
        plain = r.get("plain", {}).get("timings", {}).get("pyramid", {}).get("median_ms")
        return core / plain if core and plain else None

    v = over_plain(L) if L else None
    rows.append(
        (
            "Pyramid page set ÷ plain SQL of its tiers alone",
            f"≤ {PYRAMID_OVER_PLAIN:.0f}×",
            _by_size(big, over_plain, lambda x: f"{x:.1f}×"),
            None if v is None else v <= PYRAMID_OVER_PLAIN,
        )
    )

    def vs_pandas(r: dict) -> tuple[float, float, str] | None:
        got = []
        for name, t in r.get("pandas", {}).get("timings", {}).items():
            core = _median(r, name)
            if core and t.get("median_ms"):
                got.append((t["median_ms"] / core, r["pandas"].get("read_s", {}).get(name), name))
        return min(got, key=lambda x: x[0]) if got else None

    v2 = vs_pandas(L) if L else None
    rows.append(
        (
            "page sets vs pandas holding the data in memory: the least faster (pandas' read s)",
            f"≥ {PANDAS_OVER_CORE:.0f}×",
            _by_size(big, vs_pandas, lambda x: f"{x[0]:.1f}× {x[2]} (read {x[1] or 0:.1f} s)"),
            None if v2 is None else v2[0] >= PANDAS_OVER_CORE,
        )
    )

    def rss(r: dict) -> float | None:
        v = r.get("pages", {}).get("rss_mb")
        return v if isinstance(v, (int, float)) else None

    v = rss(L) if L else None
    rows.append(
        (
            "app peak RSS, all pages (MB)",
            f"≤ {RSS_MB:,.0f}",
            _by_size(results, rss, lambda x: f"{x:,.0f}"),
            None if v is None else v <= RSS_MB,
        )
    )

    def load_ratio(r: dict) -> float | None:
        ld = r.get("load", {})
        core = ld.get("core_s", ld.get("load_s"))
        return core / ld["bare_s"] if core and ld.get("bare_s") else None

    v = load_ratio(L) if L else None
    rows.append(
        (
            "load vs bare CTAS (core load; day tables after its commit)",
            f"≤ {LOAD_RATIO}×",
            _by_size(results, load_ratio, lambda x: f"{x:.2f}×"),
            None if v is None else v <= LOAD_RATIO,
        )
    )
    v = L.get("append", {}).get("append_s") if L else None
    rows.append(
        (
            "append 100 k orders, fact layer included (s)",
            f"≤ {APPEND_S:.0f}",
            _by_size(results, lambda r: r.get("append", {}).get("append_s"), lambda x: f"{x:.1f}"),
            None if v is None else v <= APPEND_S,
        )
    )
    room = demo.get("room", {})
    p95 = room.get("p95_s")
    full = room.get("sessions", 0) >= DEMO_ROOM  # a smaller room says nothing of the target
    rows.append(
        (
            f"{DEMO_ROOM} simultaneous sessions on the demo, p95 per page render (s)",
            f"≤ {DEMO_ROOM_P95_S:.0f}",
            f"demo, {room['sessions']} sessions: {p95:.2f} (median {room['median_s']:.2f}, "
            f"{room['per_s']:.1f} renders/s)"
            if p95 is not None
            else _cell(room.get("error", "not measured")),
            None if p95 is None or not full else p95 <= DEMO_ROOM_P95_S,
        )
    )
    at_l = L.get("room", {}) if L else {}
    v = at_l.get("p95_s") if at_l.get("sessions", 0) >= ROOM else None
    rows.append(
        (
            f"{ROOM} simultaneous sessions, p95 per page render (s)",
            f"≤ {ROOM_P95_S:.0f}",
            _by_size(
                results,
                lambda r: r.get("room") if "p95_s" in r.get("room", {}) else None,
                lambda x: f"{x['p95_s']:.2f} ({x['sessions']} sessions)",
            ),
            None if v is None else v <= ROOM_P95_S,
        )
    )
    br = demo.get("browser", {}).get("overall", {})
    # A navigation that failed (no last chart within the timeout, or an exception on the page)
    # is a page a manager could not read: the row is not met whatever the percentile says.
    failed = len(demo.get("browser", {}).get("errors") or [])
    rows.append(
        (
            "browser, demo, navigation to the last chart, p95 over pages (s)",
            f"≤ {BROWSER_S}",
            f"demo {br['p95_s']:.2f} (median {br['median_s']:.2f})"
            + (f"; {failed} navigation(s) failed, see below" if failed else "")
            if "p95_s" in br
            else demo.get("browser", {}).get("error", "not measured"),
            None if "p95_s" not in br else br["p95_s"] <= BROWSER_S and not failed,
        )
    )
    out = [
        "## Issue 16's targets",
        "",
        "Measured per size in this run (the verdict is at L, at LI for line items, on the demo "
        "for the demo's rows). Each row's measurement is in the tables below.",
        "",
        "| what | target | measured | at L |",
        "|---|---|---|---|",
    ]
    out += [f"| {w} | {t} | {m} | {_met(ok)} |" for w, t, m, ok in rows]
    return out


def detail_tables(results: list[dict], demo: dict) -> list[str]:
    """The tables behind the target rows that bench.run's older sections do not show."""
    out = [
        "",
        "## Pyramid and Lifecycle with a filter",
        "",
        "Uncached, median of up to 3 runs (each with a period start never used before); the "
        "filter value is the first of its dimension in the data.",
        "",
        "| size | page | filter | value | median ms | min–max ms | N |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in results:
        for key, v in r.get("pages", {}).get("variants", {}).items():
            page, kind = key.split("/")
            if "error" in v:
                out.append(f"| {r['label']} | {page} | {kind} | | error: {_cell(v['error'])} | | |")
                continue
            out.append(
                f"| {r['label']} | {page} | {kind} | {v['value']} | {v['median_ms']:,.0f} | "
                f"{v['min_ms']:,.0f}–{v['max_ms']:,.0f} | {v['n']} |"
            )
    out += [
        "",
        "## First open after a load",
        "",
        "`python -m crm_core warm` right after the load, then each page opened once in a fresh "
        "interpreter through AppTest as `streamlit run serve.py` serves it (bench/first_open.py "
        "--prepare): the first run's seconds, in Chinese.",
        "",
        "| size | warm s | " + " | ".join(_page_names(results)) + " |",
        "|---|---:|" + "---:|" * len(_page_names(results)),
    ]
    for r in results:
        fo = r.get("first_open")
        if not fo:
            continue
        if "error" in fo:
            out.append(f"| {r['label']} | error: {_cell(fo['error'])} |")
            continue
        cells = []
        for name in _page_names(results):
            p = fo["pages"].get(name, {})
            cells.append(f"{p['first_s']:.2f}" if "first_s" in p else _cell(p.get("error", "–")))
        out.append(f"| {r['label']} | {fo['warm_s']:.0f} | " + " | ".join(cells) + " |")
    out += [
        "",
        "## Append to a loaded database",
        "",
        "100 k orders (the first lines of the size's export under new order ids: the same "
        "customers, products and dates; fewer where the export is smaller) appended to a copy "
        "of the loaded file, the fact layer merged in the same transaction.",
        "",
        "| size | orders appended | append s | steps |",
        "|---|---:|---:|---|",
    ]
    for r in results:
        ap = r.get("append")
        if not ap:
            continue
        if "error" in ap:
            out.append(f"| {r['label']} | | error: {_cell(ap['error'])} | |")
            continue
        steps = ", ".join(f"{s['step']} {s['s']:.1f}" for s in ap["steps"])
        out.append(f"| {r['label']} | {ap['rows']:,} | {ap['append_s']:.1f} | {steps} |")
    out += [
        "",
        "## Rooms of simultaneous sessions",
        "",
        "`python -m bench.sessions` against `streamlit run app.py` over a copy of the database "
        "(after the warm above; the demo: a fresh demo database): every session visits every "
        "page in turn; the first, cold round is left out of the percentiles.",
        "",
        "| data | sessions | median s | p95 s | max s | renders/s | renders | slowest page at p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    rooms = [(r["label"], r.get("room")) for r in results] + [("demo", demo.get("room"))]
    for label, room in rooms:
        if not room:
            continue
        if "error" in room:
            out.append(f"| {label} | | error: {_cell(room['error'])} | | | | | |")
            continue
        slow = max(room["by_page_p95_s"].items(), key=lambda x: x[1])
        out.append(
            f"| {label} | {room['sessions']} | {room['median_s']:.2f} | {room['p95_s']:.2f} | "
            f"{room['max_s']:.2f} | {room['per_s']:.1f} | {room['renders']} | "
            f"{slow[0] or 'overview'} {slow[1]:.2f} |"
        )
    br = demo.get("browser")
    if br:
        out += [
            "",
            "## Browser navigation on the demo",
            "",
            "`python -m bench.browser`: chromium at 1280 × 800 in Chinese, a click on the page's "
            "sidebar link until its run has finished and every chart is drawn.",
            "",
        ]
        if "pages" not in br:
            out.append(f"Not measured: {_cell(br.get('error', '?'))}")
        else:
            out += [
                "| page | cold s | median s | p95 s | max s | first chart median s | charts |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for name, p in br["pages"].items():
                fc = p.get("first_chart_median_s")
                out.append(
                    f"| {name} | {p['cold_s']:.2f} | {p['median_s']:.2f} | {p['p95_s']:.2f} | "
                    f"{p['max_s']:.2f} | {'–' if fc is None else f'{fc:.2f}'} | {p['charts']} |"
                )
            if br.get("errors"):
                out.append("")
                out.append("Errors: " + _cell("; ".join(br["errors"])))
    return out


def _page_names(results: list[dict]) -> list[str]:
    names: dict[str, None] = {}
    for r in results:
        names.update(dict.fromkeys(r.get("first_open", {}).get("pages", {})))
    return list(names)
