"""The Customer 360 page's sections (pages/customer.py): the relationship levels per owner."""

from __future__ import annotations

import streamlit as st

from crm_core.app import ui
from crm_core.engine import db
from crm_core.metrics import customer360, customers
from crm_core.metrics.filters import Filters
from crm_core.present import customer_text, i18n


def levels_by_owner(con: db.Connection, f: Filters, lang: str) -> None:
    """How many customers each owner has at each relationship level at the end of the
    customer table's period: a subheader, the rules in a caption, horizontal bars and the table
    (an info when there is nothing to count)."""
    period = customers.table_period(con, f)
    st.subheader(ui.t("customer.levels_title"))
    if period is None:
        st.info(ui.t("customer.no_levels"))
        return
    dist = ui.cached(customer360.level_by_owner, con, period.end, f)
    if dist.empty:
        st.info(ui.t("customer.no_levels"))
        return
    st.caption(
        ui.t(
            "customer.levels_help",
            as_of=i18n.fmt_date(period.end, lang),
            months=customer360.PARTNER_MONTHS,
            per_year=customer360.PROACTIVE_PER_YEAR,
            share=f"{customer360.PROACTIVE_FOLLOWED_SHARE:.0%}",
            days=customer360.FOLLOW_UP_DAYS,
        )
    )
    names = customer_text.level_labels(lang)
    dash = ui.t("customer.unknown")
    shown = dist.assign(owner=dist["owner"].replace("", dash)).rename(
        columns={**names, "owner": ui.t("customer.col.owner"), "total": ui.t("customer.col.total")}
    )
    owner_col = ui.t("customer.col.owner")
    st.bar_chart(
        shown.set_index(owner_col)[[names[k] for k in customer360.LEVELS]], horizontal=True
    )
    ui.table(shown)
