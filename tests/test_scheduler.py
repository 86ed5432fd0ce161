"""The weekly digest scheduler that serve.py runs inside the app's process."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from crm_core.app import scheduler
from crm_core.app.scheduler import Slot


def test_slot_is_parsed_and_bad_text_refused() -> None:
    assert scheduler.parse_slot("mon 08:00") == Slot(0, 8, 0)
    assert scheduler.parse_slot(" Friday 17:30 ") == Slot(4, 17, 30)
    for bad in ("monday", "mon 8", "xyz 08:00", "mon 24:00", "mon 08:61"):
        with pytest.raises(ValueError, match="mon 08:00"):
            scheduler.parse_slot(bad)


def test_last_and_next_slot() -> None:
    monday_8 = Slot(0, 8, 0)
    # 2026-12-02 is a Wednesday: the last Monday 08:00 was 2026-11-30, the next 2026-12-07.
    wed = dt.datetime(2026, 12, 2, 10, 0)
    assert scheduler.last_slot(wed, monday_8) == dt.datetime(2026, 11, 30, 8, 0)
    assert scheduler.next_slot(wed, monday_8) == dt.datetime(2026, 12, 7, 8, 0)
    # Monday 07:59 is before this Monday's slot: the last one is a week earlier.
    early = dt.datetime(2026, 11, 30, 7, 59)
    assert scheduler.last_slot(early, monday_8) == dt.datetime(2026, 11, 23, 8, 0)
    assert scheduler.next_slot(early, monday_8) == dt.datetime(2026, 11, 30, 8, 0)
    # Exactly at the slot: that slot is the last one.
    at = dt.datetime(2026, 11, 30, 8, 0)
    assert scheduler.last_slot(at, monday_8) == at


def test_run_sends_at_start_then_at_each_slot_and_survives_a_failure() -> None:
    # A clock that jumps to the next slot each time the scheduler asks how long to wait.
    stop = threading.Event()
    calls: list[int] = []
    clock = iter(
        [dt.datetime(2026, 12, 2, 10, 0)] * 2  # start-up: send, then wait until Mon 12-07 08:00
        + [dt.datetime(2026, 12, 7, 8, 0)] * 2  # the slot: send, then wait a week
    )

    def send() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OSError("SMTP down")  # logged, the scheduler goes on
        if len(calls) == 2:
            stop.set()

    waits: list[float] = []
    real_wait = stop.wait

    def wait(timeout: float | None = None) -> bool:
        waits.append(float(timeout or 0))
        return real_wait(0)

    stop.wait = wait  # type: ignore[method-assign]
    scheduler.run(Slot(0, 8, 0), send, stop, now=lambda: next(clock))
    assert calls == [0, 1]
    # Wed 10:00 -> Mon 08:00 = 4 days 22 h = 424,800 s; then a full week = 604,800 s.
    assert waits == [424_800.0, 604_800.0]


def test_send_all_runs_beside_the_apps_open_connection(
    demo_copy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.app import auth, digest
    from crm_core.engine import db

    app_con = db.connect(demo_copy)  # what the served app holds while the scheduler runs
    auth.add_user(app_con, "east", "viewer", "east-password", regions=("华东",))
    auth.set_delivery(app_con, "east", auth.Delivery(None, "team", "wecom", "zh"))
    # A robot nobody answers (port 9, discard): one attempt, recorded, nothing raised.
    monkeypatch.setenv("CRM_LENS_WEBHOOK_TEAM", "http://127.0.0.1:9/robot")
    monkeypatch.setattr(digest.transport, "ATTEMPTS", 1)
    scheduler.send_all(str(demo_copy))
    log = auth.audit_log(app_con)
    failed = log[log["action"] == "digest_failed"]
    assert failed["actor"].tolist() == ["scheduler"]
    assert "127.0.0.1:9" not in " ".join(failed["detail"])  # never the robot's address
    app_con.close()
