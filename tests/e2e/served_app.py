"""The served app for browser tests: start/stop `streamlit run app.py`, app.py's page list, waits.

Every server gets its own copy of the demo database: the server process holds DuckDB's file
lock, so expectations are computed from the copy before the server starts.
"""

from __future__ import annotations

import ast
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench import browser as browser_bench

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
FAILURES = ARTIFACTS / "failures"
CHROMIUM, CHROMIUM_ARGS = browser_bench.CHROMIUM, browser_bench.CHROMIUM_ARGS  # one browser setup
STARTUP_TIMEOUT_S = 60
RUN_TIMEOUT_MS = 90_000  # a first run opens the database and compiles every query: be generous
LANG_LABEL = "语言 / Language"  # app.py's language switch: present only when app.py ran


@dataclass(frozen=True)
class AppPage:
    """One entry of app.py's PAGES, with the URL path Streamlit serves it at."""

    file: str
    title_key: str
    default: bool

    @property
    def name(self) -> str:
        return Path(self.file).stem

    @property
    def url_path(self) -> str:
        # The default page is served at "/", not at its url_path (docs: ../shared/NOTES.md).
        return "/" if self.default else f"/{self.name}"

    @property
    def has_charts(self) -> bool:
        """Whether the page draws plotly charts (directly or through ui.chart / ui.plot)."""
        src = (ROOT / self.file).read_text(encoding="utf-8")
        return any(call in src for call in ("plotly_chart", "ui.chart(", "ui.plot("))


def app_pages() -> list[AppPage]:
    """The pages registered in app.py's PAGES list, read from its source (not imported: app.py
    is a Streamlit script)."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets
        ):
            entries = ast.literal_eval(node.value)
            return [AppPage(e[0], e[1], n == 0) for n, e in enumerate(entries)]
    raise AssertionError("app.py has no PAGES list")


def require_browser() -> None:
    """Skip when chromium or playwright is missing, except in CI, which must run these tests."""
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = (
                "playwright is not installed (pip install playwright; never `playwright install`)"
            )
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {problem}", pytrace=False)
        pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `streamlit run app.py` on a private DuckDB file or a (shareable) server URL."""

    url: str
    db_path: Path | str
    proc: subprocess.Popen
    log_path: Path

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-n:])


@contextlib.contextmanager
def serve(
    db_path: Path | str,
    name: str,
    script: str = "app.py",
    port: int | None = None,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """Start the app on `db_path` (cwd = repo root), wait for health, kill its group at the end.
    `script` is app.py, or serve.py (the deployment entry point: app.py with security headers).

    `db_path` is anything CRM_LENS_DB accepts: a DuckDB file, or a postgresql:// URL that several
    servers may share. `port` (default: a free one) and further `streamlit run` options (e.g.
    `--secrets.files`) serve tests that must know the URL before the start."""
    port = port or free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Each pytest-xdist worker has its own "shared" server: one log file each.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    log_path = ARTIFACTS / f"server-{name}{f'-{worker}' if worker else ''}.log"
    env = dict(os.environ, CRM_LENS_DB=str(db_path), PYTHONUNBUFFERED="1")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        # Other engineers edit files in this tree while tests run: no reruns on save.
        "--server.fileWatcherType",
        "none",
        *args,
    ]
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", db_path, proc, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {STARTUP_TIMEOUT_S} s")
            time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def demo_copy(demo_db_file: Path, directory: Path, name: str) -> Path:
    """A private copy of the session's demo database."""
    dst = directory / f"{name}.duckdb"
    shutil.copy(demo_db_file, dst)
    return dst


# Counts script runs as they start (bench/browser.py holds the one copy and says how).
RUN_COUNTER_JS = browser_bench.RUN_COUNTER_JS

# True once a run started after `after` runs, and the app is connected, not running, shows no
# status widget and no element still loading its code (the stSkeleton placeholder of a lazily
# loaded widget: select boxes, tables, the uploader; slow on a busy machine) for 500 ms in a row:
# a run that reruns itself (the deep-link guard, a widget callback) passes through short idle gaps.
_IDLE_JS = """(after) => {
    const app = document.querySelector('[data-testid=stApp]');
    const idle = app !== null && (window.__crmRuns || 0) > after
        && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector('[data-testid=stStatusWidget]') === null
        && document.querySelector('[data-testid="stSkeleton"]') === null;
    if (!idle) { window.__crmIdleSince = null; return false; }
    window.__crmIdleSince = window.__crmIdleSince || Date.now();
    return Date.now() - window.__crmIdleSince > 500;
}"""


