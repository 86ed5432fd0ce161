"""The lead pipeline: stages (stage order), funnel (funnel and conversion), followup (follow-up
discipline), and its part of `metrics --json`. Imports crm_core.engine and crm_core.metrics only;
callers use the names re-exported here."""

from __future__ import annotations

import pandas as pd

from crm_core.engine import db
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.pipeline.followup import (
    DEFAULT_FOLLOWUP_DAYS,
    DELIVERY_CATEGORIES,
    FOLLOWUP_HOURS,
    GRADE_FOLLOWUP_DAYS,
    GRADES,
    OVERDUE_COLUMNS,
    OVERDUE_SHOWN,
    OWNER_COLUMNS,
    FollowupReport,
    delivery_category,
    followup_deliveries,
    followup_report,
    followup_summaries,
    followup_summary,
    grade_cadence,
    lead_contacts,
    overdue_by_owner,
    overdue_list,
    overdue_top,
)
from crm_core.metrics.pipeline.funnel import (
    FunnelReport,
    close_rates,
    data_end,
    funnel_by,
    funnel_report,
    lead_funnel,
    prospects_needed,
    reached_ranks,
    rounded,
    stage_stats,
    stage_stats_with_all,
    velocity,
)
from crm_core.metrics.pipeline.stages import (
    LOST_OUTCOMES,
    STAGE_NAMES,
    VOCABULARIES,
    WON_OUTCOMES,
    StageOrder,
    StageVocabulary,
    label_stages,
    stage_key,
    stage_label,
    stage_order,
)

__all__ = [
    "DEFAULT_FOLLOWUP_DAYS",
    "DELIVERY_CATEGORIES",
    "FOLLOWUP_HOURS",
    "GRADES",
    "GRADE_FOLLOWUP_DAYS",
    "LOST_OUTCOMES",
    "OVERDUE_COLUMNS",
    "OVERDUE_SHOWN",
    "OWNER_COLUMNS",
    "STAGE_NAMES",
    "VOCABULARIES",
    "WON_OUTCOMES",
    "FollowupReport",
    "FunnelReport",
    "StageOrder",
    "StageVocabulary",
    "close_rates",
    "data_end",
    "delivery_category",
    "followup_deliveries",
    "followup_report",
    "followup_summaries",
    "followup_summary",
    "funnel_by",
    "funnel_report",
    "grade_cadence",
    "label_stages",
    "lead_contacts",
    "lead_funnel",
    "metrics_block",
    "overdue_by_owner",
    "overdue_list",
    "overdue_top",
    "prospects_needed",
    "reached_ranks",
    "rounded",
    "stage_key",
    "stage_label",
    "stage_order",
    "stage_stats",
    "stage_stats_with_all",
    "velocity",
]


def metrics_block(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, object]:
    """The pipeline part of `metrics --json` (see docs/metrics.md): leads created in the
    filters' period, deliveries in it (all time without one), under the filters that apply."""
    out: dict[str, object] = {
        "lead_funnel": None,
        "lead_close_rate": None,
        "followup_24h_share": None,
    }
    have = db.table_columns(con)
    if "leads" in have and db.scalar(con, "pipeline_data_end") is not None:
        stats = stage_stats(con, filters.start, filters.end, filters)
        order = stage_order(stats)
        funnel = lead_funnel(stats, order)
        out["lead_funnel"] = dict(zip(funnel["key"], funnel["reached"].tolist(), strict=True))
        rate = close_rates(stats, order)["close_rate"].iloc[0]
        out["lead_close_rate"] = None if pd.isna(rate) else round(float(rate), 4)
    if {"orders", "interactions", "customers"} <= have.keys():
        rng = db.query_rows(con, "pipeline_order_range")[0]
        has_contacts = db.scalar(con, "pipeline_has_interactions")
        if rng[0] is not None and has_contacts:
            d = followup_summary(con, filters.start or rng[0], filters.end or rng[1], filters)
            if len(d):
                out["followup_24h_share"] = round(float(d["share"].iloc[0]), 4)
    return out
