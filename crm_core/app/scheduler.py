"""The weekly digest inside the served app: a DuckDB file is held by the app's process, so a cron
job cannot open it while the app runs; serve.py starts this scheduler when $CRM_LENS_DIGEST_AT
is set ("mon 08:00", the server's local time) and sends `digest --all` at that time each week,
catching up once at start-up when the slot has passed (digest.deliver never sends twice)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("crm_lens.digest")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Slot:
    """A weekly time: weekday (0 = Monday) and hour:minute, local time."""

    weekday: int
    hour: int
    minute: int


def parse_slot(text: str) -> Slot:
    """'mon 08:00' (a weekday's first three letters, then HH:MM) as a Slot; ValueError else."""
    m = re.fullmatch(r"\s*([a-z]{3})\w*\s+(\d{1,2}):(\d{2})\s*", text.lower())
    if not m or m.group(1) not in DAYS or int(m.group(2)) > 23 or int(m.group(3)) > 59:
        raise ValueError(f"CRM_LENS_DIGEST_AT must look like 'mon 08:00', not {text!r}")
    return Slot(DAYS.index(m.group(1)), int(m.group(2)), int(m.group(3)))


def last_slot(now: dt.datetime, slot: Slot) -> dt.datetime:
    """The latest moment of `slot` at or before `now`."""
    day = now.date() - dt.timedelta(days=(now.weekday() - slot.weekday) % 7)
    at = dt.datetime.combine(day, dt.time(slot.hour, slot.minute), now.tzinfo)
    return at if at <= now else at - dt.timedelta(days=7)


def next_slot(now: dt.datetime, slot: Slot) -> dt.datetime:
    """The first moment of `slot` after `now`."""
    return last_slot(now, slot) + dt.timedelta(days=7)


def run(
    slot: Slot,
    send: Callable[[], object],
    stop: threading.Event,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> None:
    """Send at start-up (a slot missed while the app was down is caught up once: the sender skips
    digests already recorded) and then at every slot, until `stop` is set. A failing run is
    logged and retried at the next slot; it never stops the app."""
    while not stop.is_set():
        try:
            send()
        except Exception:  # a digest run must never take the app down
            log.exception("weekly digest run failed")
        wait = (next_slot(now(), slot) - now()).total_seconds()
        if stop.wait(max(wait, 1.0)):
            return


def send_all(db_target: str | None = None) -> None:
    """`digest --all` for every account with a channel, for the last complete week of data."""
    from crm_core.app import digest
    from crm_core.engine import db

    con = db.connect(db_target)
    try:
        week = digest.digest_week(con, None)
        plans = digest.plans_for(con)
        if week is None or not plans:
            return
        for o in digest.deliver(con, plans, week, actor="scheduler"):
            log.info("digest %s %s: %s", o.user, o.channel, o.status)
    finally:
        con.close()


def start(text: str, db_target: str | None = None) -> threading.Event:
    """Start the scheduler thread for `text` ("mon 08:00"); set the returned event to stop it."""
    slot = parse_slot(text)
    stop = threading.Event()
    threading.Thread(
        target=run, args=(slot, lambda: send_all(db_target), stop), name="digest", daemon=True
    ).start()
    return stop