def runs(page: Any) -> int:
    """How many script runs this page has seen start (pass to wait_idle before an action)."""
    return int(page.evaluate("() => window.__crmRuns || 0"))


def wait_idle(page: Any, after: int = 0, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until a run started after the `after`-th has finished, and stayed finished."""
    page.evaluate("() => { window.__crmIdleSince = null; }")
    page.wait_for_function(_IDLE_JS, arg=after, timeout=timeout_ms, polling=100)


def open_app(page: Any, url: str, charts: bool = False) -> None:
    """Go to `url` and wait for its run to finish (and for a chart when the page draws some)."""
    page.goto(url)
    wait_idle(page)
    if charts:  # "attached": charts in a tab that is not shown are drawn too, but hidden
        page.wait_for_selector(".js-plotly-plot", state="attached")


# What keeps a page from being idle (_IDLE_JS): the app's run and connection state, the status
# widget's text, elements still loading, and how many runs the page has seen start.
_BUSY_JS = """() => {
    const app = document.querySelector('[data-testid=stApp]');
    const status = document.querySelector('[data-testid=stStatusWidget]');
    return {
        script: app && app.getAttribute('data-test-script-state'),
        connection: app && app.getAttribute('data-test-connection-state'),
        status: status && status.innerText,
        skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
        runs: window.__crmRuns || 0,
    };
}"""


def busy(page: Any) -> dict[str, Any]:
    """Why `page` is not idle now (for the message of a run that did not end)."""
    return dict(page.evaluate(_BUSY_JS))


def stacks(servers: Sequence[Server]) -> str:
    """Every server's Python thread stacks (py-spy dump), for the message of a run that hung."""
    out = []
    for i, server in enumerate(servers):
        try:
            done = subprocess.run(
                ["py-spy", "dump", "--pid", str(server.proc.pid)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            text = done.stdout + done.stderr
        except (OSError, subprocess.TimeoutExpired) as e:
            text = f"py-spy: {e}"
        out.append(f"--- server {i} (pid {server.proc.pid}) threads:\n{text}")
    return "\n".join(out)


def pg_activity(url: str) -> str:
    """What every PostgreSQL backend of the database does now (pg_stat_activity), and who waits
    for whom: for the message of a run that hung on a PostgreSQL server."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as c:
            rows = c.execute(
                "SELECT pid, pg_blocking_pids(pid), state, wait_event_type, wait_event, "
                "now() - xact_start, left(query, 120) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY pid"
            ).fetchall()
            locks = c.execute(
                "SELECT pid, locktype, objid, mode, granted FROM pg_locks "
                "WHERE locktype = 'advisory' ORDER BY pid"
            ).fetchall()
    except Exception as e:  # the diagnosis never hides the failure it explains
        return f"pg_stat_activity: {e!r}"
    lines = ["--- pg_stat_activity (pid, blocked by, state, wait, xact age, query):"]
    lines += [repr(r) for r in rows]
    lines += ["--- advisory locks (pid, type, objid, mode, granted):", *map(repr, locks)]
    return "\n".join(lines)


def exceptions(page: Any) -> list[str]:
    """Texts of the Streamlit exception boxes on the page."""
    return page.locator("[data-testid=stException]").all_inner_texts()


def screenshot(page: Any, name: str) -> Path:
    """A screenshot of the whole app under tests/artifacts/screenshots/<name>.png.

    Streamlit scrolls inside its own containers, so a "full page" screenshot of the document is
    only the viewport: grow the viewport to the content's height first.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        """() => Math.max(...['[data-testid=stMain]', '[data-testid=stMainBlockContainer]',
                             '[data-testid=stSidebarContent]', 'body']
            .map(s => document.querySelector(s)).filter(e => e).map(e => e.scrollHeight))"""
    )
    size = page.viewport_size or {"width": 1440, "height": 1000}
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 8000)})
    page.wait_for_timeout(300)  # let plotly re-layout to the new size
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def metric_values(page: Any) -> dict[str, str]:
    """st.metric label -> shown value."""
    out = {}
    for m in page.locator("[data-testid=stMetric]").all():
        label = m.locator("[data-testid=stMetricLabel]").inner_text().strip()
        out[label] = m.locator("[data-testid=stMetricValue]").inner_text().strip()
    return out
