"""The warnings of `metrics --json` and the pages in words, from the catalogue (warning.*)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crm_core.present import i18n
from crm_core.present.lifecycle_text import stage_labels


def message(w: dict[str, Any], lang: str = "en") -> str:
    """The warning in words, from the catalogue (key warning.<code>)."""
    code = w["code"]
    num = i18n.fmt_number
    if code == "short_history":
        names = stage_labels(lang)
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


def with_messages(warnings: list[dict[str, Any]], lang: str = "en") -> list[dict[str, Any]]:
    """Each warning (caveats.metrics_warnings) with its `message` in `lang`: the `warnings` list
    of `metrics --json` carries the English one."""
    return [w | {"message": message(w, lang)} for w in warnings]
