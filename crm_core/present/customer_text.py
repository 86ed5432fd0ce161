"""Customer 360 in words: relationship level names, the rules behind a profile's stage and level."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from crm_core.metrics.customer360 import (
    FOLLOW_UP_DAYS,
    LEVELS,
    PARTNER_MONTHS,
    PROACTIVE_FOLLOWED_SHARE,
    PROACTIVE_PER_YEAR,
)
from crm_core.present import i18n
from crm_core.present.lifecycle_text import rule_text


def level_labels(lang: str) -> dict[str, str]:
    """Relationship level key (customer360.LEVELS) -> display name."""
    return {k: i18n.t(f"customer.level.{k}", lang) for k in LEVELS}


def level_rule(row: pd.Series | dict[str, Any], lang: str) -> str:
    """Why a customer is at its level: the rule text filled with that customer's numbers."""
    return i18n.t(
        f"customer.level_rule.{row['level']}",
        lang,
        days=FOLLOW_UP_DAYS,
        per_year_min=PROACTIVE_PER_YEAR,
        share=f"{PROACTIVE_FOLLOWED_SHARE:.0%}",
        months_min=PARTNER_MONTHS,
        per_year=f"{float(row['per_year']):g}",
        followed=int(row["followed_orders"]),
        orders=int(row["orders"]),
        company=int(row["company_contacts"]),
        customer=int(row["customer_contacts"]),
        months=int(row["active_months"]),
    )


def profile_text(prof: dict[str, Any] | None, lang: str = "en") -> dict[str, Any] | None:
    """A customer360.profile() with its two rules in words: `lifecycle_rule` (the stage's rule and
    its numbers) and `level_rule` (why the customer is at its level); None stays None."""
    if prof is None:
        return None
    out = dict(prof)
    if prof["lifecycle_rule"] is not None:
        as_of = dt.date.fromisoformat(prof["as_of"])
        out["lifecycle_rule"] = rule_text(prof["lifecycle_rule"], as_of, lang=lang)
    if prof["level_rule"] is not None:
        out["level_rule"] = level_rule(prof["level_rule"], lang)
    return out


# A timeline event's own words, joined into one "detail" cell, in this order.
TIMELINE_DETAILS = ("product", "category", "channel", "purpose", "outcome", "stage", "status")


def timeline_table(timeline: list[dict[str, Any]], lang: str = i18n.DEFAULT_LANG) -> pd.DataFrame:
    """A profile's timeline as the page shows it: date, kind (in words), id, amount, detail (the
    event's product, channel, outcome, ... joined by " · "), owner; empty when it has no event."""
    events = pd.DataFrame(timeline)
    if events.empty:
        return events
    details = [c for c in TIMELINE_DETAILS if c in events.columns]
    return pd.DataFrame(
        {
            "date": events["date"],
            "kind": events["kind"].map(lambda k: i18n.t(f"customer.kind.{k}", lang)),
            "id": events["id"],
            "amount": events["amount"] if "amount" in events.columns else None,
            "detail": events[details].apply(
                lambda r: " · ".join(str(v) for v in r if isinstance(v, str) and v), axis=1
            )
            if details
            else "",
            "owner": events["owner"] if "owner" in events.columns else None,
        }
    )
