"""A digest run: the recipients' plans, building and sending each digest once, and the send log."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from crm_core.app import auth
from crm_core.app.auth import Account, Delivery
from crm_core.app.digest import compose, render, settings, transport
from crm_core.app.digest.compose import Computed, Digest
from crm_core.app.digest.settings import DigestError
from crm_core.app.digest.transport import SendError
from crm_core.engine import db
from crm_core.metrics.overview import Period

# Threads that print PDFs at once, each with a browser of its own (a print mostly waits).
PDF_WORKERS = int(os.environ.get("CRM_LENS_DIGEST_PDF_WORKERS", "2"))
# Threads that send at once (each waits on its SMTP server or robot, and on backoff).
SEND_WORKERS = int(os.environ.get("CRM_LENS_DIGEST_SEND_WORKERS", "4"))


@dataclass
class Outcome:
    """What happened to one recipient's digest on one channel."""

    user: str
    channel: str  # email | webhook
    status: str  # sent | failed | skipped (sent before) | dry-run
    attempts: int = 0
    error: str = ""


def sent_key(user: str, week: Period, channel: str) -> str:
    """The audit detail that marks a digest as sent: one per user, week and channel."""
    return f"{user} week={week.start.isoformat()} via={channel}"


def already_sent(con: db.Connection, user: str, week: Period, channel: str) -> bool:
    """Whether the audit log records this user's digest for `week` on `channel` as sent."""
    return bool(db.scalar(con, "digest_sent_count", detail=sent_key(user, week, channel)))


@dataclass
class Plan:
    """A recipient and the channels to use: email address and SMTP server, webhook name and
    format."""

    account: Account
    delivery: Delivery
    smtp: str | None = None


def deliver(
    con: db.Connection,
    plans: list[Plan],
    week: Period,
    actor: str = "cli",
    force: bool = False,
    attempts: int | None = None,
    backoff: float | None = None,
    pdf: bool = True,
) -> list[Outcome]:
    """Build and send each plan's digest; every attempt's result is recorded in the audit log
    (digest_sent / digest_failed). A digest recorded as sent for that week and channel is
    skipped unless `force`, so a missed run catches up once and a repeated run sends nothing
    twice. A failing channel never stops the other recipients.

    Cost: figures once per distinct scope (computing_scopes, in the background while the
    first digests are drawn); one chart image per distinct chart and one PDF per distinct
    document (printed on PDF_WORKERS threads), from browsers kept open for the run; messages
    are sent SEND_WORKERS at a time while the next digests are drawn."""
    from crm_core.present import deck

    cache: dict[Any, Computed] = {}
    pending = [
        p.account
        for p in plans
        for c in ("email", "webhook")
        if getattr(p.delivery, c) and (force or not already_sent(con, p.account.name, week, c))
    ]
    charts: dict[str, bytes | None] = {}
    pdfs: dict[str, Future[bytes]] = {}
    printers: list[deck.PdfPrinter] = []
    mine = threading.local()

    def print_pdf(document: str) -> bytes:  # on a PDF thread: its own browser, kept open
        if not hasattr(mine, "printer"):
            mine.printer = deck.PdfPrinter()
            printers.append(mine.printer)
        found: bytes = mine.printer(document)
        return found

    # In plan order: an Outcome already known (skipped), or (user, channel, audit key, sending).
    steps: list[Outcome | tuple[str, str, str, Future[int] | DigestError]] = []
    try:
        with (
            compose.computing_scopes(con, pending, week, cache) as ready,
            ThreadPoolExecutor(max_workers=max(PDF_WORKERS, 1)) as printing,
            ThreadPoolExecutor(max_workers=max(SEND_WORKERS, 1)) as pool,
        ):
            for plan in plans:
                a, dv = plan.account, plan.delivery
                channels = [c for c in ("email", "webhook") if getattr(dv, c)]
                todo = [c for c in channels if force or not already_sent(con, a.name, week, c)]
                steps += [Outcome(a.name, c, "skipped") for c in channels if c not in todo]
                if not todo:
                    continue
                ready(compose.digest_filters(a, week))
                d = compose.build_digest(con, a, week, dv.lang, cache)
                chart = _chart_or_none(d, charts)
                for channel in todo:
                    key = sent_key(a.name, week, channel)
                    if channel == "webhook":
                        fmt, hook = dv.webhook_format or "wecom", str(dv.webhook)
                        send = partial(transport.send_webhook, d, hook, fmt, chart)
                        job = pool.submit(transport.with_retries, send, attempts, backoff)
                        steps.append((a.name, channel, key, job))
                        continue
                    smtp = plan.smtp or settings.setting("smtp")
                    if not smtp:
                        err = DigestError("no SMTP server: --smtp HOST:PORT or $CRM_LENS_SMTP")
                        steps.append((a.name, channel, key, err))
                        continue
                    sender = (
                        settings.setting("smtp_from")
                        or settings.setting("smtp_user")
                        or "crm-lens@localhost"
                    )
                    printed = None
                    if pdf:
                        # A digest's document depends on its scope, week and language only (not
                        # on the name): recipients who get the same document share one PDF.
                        look = hashlib.sha256(render.pdf_source(d, chart).encode()).hexdigest()
                        if look not in pdfs:
                            pdfs[look] = printing.submit(render.digest_pdf, d, chart, print_pdf)
                        printed = pdfs[look]
                    mail = partial(_mail, d, sender, str(dv.email), chart, printed, smtp)
                    steps.append((a.name, channel, key, pool.submit(mail, attempts, backoff)))
    finally:
        for printer in printers:
            printer.close()
    out: list[Outcome] = []
    for step in steps:
        if isinstance(step, Outcome):
            out.append(step)
            continue
        user, channel, key, sending = step
        try:
            if isinstance(sending, DigestError):
                raise sending
            n = sending.result()
            auth.record(con, actor, "digest_sent", key)
            out.append(Outcome(user, channel, "sent", n))
        except (SendError, DigestError) as err:
            why = transport.safe_error(err)
            auth.record(con, actor, "digest_failed", f"{key}: {why}")
            tried = (attempts or transport.ATTEMPTS) if isinstance(err, SendError) else 0
            out.append(Outcome(user, channel, "failed", tried, why))
    return out


