"""What every run reads of the data before its page draws (the sidebar's facts and filter
choices, the default period), read once per data version and scope through `cached`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_core import ingest
from crm_core.app.ui.connection import cached
from crm_core.app.ui.session import scope
from crm_core.engine import db
from crm_core.metrics import overview
from crm_core.metrics.filters import Filters, filter_options


@dataclass(frozen=True)
class LastLoad:
    """The newest live load (ingest.load_history) as the sidebar names it: its id, the names of
    the files it read (none or several: a replace-all load also logs the tables it emptied, with
    no file) and when it finished (YYYY-MM-DD HH:MM)."""

    load_id: int
    files: tuple[str, ...]
    finished: str


def last_load(history: pd.DataFrame) -> LastLoad | None:
    """The LastLoad of a load_history frame (newest first); None when no load is live."""
    live = history[history["status"] == "loaded"]
    if live.empty:
        return None
    batch = live[live["load_id"] == live["load_id"].iloc[0]]
    return LastLoad(
        load_id=int(batch["load_id"].iloc[0]),
        files=tuple(batch["file_name"].dropna()),
        finished=f"{pd.Timestamp(batch['finished_at'].iloc[0]):%Y-%m-%d %H:%M}",
    )


@dataclass(frozen=True)
class DataFacts:
    """range: first and last order day (overview.data_range); period: the default 12 months
    (overview.default_period); options: each filter's values within the scope (filter_options);
    last_load: the newest live load (LastLoad, None: none); demo: the tables still holding demo
    rows (ingest.demo_tables); demo_all: whether that is every table the demo ships."""

    range: tuple[dt.date, dt.date] | None
    period: overview.Period | None
    options: dict[str, list[str]]
    last_load: LastLoad | None
    demo: list[str]
    demo_all: bool


def data_facts(
    con: db.Connection, regions: tuple[str, ...] = (), owners: tuple[str, ...] = ()
) -> DataFacts:
    """The DataFacts of the data `con` reads, filter options within regions / owners. What the
    sidebar shows of the load history is kept, not the history: every run reads these facts."""
    history = ingest.load_history(con)
    demo = ingest.demo_tables(con, history)
    return DataFacts(
        range=overview.data_range(con),
        period=overview.default_period(con),
        options=filter_options(con, Filters(regions=regions, owners=owners)),
        last_load=last_load(history),
        demo=demo,
        demo_all=bool(demo) and set(demo) == set(ingest.demo_hashes()),
    )


def facts(con: db.Connection) -> DataFacts:
    """This session's DataFacts: computed once per data version and scope for every session and
    process (ui.cached), instead of five queries on every run of every page."""
    return cached(data_facts, con, *scope())
