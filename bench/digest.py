"""Time the Monday run: build and deliver 200 weekly digests, and the dry run beside it.

    python -m bench.digest                       # 200 accounts, demo data, a fresh temp database
    python -m bench.digest --recipients 50 --db /tmp/x.duckdb

The accounts' scopes are every region, every owner and region x owner pairs, in turn (so many
recipients share a scope, as managers of one region do), half in Chinese, half in English.
Half get their digest by email, through a local STARTTLS SMTP sink (aiosmtpd, 127.0.0.1, a
throwaway self-signed certificate) with the chart inline and the PDF attached; the other half by
group webhook (WeCom, DingTalk and Feishu formats in turn) to a local HTTP receiver (127.0.0.1).

Each timed row is the CLI as cron runs it, `python -m crm_core digest --all ...`, in a child
process (imports, database, Chromium and all): wall time, the CPU time of the child and of
everything it started (resource.getrusage(RUSAGE_CHILDREN): Python, DuckDB's threads, the
Chromium of the chart images and of the PDFs), and the 1-minute load average. The child also
reports where its time went, per stage (thread-seconds: stages running on two threads add up to
more than the wall time). The receivers run in this process; their CPU is shown apart.

Rows: `dry-run` (`--dry-run --json`: every digest built, nothing drawn or sent) and `send`
(everything built, drawn, printed and delivered; every message must arrive). The last line is
the verdict: target 200 recipients delivered in under 60 s wall (bench/RESULTS.md, "Weekly
digest").
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crm_core import ingest
from crm_core.app import auth
from crm_core.engine import db

TARGET_S = 60.0
FORMATS = ("wecom", "dingtalk", "feishu")
HOOK = "bench"  # the group webhook's name: its URL comes from $CRM_LENS_WEBHOOK_BENCH


def _scopes(con: db.Connection) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    regions = [
        r for (r,) in con.execute("SELECT DISTINCT region FROM customers ORDER BY 1").fetchall()
    ]
    owners = [
        o for (o,) in con.execute("SELECT DISTINCT owner FROM customers ORDER BY 1").fetchall()
    ]
    regions = [r for r in regions if r]
    owners = [o for o in owners if o]
    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = [((), ())]
    out += [((r,), ()) for r in regions]
    out += [((), (o,)) for o in owners]
    out += [((r,), (o,)) for r, o in itertools.product(regions, owners)]
    return out


def channel_of(n: int) -> str:
    """Recipient n's channel: pairs of recipients (one Chinese, one English) alternate between
    email and webhook, so each language has both."""
    return "email" if (n // 2) % 2 == 0 else "webhook"


def setup(path: Path, recipients: int) -> int:
    """A demo database at `path` with `recipients` accounts, each with one channel; the number
    of distinct scopes among them."""
    con = db.connect(path)
    ingest.load_demo(con)
    scopes = _scopes(con)
    used = set()
    for n in range(recipients):
        regions, owners = scopes[n % len(scopes)]
        used.add((regions, owners))
        name = f"m{n:03d}"
        auth.add_user(con, name, "viewer", None, regions, owners, actor="bench")
        lang = "zh" if n % 2 == 0 else "en"
        if channel_of(n) == "email":
            d = auth.Delivery(email=f"{name}@example.com", lang=lang)
        else:
            fmt = FORMATS[(n // 4) % len(FORMATS)]
            d = auth.Delivery(webhook=HOOK, webhook_format=fmt, lang=lang)
        auth.set_delivery(con, name, d, actor="bench")
    con.close()
    return len(used)


# --------------------------------------------------------------------------- the receivers


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 valid for two hours (the local STARTTLS sinks of the
    bench and the digest tests)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Received:
    """What the sinks got: emails (with their PNG and PDF parts counted) and webhook bodies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.emails: list[bytes] = []
        self.hooks: list[dict[str, Any]] = []

    def summary(self) -> dict[str, int]:
        with self.lock:
            kinds = Counter(str(b.get("msgtype") or b.get("msg_type") or "?") for b in self.hooks)
            return {
                "emails": len(self.emails),
                "emails_with_png": sum(b"Content-Type: image/png" in m for m in self.emails),
                "emails_with_pdf": sum(b"Content-Type: application/pdf" in m for m in self.emails),
                "webhook_posts": len(self.hooks),
                **{f"webhook_{k}": v for k, v in sorted(kinds.items())},
            }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def receivers(tmp: Path) -> Iterator[tuple[dict[str, str], Received]]:
    """A STARTTLS SMTP sink and an HTTP webhook receiver on 127.0.0.1; the environment that
    points the digest at them, and what they received."""
    from aiosmtpd.controller import Controller

    got = Received()
    cert, key = self_signed(tmp)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with got.lock:
                got.emails.append(envelope.content)
            return "250 OK"

    class Hook(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            n = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(n))
            with got.lock:
                got.hooks.append(body)
            reply = b'{"errcode":0,"errmsg":"ok","code":0}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    smtp = Controller(
        Keep(),
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=tls,
        require_starttls=True,
        data_size_limit=0,
    )
    smtp.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    env = {
        "CRM_LENS_SMTP": f"127.0.0.1:{smtp.port}",
        "CRM_LENS_SMTP_CAFILE": str(cert),
        "CRM_LENS_SMTP_FROM": "crm@example.com",
        f"CRM_LENS_WEBHOOK_{HOOK.upper()}": f"http://127.0.0.1:{http.server_address[1]}/hook",
    }
    try:
        yield env, got
    finally:
        http.shutdown()
        http.server_close()
        smtp.stop()


