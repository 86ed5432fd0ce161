"""The Pyramid page's sections (pages/pyramid.py): its tables under translated headers and the
customer list of a chosen tier or segment."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd
import streamlit as st

from crm_core.app import ui
from crm_core.engine import db
from crm_core.metrics import value
from crm_core.metrics.filters import Filters
from crm_core.metrics.overview import Period


def table(df: pd.DataFrame, cols: list[str], **kw: Any) -> pd.DataFrame:
    """The columns under translated headers (messages pyramid.col.*; money, shares and counts
    formatted by ui.table), as ui.table shows them; `kw` goes to ui.table."""
    return ui.table(df[cols], lambda d: d.rename(columns=lambda c: ui.t(f"pyramid.col.{c}")), **kw)


# Choosing a list reruns that tab only (a fragment): no drill-down click lives in it.
@st.fragment
def customer_list(con: db.Connection, period: Period, f: Filters, measure: str, lang: str) -> None:
    """The customers of a tier or RFM segment chosen in a selectbox (key drill), their count and
    CSV / XLSX downloads named after the choice."""
    t = ui.t
    choices = value.drill_choices(lang)
    group = {c: t(f"pyramid.group_{c.split(':')[0]}") + " · " + choices[c] for c in choices}
    # options and no `index=None`: a selectbox returns one of them, never None
    choice = cast(
        str,
        st.selectbox(t("pyramid.drill"), list(choices), key="drill", format_func=group.__getitem__),
    )
    rows = ui.cached(value.customer_list, con, period, f, choice, measure, lang=lang)
    st.caption(t("pyramid.rows", n=ui.num(len(rows))))
    ui.table_downloads(table(rows, list(rows.columns)), "customers-" + choice.replace(":", "-"))
