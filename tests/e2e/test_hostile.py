"""Browser: hostile cell values and file names show as plain text on every page and tab, and
the deployment entry point (serve.py) sends security headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_core.app.web import SECURITY_HEADERS
from crm_core.present.text import WORD_JOINER
from e2e.served_app import Server, app_pages, exceptions, open_app, runs, serve, wait_idle

pytestmark = pytest.mark.e2e

# Links and images to evil.example anywhere in the document: HTML anchors and images, and the
# <a xlink:href> / <image> elements Plotly draws inside its SVG charts.
_EVIL_JS = """() => {
    const bad = [];
    for (const el of document.querySelectorAll('a, img, image, iframe, object')) {
        const refs = [el.getAttribute('href'), el.getAttribute('src'),
                      el.getAttributeNS('http://www.w3.org/1999/xlink', 'href'),
                      el.getAttribute('data')];
        if (refs.some(r => r && r.includes('evil.example'))) bad.push(el.outerHTML.slice(0, 200));
    }
    return bad;
}"""


def _text(page: Any, testid: str) -> str:
    """The visible text of an element (word joiners, which stop autolinks, removed)."""
    return page.locator(f"[data-testid={testid}]").inner_text().replace(WORD_JOINER, "")


@pytest.fixture(scope="module")
def hostile_server(
    hostile_db_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    import shutil

    from e2e.served_app import require_browser

    require_browser()
    db_copy = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    shutil.copy(hostile_db_file, db_copy)
    with serve(db_copy, "hostile", script="serve.py") as s:
        yield s


def test_hostile_text_is_plain_on_every_page_and_tab(hostile_server: Server, new_page: Any) -> None:
    page = new_page()
    for p in app_pages():
        # Channel return draws its chart only with a spend file: the hostile data has none.
        charts = p.has_charts and p.name != "channels"
        open_app(page, hostile_server.url + p.url_path + "?lang=en", charts=charts)
        assert not exceptions(page), (p.file, exceptions(page))
        assert page.evaluate(_EVIL_JS) == [], p.file
        tabs = page.locator("[data-testid=stTab]")
        for i in range(tabs.count()):
            before = runs(page)
            tabs.nth(i).click()
            page.wait_for_timeout(300)  # tabs switch without a run; charts re-lay out
            if runs(page) > before:
                wait_idle(page, before)
            assert page.evaluate(_EVIL_JS) == [], (p.file, i)
        # The payloads are there, as text: the sidebar names the last load's file.
        assert "[Session expired](https://evil.example/f).csv" in _text(page, "stSidebar")


def test_a_hostile_region_in_the_url_is_plain_text(hostile_server: Server, new_page: Any) -> None:
    page = new_page()
    url = (
        hostile_server.url + "/?lang=en&region=%5BSession%20expired%5D(https%3A%2F%2Fevil.example)"
    )
    open_app(page, url, charts=False)
    assert page.evaluate(_EVIL_JS) == []
    assert "[Session expired](https://evil.example)" in _text(page, "stSidebar")


def test_serve_py_sends_security_headers(hostile_server: Server, new_page: Any) -> None:
    page = new_page()
    response = page.goto(hostile_server.url + "/")
    assert response is not None
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name.lower()) == value, name
    wait_idle(page)
    assert not exceptions(page)
