"""The Complaints page's sections (pages/complaints.py): period notes, headline tiles, the month
drill-down, the SLA hours grid."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.app.ui.charts import drill_list, metric
from crm_core.app.ui.connection import cached
from crm_core.app.ui.language import lang, t
from crm_core.engine import db
from crm_core.metrics import complaints as c
from crm_core.metrics import drill
from crm_core.metrics.filters import Filters, inapplicable
from crm_core.metrics.overview import Period
from crm_core.present import drill_text
from crm_core.present.i18n import fmt_date, fmt_pct


def headline_tiles(head: dict[str, Any], names: dict[str, str]) -> None:
    """complaints.HEADLINE as a row of tiles: rates and shares as percentages, counts and hours
    compact when large (exact in the tooltip)."""
    for box, k in zip(st.columns(len(c.HEADLINE)), c.HEADLINE, strict=True):
        if k.endswith(("rate", "share")):
            box.metric(names[k], fmt_pct(head[k]))
        else:
            metric(box, names[k], head[k], decimals=1 if k.endswith("hours") else 0)


def month_drill(
    con: db.Connection,
    f: Filters,
    event: Any,
    by: str,
    names: dict[str, str],
) -> None:
    """Under the monthly trend (its chart's selection `event`): the customers behind the clicked
    month (drill.complaint_click), or behind its clicked segment of the `by` split; a hint to
    click without a click."""
    click = drill.complaint_click(event)
    if not click:
        st.caption(t("drill.click_month"))
        return
    when, segment, group = click
    what = t("drill.month", year=when.year, month=when.month)
    if segment:
        what += t("drill.segment", split=names[by], value=group or names["blank"])
    split = by if segment else None
    rows = cached(drill.complaint_month_customers, con, when, f, split, group)
    key = drill.complaint_list_key(when, split, group)
    drill_list(rows, key, what, lambda d: drill_text.labelled(d, lang()), source="complaints")


def sla_hours() -> c.Sla:
    """The SLA settings expander: hours to accept and to resolve per severity (widget keys
    sla<stage><severity index>), complaints.DEFAULT_SLA until edited."""
    with st.expander(t("complaints.sla_settings")):
        grid, hours = st.columns(3), {}
        for (stage, i), (sev, default) in c.DEFAULT_SLA.cells().items():
            label = t(f"complaints.sla_{stage}", severity=sev)
            hours[stage, i] = grid[i].number_input(label, 0.25, value=default, key=f"sla{stage}{i}")
    return c.Sla.from_cells(hours)


def period_notes(period: Period, moved: bool, f: Filters) -> None:
    """The period the page shows (complaints.effective_period), and a note when it moved to the
    complaint data's last 12 months or when the category filter does not apply to complaints."""
    lg = lang()
    st.caption(
        t("complaints.period", start=fmt_date(period.start, lg), end=fmt_date(period.end, lg))
    )
    ignored = "category" in inapplicable("complaints", f)
    notes = (("period_moved", moved), ("category_ignored", ignored))
    if said := [t(f"complaints.{k}") for k, on in notes if on]:
        st.info(" ".join(said))