# --------------------------------------------------------------------------- the child


def _stages() -> dict[str, list[float]]:
    """Wrap the digest's stages so each reports its wall and thread CPU seconds (summed over
    threads): figures (weekly figures and overdue leads), explain, churn fit (the at-risk
    call list), image, PDF, send. Returns the dict the wrappers fill: stage -> [wall, cpu,
    calls]."""
    from crm_core.app.digest import compose, render, transport
    from crm_core.metrics import explain, weekly

    times: dict[str, list[float]] = {}
    lock = threading.Lock()

    def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
                with lock:
                    row = times.setdefault(stage, [0.0, 0.0, 0])
                    row[0] += wall
                    row[1] += cpu
                    row[2] += 1

        return run

    weekly.weekly_comparison = timed("figures", weekly.weekly_comparison)  # type: ignore[assignment]
    compose.overdue_leads = timed("figures", compose.overdue_leads)  # type: ignore[assignment]
    explain.explain_all = timed("explain", explain.explain_all)  # type: ignore[assignment]
    compose.at_risk_customers = timed("churn fit", compose.at_risk_customers)  # type: ignore[assignment]
    for module, name, stage in (
        (render, "chart_image", "image"),
        (render, "digest_pdf", "PDF"),
        (transport, "send_email", "send"),
        (transport, "send_webhook", "send"),
    ):
        if hasattr(module, name):
            setattr(module, name, timed(stage, getattr(module, name)))
    return times


def child(argv: list[str], out: Path) -> int:
    """Run the CLI with `argv` in this process with stage timers; write the stages to `out`."""
    import contextlib
    import io

    from crm_core.__main__ import main as cli

    times = _stages()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        code = cli(argv)
    from crm_core.present import images

    if images._started:
        # End the chart images' Chromium here, so that its CPU time is counted: the parent's
        # RUSAGE_CHILDREN holds only processes that have exited and been waited for.
        import kaleido

        kaleido.stop_sync_server(silence_warnings=True)
    text = sink.getvalue()
    result: dict[str, Any] = {"exit": code, "stages": times}
    if "--json" in argv:
        result["digests"] = len(json.loads(text))
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        result["sent"] = sum(line.endswith(": sent") for line in lines)
        result["not_sent"] = [line for line in lines if not line.endswith(": sent")][:5]
    out.write_text(json.dumps(result))
    return 0


