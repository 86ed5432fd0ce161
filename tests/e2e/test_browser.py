"""Browser end-to-end: every page of app.py served by `streamlit run`, opened in chromium."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_core.engine import db
from crm_core.metrics import overview
from crm_core.metrics.filters import DIMENSIONS, NO_FILTERS, Filters
from crm_core.present import i18n
from e2e.served_app import (
    LANG_LABEL,
    AppPage,
    Server,
    app_pages,
    exceptions,
    metric_values,
    open_app,
    runs,
    screenshot,
    wait_idle,
)

pytestmark = pytest.mark.e2e

PAGES = app_pages()


def _kpis(db_file: Path, filters: Filters = NO_FILTERS) -> dict[str, Any]:
    """Headline KPIs of the default period, from crm_core (before any server holds the file)."""
    con = db.connect(db_file, read_only=True)
    try:
        period = overview.default_period(con)
        assert period is not None
        return overview.headline_kpis(con, period, filters) | {"period": period}
    finally:
        con.close()


def _en(x: Any) -> str:
    """A KPI as an English tile shows it (ui.metric: i18n.fmt_compact, 481M)."""
    return i18n.fmt_compact(x, "en")


def _exact(page: Any, label: str) -> str:
    """The exact number behind a tile: the tooltip of a shortened value, else the value."""
    tile = page.locator("[data-testid=stMetric]").filter(
        has=page.locator(
            "[data-testid=stMetricLabel]", has_text=re.compile(f"^{re.escape(label)}$")
        )
    )
    help_icon = tile.locator("[data-testid=stTooltipHoverTarget]")
    if help_icon.count() == 0:
        return tile.locator("[data-testid=stMetricValue]").inner_text().strip()
    help_icon.hover()
    tip = page.locator("[data-testid=stTooltipContent]")
    tip.wait_for()
    text = tip.inner_text().strip()
    page.mouse.move(0, 0)  # close it: one tooltip at a time
    tip.wait_for(state="detached")
    return text


# Tiles whose values and labels must fit their column at a laptop's 1280 x 800 (no "…").
TILE_PAGES = ("/", "/weekly", "/churn_clv", "/pipeline", "/complaints")
_CLIPPED_JS = """() => [...document.querySelectorAll(
        '[data-testid=stMetricValue] *, [data-testid=stMetricLabel] *')]
    .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText)"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_metric_values_fit_their_tiles(lang: str, server: Server, new_page: Any) -> None:
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    for path in TILE_PAGES:
        open_app(page, f"{server.url}{path}?lang={lang}")
        page.locator("[data-testid=stMetricValue]").first.wait_for()
        assert page.evaluate(_CLIPPED_JS) == [], path
    screenshot(page, f"tiles_{lang}_1280")


def _assert_app_page(page: Any, name: str) -> None:
    """No exception, and app.py's shared sidebar around the page (proves the deep-link guard)."""
    assert not exceptions(page), exceptions(page)
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.get_by_text(LANG_LABEL, exact=True).count() == 1, f"{name}: no app.py sidebar"
    assert sidebar.get_by_text(".duckdb").count() >= 1, f"{name}: no database caption"


@pytest.mark.parametrize("app_page", PAGES, ids=[p.name for p in PAGES])
def test_page_renders(app_page: AppPage, server: Server, new_page: Any) -> None:
    # Each page is the first URL of a fresh context: a deep link for every non-default page.
    page = new_page()
    open_app(page, server.url + app_page.url_path + "?lang=en", charts=app_page.has_charts)
    _assert_app_page(page, app_page.name)
    assert page.locator("h1").count() >= 1, f"{app_page.name}: no title"
    screenshot(page, app_page.name)


# The Data page (uploads: the page an auth gate matters most for), else any non-default page.
DEEP = sorted((p for p in PAGES if not p.default), key=lambda p: p.name != "data")[:1]


@pytest.mark.parametrize("app_page", DEEP, ids=lambda p: p.name)
def test_deep_link_first_request_on_fresh_server(
    app_page: AppPage, fresh_server: Server, new_page: Any
) -> None:
    # Streamlit's legacy pages/ runner serves the very first session after a start that opens a
    # deep link; ui.page_guard() must rerun it through app.py (../shared/NOTES.md).
    page = new_page()
    open_app(page, fresh_server.url + app_page.url_path, charts=app_page.has_charts)
    _assert_app_page(page, app_page.name)
    # st.navigation's own menu (titles from the catalogue) proves app.py's router ran, not the
    # legacy file-name navigation.
    nav = page.locator("[data-testid=stSidebarNav]")
    assert nav.get_by_text("Data", exact=True).count() + nav.get_by_text("数据").count() >= 1
    screenshot(page, f"{app_page.name}_fresh_server")


def test_language_from_url_and_default(server: Server, new_page: Any) -> None:
    default = new_page(locale="zh-CN")  # a Chinese browser, no ?lang=
    open_app(default, server.url + "/", charts=True)
    assert default.locator("h1").first.inner_text().strip() == "总览"
    assert "销售额" in metric_values(default)
    screenshot(default, "overview_zh")

    en = new_page(locale="zh-CN")  # ?lang=en wins over the browser's locale
    open_app(en, server.url + "/?lang=en", charts=True)
    assert en.locator("h1").first.inner_text().strip() == "Overview"
    assert "Revenue" in metric_values(en)
    assert not exceptions(default) and not exceptions(en)


