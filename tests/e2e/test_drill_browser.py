"""Browser: click a pyramid tier -> its customer list -> a customer's 360; find a customer by a
Chinese name in the sidebar search."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from crm_core.engine import db
from crm_core.metrics import drill, overview
from crm_core.present import i18n
from e2e.served_app import Server, exceptions, open_app, runs, screenshot, wait_idle

pytestmark = pytest.mark.e2e


def _gold_customers(db_file: Path) -> list[str]:
    con = db.connect(db_file, read_only=True)
    try:
        period = overview.default_period(con)
        assert period is not None
        return drill.tier_customers(con, period, "gold")["customer_id"].tolist()
    finally:
        con.close()


def _customer_name(db_file: Path, customer_id: str) -> str:
    con = db.connect(db_file, read_only=True)
    try:
        row = con.execute("SELECT name FROM customers WHERE customer_id = ?", [customer_id])
        return str(row.fetchone()[0])
    finally:
        con.close()


def _act(page: Any, action: Any) -> None:
    before = runs(page)
    action()
    wait_idle(page, before)


def test_click_tier_then_customer_then_search(
    fresh_server: Server, new_page: Any, demo_db_file: Path
) -> None:
    gold = _gold_customers(demo_db_file)  # best value rank first: the list's first row
    assert gold
    page = new_page(locale="zh-CN")
    open_app(page, fresh_server.url + "/pyramid?lang=zh", charts=True)
    chart = page.locator(".js-plotly-plot:visible").first
    # The second bar from the apex is the gold tier (pyramid order: diamond, gold, ...).
    # Plotly's drag layer takes the pointer events: click at the bar's centre, as a user does.
    bar = chart.locator(".barlayer .point").nth(1).bounding_box()
    assert bar is not None
    centre = bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2
    _act(page, lambda: page.mouse.click(*centre))
    listed = i18n.t("drill.rows", "zh", what="黄金", n=f"{len(gold):,}")
    page.get_by_text(listed).wait_for()
    assert not exceptions(page), exceptions(page)
    screenshot(page, "drill_gold_list")

    grid = page.locator("[data-testid=stDataFrame]:visible").nth(1)  # the tier table is first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    # The row-selection column is the grid's first column; rows sit below a ~35 px header.
    _act(page, lambda: page.mouse.click(box["x"] + 18, box["y"] + 35 + 17))
    page.wait_for_url(re.compile(r"/customer\?"), timeout=60_000)
    wait_idle(page)
    assert f"id={gold[0]}" in page.url, page.url
    assert page.locator("h1").first.inner_text().strip() == i18n.t("customer.title", "zh")
    assert page.get_by_text(gold[0]).count() >= 1
    assert not exceptions(page), exceptions(page)
    screenshot(page, "drill_customer_360")

    # Sidebar search by the customer's Chinese name, from another page, finds and opens them.
    name = _customer_name(demo_db_file, gold[0])
    page = new_page(locale="zh-CN")
    open_app(page, fresh_server.url + "/pyramid?lang=zh", charts=True)
    search = page.get_by_label(i18n.t("customer.search", "zh"))
    search.fill(name)
    _act(page, lambda: search.press("Enter"))
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text(i18n.t("customer.pick", "zh")).wait_for()  # the matches' list
    assert sidebar.get_by_text(i18n.t("customer.no_match", "zh")).count() == 0
    # Choose the match: type into the select's search box and take the first (only) option.
    pick = sidebar.get_by_label(i18n.t("customer.pick", "zh"))
    pick.click()  # opens the list, no run
    pick.fill(gold[0])
    option = page.get_by_role("option").filter(has_text=f"{name} · {gold[0]}")
    option.first.wait_for()
    _act(page, lambda: pick.press("Enter"))
    page.wait_for_url(re.compile(rf"/customer\?id={gold[0]}"))
    assert not exceptions(page), exceptions(page)