def run_row(args: list[str], env: dict[str, str], tmp: Path) -> dict[str, Any]:
    """One timed row: the CLI in a child process; wall, child CPU (with its children), load."""
    out = tmp / "child.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.digest", "--child", str(out), "--", *args]
    child_env = {**os.environ, **env}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=child_env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"the digest run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(out.read_text())
    result |= {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "receivers_cpu": (self_after.ru_utime - self_before.ru_utime)
        + (self_after.ru_stime - self_before.ru_stime),
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
    }
    return result


def _stage_text(stages: dict[str, list[float]]) -> str:
    order = ["figures", "explain", "churn fit", "image", "PDF", "send"]
    parts = []
    for name in order + sorted(set(stages) - set(order)):
        if name in stages:
            wall, cpu, calls = stages[name]
            parts.append(f"{name} {wall:.1f}/{cpu:.1f} s ({int(calls)})")
    return "; ".join(parts) or "-"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__)
    p.add_argument("--recipients", type=int, default=200)
    p.add_argument("--db", type=Path, default=None, help="where to build the database")
    p.add_argument("--no-dry-run", action="store_true", help="time the send row only")
    p.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("cli", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.cli, args.child)
    with tempfile.TemporaryDirectory(prefix="crm_bench_digest_") as name:
        tmp = Path(name)
        path = args.db or tmp / "digest.duckdb"
        if path.exists():
            path.unlink()
        t0 = time.perf_counter()
        scopes = setup(path, args.recipients)
        built = time.perf_counter() - t0
        emails = sum(channel_of(n) == "email" for n in range(args.recipients))
        hooks = args.recipients - emails
        wecom = sum(
            channel_of(n) == "webhook" and FORMATS[(n // 4) % len(FORMATS)] == "wecom"
            for n in range(args.recipients)
        )
        print(
            f"{args.recipients} recipients, {scopes} distinct scopes, {emails} by email (chart "
            f"inline + PDF) and {hooks} by webhook; setup {built:.1f} s"
        )
        print("row: wall s | CPU s (child + its children) | 1-min load | stages wall/CPU s (calls)")
        rows = []
        with receivers(tmp) as (env, got):
            # No secrets file and no login: the sink takes mail from anyone on 127.0.0.1.
            env["CRM_LENS_SECRETS"] = str(tmp / "no-secrets.toml")
            db_args = ["--db", str(path)]
            if not args.no_dry_run:
                dry = run_row(["digest", "--all", "--dry-run", "--json", *db_args], env, tmp)
                rows.append(("dry-run", dry))
                print(
                    f"dry-run: {dry['wall']:.1f} | {dry['cpu']:.1f} | {dry['load']:.1f} | "
                    f"{_stage_text(dry['stages'])} | {dry['digests']} digests"
                )
            send = run_row(["digest", "--all", *db_args], env, tmp)
            received = got.summary()
        print(
            f"send: {send['wall']:.1f} | {send['cpu']:.1f} | {send['load']:.1f} | "
            f"{_stage_text(send['stages'])} | receivers' CPU {send['receivers_cpu']:.1f} s"
        )
        print("received: " + ", ".join(f"{k} {v}" for k, v in received.items()))
        expected_posts = hooks + wecom  # WeCom takes the chart as a second (image) message
        delivered = (
            send["exit"] == 0
            and send["sent"] == args.recipients
            and received["emails"] == emails
            and received["emails_with_png"] == emails
            and received["emails_with_pdf"] == emails
            and received["webhook_posts"] == expected_posts
        )
        if not delivered:
            print(f"not delivered: {send.get('not_sent')}; expected {expected_posts} posts")
        met = delivered and send["wall"] < TARGET_S
        print(
            f"VERDICT: {'MET' if met else 'NOT MET'}: {send['sent']}/{args.recipients} digests "
            f"delivered in {send['wall']:.1f} s wall (target < {TARGET_S:.0f} s), CPU "
            f"{send['cpu']:.1f} s, 1-min load {send['load']:.1f} on {os.cpu_count()} cores, "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        )
        return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
