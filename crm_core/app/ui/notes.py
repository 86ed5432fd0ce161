"""Captions and notes on a page: the active filters, the period, data warnings, nothing to show."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.app.ui.context import facts
from crm_core.app.ui.language import lang, md, md_lines, t
from crm_core.engine import db
from crm_core.metrics import overview
from crm_core.metrics.filters import Filters
from crm_core.present import caveat_text, i18n
from crm_core.present.filter_text import not_applied_note


def period_of(con: db.Connection, f: Filters) -> overview.Period | None:
    """The filter's period, or the default 12 months when it has none."""
    if f.start and f.end:
        return overview.Period(f.start, f.end)
    return facts(con).period


def filter_line(con: db.Connection, f: Filters, container: Any = None) -> None:
    """The active filters (filter_text.active_line) as a caption under a page's title."""
    from crm_core.present.filter_text import active_line

    p = period_of(con, f)
    line = active_line(f, lang(), p.start if p else None, p.end if p else None)
    (container or st).caption(md(line))


def empty_note(f: Filters) -> None:
    """Say plainly that the filters left nothing to show."""
    active = ", ".join(f"{t('dim.' + k)} = {md(v)}" for k, v in f.active.items())
    st.info(t("common.empty", active=f" ({active})" if active else ""))


def data_warnings(warnings: list[dict[str, Any]], notes: bool = True) -> None:
    """caveats.data_warnings() on a page: st.warning for each warning, st.info for each note
    (when `notes`), in this session's language, escaped."""
    for w in warnings:
        if w["severity"] == "warning":
            st.warning(md_lines(caveat_text.message(w, lang())))
        elif notes:
            st.info(md_lines(caveat_text.message(w, lang())))


def filter_note(table: str, f: Filters, container: Any = None) -> None:
    """A caption under a section built from `table` naming the active filters that do not apply
    to it (filters.inapplicable), so that its figures are not read as filtered; nothing when all
    apply."""
    if note := not_applied_note(table, f, lang()):
        (container or st).caption(note)


def period_caption(period: overview.Period) -> None:
    """The period a page shows, in this session's language."""
    st.caption(
        t(
            "common.period_vs_previous",
            start=i18n.fmt_date(period.start, lang()),
            end=i18n.fmt_date(period.end, lang()),
        )
    )
