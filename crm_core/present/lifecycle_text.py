"""The lifecycle in words: stage and end-pattern names, each customer's rule, the member table."""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

import pandas as pd

from crm_core.metrics.lifecycle import DEFAULT_RULES, RULES, LifecycleRules
from crm_core.present import i18n
from crm_core.present.i18n import MISSING

STAGE_NAMES = {
    "prospect": {"zh": "潜在客户", "en": "Prospect"},
    "exploration": {"zh": "考察期", "en": "Exploration"},
    "formation": {"zh": "形成期", "en": "Formation"},
    "stability": {"zh": "稳定期", "en": "Stability"},
    "decline": {"zh": "退化期", "en": "Decline"},
    "lost": {"zh": "已流失", "en": "Lost"},
}
END_PATTERN_NAMES = {
    "aborted_early": {"zh": "早期流产", "en": "Aborted early"},
    "died_in_formation": {"zh": "中途夭折", "en": "Died in formation"},
    "exited_after_stability": {"zh": "提前退出", "en": "Left after stability"},
    "lasting": {"zh": "长久保持", "en": "Lasting"},
    "ongoing": {"zh": "尚在发展", "en": "Still developing"},
}


def stage_labels(lang: str) -> dict[str, str]:
    """Stage key -> display name."""
    return {k: v[lang] for k, v in STAGE_NAMES.items()}


def end_pattern_labels(lang: str) -> dict[str, str]:
    """End-pattern key -> display name."""
    return {k: v[lang] for k, v in END_PATTERN_NAMES.items()}


def explain(df: pd.DataFrame, rules: LifecycleRules, as_of: dt.date, lang: str) -> pd.Series:
    """The `rule` text of each row: its rule's template filled with that row's numbers."""
    values = {
        "as_of": str(as_of),
        "churn": str(rules.churn_days),
        "formation": str(rules.formation_days),
        "factor": f"{rules.gap_factor:g}",
        "drop": f"{(rules.spend_drop or 0) * 100:g}",
        "min_overdue": str(rules.min_overdue_days),
    }
    cols = {
        "days": df["days_since_last"],
        "age": df["relationship_days"],
        "n": df["purchases"],
        "gap": df["median_gap_days"].astype(float).round(1),
        "overdue": df["overdue_days"].astype(float).round(1),
        "r12": df["revenue_12m"].astype(float).round(0),
        "prev12": df["revenue_prev_12m"].astype(float).round(0),
    }
    out = pd.Series("", index=df.index, dtype=object)
    for key in RULES:
        mask = df["rule_key"] == key
        if mask.any():
            out[mask] = _fill(i18n.t(f"lifecycle.rule.{key}", lang), mask, cols, values)
    return out


def with_rule_text(
    stages: pd.DataFrame,
    as_of: dt.date,
    rules: LifecycleRules = DEFAULT_RULES,
    lang: str = "en",
) -> pd.DataFrame:
    """`stages` (lifecycle.customer_stages, same rules and as_of) with the `rule` column: the rule
    that placed each customer and its numbers, in words (explain)."""
    out = stages.copy()
    out["rule"] = explain(out, rules, as_of, lang)
    return out


def rule_text(
    facts: dict[str, Any], as_of: dt.date, rules: LifecycleRules = DEFAULT_RULES, lang: str = "en"
) -> str:
    """One customer's rule in words, from its lifecycle.rule_of() facts."""
    return str(explain(pd.DataFrame([facts]), rules, as_of, lang).iloc[0])


def stage_members(
    stages: pd.DataFrame,
    stage: str,
    limit: int | None = None,
    rules: LifecycleRules = DEFAULT_RULES,
    as_of: dt.date | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """The customers of one stage with the rule that placed them, highest revenue first (the
    first `limit` of them). The rule text comes from `stages` or is written here for these rows
    only (then `as_of` is needed)."""
    cols = [
        "customer_id",
        "rule",
        "purchases",
        "last_purchase_date",
        "revenue",
        "revenue_12m",
        "source",
        "owner",
    ]
    df = stages.loc[stages["stage"] == stage]
    df = df.sort_values(["revenue", "customer_id"], ascending=[False, True])
    if limit is not None:
        df = df.head(limit)
    if "rule" not in df.columns:
        if as_of is None:
            raise ValueError("stage_members needs as_of to explain the rules")
        df = df.assign(rule=explain(df, rules, as_of, lang))
    return df[cols].reset_index(drop=True)


def _fill(template: str, mask: pd.Series, cols: dict, values: dict) -> pd.Series:
    # Column-wise str.format: each placeholder is a whole column or one constant.
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if field:
            parts.append(cols[field][mask].map(_num) if field in cols else values[field])
    out = pd.Series("", index=mask[mask].index, dtype=object)
    for p in parts:
        out = out + p
    return out


def _num(x: Any) -> str:
    if x is None or pd.isna(x):
        return MISSING
    f = float(x)
    return f"{f:,.0f}" if f == int(f) else f"{f:,.1f}"
