"""Sending with retries: mail over SMTP (STARTTLS) and JSON posts to WeCom, DingTalk and Feishu robots."""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from crm_core.app.digest.compose import Digest
from crm_core.app.digest.render import dingtalk_signed_url, webhook_payloads
from crm_core.app.digest.settings import DigestError, setting, webhook_url

# Sending: attempts per channel and the first wait between them (doubled after each failure).
ATTEMPTS = int(os.environ.get("CRM_LENS_DIGEST_ATTEMPTS", "3"))
BACKOFF_S = float(os.environ.get("CRM_LENS_DIGEST_BACKOFF", "2"))
TIMEOUT_S = 20.0


class SendError(RuntimeError):
    """A channel that refused or could not be reached after every attempt."""


_sleep = time.sleep  # the wait between attempts (tests replace it here, not in `time`)


def with_retries(
    send: Callable[[], None],
    attempts: int | None = None,
    backoff: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Call `send` until it succeeds, at most `attempts` times, waiting `backoff`, 2×, 4×, …
    seconds between; the number of attempts made. The last error is raised as SendError."""
    attempts = ATTEMPTS if attempts is None else attempts
    backoff = BACKOFF_S if backoff is None else backoff
    last: Exception | None = None
    for n in range(1, attempts + 1):
        try:
            send()
            return n
        except (OSError, smtplib.SMTPException, SendError, ValueError) as err:
            last = err
            if n < attempts:
                (sleep or _sleep)(backoff * 2 ** (n - 1))
    raise SendError(f"{type(last).__name__}: {safe_error(last)} after {attempts} attempts")


def safe_error(err: Exception | None) -> str:
    from crm_core.engine.redact import redact

    # A URL in an error could carry a robot's key: keep the reason, never the address.
    text = str(getattr(err, "reason", None) or err or "")
    return redact(" ".join(w for w in text.split() if "://" not in w))[:200]


def send_email(msg: EmailMessage, smtp: str) -> None:
    """Send through `smtp` (HOST:PORT) with STARTTLS, logging in when $CRM_LENS_SMTP_USER /
    smtp_user is set (password: $CRM_LENS_SMTP_PASSWORD / smtp_password). The server's
    certificate is checked (against $CRM_LENS_SMTP_CAFILE / smtp_cafile when set)."""
    host, _, port = smtp.rpartition(":")
    if not host or not port.isdigit():
        raise DigestError(f"--smtp {smtp!r}: expected HOST:PORT, e.g. smtp.example.com:587")
    context = ssl.create_default_context(cafile=setting("smtp_cafile"))
    with smtplib.SMTP(host, int(port), timeout=TIMEOUT_S) as server:
        server.ehlo()
        server.starttls(context=context)
        server.ehlo()
        user = setting("smtp_user")
        if user:
            server.login(user, setting("smtp_password") or "")
        server.send_message(msg)


def post_json(url: str, body: dict[str, Any]) -> None:
    """POST one JSON body; a non-2xx status or an error code in the reply ("errcode" for
    WeCom / DingTalk, "code" for Feishu) is a failure."""
    data = json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        raw = resp.read()
    try:
        reply = json.loads(raw or b"{}")
    except ValueError:
        reply = {}
    code = reply.get("errcode", reply.get("code", 0)) if isinstance(reply, dict) else 0
    if code not in (0, None):
        raise SendError(f"the robot refused the message (code {code})")


def send_webhook(d: Digest, name: str, fmt: str, chart: bytes | None) -> None:
    """Post the digest to the group webhook called `name` in `fmt`."""
    url, secret = webhook_url(name)
    if not url.startswith(("http://", "https://")):
        raise DigestError(f"webhook {name!r}: the URL must start with http:// or https://")
    for body in webhook_payloads(d, fmt, chart if fmt == "wecom" else None, secret):
        target = dingtalk_signed_url(url, secret) if fmt == "dingtalk" and secret else url
        post_json(target, body)
