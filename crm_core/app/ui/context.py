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
class DataFacts:
    """range: first and last order day (overview.data_range); period: the default 12 months
    (overview.default_period); options: each filter's values within the scope (filter_options);
    history: ingest.load_history; demo: the tables still holding demo rows (ingest.demo_tables)."""

    range: tuple[dt.date, dt.date] | None
    period: overview.Period | None
    options: dict[str, list[str]]
    history: pd.DataFrame
    demo: list[str]


def data_facts(
    con: db.Connection, regions: tuple[str, ...] = (), owners: tuple[str, ...] = ()
) -> DataFacts:
    """The DataFacts of the data `con` reads, filter options within regions / owners."""
    history = ingest.load_history(con)
    return DataFacts(
        range=overview.data_range(con),
        period=overview.default_period(con),
        options=filter_options(con, Filters(regions=regions, owners=owners)),
        history=history,
        demo=ingest.demo_tables(con, history),
    )


def facts(con: db.Connection) -> DataFacts:
    """This session's DataFacts: computed once per data version and scope for every session and
    process (ui.cached), instead of five queries on every run of every page."""
    return cached(data_facts, con, *scope())
