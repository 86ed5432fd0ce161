"""Concurrent sessions against a running app: page render times as a room of users sees them.

    python -m bench.sessions --sessions 1,8,20 --rounds 3          # the demo
    python -m bench.sessions --db bench/data/L/crm.duckdb --sessions 8 --rounds 2

Starts `streamlit run app.py` on 127.0.0.1 (sign-in off: a database without accounts) over a
private copy of the database, then for each count opens that many real Streamlit sessions over
the app's websocket (`/_stcore/stream`, the browser's own protocol), all at once. Each session
asks for every page in turn (`--pages`, default all), `--rounds` times, and times each render
from the request to the server's `script_finished` — server time plus the transfer of every
element, without a browser's drawing. It reports the median, p95 and max per count and the
pages rendered per second. Bounded: at most 50 sessions and `--timeout` seconds per render.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
# url paths of app.py's pages ("" = the default page, Overview); Data is left out (no reads).
PAGES = (
    "",
    "pyramid",
    "weekly",
    "churn_clv",
    "affinity",
    "channels",
    "lifecycle",
    "pipeline",
    "complaints",
    "customer",
    "present",
    "glossary",
)
MAX_SESSIONS = 50
EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    db_file: Path, port: int, log: Path, entry: str = "app.py"
) -> subprocess.Popen[bytes]:
    """`streamlit run <entry>` (app.py, or serve.py: the deployment entry point) over db_file on
    127.0.0.1:port, returned once it answers."""
    env = {**os.environ, "CRM_LENS_DB": str(db_file)}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        entry,
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the app did not start; see {log}")


def rerun(page: str) -> bytes:
    """The BackMsg a browser sends to run `page` (its url path)."""
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_name = page
    return msg.SerializeToString()


async def render(ws: Any, page: str, timeout: float) -> tuple[float, int, int, str | None]:
    """Ask for one page and wait for its end (a run that finishes early for a rerun is followed
    by that rerun): (seconds, elements received, bytes received, error or None)."""
    t0 = time.perf_counter()
    await ws.send(rerun(page))
    size = elements = 0
    error = None
    async with asyncio.timeout(timeout):
        while True:
            raw = await ws.recv()
            size += len(raw)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta":
                elements += 1
                if fwd.delta.new_element.WhichOneof("type") == "exception":
                    error = fwd.delta.new_element.exception.message[:200]
            if kind == "script_finished" and fwd.script_finished != EARLY:
                return time.perf_counter() - t0, elements, size, error


async def session(
    port: int, pages: list[str], rounds: int, timeout: float, start: asyncio.Event
) -> list[dict[str, Any]]:
    """One user: connect, then each page in turn, `rounds` times; one record per render."""
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    out = []
    # No client pings: a browser sends none (the server pings), and a process busy with a room
    # of renders would otherwise miss the client's 20 s pong deadline and lose the session.
    async with websockets.connect(
        url,
        subprotocols=["streamlit"],  # type: ignore[list-item]
        max_size=None,
        ping_interval=None,
    ) as ws:
        await start.wait()
        for r in range(rounds):
            for page in pages:
                try:
                    secs, elements, size, err = await render(ws, page, timeout)
                except TimeoutError:
                    secs, elements, size, err = timeout, 0, 0, "timeout"
                out.append(
                    {
                        "page": page or "overview",
                        "round": r,
                        "s": secs,
                        "elements": elements,
                        "bytes": size,
                        "error": err,
                    }
                )
    return out


async def room(port: int, n: int, pages: list[str], rounds: int, timeout: float) -> dict[str, Any]:
    """n sessions at once; every render's time, and the wall time of the whole room."""
    start = asyncio.Event()
    tasks = [asyncio.create_task(session(port, pages, rounds, timeout, start)) for _ in range(n)]
    await asyncio.sleep(0.5)  # every socket open before anyone asks
    t0 = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    renders = [r for rs in results for r in rs]
    return {"sessions": n, "wall_s": wall, "renders": renders}


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


def summary(run: dict[str, Any], skip_first: bool) -> dict[str, Any]:
    """Median / p95 / max render seconds and renders per second of one room."""
    rs = [r for r in run["renders"] if not (skip_first and r["round"] == 0)] or run["renders"]
    times = [r["s"] for r in rs]
    return {
        "sessions": run["sessions"],
        "renders": len(rs),
        "median_s": statistics.median(times),
        "p95_s": pct(times, 0.95),
        "max_s": max(times),
        "per_s": len(run["renders"]) / run["wall_s"],
        "errors": sorted({f"{r['page']}: {r['error']}" for r in run["renders"] if r["error"]}),
        "by_page_p95_s": {
            p: pct([r["s"] for r in rs if r["page"] == p], 0.95)
            for p in dict.fromkeys(r["page"] for r in rs)
        },
    }


def demo_db(directory: Path) -> Path:
    """A fresh demo database (python -m crm_core demo) in directory."""
    target = directory / "demo.duckdb"
    env = {**os.environ, "CRM_LENS_DB": str(target)}
    subprocess.run(
        [sys.executable, "-m", "crm_core", "demo"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="database to serve (a copy is used); default: the demo")
    ap.add_argument("--sessions", default="1,8,20", help="comma-separated session counts")
    ap.add_argument("--pages", default=",".join(p or "overview" for p in PAGES))
    ap.add_argument("--rounds", type=int, default=2, help="times each session visits every page")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds one render may take")
    ap.add_argument("--out", type=Path, help="write the summaries and raw renders as JSON")
    ap.add_argument(
        "--port",
        type=int,
        help="time an app already serving on 127.0.0.1:PORT (e.g. under a profiler, or several "
        "processes behind one port) instead of starting one",
    )
    ap.add_argument(
        "--keep-first",
        action="store_true",
        help="count the first round (cold caches) in the percentiles too",
    )
    a = ap.parse_args(argv)
    counts = [int(x) for x in a.sessions.split(",")]
    if any(not 1 <= n <= MAX_SESSIONS for n in counts):
        ap.error(f"session counts must be 1..{MAX_SESSIONS}")
    pages = ["" if p == "overview" else p for p in a.pages.split(",")]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        ap.error(f"unknown pages: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="crm_lens_sessions_") as tmp:
        tmpd = Path(tmp)
        server = None
        if a.port:
            port = a.port
        else:
            if a.db:
                db_file = tmpd / "served.duckdb"
                shutil.copy(a.db, db_file)
            else:
                db_file = demo_db(tmpd)
            port = free_port()
            server = start_server(db_file, port, tmpd / "server.log")
        try:
            out = []
            for n in counts:
                run = asyncio.run(room(port, n, pages, a.rounds, a.timeout))
                s = summary(run, skip_first=not a.keep_first and a.rounds > 1)
                out.append({"summary": s, "raw": run})
                errs = f"  errors: {'; '.join(s['errors'])}" if s["errors"] else ""
                print(
                    f"{n:3d} sessions: median {s['median_s']:.2f} s, p95 {s['p95_s']:.2f} s, "
                    f"max {s['max_s']:.2f} s, {s['per_s']:.1f} renders/s over {s['renders']} renders"
                    + errs,
                    flush=True,
                )
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
    if a.out:
        a.out.write_text(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
