"""Browser fixtures: headless Debian chromium, and app servers on private demo databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.served_app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FAILURES,
    RUN_COUNTER_JS,
    RUN_TIMEOUT_MS,
    Server,
    demo_copy,
    require_browser,
    serve,
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """A factory of pages, each in a fresh browser context (own cookies, own Streamlit session).
    A failing test leaves screenshots of its pages in tests/artifacts/failures/."""
    contexts: list[Any] = []

    def make(locale: str = "en-US") -> Any:
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale=locale)
        ctx.set_default_timeout(RUN_TIMEOUT_MS)
        ctx.add_init_script(RUN_COUNTER_JS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    failed = request.node.stash.get(_FAILED, False)
    for i, ctx in enumerate(contexts):
        if failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            for j, page in enumerate(ctx.pages):
                page.screenshot(path=str(FAILURES / f"{request.node.name}-{i}-{j}.png"))
        ctx.close()


@pytest.fixture(scope="session")
def server(demo_db_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One app server shared by the read-only tests (nothing may change its data)."""
    require_browser()
    with serve(demo_copy(demo_db_file, tmp_path_factory.mktemp("e2e"), "shared"), "shared") as s:
        yield s


@pytest.fixture
def fresh_server(
    demo_db_file: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """A server of its own, just started, on a private database copy the test may change."""
    require_browser()
    with serve(demo_copy(demo_db_file, tmp_path, "fresh"), request.node.name) as s:
        yield s
