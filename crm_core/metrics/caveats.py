"""What the data cannot tell: the warnings of `metrics --json` and the pages, in one place."""

from __future__ import annotations

from typing import Any

from crm_core.engine import db
from crm_core.metrics import complaints, lifecycle
from crm_core.metrics.filters import NO_FILTERS, Filters

# Every code a warning can carry (docs/metrics.md, "What each warning means"). Stable: scripts
# read them from `metrics --json`.
CODES = (
    "short_history",
    "left_censored",
    "no_acceptance_time",
    "negative_durations",
    "clv_not_identified",
)


def data_warnings(con: db.Connection, filters: Filters = NO_FILTERS) -> list[dict[str, Any]]:
    """The order history's lifecycle warnings (lifecycle.history_warnings) and the complaint
    clock's (complaints.sla_warnings), each {code, severity ("warning" | "note"), ...params}.
    Tables that are absent add nothing."""
    have = db.table_columns(con)
    out: list[dict[str, Any]] = []
    if "orders" in have:
        out += lifecycle.history_warnings(con, filters)
    if "complaints" in have:
        out += complaints.sla_warnings(con, filters=filters)
    return out


def clv_warning(clv_block: dict[str, Any]) -> list[dict[str, Any]]:
    """`clv_not_identified` when a `clv` block (clv.clv_metrics) says the churn model is not
    identified (params: reasons, the codes), else []."""
    if clv_block.get("status") != "not_identified":
        return []
    codes = list(dict.fromkeys(r["code"] for r in clv_block.get("reasons", [])))
    return [{"code": "clv_not_identified", "severity": "warning", "reasons": codes}]


def metrics_warnings(
    con: db.Connection, clv_block: dict[str, Any], f: Filters = NO_FILTERS
) -> list[dict[str, Any]]:
    """The `warnings` list of `metrics --json`: data_warnings under the document's filters and
    clv_warning, as codes and numbers (their English `message`: present.caveat_text)."""
    return data_warnings(con, f) + clv_warning(clv_block)
