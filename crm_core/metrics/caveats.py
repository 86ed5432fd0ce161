"""What the data cannot tell: the warnings of `metrics --json` and the pages, in one place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crm_core.engine import db
from crm_core.metrics import complaints, lifecycle
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.present import i18n

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


def message(w: dict[str, Any], lang: str = "en") -> str:
    """The warning in words, from the catalogue (key warning.<code>)."""
    code = w["code"]
    num = i18n.fmt_number
    if code == "short_history":
        names = lifecycle.stage_labels(lang)
        stages = i18n.t("warning.join.or", lang).join(names[s] for s in w["unreachable_stages"])
        return i18n.t(
            "warning.short_history",
            lang,
            history_days=num(w["history_days"], lang),
            threshold_name=i18n.t(f"warning.threshold.{w['threshold']}", lang),
            threshold_days=num(w["threshold_days"], lang),
            stages=stages,
        )
    if code == "left_censored":
        return i18n.t(
            "warning.left_censored",
            lang,
            customers=num(w["customers"], lang),
            share=i18n.fmt_pct(w["share"]),
            horizon=num(w["horizon_days"], lang),
            first=i18n.fmt_date(dt.date.fromisoformat(w["first_order_date"]), lang),
            until=i18n.fmt_date(dt.date.fromisoformat(w["censored_until"]), lang),
        )
    if code == "negative_durations":
        sep = i18n.t("warning.join.list", lang)
        detail = sep.join(
            f"{i18n.t(f'complaints.col.{s}', lang)} {num(n, lang)}" for s, n in w["stages"].items()
        )
        return i18n.t(
            "warning.negative_durations", lang, n=num(w["durations"], lang), detail=detail
        )
    return i18n.t(f"warning.{code}", lang)


def metrics_warnings(
    con: db.Connection, clv_block: dict[str, Any], f: Filters = NO_FILTERS
) -> list[dict[str, Any]]:
    """The `warnings` list of `metrics --json`: data_warnings under the document's filters and
    clv_warning, each with its English `message`."""
    ws = data_warnings(con, f) + clv_warning(clv_block)
    return [w | {"message": message(w, "en")} for w in ws]
