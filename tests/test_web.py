"""The security-header middleware that serve.py installs."""

from __future__ import annotations

import asyncio
import threading

from crm_core.app.web import SECURITY_HEADERS, SecurityHeaders


def _call(make, scope_type: str = "http") -> list[dict]:
    sent: list[dict] = []

    async def app(scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"x-frame-options", b"SAMEORIGIN")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict:
        return {"type": "http.request"}

    async def send(message: dict) -> None:
        sent.append(message)

    # A fresh thread: another test (Playwright) may have left an event loop running in this one.
    worker = threading.Thread(
        target=asyncio.run, args=(make(app)({"type": scope_type}, receive, send),)
    )
    worker.start()
    worker.join()
    return sent


def test_every_response_gets_the_headers_once() -> None:
    start, body = _call(SecurityHeaders)
    headers = dict(start["headers"])
    # The app's own X-Frame-Options wins (not sent twice); the others are added.
    assert [k for k, _ in start["headers"]].count(b"x-frame-options") == 1
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    for name, value in SECURITY_HEADERS.items():
        if name != "X-Frame-Options":
            assert headers[name.lower().encode()] == value.encode()
    assert body == {"type": "http.response.body", "body": b"ok"}


def test_websockets_pass_untouched() -> None:
    sent = _call(SecurityHeaders, "websocket")
    assert sent[0]["headers"] == [(b"x-frame-options", b"SAMEORIGIN")]
