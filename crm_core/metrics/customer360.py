"""Customer 360: find a customer, one profile (who, tier, RFM, stage, P(alive), CLV, relationship
level) and one timeline of orders, returns, interactions, leads and complaints; relationship
levels (Kotler's five: basic → passive → responsible → proactive → partner) from post-sale contact.
Rules and constants: docs/metrics.md, "Customer 360" and "Relationship level"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from crm_core.engine import db
from crm_core.metrics import customers, lifecycle
from crm_core.metrics.filters import NO_FILTERS, SCOPE_SEPARATOR, Filters

# ---------------------------------------------------------------- relationship-level rules
LEVELS = ("basic", "passive", "responsible", "proactive", "partner")
# A company contact within this many days of a purchase (order date included) follows it up.
FOLLOW_UP_DAYS = 30
# Proactive: at least this many company contacts per year since the first purchase (a
# relationship younger than a year counts as one year) ...
PROACTIVE_PER_YEAR = 4
# ... or, with at least two purchases, a follow-up after more than this share of them.
PROACTIVE_FOLLOWED_SHARE = 0.5
# Partner: proactive, and company contacts in at least this many of the last 12 months.
PARTNER_MONTHS = 6
# Interaction kinds (lower case) the customer starts: a walk-in or an inbound call. Every other
# interaction counts as company-initiated; every complaint as customer-initiated.
INBOUND_KINDS = ("到店", "来店", "来电", "来访", "咨询", "inbound", "walk-in", "call-in")
# The columns of a relationship_levels() row that the level's rule quotes (profile).
LEVEL_FACTS = (
    "level", "per_year", "followed_orders", "orders", "company_contacts", "customer_contacts",
    "active_months",
)  # fmt: skip
# Timeline kinds, in the order a same-moment tie is listed.
KINDS = ("order", "return", "interaction", "lead", "complaint")


def _inbound_param() -> str:
    sep = SCOPE_SEPARATOR
    return sep + sep.join(k.lower() for k in INBOUND_KINDS) + sep


def relationship_stats(
    con: db.Connection,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    customer_id: str | None = None,
) -> pd.DataFrame:
    """One row per buyer (a non-return order up to `as_of`) under the filters and scope, or only
    `customer_id`: owner, first_purchase, orders, company_contacts, customer_contacts,
    followed_orders, active_months (relationship_stats.sql)."""
    return db.query(
        con,
        "relationship_stats",
        as_of_excl=as_of + dt.timedelta(days=1),
        customer_id=customer_id,
        inbound_kinds=_inbound_param(),
        follow_days=FOLLOW_UP_DAYS,
        **filters.params(),
    )


def relationship_levels(stats: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """`stats` (relationship_stats) with `per_year` (company contacts per year since the first
    purchase, at least one year) and `level` (LEVELS key): the first rule that holds, from the
    top: partner, proactive, responsible, passive, basic (docs/metrics.md)."""
    out = stats.copy()
    first = pd.to_datetime(out["first_purchase"]).dt.normalize()
    days = (pd.Timestamp(as_of) - first).dt.days.astype(float)
    years = (days / 365.0).clip(lower=1.0)
    company = out["company_contacts"].astype(float)
    orders = out["orders"].astype(float)
    followed = out["followed_orders"].astype(float)
    out["per_year"] = (company / years).round(2)
    proactive = (out["per_year"] >= PROACTIVE_PER_YEAR) | (
        (orders >= 2) & (followed > PROACTIVE_FOLLOWED_SHARE * orders)
    )
    partner = proactive & (out["active_months"].astype(float) >= PARTNER_MONTHS)
    responsible = followed >= 1
    passive = (company + out["customer_contacts"].astype(float)) >= 1
    level = pd.Series("basic", index=out.index, dtype=object)
    level[passive] = "passive"
    level[responsible] = "responsible"
    level[proactive] = "proactive"
    level[partner] = "partner"
    out["level"] = level
    return out


def level_by_owner(
    con: db.Connection, as_of: dt.date, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Buyers per owner (customers.owner; "" when unknown) and relationship level: one row per
    owner, one column per LEVELS key (counts) and `total`, sorted by owner."""
    levels = relationship_levels(relationship_stats(con, as_of, filters), as_of)
    if levels.empty:
        return pd.DataFrame(columns=["owner", *LEVELS, "total"])
    levels["owner"] = levels["owner"].fillna("").astype(str)
    out = (
        pd.crosstab(levels["owner"], levels["level"])
        .reindex(columns=list(LEVELS), fill_value=0)
        .astype("int64")
    )
    out["total"] = out.sum(axis=1)
    return out.reset_index().rename_axis(columns=None).sort_values("owner", kind="mergesort")