def test_overview_numbers_and_url_filter(server: Server, new_page: Any, demo_db_file: Path) -> None:
    everything = _kpis(demo_db_file)
    region = _kpis(demo_db_file, Filters(region="华东"))
    page = new_page()
    open_app(page, server.url + "/?lang=en", charts=True)
    shown = metric_values(page)
    assert shown["Revenue"] == _en(everything["revenue"])
    assert shown["Orders"] == _en(everything["orders"])

    open_app(page, server.url + "/?lang=en&region=" + urllib.parse.quote("华东"), charts=True)
    assert metric_values(page)["Revenue"] == _en(region["revenue"])
    assert region["revenue"] < everything["revenue"]


HOSTILE = [
    "'; DROP TABLE orders; --",
    "<script>alert(1)</script>",
    "华东' OR '1'='1",
    '"><img src=x onerror=alert(1)>',
]


URL_PARAMS = (*DIMENSIONS, "start", "end", "lang")


def test_hostile_query_params(server: Server, new_page: Any, demo_db_file: Path) -> None:
    # Every URL-bound value at once: the global filters, the period and the language.
    expected = _kpis(demo_db_file)
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for value in HOSTILE:
        q = urllib.parse.urlencode({k: value for k in URL_PARAMS})
        open_app(page, f"{server.url}/?{q}", charts=True)
        assert not exceptions(page), (value, exceptions(page))
        assert not dialogs, f"a script ran from {value!r}"
        shown = metric_values(page)
        # Values that are no option of a filter are ignored, an unknown language falls back to
        # the browser's (English): all data, unchanged.
        assert shown.get("Revenue") == _en(expected["revenue"]), (value, shown)
        assert shown.get("Orders") == _en(expected["orders"]), (value, shown)
        assert page.locator("[data-testid=stSidebar] img").count() == 0, "markup injected"
    # The data is intact after every attempt: a clean page shows the same numbers.
    open_app(page, server.url + "/?lang=en", charts=True)
    assert metric_values(page)["Revenue"] == _en(expected["revenue"])


def _gbk_orders(path: Path, day: dt.date) -> tuple[Path, Decimal]:
    """Two orders of a customer the demo does not know, GBK-encoded, Chinese headers."""
    stamp = f"{day.year}/{day.month}/{day.day}"  # 2026/10/21: a format ingest must parse
    rows = [
        "订单编号,客户编号,下单时间,实付金额",
        f'E2E-0001,E2E-C001,{stamp} 10:30,"￥12,345.67"',
        f"E2E-0002,E2E-C001,{stamp} 15:05,987.33",
    ]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("gbk"))
    return path, Decimal("12345.67") + Decimal("987.33")


def test_upload_gbk_csv_then_overview(
    fresh_server: Server, new_page: Any, demo_db_file: Path, tmp_path: Path
) -> None:
    before = _kpis(demo_db_file)
    period = before["period"]
    csv_path, uploaded = _gbk_orders(tmp_path / "新订单.csv", period.end - dt.timedelta(days=10))

    page = new_page()
    open_app(page, fresh_server.url + "/data?lang=en")
    _assert_app_page(page, "data")
    n = runs(page)
    page.set_input_files("input[type=file]", str(csv_path))
    wait_idle(page, after=n)
    page.get_by_text("Encoding GB18030").wait_for()
    assert not exceptions(page), exceptions(page)
    # The detected table is shown in the "Table" selectbox of the file's panel.
    table_box = page.locator("[data-testid=stSelectbox]").filter(has_text="Table")
    assert table_box.locator("input").input_value() == "orders"
    # Append (keep the demo orders, add the new ones) is the default; Replace is one click away.
    mode = page.locator("[data-testid=stRadio]").filter(has_text="Replace")
    assert mode.get_by_role("radio", name="Append").is_checked()
    assert not mode.get_by_role("radio", name="Replace").is_checked()
    n = runs(page)
    page.get_by_role("button", name="Load", exact=True).click()
    wait_idle(page, after=n)
    page.get_by_text("committed").first.wait_for()
    assert not exceptions(page), exceptions(page)
    success = " ".join(page.locator("[data-testid=stAlertContentSuccess]").all_inner_texts())
    assert "2 rows read" in success and "orders" in success, success
    screenshot(page, "data_after_upload")

    n = runs(page)
    page.locator("[data-testid=stSidebarNav]").get_by_text("Overview", exact=True).click()
    wait_idle(page, after=n)
    page.wait_for_selector(".js-plotly-plot")
    shown = metric_values(page)
    # Revenue: demo + 12,345.67 + 987.33 = demo + 13,333.00; orders +2; one new (buying) customer.
    # Tiles show ~3 significant digits; their tooltips hold the exact numbers.
    assert shown["Revenue"] == _en(Decimal(before["revenue"]) + uploaded), shown
    exact = i18n.fmt_exact(Decimal(before["revenue"]) + uploaded)
    assert exact in _exact(page, "Revenue"), exact
    assert i18n.fmt_exact(before["orders"] + 2) in _exact(page, "Orders")
    assert shown["Customers"] == _en(before["customers"] + 1), shown
    assert shown["Active customers"] == _en(before["active_customers"] + 1), shown
    screenshot(page, "overview_after_upload")
