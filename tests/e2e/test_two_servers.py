"""Browser end-to-end on PostgreSQL: two `streamlit run app.py` servers on one database, both
serving the Overview while an append load commits (docs/backends.md, "Concurrency on
PostgreSQL").

tests/test_backends.py::test_two_app_processes_while_a_load_commits checks the same with plain
reader processes, query by query; this test goes through the real app: server processes, their
sessions, app.py's sidebar, the page and its charts, as a browser shows them.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crm_core import ingest
from crm_core.engine import db, summaries
from crm_core.metrics import overview
from crm_core.present import i18n
from e2e.served_app import (
    RUN_TIMEOUT_MS,
    Server,
    busy,
    exceptions,
    pg_activity,
    serve,
    stacks,
    wait_idle,
)

pytestmark = pytest.mark.e2e

LANG = "en"
UCI_SAMPLE = Path("uci_online_retail") / "online_retail_40k_line_sample.csv"
HOLD_TIMEOUT_S = 60  # the load waits at most this long for the test to let it commit
ROUNDS_IN_TRANSACTION = 2  # renders per server while the load's transaction is open
CHARTS = 2  # the Overview's revenue and new-customers charts
CHART_TIMEOUT_MS = 15_000
# A render under way at the commit waits for it, then computes every figure of the new data and
# runs again when the stale check sees the commit: on a machine shared with other test workers
# (a Spark JVM, browsers) that is two cold renders in a row.
COMMIT_RUN_TIMEOUT_MS = 3 * RUN_TIMEOUT_MS


def _tile(x: Any) -> str:
    """A number as an English metric tile shows it (ui.metric: i18n.fmt_compact, 481M)."""
    return i18n.fmt_compact(x, LANG)


@dataclass(frozen=True)
class Data:
    """What the Overview reads: the order date range (ui.sidebar's own statement), the KPIs of
    the default period and of the period before."""

    first: Any
    last: Any
    now: tuple[tuple[str, Any], ...]
    previous: tuple[tuple[str, Any], ...]


def read_data(con: db.Connection) -> Data:
    rng = overview.data_range(con)
    period = overview.default_period(con)
    assert rng is not None and period is not None
    now = overview.headline_kpis(con, period)
    before = overview.headline_kpis(con, period.previous())
    return Data(rng[0], rng[1], tuple(now.items()), tuple(before.items()))


@dataclass(frozen=True)
class View:
    """The numbers one finished Overview render shows: the KPI tiles' values (one statement),
    their deltas against the period before, and the sidebar's date range."""

    kpis: tuple[tuple[str, str], ...]
    deltas: tuple[tuple[str, str], ...]
    date_range: str


def view(rng: Data, now: Data, previous: Data) -> View:
    """The View of these statement results, formatted as the page formats them (ui.kpi_row,
    ui.sidebar)."""
    kpis, deltas = [], []
    for (kpi, value), (kpi_before, before) in zip(now.now, previous.previous, strict=True):
        assert kpi == kpi_before
        label = i18n.t(f"overview.{kpi}", LANG)
        kpis.append((label, _tile(value)))
        # A figure that cannot change (all customers on file) shows no delta (ui.kpi_row).
        show = before and overview.delta_color(kpi) != "off"
        deltas.append((label, _tile(float(value) - float(before)) if show else ""))
    date_range = i18n.t(
        "sidebar.range",
        LANG,
        first=i18n.fmt_date(rng.first, LANG),
        last=i18n.fmt_date(rng.last, LANG),
    )
    return View(tuple(kpis), tuple(deltas), date_range)


@dataclass
class Render:
    """One finished render of the Overview, in a new session of one server."""

    server: int
    view: View
    charts: int
    errors: list[str]


def _shown(page: Any) -> View:
    kpis, deltas = [], []
    # The KPI row only (the forecast section below it has tiles of its own).
    headline = {i18n.t(f"overview.{k}", LANG) for k in overview.KPI_NAMES}
    for m in page.locator("[data-testid=stMetric]").all():
        label = m.locator("[data-testid=stMetricLabel]").inner_text().strip()
        if label not in headline:
            continue
        kpis.append((label, m.locator("[data-testid=stMetricValue]").inner_text().strip()))
        delta = m.locator("[data-testid=stMetricDelta]")
        deltas.append((label, delta.inner_text().strip() if delta.count() else ""))
    prefix = i18n.t("sidebar.range", LANG).split("{", 1)[0]
    captions = page.locator("[data-testid=stSidebar] [data-testid=stCaptionContainer]")
    ranges = [c.strip() for c in captions.all_inner_texts() if c.strip().startswith(prefix)]
    return View(tuple(kpis), tuple(deltas), ranges[0] if len(ranges) == 1 else repr(ranges))


def open_all(pages: list[Any], servers: list[Server]) -> None:
    """Open the Overview in a new session on every server; the runs go on at the same time."""
    for page, server in zip(pages, servers, strict=True):
        page.goto(f"{server.url}/?lang={LANG}")  # returns at the HTML's load, not the run's end


def finish_all(
    pages: list[Any], logs: Any = None, timeout_ms: int = RUN_TIMEOUT_MS, diagnose: Any = None
) -> list[Render]:
    """Wait for each page's run to end and plotly to draw its charts (it draws after the run);
    what each page shows then. A run that never ends fails with its server's log and what
    `diagnose()` says (every server's thread stacks, the database's sessions and locks)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    out = []
    for i, page in enumerate(pages):
        try:
            wait_idle(page, timeout_ms=timeout_ms)
        except PlaywrightTimeout:
            state = diagnose() if diagnose else ""  # first: while it still hangs
            state = f"--- page: {busy(page)}\n{state}"
            shown = page.locator("[data-testid=stApp]").inner_text()[-1500:]
            log = logs()[i][-5000:] if logs else ""
            raise AssertionError(
                f"server {i}: run did not end\n{shown}\n--- log:\n{log}\n{state}"
            ) from None
        with contextlib.suppress(PlaywrightTimeout):  # too few charts: _check says so
            page.wait_for_function(
                f"() => document.querySelectorAll('.js-plotly-plot').length >= {CHARTS}",
                timeout=CHART_TIMEOUT_MS,
            )
        charts = page.locator(".js-plotly-plot").count()
        out.append(Render(i, _shown(page), charts, exceptions(page)))
    return out


def _check(renders: list[Render], logs: list[str]) -> None:
    for r in renders:
        assert not r.errors, (r.server, r.errors, logs[r.server][-3000:])
        assert r.charts >= CHARTS, (r.server, r.charts, logs[r.server][-3000:])


@pytest.mark.slow
def test_two_app_servers_while_a_load_commits(
    pg_url: str, shared_data: Path, new_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = shared_data / UCI_SAMPLE
    con = db.connect(pg_url)
    ingest.load_demo(con)
    old_data = read_data(con)
    old = view(old_data, old_data, old_data)

    # The load stops inside its transaction once the orders are rewritten and before the
    # summaries are rebuilt, until the test lets it go on: renders meet an open write.
    # An append refreshes the summaries by merging (summaries.refresh_append).
    in_transaction, go_on = threading.Event(), threading.Event()
    refresh = summaries.refresh_append

    def held_refresh(c: db.Connection, undo: str | None) -> None:
        in_transaction.set()
        go_on.wait(HOLD_TIMEOUT_S)
        refresh(c, undo)

    monkeypatch.setattr(summaries, "refresh_append", held_refresh)
    failure: list[BaseException] = []

    def load() -> None:
        try:
            ingest.load(con, [ingest.Source(src, "orders")], "append")
        except BaseException as e:
            failure.append(e)

    loader = threading.Thread(target=load, name="append-load", daemon=True)
    during: list[Render] = []
    at_commit: list[Render] = []
    after: list[Render] = []
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(serve(pg_url, f"pg-{i}")) for i in range(2)]
        stack.callback(go_on.set)  # on any failure, first let the load go on

        def logs() -> list[str]:
            return [s.log_path.read_text(encoding="utf-8", errors="replace") for s in servers]

        def diagnose() -> str:
            return f"{stacks(servers)}\n{pg_activity(pg_url)}"

        pages = [new_page() for _ in servers]
        # First renders (each server opens its pool, translates the page's SQL): the old data.
        open_all(pages, servers)
        before = finish_all(pages, logs, diagnose=diagnose)
        _check(before, logs())
        assert [r.view for r in before] == [old, old]

        loader.start()
        assert in_transaction.wait(HOLD_TIMEOUT_S), failure
        for _ in range(ROUNDS_IN_TRANSACTION):
            open_all(pages, servers)
            during += finish_all(pages, logs, diagnose=diagnose)
        # Renders under way on both servers while the load rebuilds the summaries and commits.
        open_all(pages, servers)
        go_on.set()
        at_commit += finish_all(pages, logs, COMMIT_RUN_TIMEOUT_MS, diagnose)
        loader.join(HOLD_TIMEOUT_S)
        assert not loader.is_alive() and not failure, failure
        open_all(pages, servers)  # started after the commit
        after += finish_all(pages, logs, diagnose=diagnose)
        server_logs = logs()
    new_data = read_data(con)
    new = view(new_data, new_data, new_data)

    # The append shows on the page: the UCI orders (2010–2011) lie before the default period
    # (the demo's last 12 months), so its revenue stays; the known customers and the order
    # date range grow.
    assert new.kpis != old.kpis and new.date_range != old.date_range, new
    for renders in (during, at_commit, after):
        _check(renders, server_logs)
    for log in server_logs:
        assert "Traceback" not in log, log[-5000:]
    # An open, uncommitted load is invisible to both servers: every number is the old one.
    assert [r.view for r in during] == [old] * len(during)
    # After the commit both servers show the new data, every number of it.
    assert [r.view for r in after] == [new, new]
    # A render under way at the commit: each statement reads committed data, old or new, never
    # half of a load. A render is several statements on PostgreSQL (docs/backends.md), so its
    # sidebar and its tiles can come from either side (and the deltas too, where the period
    # before is read by a statement of its own).
    allowed = {view(*d) for d in itertools.product((old_data, new_data), repeat=3)}
    for r in at_commit:
        assert r.view.kpis in (old.kpis, new.kpis), r
        assert r.view.date_range in (old.date_range, new.date_range), r
        assert r.view in allowed, r