# ---------------------------------------------------------------- search, profile, timeline
def search(con: db.Connection, q: str, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """Up to 20 customers of the customers table within the customer filters and scope whose id
    or name contains `q` (case-insensitive; the exact id first): customer_id, name, region,
    owner. Blank `q` gives none."""
    q = q.strip()
    if not q:
        return pd.DataFrame(columns=["customer_id", "name", "region", "owner"])
    return db.query(con, "customer_search", q=q, **filters.params())


def timeline(con: db.Connection, customer_id: str) -> pd.DataFrame:
    """Every event of the customer, oldest first (customer_timeline.sql): event_at, kind (KINDS), id,
    amount, product, category, channel, initiator, purpose, outcome, owner, stage, status. The
    caller checks the scope first (profile does)."""
    return db.query(
        con, "customer_timeline", customer_id=customer_id, inbound_kinds=_inbound_param()
    )


def profile(
    con: db.Connection, customer_id: str, filters: Filters = NO_FILTERS
) -> dict[str, Any] | None:
    """The customer's 360 as a JSON-ready dict, or None when the id is unknown or outside the
    filters / scope. Keys: customer_id, name, region, owner, customer_type, tier, rfm_segment,
    lifecycle_stage, lifecycle_rule, net_revenue, orders, last_order_date, p_alive, clv,
    relationship_level, level_rule, as_of, timeline ([{date, kind, id, ...}]). The two rules are
    their facts here (lifecycle.rule_of; LEVEL_FACTS of the level's row), None when unknown;
    crm_core.present.customer_text.profile_text puts them in words.

    Tier, RFM segment, P(alive) and CLV rank or fit against every customer under the filters,
    so this builds customers.customer_table (the page caches it per filters)."""
    table = customers.customer_table(con, filters, extra=("clv",))
    return profile_from(con, table, customer_id, filters)


def profile_from(
    con: db.Connection,
    table: pd.DataFrame,
    customer_id: str,
    filters: Filters = NO_FILTERS,
) -> dict[str, Any] | None:
    """profile() over an already built customer_table(con, filters, extra=("clv",))."""
    hit = table[table["customer_id"] == customer_id]
    if hit.empty:
        return None
    row = next(customers.json_rows(hit))
    period = customers.table_period(con, filters)
    out: dict[str, Any] = {
        k: row.get(k)
        for k in (
            "customer_id", "name", "region", "owner", "customer_type", "tier", "rfm_segment",
            "lifecycle_stage", "net_revenue", "orders", "last_order_date", "p_alive", "clv",
        )
    }  # fmt: skip
    out["lifecycle_rule"] = None
    out["relationship_level"] = None
    out["level_rule"] = None
    out["as_of"] = period.end.isoformat() if period else None
    if period is not None:
        out["lifecycle_rule"] = lifecycle.rule_of(con, customer_id, period.end, filters)
        stats = relationship_stats(con, period.end, filters, customer_id)
        if not stats.empty:
            lv = relationship_levels(stats, period.end).iloc[0]
            out["relationship_level"] = lv["level"]
            out["level_rule"] = {k: lv[k] for k in LEVEL_FACTS}
    out["timeline"] = timeline_rows(timeline(con, customer_id))
    return out


def timeline_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The timeline as JSON-ready dicts: date (ISO day), kind, id, then the non-empty details."""
    rows = []
    for r in customers.json_rows(df):
        at = r.pop("event_at")
        item = {
            "date": at[:10] if isinstance(at, str) else at,
            "kind": r.pop("kind"),
            "id": r.pop("id"),
        }
        item.update({k: v for k, v in r.items() if v is not None})
        rows.append(item)
    return rows
