"""Weekly digests: a scoped recipient's own figures, sent over STARTTLS email and group webhooks."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bench.digest import self_signed
from crm_core import ingest
from crm_core.__main__ import main
from crm_core.app import auth, digest
from crm_core.app.digest import transport
from crm_core.engine import db
from crm_core.metrics import weekly
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period
from crm_core.present import charts

FIX = Path(__file__).resolve().parent / "fixtures" / "digest"
# The fixture (tests/fixtures/digest): customers C1 华东/张三, C2 华东/李四, C3 华南/王五.
#   week 2024-01-01..07: o1 C1 100.00, o2 C3 500.00; complaint K2 (C3, satisfaction 4)
#   week 2024-01-08..14: o3 C1 150.50, o4 C2 200.25, o5 C3 300.00; complaint K1 (C2, 2)
#   2024-01-16 (a Tuesday): o6 C3 50.00, the last order date.
WEEK = Period(dt.date(2024, 1, 8), dt.date(2024, 1, 14))
EAST = auth.Account("east", "viewer", ("华东",))


@pytest.fixture
def fx(con: db.Connection) -> db.Connection:
    names = ("customers", "orders", "complaints")
    ingest.load(con, [ingest.Source(FIX / f"{n}.csv", n) for n in names], "replace")
    return con


def test_the_week_is_the_last_complete_monday_to_sunday(fx: db.Connection) -> None:
    # Last order 2024-01-16 is a Tuesday: the week before it ends on Sunday 2024-01-14.
    assert digest.digest_week(fx) == WEEK
    # --week picks the Monday-Sunday week holding that day, whichever day it is.
    first = Period(dt.date(2024, 1, 1), dt.date(2024, 1, 7))
    assert digest.digest_week(fx, dt.date(2024, 1, 3)) == first
    assert digest.digest_week(fx, dt.date(2024, 1, 7)) == first  # a Sunday
    assert digest.digest_week(fx, dt.date(2024, 1, 8)) == WEEK  # a Monday


def _figures(d: digest.Digest) -> dict[str, tuple]:
    return {h.measure: (h.this_week, h.last_week, h.tone) for h in d.headlines}


def test_a_region_digest_holds_that_region_only_in_chinese(fx: db.Connection) -> None:
    d = digest.build_digest(fx, EAST, WEEK, "zh")
    # 华东 this week: o3 150.50 + o4 200.25 = 350.75 in 2 orders; last week o1 100.00 in 1.
    # New customers: C2 (first order 01-10) this week, C1 (01-02) last week. Complaints: K1
    # (C2) this week, none last week (K2 is 华南's): a rise, so bad news. Satisfaction 2 vs none.
    assert _figures(d) == {
        "new_leads": (0.0, 0.0, "flat"),
        "orders": (2.0, 1.0, "good"),
        "revenue": (350.75, 100.0, "good"),
        "new_customers": (1.0, 1.0, "flat"),
        "complaints": (1.0, 0.0, "bad"),
        "satisfaction": (2.0, None, "flat"),
    }
    # The same numbers as the Weekly page's function for that user's scope and week.
    app = weekly.weekly_comparison(fx, WEEK.end, Filters(WEEK.start, WEEK.end, regions=("华东",)))
    assert [h.this_week for h in d.headlines][:5] == app["this_week"].tolist()[:5]
    text = digest.markdown(d, "wecom")
    assert d.title == "CRM 周报：2024年1月8日 至 2024年1月14日"
    # 350.75 - 100.00 = +250.75, / 100.00 = +250.75 % shown to one decimal as the app does
    # (i18n.fmt_change: 2.5075 is 2.50749… in binary, so 250.7).
    assert '**销售额** 350.75  <font color="info">▲ +250.75 (+250.7%)</font>' in text
    assert '**投诉数** 1  <font color="warning">▲ +1</font>' in text  # up, and bad news
    assert "范围：区域 华东" in text
    # Nothing of 华南: not its revenue (300.00 / 500.00), not its name.
    assert "华南" not in text and "300.00" not in text and "500.00" not in text
    assert d.movements[0][1].startswith("销售额 +250.7%")
    assert d.link == (
        "http://localhost:8501/weekly?start=2024-01-08&end=2024-01-14&lang=zh"
    )  # the same view, filters in the URL
    south = digest.build_digest(fx, auth.Account("south", "viewer", ("华南",)), WEEK, "en")
    # 华南: o5 300.00 this week against o2 500.00: -200.00, down 40 %.
    assert _figures(south)["revenue"] == (300.0, 500.0, "bad")
    assert "350.75" not in digest.markdown(south)


def test_scopes_that_admit_the_same_rows_share_their_figures(fx: db.Connection) -> None:
    def key(regions: tuple[str, ...] = (), owners: tuple[str, ...] = ()) -> tuple[bool, str]:
        return digest.scope_rows_key(fx, Filters(regions=regions, owners=owners))

    # 张三 owns C1 only, and C1 is in 华东: 华东 x 张三 admits exactly what 张三 does.
    assert key(("华东",), ("张三",)) == key((), ("张三",))
    # 华南 x 张三 and 华南 x 李四 admit nothing (C3 is 王五's): the same empty scope.
    assert key(("华南",), ("张三",)) == key(("华南",), ("李四",))
    # 华东 (C1, C2 and K1) is not 张三 (C1). 华南 (C3 and K2) is 王五: he owns C3 alone, in
    # 华南, and K2 is C3's complaint.
    assert key(("华东",), ()) != key((), ("张三",))
    assert key(("华南",), ()) == key((), ("王五",))
    # No scope at all also lets through rows of unknown customers: never merged with one.
    assert key() != key(("华东", "华南"), ())
    accounts = [
        auth.Account("zs", "viewer", (), ("张三",)),
        auth.Account("east-zs", "viewer", ("华东",), ("张三",)),
        auth.Account("east", "viewer", ("华东",)),
    ]
    cache: dict = {}
    digest.compute_scopes(fx, accounts, WEEK, cache, workers=1)
    zs, east_zs, east = (cache[(digest.digest_filters(a, WEEK), WEEK)] for a in accounts)
    assert zs is east_zs and zs is not east  # computed twice, not three times
    # And they are the figures each scope computes on its own: 张三's week is o3 150.50.
    alone = digest.build_digest(fx, accounts[1], WEEK, "zh")
    shared = digest.build_digest(fx, accounts[1], WEEK, "zh", cache)
    assert digest.to_json(alone) == digest.to_json(shared)
    assert _figures(shared)["revenue"] == (150.5, 100.0, "good")  # o1 100.00 last week


def test_data_text_cannot_become_markdown_links() -> None:
    assert digest.md_escape("[点我](http://x.test) ![i](http://x.test/a.png)\n# h") == (
        "\\[点我\\]\\(http://x.test\\) \\!\\[i\\]\\(http://x.test/a.png\\) \\# h"
    )


# --------------------------------------------------------------------------- email


@pytest.fixture
def smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list]]:
    """A local SMTP server (127.0.0.1) that requires STARTTLS, then a login, and keeps what it
    receives; the digest trusts its self-signed certificate through CRM_LENS_SMTP_CAFILE."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    received: list[tuple[str, list[str], bytes]] = []
    logins: list[str] = []

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        ok = data.login == b"digest-bot" and data.password == b"s3cret-pw"
        if ok:
            logins.append(data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(
        Keep(),
        hostname="127.0.0.1",
        port=_closed_port(),
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    monkeypatch.setenv("CRM_LENS_SMTP_CAFILE", str(cert))
    monkeypatch.setenv("CRM_LENS_SMTP_USER", "digest-bot")
    monkeypatch.setenv("CRM_LENS_SMTP_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("CRM_LENS_SMTP_FROM", "crm@example.com")
    try:
        yield f"127.0.0.1:{controller.port}", received
    finally:
        controller.stop()
    assert logins, "the digest never logged in"


def test_email_over_starttls_with_inline_cjk_chart_and_pdf(
    fx: db.Connection, smtp_server: tuple[str, list]
) -> None:
    address, received = smtp_server
    auth.add_user(fx, "east", "viewer", None, regions=["华东"])
    auth.set_delivery(fx, "east", auth.Delivery(email="east@example.com", lang="zh"))
    plans = digest.plans_for(fx, smtp=address)
    out = digest.deliver(fx, plans, WEEK, attempts=1, backoff=0)
    assert [(o.user, o.channel, o.status) for o in out] == [("east", "email", "sent")]
    ((sender, to, raw),) = received
    assert sender == "crm@example.com" and to == ["east@example.com"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert str(msg["Subject"]) == "CRM 周报：2024年1月8日 至 2024年1月14日"
    body = msg.get_body(("html",))
    assert body is not None
    page = body.get_content()
    assert "350.75" in page and "华南" not in page
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    png = images[0].get_payload(decode=True)
    assert png.startswith(b"\x89PNG") and f"cid:{images[0]['Content-ID'][1:-1]}" in page
    pdfs = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
    assert pdfs[0].get_payload(decode=True).startswith(b"%PDF-")
    # Chinese renders: the chart is drawn with a CJK font, and this machine has one.
    assert charts.FONT.startswith("Noto Sans CJK SC")
    fc = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    assert "Noto Sans CJK SC" in fc.stdout or "WenQuanYi" in fc.stdout
    # Recorded, and never sent twice: a second run skips it.
    again = digest.deliver(fx, plans, WEEK, attempts=1, backoff=0)
    assert [o.status for o in again] == ["skipped"] and len(received) == 1
    log = auth.audit_log(fx)
    assert (log["action"] == "digest_sent").sum() == 1
    assert "s3cret-pw" not in " ".join(log["detail"].astype(str))


# --------------------------------------------------------------------------- webhooks

# The message formats, written from each robot's documentation (WeCom group robot "markdown"
# and "image" messages, developer.work.weixin.qq.com/document/path/91770; DingTalk custom robot
# "markdown", open.dingtalk.com robot-message-type; Feishu custom bot "interactive" card with
# optional timestamp + sign, open.feishu.cn bot-v2).
WECOM_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "required": ["msgtype", "markdown"],
            "additionalProperties": False,
            "properties": {
                "msgtype": {"const": "markdown"},
                "markdown": {
                    "type": "object",
                    "required": ["content"],
                    "additionalProperties": False,
                    "properties": {"content": {"type": "string", "minLength": 1}},
                },
            },
        },
        {
            "type": "object",
            "required": ["msgtype", "image"],
            "additionalProperties": False,
            "properties": {
                "msgtype": {"const": "image"},
                "image": {
                    "type": "object",
                    "required": ["base64", "md5"],
                    "additionalProperties": False,
                    "properties": {
                        "base64": {"type": "string", "minLength": 1},
                        "md5": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    },
                },
            },
        },
    ]
}
DINGTALK_SCHEMA = {
    "type": "object",
    "required": ["msgtype", "markdown"],
    "properties": {
        "msgtype": {"const": "markdown"},
        "markdown": {
            "type": "object",
            "required": ["title", "text"],
            "properties": {"title": {"type": "string"}, "text": {"type": "string"}},
        },
        "at": {"type": "object"},
    },
    "additionalProperties": False,
}
FEISHU_SCHEMA = {
    "type": "object",
    "required": ["msg_type", "card"],
    "additionalProperties": False,
    "properties": {
        "msg_type": {"const": "interactive"},
        "timestamp": {"type": "string", "pattern": "^[0-9]+$"},
        "sign": {"type": "string"},
        "card": {
            "type": "object",
            "required": ["elements"],
            "properties": {
                "config": {"type": "object"},
                "header": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "title": {
                            "type": "object",
                            "required": ["tag", "content"],
                            "properties": {"tag": {"const": "plain_text"}},
                        },
                        "template": {"type": "string"},
                    },
                },
                "elements": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["tag"],
                        "properties": {"tag": {"enum": ["markdown", "div", "action", "hr", "img"]}},
                    },
                },
            },
        },
    },
}