def _mail(
    d: Digest,
    sender: str,
    to: str,
    chart: bytes | None,
    printed: Future[bytes] | None,
    smtp: str,
    attempts: int | None,
    backoff: float | None,
) -> int:
    # A send job: waits for its PDF (printed on a PDF thread), then sends with retries.
    attached = None
    if printed is not None:
        try:
            attached = printed.result()
        except (OSError, subprocess.SubprocessError) as err:
            raise DigestError(f"the PDF could not be printed: {transport.safe_error(err)}") from err
    msg = render.email_message(d, sender, to, chart, attached)
    return transport.with_retries(partial(transport.send_email, msg, smtp), attempts, backoff)


def _chart_or_none(d: Digest, drawn: dict[str, bytes | None]) -> bytes | None:
    # Drawn once per distinct figure: recipients whose charts are the same figure (same
    # figures, same language) share its image.
    from crm_core.present.images import ImageExportUnavailable

    fig = render.chart_figure(d)
    key = fig.to_json()
    if key not in drawn:
        try:
            drawn[key] = render.chart_image(fig)
        except ImageExportUnavailable:
            drawn[key] = None
    return drawn[key]


def plans_for(
    con: db.Connection,
    user: str | None = None,
    email: str | None = None,
    webhook: str | None = None,
    webhook_format: str | None = None,
    lang: str | None = None,
    smtp: str | None = None,
) -> list[Plan]:
    """The recipients: `user` alone (its stored channels, overridden by the given ones), or
    with user None every account that has a channel."""
    found = auth.deliveries(con)
    if user is not None:
        found = [(a, d) for a, d in found if a.name == user]
        if not found:
            raise auth.AuthError(f"no such user: {user!r}", "no_user", name=user)
        a, d = found[0]
        d = Delivery(
            email or d.email,
            webhook or d.webhook,
            webhook_format or (d.webhook_format if not webhook else None) or "wecom",
            lang or d.lang,
        )
        return [Plan(a, d, smtp)]
    plans = []
    for a, d in found:
        if lang:
            d = Delivery(d.email, d.webhook, d.webhook_format, lang)
        if d.any:
            plans.append(Plan(a, d, smtp))
    return plans
