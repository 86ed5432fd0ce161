"""Browser end-to-end: sign-in on a served app with built-in accounts (docs/security.md)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from crm_core.app import auth
from crm_core.engine import db
from e2e.served_app import (
    app_pages,
    demo_copy,
    exceptions,
    metric_values,
    open_app,
    require_browser,
    runs,
    screenshot,
    serve,
    wait_idle,
)

pytestmark = pytest.mark.e2e

PAGES = app_pages()
# The Data page first: the very first request after the start is a deep link to the uploader.
DEEP_FIRST = sorted(PAGES, key=lambda p: p.name != "data")
ACCOUNTS = {  # name: (role, password, regions)
    "boss": ("admin", "boss-password-1", ()),
    "east": ("viewer", "east-password-1", ("华东",)),
}


def _accounts_db(demo_db_file: Path, directory: Path, name: str) -> Path:
    path = demo_copy(demo_db_file, directory, name)
    con = db.connect(path)
    for user, (role, password, regions) in ACCOUNTS.items():
        auth.add_user(con, user, role, password, regions=regions)
    con.execute("DELETE FROM audit_log")
    con.close()
    return path


def _assert_no_data(page: Any, where: str) -> None:
    assert not exceptions(page), (where, exceptions(page))
    assert page.locator("input[type=password]").count() == 1, f"{where}: no sign-in form"
    for selector in (
        "[data-testid=stMetric]",
        "[data-testid=stDataFrame]",
        ".js-plotly-plot",
        "input[type=file]",
        "[data-testid=stSidebarNav]",
        "[data-testid=stDateInput]",
    ):
        assert page.locator(selector).count() == 0, f"{where}: {selector} shown"
    assert page.get_by_text(".duckdb").count() == 0, f"{where}: database caption shown"


def _sign_in(page: Any, name: str, password: str, ok: bool = True) -> None:
    page.get_by_label("User name").fill(name)
    page.locator("input[type=password]").fill(password)
    n = runs(page)
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page, after=n)
    if ok:
        # A sign-in reruns the app: on a busy machine the gap between the two runs can outlast
        # wait_idle's quiet time. Signed in, the form is gone once the rerun has drawn.
        page.locator("input[type=password]").wait_for(state="detached")
        wait_idle(page, after=n)


def test_anonymous_deep_links_show_only_the_sign_in_form(
    demo_db_file: Path, tmp_path: Path, new_page: Any
) -> None:
    require_browser()
    path = _accounts_db(demo_db_file, tmp_path, "anonymous")
    with serve(path, "auth-anonymous") as server:
        for app_page in DEEP_FIRST:  # each page the first URL of a fresh browser session
            page = new_page()
            open_app(
                page, f"{server.url}{app_page.url_path}?lang=en&region=" + "%E5%8D%8E%E4%B8%9C"
            )
            _assert_no_data(page, app_page.url_path)
        screenshot(page, "sign_in_form")


def test_wrong_password_viewer_scope_and_the_audit_log(
    demo_db_file: Path, tmp_path: Path, new_page: Any
) -> None:
    require_browser()
    path = _accounts_db(demo_db_file, tmp_path, "accounts")
    region = urllib.parse.quote("华东")
    with serve(path, "auth-accounts") as server:
        # A wrong password shows an error and nothing else, on a deep link.
        page = new_page()
        open_app(page, f"{server.url}/pyramid?lang=en")
        _sign_in(page, "boss", "wrong-password", ok=False)
        _assert_no_data(page, "wrong password")
        assert "Wrong user name or password." in page.get_by_role("alert").all_inner_texts()[0]

        # The admin's Overview under the region filter ...
        admin = new_page()
        open_app(admin, f"{server.url}/?lang=en&region={region}")
        _sign_in(admin, "boss", "boss-password-1")
        admin.wait_for_selector(".js-plotly-plot")
        filtered = metric_values(admin)
        assert set(filtered) >= {"Revenue", "Orders", "Customers"}

        # ... is what the region-scoped viewer sees with no filter at all.
        viewer = new_page()
        open_app(viewer, f"{server.url}/data?lang=en")
        _sign_in(viewer, "east", "east-password-1")
        assert viewer.locator("h1").first.inner_text().strip() == "Data"
        assert viewer.locator("input[type=file]").count() == 0, "a viewer reached the uploader"
        assert viewer.get_by_text("Your role (viewer) can read and export").count() == 1
        assert viewer.get_by_text("Audit log").count() == 0
        screenshot(viewer, "data_as_viewer")
        n = runs(viewer)
        viewer.locator("[data-testid=stSidebarNav]").get_by_text("Overview", exact=True).click()
        wait_idle(viewer, after=n)
        viewer.wait_for_selector(".js-plotly-plot")
        assert metric_values(viewer) == filtered
        assert not exceptions(viewer) and not exceptions(admin)
        screenshot(viewer, "overview_as_region_viewer")
        # A viewer exports within the scope; the export is audited.
        n = runs(viewer)
        nav = viewer.locator("[data-testid=stSidebarNav]")
        nav.get_by_text("Weekly report", exact=True).click()
        wait_idle(viewer, after=n)
        with viewer.expect_download() as download:
            viewer.get_by_role("button", name="Download CSV").first.click()
        assert download.value.suggested_filename.startswith("weekly-")
    # The server is gone (DuckDB: one process per file): read what it recorded.
    con = db.connect(path, read_only=True)
    log = auth.audit_log(con)
    con.close()
    exports = log[log["action"] == "export"]
    assert exports["actor"].tolist() == ["east"]
    assert exports["detail"].iloc[0].startswith("table weekly-") and exports["rows"].iloc[0] > 0
    assert sorted(
        log[log["action"] != "export"][["actor", "action", "detail"]].values.tolist()
    ) == [
        ["boss", "sign_in", "password"],
        ["boss", "sign_in_failed", "wrong password (1 in a row)"],
        ["east", "sign_in", "password"],
    ]
