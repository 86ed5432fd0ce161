"""The Churn & CLV page's sections (pages/churn_clv.py): its tables' headers, a refused fit,
and the model-quality tab (a holdout from a chosen split day)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from crm_core.app import ui
from crm_core.engine import db
from crm_core.metrics import clv, clv_reports
from crm_core.metrics.filters import Filters
from crm_core.present import clv_charts, i18n


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """The frame under column headers in the session's language (messages clv.col.*)."""
    return ui.headed(df, "clv.col")


def refused(e: clv.ClvRefused) -> None:
    """Why the data cannot support a fit (message clv.refused.<key> with its facts) and what
    would help."""
    st.warning(ui.t(f"clv.refused.{e.key}", **e.facts))
    st.caption(ui.t("clv.refused_hint"))


def holdout(con: db.Connection, f: Filters, s: dict[str, Any]) -> None:
    """The model fitted on the orders up to a split day (a date input, key clv_split) against
    what happened after it: a summary sentence, the weekly repeat purchases predicted vs actual,
    the holdout by calibration frequency and the fitted parameters; a refused fit says why.
    `s` is the page report's summary (default_split, first_order_date, as_of)."""
    split = st.date_input(
        ui.t("clv.split"), value=s["default_split"], help=ui.t("clv.split_help"),
        min_value=s["first_order_date"], max_value=s["as_of"], key="clv_split",
    )  # fmt: skip
    try:
        h = ui.cached(clv_reports.holdout_validation, con, f, split)
    except clv.ClvRefused as e:
        refused(e)
        return
    tot, lang = h.totals, ui.lang()
    st.markdown(
        ui.t(
            "clv.holdout_summary", start=i18n.fmt_date(split, lang),
            end=i18n.fmt_date(h.observation_end, lang), gap=i18n.fmt_change(tot["holdout_gap"]),
            predicted=ui.num(tot["holdout_predicted"]), actual=ui.num(tot["holdout_actual"]),
        )
    )  # fmt: skip
    labels = {k: ui.t(f"clv.{k}") for k in ("actual", "predicted", "holdout")}
    left, right = st.columns(2)
    axes = {"x": ui.t("clv.week"), "y": ui.t("clv.repeat_purchases")}
    title = ui.t("clv.tracking_title")
    ui.plot(clv_charts.tracking_chart, h.tracking, title, labels | axes, lang,
            name="clv_holdout_tracking", container=left)  # fmt: skip
    axes = {"x": ui.t("clv.calibration_frequency"), "y": ui.t("clv.mean_holdout")}
    title = ui.t("clv.frequency_title")
    ui.plot(clv_charts.frequency_chart, h.by_frequency, title, labels | axes,
            name="clv_holdout_by_frequency", container=right)  # fmt: skip
    st.caption(ui.t("clv.parameters"))
    ui.table(clv_reports.parameter_table(h.fit), labelled)
