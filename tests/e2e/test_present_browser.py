"""Presentation mode in a browser: fits a projector's screen, pages with keys and remotes."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from e2e.served_app import Server, exceptions, open_app, wait_idle

pytestmark = pytest.mark.e2e

_TITLE = "[data-testid=stHeading] h1"
_COUNTER_JS = "() => document.body.innerText.match(/第 (\\d+) \\/ (\\d+) 页/)?.[1] || null"


def _slide(page: Any) -> int:
    return int(page.evaluate(_COUNTER_JS))


def _press(page: Any, key: str, expected: int) -> float:
    """Press `key`; the seconds until the counter shows slide `expected` and its chart is drawn."""
    old = page.locator(_TITLE).first.inner_text()
    start = time.perf_counter()
    page.keyboard.press(key)
    page.wait_for_function(
        "([n, old]) => {"
        f"  const m = ({_COUNTER_JS})();"
        f"  const h = document.querySelector('{_TITLE}');"
        "  return m === String(n) && h && h.innerText !== old"
        "    && document.querySelector('.js-plotly-plot .main-svg');"
        "}",
        arg=[expected, old],
        polling="raf",
    )
    return time.perf_counter() - start


def _in_view(page: Any, selector: str, width: int, height: int) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= width + 1 and box["y"] + box["height"] <= height + 1, (
        selector,
        box,
    )


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_present_fits_and_pages_with_keys(
    width: int, height: int, server: Server, new_page: Any
) -> None:
    page = new_page()
    page.set_viewport_size({"width": width, "height": height})
    open_app(page, f"{server.url}/present?lang=zh", charts=True)
    assert not exceptions(page)
    assert _slide(page) == 1
    # Everything a presenter needs is on screen without scrolling: the way out, both buttons,
    # the counter and the whole chart.
    for selector in (
        "[data-testid=stPageLink] a",
        ".st-key-slide_prev button",
        ".st-key-slide_next button",
        _TITLE,
        ".js-plotly-plot",
    ):
        _in_view(page, selector, width, height)
    assert page.locator("[data-testid=stPageLink] a").inner_text().strip().endswith("退出演示")
    # The PageUp / PageDown twins are not shown.
    assert not page.locator(".st-key-slide_pagedown button").is_visible()

    timings = [
        _press(page, "ArrowRight", 2),
        _press(page, "PageDown", 3),
        _press(page, "ArrowLeft", 2),
        _press(page, "PageUp", 1),
        _press(page, "ArrowRight", 2),
        _press(page, "ArrowRight", 3),
    ]
    wait_idle(page)
    assert not exceptions(page)
    # Reported, not asserted: the box is shared and noisy (the target is under 300 ms).
    print(
        f"\nslide change at {width}x{height}: median {statistics.median(timings) * 1000:.0f} ms, "
        f"max {max(timings) * 1000:.0f} ms over {len(timings)} key presses"
    )
    assert "slide=3" in page.url

    page.locator("[data-testid=stPageLink] a").click()
    page.wait_for_url(lambda url: "/present" not in url and "slide=" not in url)
    wait_idle(page)
    assert "lang=zh" in page.url
    assert page.locator("[data-testid=stSidebar]").is_visible()
