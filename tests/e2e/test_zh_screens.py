"""Every page and every tab in Chinese, as a manager sees it at 1280 x 800: no English words
outside a short allowlist, no NaN/None, no k/M axis ticks; and the Data page with a Chinese export
dropped in (the upload panel, its mapping, validation and warnings)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from e2e.served_app import (
    RUN_COUNTER_JS,
    RUN_TIMEOUT_MS,
    SCREENSHOTS,
    Server,
    app_pages,
    exceptions,
    open_app,
    runs,
    wait_idle,
)

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The Chinese export dropped on the Data page: GBK, Chinese headers, ¥ money, 2024/1/31 dates.
CHINESE_EXPORT = FIXTURES / "orders_gbk.csv"

# Latin words a Chinese screen may show: file formats and encodings, and standard abbreviations a
# Chinese manager reads as such. Compared case-insensitively, word by word.
ALLOWED = {
    # file formats and encodings
    "csv", "tsv", "txt", "excel", "xlsx", "pptx", "pdf", "html", "json", "duckdb",
    "utf", "gbk", "gb", "bom",
    # sizes
    "kb", "mb",
    # standard abbreviations
    "id", "kpi", "rfm", "sla", "vip", "top", "crm", "lens",
    # the language switch names both languages on purpose
    "language",
}  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-z]+")
MISSING_MARKERS = re.compile(r"\b(?:NaN|nan|None|NaT|null|undefined|inf)\b|nan%|NaN%")
# An SI-suffixed tick: 12k, 1.5M, 3G (plotly's d3 "~s"); Chinese axes say 万/亿.
SI_TICK = re.compile(r"^[−\-+]?[\d.,]+\s*[kMGTµm]$")

# Text of the visible elements of one screen, in three kinds: product text (labels, captions,
# alerts, table headers, chart titles and legends), data cells (table cells: values from the
# data may be Latin, but never NaN/None) and axis tick labels.
_COLLECT_JS = """(productColumns) => {
    // A file chip shows the user's file (its name and size): data, not product text.
    const skip = '[data-testid=stIconMaterial], [data-testid=stFileChip], script, style, noscript';
    const shown = e => {
        if (!e || e.closest(skip)) return false;
        if (e.closest('[aria-hidden=true]') && !e.closest('svg')) return false;
        const r = e.getBoundingClientRect();
        if (r.width <= 1 || r.height <= 1) return false;
        const s = getComputedStyle(e);
        return s.visibility !== 'hidden' && s.display !== 'none' && s.opacity !== '0';
    };
    const root = document.querySelector('[data-testid=stApp]');
    const text = [], cells = [], ticks = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
        const e = n.parentElement, s = n.textContent.trim();
        if (!s || !shown(e)) continue;
        if (e.closest('.xtick, .ytick, .x2tick, .y2tick, .zerolinelayer')) ticks.push(s);
        else if (e.closest('[data-testid=stDataFrame] td, [data-testid=stDataFrame] [role=gridcell]'))
            cells.push(s);
        else text.push(s);
    }
    // Glide grids draw on a canvas; their accessible table holds the text, hidden from layout.
    for (const g of root.querySelectorAll('[data-testid=stDataFrame], [data-testid=stTable]')) {
        if (!shown(g)) continue;
        const ours = new Set();  // columns whose values the product writes (codes, field names)
        g.querySelectorAll('th').forEach(c => {
            const s = c.textContent.trim();
            if (s) text.push(s);
            if (productColumns.includes(s)) ours.add(c.getAttribute('aria-colindex'));
        });
        g.querySelectorAll('td').forEach(c => {
            const s = c.textContent.trim();
            if (s) (ours.has(c.getAttribute('aria-colindex')) ? text : cells).push(s);
        });
    }
    // A placeholder shows while its box is empty.
    for (const i of root.querySelectorAll('input[placeholder], textarea[placeholder]'))
        if (shown(i) && !i.value && i.placeholder.trim()) text.push(i.placeholder.trim());
    for (const i of root.querySelectorAll('input[type=text], input:not([type])'))
        if (shown(i) && i.value.trim() && i.closest('[data-testid=stSelectbox]')) text.push(i.value.trim());
    return {text, cells, ticks};
}"""


@dataclass
class Screen:
    """What one screen (a page, or one tab of it) showed."""

    name: str
    text: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    ticks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# Table columns whose cells are product words, not data: the Data page's field mapping (field
# names, notes) and its load history (table, mode, status, encoding).
PRODUCT_COLUMNS = ["对应字段", "说明", "数据表", "方式", "状态", "编码"]


def _collect(page: Any, name: str) -> Screen:
    got = page.evaluate(_COLLECT_JS, PRODUCT_COLUMNS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"zh_{name}.png"), full_page=True)
    return Screen(name, got["text"], got["cells"], got["ticks"], exceptions(page))


def _screens_of(page: Any, name: str) -> list[Screen]:
    """The page as opened, then each of its tabs (each tab's charts are drawn once it shows)."""
    page.wait_for_timeout(500)  # plotly lays out after the run ends
    out = [_collect(page, name)]
    tabs = page.locator("[data-testid=stTab]")
    for i in range(tabs.count()):
        tabs.nth(i).click()
        page.wait_for_timeout(700)
        out.append(_collect(page, f"{name}_tab{i + 1}"))
    return out


@pytest.fixture(scope="module")
def zh_screens(browser: Any, server: Server) -> list[Screen]:
    """Every page and tab in zh, then the Data page with a Chinese export dropped in and checked."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    ctx.set_default_timeout(RUN_TIMEOUT_MS)
    ctx.add_init_script(RUN_COUNTER_JS)
    page = ctx.new_page()
    screens: list[Screen] = []
    try:
        for p in app_pages():
            open_app(page, f"{server.url}{p.url_path}?lang=zh", charts=p.has_charts)
            screens += _screens_of(page, p.name)
        # Dropping a file changes no data (nothing is loaded): the shared server stays as it was.
        open_app(page, f"{server.url}/data?lang=zh")
        n = runs(page)
        page.set_input_files("input[type=file]", str(CHINESE_EXPORT))
        wait_idle(page, after=n)
        page.locator("[data-testid=stExpander]").first.wait_for()
        screens.append(_collect(page, "data_dropped"))
        n = runs(page)
        page.get_by_role("button", name="校验", exact=True).click()
        wait_idle(page, after=n)
        screens.append(_collect(page, "data_validated"))
    finally:
        ctx.close()
    return screens


def _latin(texts: list[str]) -> list[str]:
    bad = []
    for s in texts:
        words = {w for w in LATIN_WORD.findall(s) if w.lower() not in ALLOWED}
        if words:
            bad.append(f"{sorted(words)} in {s[:120]!r}")
    return bad


def test_zh_screens_render_without_errors(zh_screens: list[Screen]) -> None:
    names = {s.name for s in zh_screens}
    assert {p.name for p in app_pages()} <= names
    assert "data_validated" in names
    assert {s.name: s.errors for s in zh_screens if s.errors} == {}


def _first_seen(found: dict[str, list[str]]) -> str:
    """One line per offending text, with the screens it was on (a sidebar text is on all)."""
    where: dict[str, list[str]] = {}
    for name, texts in found.items():
        for x in texts:
            where.setdefault(x, []).append(name)
    return "\n".join(
        f"{x}  [{', '.join(names[:3])}{' …' * (len(names) > 3)}]" for x, names in where.items()
    )


def test_zh_screens_have_no_latin_words(zh_screens: list[Screen], server: Server) -> None:
    # Names the user chose are data, not product text: the database file and the dropped export.
    user_names = (Path(str(server.db_path)).name, CHINESE_EXPORT.name)
    found = {
        s.name: bad
        for s in zh_screens
        if (bad := _latin([_without(x, user_names) for x in s.text]))
    }
    assert found == {}, _first_seen(found)


def _without(text: str, names: tuple[str, ...]) -> str:
    for name in names:
        text = text.replace(name, "")
    return text


def test_zh_screens_show_no_nan_or_none(zh_screens: list[Screen]) -> None:
    found = {
        s.name: [x for x in s.text + s.cells + s.ticks if MISSING_MARKERS.search(x)]
        for s in zh_screens
    }
    found = {k: v for k, v in found.items() if v}
    assert found == {}, _first_seen(found)


def test_zh_axis_ticks_have_no_k_or_m(zh_screens: list[Screen]) -> None:
    assert any(s.ticks for s in zh_screens), "no axis ticks read from the charts' SVG"
    found = {s.name: [x for x in s.ticks if SI_TICK.match(x)] for s in zh_screens}
    found = {k: v for k, v in found.items() if v}
    assert found == {}, found


def test_zh_axis_ticks_are_read(zh_screens: list[Screen]) -> None:
    # The tick check above reads the SVG: prove it sees the ticks.
    assert sum(len(s.ticks) for s in zh_screens) > 20