class Receiver:
    """A local HTTP webhook receiver on 127.0.0.1 that keeps each request's path and JSON."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict]] = []
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers["Content-Length"])
                got.append((self.path, json.loads(self.rfile.read(n))))
                reply = b'{"errcode":0,"errmsg":"ok","code":0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_webhook_payloads_follow_each_apps_format(
    fx: db.Connection, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, fmt in (("east-wecom", "wecom"), ("east-ding", "dingtalk"), ("east-lark", "feishu")):
        auth.add_user(fx, name, "viewer", None, regions=["华东"])
        auth.set_delivery(fx, name, auth.Delivery(webhook=name, webhook_format=fmt))
        monkeypatch.setenv(f"CRM_LENS_WEBHOOK_{digest.settings._env_name(name)}", receiver.url)
    monkeypatch.setenv("CRM_LENS_WEBHOOK_EAST_DING_SECRET", "SECding")
    monkeypatch.setenv("CRM_LENS_WEBHOOK_EAST_LARK_SECRET", "lark-secret")
    out = digest.deliver(fx, digest.plans_for(fx), WEEK, attempts=1, backoff=0)
    assert {(o.user, o.status) for o in out} == {
        ("east-ding", "sent"),
        ("east-lark", "sent"),
        ("east-wecom", "sent"),
    }
    by_kind = {"wecom": [], "dingtalk": [], "feishu": []}  # type: dict[str, list]
    for path, body in receiver.got:
        kind = "feishu" if "msg_type" in body else "dingtalk" if "sign=" in path else "wecom"
        by_kind[kind].append((path, body))
    # DingTalk (users sorted by name: east-ding first): signed in the URL.
    ((path, body),) = by_kind["dingtalk"]
    jsonschema.validate(body, DINGTALK_SCHEMA)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
    ts = q["timestamp"][0]
    mac = hmac.new(b"SECding", f"{ts}\nSECding".encode(), hashlib.sha256).digest()
    assert q["sign"][0] == base64.b64encode(mac).decode()
    assert "350.75" in body["markdown"]["text"] and "华南" not in body["markdown"]["text"]
    # Feishu: an interactive card, signed in the body.
    ((_, body),) = by_kind["feishu"]
    jsonschema.validate(body, FEISHU_SCHEMA)
    key = f"{body['timestamp']}\nlark-secret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    # WeCom: markdown (within 4,096 bytes) then the chart as an image with its md5.
    (_, text), (_, image) = by_kind["wecom"]
    for b in (text, image):
        jsonschema.validate(b, WECOM_SCHEMA)
    assert len(text["markdown"]["content"].encode()) <= digest.render.WECOM_MAX_BYTES
    png = base64.b64decode(image["image"]["base64"])
    assert png.startswith(b"\x89PNG") and hashlib.md5(png).hexdigest() == image["image"]["md5"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_receiver_is_retried_recorded_and_blocks_no_one(
    fx: db.Connection, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.add_user(fx, "a-dead", "viewer", None, regions=["华东"])
    auth.set_delivery(fx, "a-dead", auth.Delivery(webhook="dead", webhook_format="dingtalk"))
    auth.add_user(fx, "b-live", "viewer", None, regions=["华南"])
    auth.set_delivery(fx, "b-live", auth.Delivery(webhook="live", webhook_format="dingtalk"))
    monkeypatch.setenv("CRM_LENS_WEBHOOK_DEAD", f"http://127.0.0.1:{_closed_port()}/x?key=k3y")
    monkeypatch.setenv("CRM_LENS_WEBHOOK_LIVE", receiver.url)
    waits: list[float] = []
    monkeypatch.setattr(transport, "_sleep", waits.append)  # not time.sleep: other threads sleep
    out = digest.deliver(fx, digest.plans_for(fx), WEEK, attempts=3, backoff=0.5)
    dead, live = out
    assert (dead.user, dead.status, dead.attempts) == ("a-dead", "failed", 3)
    assert waits == [0.5, 1.0]  # backoff doubles between the three attempts
    assert (live.user, live.status) == ("b-live", "sent") and len(receiver.got) == 1
    log = auth.audit_log(fx)
    failed = log[log["action"] == "digest_failed"]["detail"].tolist()
    assert len(failed) == 1 and failed[0].startswith("a-dead week=2024-01-08 via=webhook: ")
    assert "k3y" not in failed[0] and "127.0.0.1" not in failed[0]  # the URL holds the key
    # The next run retries only what failed.
    monkeypatch.setenv("CRM_LENS_WEBHOOK_DEAD", receiver.url)
    again = digest.deliver(fx, digest.plans_for(fx), WEEK, attempts=1, backoff=0)
    assert [(o.user, o.status) for o in again] == [("a-dead", "sent"), ("b-live", "skipped")]


def test_webhook_urls_come_from_the_environment_not_the_database(
    fx: db.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_LENS_WEBHOOK_NOWHERE", raising=False)
    monkeypatch.setenv("CRM_LENS_SECRETS", "/nonexistent/secrets.toml")
    with pytest.raises(digest.DigestError, match=r"\$CRM_LENS_WEBHOOK_NOWHERE"):
        digest.webhook_url("nowhere")


# --------------------------------------------------------------------------- CLI


def test_cli_user_add_and_dry_run_json(
    fx: db.Connection, db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fx.close()
    args = ["--db", str(db_file)]
    assert main(["user", "add", "east", "--role", "viewer", "--region", "华东",
                 "--email", "east@example.com", "--lang", "en", *args]) == 0  # fmt: skip
    assert main(["user", "add", "boss", "--role", "admin", *args]) == 0  # no channel
    capsys.readouterr()
    assert main(["digest", "--all", "--dry-run", "--json", *args]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["user"] for d in docs] == ["east"]  # only accounts with a channel
    (doc,) = docs
    assert doc["week"] == {"start": "2024-01-08", "end": "2024-01-14"}
    assert doc["lang"] == "en" and doc["scope"] == {"regions": ["华东"], "owners": []}
    assert doc["channels"]["email"] == "east@example.com" and doc["already_sent"] == {
        "email": False
    }
    revenue = next(h for h in doc["headlines"] if h["measure"] == "revenue")
    assert (revenue["this_week"], revenue["last_week"], revenue["change"]) == (
        350.75,
        100.0,
        250.75,
    )
    assert len(doc["movements"]) == 3 and doc["at_risk"] == [] and doc["overdue"] == []
    assert main(["digest", "--as-user", "boss", "--dry-run", "--json", "--week", "2024-01-03",
                 *args]) == 0  # fmt: skip
    (boss,) = json.loads(capsys.readouterr().out)
    # Unscoped, first week: o1 100.00 + o2 500.00.
    assert next(h for h in boss["headlines"] if h["measure"] == "revenue")["this_week"] == 600.0
    # A bad address is refused before the account is created.
    assert main(["user", "add", "x", "--role", "viewer", "--email", "not-an-address", *args]) == 2
    assert "name@example.com" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")
def test_scoped_digest_on_the_demo_lists_only_its_own_customers_and_leads(
    demo_con: db.Connection,
) -> None:
    week = digest.digest_week(demo_con)
    assert week is not None and week.start.weekday() == 0 and week.end.weekday() == 6
    d = digest.build_digest(demo_con, auth.Account("e", "viewer", ("华东",)), week, "zh")
    assert d.at_risk_total > 0 and d.overdue_total > 0
    assert set(d.at_risk["region"]) == {"华东"}
    east_owners = set(
        demo_con.execute("SELECT DISTINCT owner FROM leads WHERE region = '华东'").df()["owner"]
    )
    assert set(d.overdue["owner"]) <= east_owners


def test_settings_and_webhooks_come_from_secrets_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[digest]\nsmtp = "mail.example.com:587"\nbase_url = "https://crm.example.com/"\n'
        '[digest.webhooks]\neast = "https://qyapi.example.com/send?key=abc"\neast_secret = "SEC1"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CRM_LENS_SECRETS", str(secrets))
    monkeypatch.delenv("CRM_LENS_SMTP", raising=False)
    monkeypatch.delenv("CRM_LENS_BASE_URL", raising=False)
    monkeypatch.delenv("CRM_LENS_WEBHOOK_EAST", raising=False)
    monkeypatch.delenv("CRM_LENS_WEBHOOK_EAST_SECRET", raising=False)
    assert digest.setting("smtp") == "mail.example.com:587"
    assert digest.webhook_url("east") == ("https://qyapi.example.com/send?key=abc", "SEC1")
    assert digest.link(WEEK, "en").startswith("https://crm.example.com/weekly?start=2024-01-08")
    monkeypatch.setenv("CRM_LENS_SMTP", "other.example.com:25")  # the environment comes first
    assert digest.setting("smtp") == "other.example.com:25"


def test_cli_sends_to_a_named_webhook_and_exits_1_when_one_fails(
    fx: db.Connection,
    db_file: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fx.close()
    args = ["--db", str(db_file)]
    monkeypatch.setattr(transport, "BACKOFF_S", 0.0)
    monkeypatch.setattr(transport, "ATTEMPTS", 2)
    monkeypatch.setenv("CRM_LENS_WEBHOOK_TEAM", receiver.url)
    monkeypatch.setenv("CRM_LENS_WEBHOOK_GONE", f"http://127.0.0.1:{_closed_port()}/")
    assert main(["user", "add", "east", "--role", "viewer", "--region", "华东", *args]) == 0
    send = ["digest", "--as-user", "east", "--webhook", "team", "--webhook-format", "dingtalk"]
    assert main([*send, *args]) == 0
    assert capsys.readouterr().out.endswith("east webhook: sent\n")
    ((_, body),) = receiver.got
    jsonschema.validate(body, DINGTALK_SCHEMA)
    assert main([*send, *args]) == 0  # the same week again: not sent twice
    assert capsys.readouterr().out.endswith("east webhook: skipped\n")
    gone = ["digest", "--as-user", "east", "--webhook", "gone", "--force", *args]
    assert main(gone) == 1
    assert "east webhook: failed after 2 attempts: " in capsys.readouterr().out
    assert len(receiver.got) == 1


def test_a_long_wecom_message_is_cut_to_4096_bytes_keeping_the_link(fx: db.Connection) -> None:
    import pandas as pd

    d = digest.build_digest(fx, EAST, WEEK, "zh")
    # 300 overdue leads of ~60 bytes each (Chinese is 3 bytes a character) is far over 4,096.
    d.overdue = pd.DataFrame(
        {
            "owner": ["张三"] * 300,
            "lead_id": [f"L{n:05d}" for n in range(300)],
            "grade": ["A"] * 300,
            "stage": ["跟进"] * 300,
            "days_overdue": [30] * 300,
        }
    )
    (body,) = digest.webhook_payloads(d, "wecom")
    text = body["markdown"]["content"]
    assert len(text.encode()) <= digest.render.WECOM_MAX_BYTES
    assert text.startswith("## CRM 周报") and text.endswith(f"({d.link})")
    assert "L00000" in text and "L00299" not in text
