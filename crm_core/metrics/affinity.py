"""What to sell next: pair association rules over customers' baskets, and next-best items."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_core.engine import db
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period, default_period, filter_period

# A rule needs at least this many customers who bought both items, and this share of all
# baskets (support); fewer is noise a sales team should not act on. Products are many and each
# is bought by few, so their support is naturally ten times smaller than a category's.
MIN_CUSTOMERS = 5
MIN_SUPPORT = {"category": 0.01, "product": 0.001}
# Only the items with the most buyers take part (products can run to tens of thousands; the
# self-join of customer x item stays cheap at a million customers).
MAX_ITEMS = 200
# Suggestions kept per customer in the next-best list.
PER_CUSTOMER = 3
ITEM_KINDS = ("category", "product")
RULE_COLUMNS = ["antecedent", "consequent", "support", "confidence", "lift", "customers"]
NEXT_BEST_COLUMNS = [
    "owner", "customer_id", "name", "suggestion_rank", "item", "because", "confidence",
    "expected_value",
]  # fmt: skip


@dataclass(frozen=True)
class Thresholds:
    """The rule thresholds (defaults: the module constants, see thresholds_for)."""

    min_customers: int = MIN_CUSTOMERS
    min_support: float = MIN_SUPPORT["category"]
    max_items: int = MAX_ITEMS


def thresholds_for(item: str) -> Thresholds:
    """The default thresholds of an item kind ('category' or 'product')."""
    return Thresholds(min_support=MIN_SUPPORT[item])


def item_kind(con: db.Connection) -> str:
    """'category' when the orders carry at least two product categories, else 'product' (retail
    line items without categories): decided per dataset, not per filter."""
    categories, products = db.query_rows(con, "affinity_item_counts")[0]
    return "category" if (categories or 0) >= 2 or not products else "product"


def window(con: db.Connection, f: Filters = NO_FILTERS) -> Period | None:
    """The filters' period, else the 12 months up to the last order (None: no orders)."""
    return filter_period(con, f) or default_period(con)


def _params(
    con: db.Connection, period: Period, f: Filters, item: str | None, th: Thresholds | None
) -> dict[str, Any]:
    kind = item or item_kind(con)
    if kind not in ITEM_KINDS:
        raise ValueError(f"item must be one of {ITEM_KINDS}, not {kind!r}")
    th = th or thresholds_for(kind)
    params = {
        "start": period.start,
        "end_excl": period.end_excl,
        "item": kind,
        "min_customers": th.min_customers,
        "min_support": th.min_support,
        "max_items": th.max_items,
        **f.params(),
    }
    # The number of baskets, once: the rules' support threshold and column take it as a value.
    # (The count's query reads the same fragment; its unused rules take a placeholder count.)
    baskets = db.scalar(con, "affinity_basket_count", **params, baskets=0)
    return {**params, "baskets": int(baskets or 0)}


def association_rules(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    item: str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """One row per rule A -> B over customers' baskets in the period (docs/metrics.md,
    "Cross-sell"): antecedent, consequent, support, confidence, lift, customers (with A and B),
    antecedent_customers, consequent_customers, baskets; by lift, then customers."""
    params = _params(con, period, filters, item, thresholds)
    df = db.query(con, "affinity_rules", **params)
    for c in ("customers", "antecedent_customers", "consequent_customers", "baskets"):
        df[c] = df[c].astype("int64")
    n = df["baskets"].astype(float)
    df["support"] = df["customers"] / n
    df["confidence"] = df["customers"] / df["antecedent_customers"]
    df["lift"] = df["confidence"] / (df["consequent_customers"] / n)
    df = df.sort_values(["lift", "customers", "antecedent", "consequent"],
                        ascending=[False, False, True, True])  # fmt: skip
    extra = ["antecedent_customers", "consequent_customers", "baskets"]
    return df[RULE_COLUMNS + extra].reset_index(drop=True)


def next_best(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    item: str | None = None,
    thresholds: Thresholds | None = None,
    per_customer: int = PER_CUSTOMER,
) -> pd.DataFrame:
    """Per customer, up to `per_customer` items bought by no line of theirs in the period while
    they bought the antecedent of a rule for it (`because`), ranked by expected_value =
    confidence x the item's average net spend among its buyers; rows by owner, then expected
    value. Columns NEXT_BEST_COLUMNS."""
    params = _params(con, period, filters, item, thresholds)
    df = db.query(con, "affinity_next_best", **params, per_customer=per_customer)
    df["suggestion_rank"] = df["suggestion_rank"].astype("int64")
    for c in ("confidence", "expected_value"):
        df[c] = df[c].astype(float)
    return df[NEXT_BEST_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class NextBestView:
    """What the Affinity page shows of the next-best list: how many suggestions there are, the
    per-owner summary and the `top` suggestions of highest expected value (the whole list is
    a download, read when asked for)."""

    rows: int
    by_owner: pd.DataFrame
    top: pd.DataFrame


def next_best_view(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    item: str | None = None,
    top: int = 200,
) -> NextBestView:
    """next_best's list summed per owner (next_best_by_owner) and its `top` rows by expected
    value (ties: the list's order), without the list itself: at a million customers the list
    is tens of MB that every render would otherwise load."""
    rows = next_best(con, period, filters, item)
    best = rows.sort_values("expected_value", ascending=False, kind="stable").head(top)
    return NextBestView(len(rows), next_best_by_owner(rows), best.reset_index(drop=True))


def next_best_by_owner(next_best_rows: pd.DataFrame) -> pd.DataFrame:
    """Per owner (None: customers without one): customers with a suggestion, suggestions and
    the summed expected value of each customer's first suggestion; by that value."""
    firsts = next_best_rows[next_best_rows["suggestion_rank"] == 1]
    out = (
        firsts.groupby("owner", dropna=False)
        .agg(customers=("customer_id", "nunique"), expected_value=("expected_value", "sum"))
        .reset_index()
    )
    counts = next_best_rows.groupby("owner", dropna=False).size().rename("suggestions")
    out = out.merge(counts.reset_index(), on="owner", how="left")
    out = out.sort_values(["expected_value", "owner"], ascending=[False, True])
    return out[["owner", "customers", "suggestions", "expected_value"]].reset_index(drop=True)


def affinity_json(
    con: db.Connection,
    filters: Filters = NO_FILTERS,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The `affinity --json` document: {item, baskets, thresholds, period, rules: [{antecedent,
    consequent, support, confidence, lift, customers}]} (rules by lift, then customers)."""
    period = window(con, filters)
    kind = item_kind(con)
    if period is None:
        return {"item": kind, "baskets": 0, "period": None, "rules": []}
    th = thresholds or thresholds_for(kind)
    rules = association_rules(con, period, filters, kind, th)
    baskets = basket_count(con, period, filters, kind, th)
    return {
        "item": kind,
        "baskets": baskets,
        "thresholds": dataclasses.asdict(th),
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "rules": [
            {
                "antecedent": str(r["antecedent"]),
                "consequent": str(r["consequent"]),
                "support": float(r["support"]),
                "confidence": float(r["confidence"]),
                "lift": float(r["lift"]),
                "customers": int(r["customers"]),
            }
            for r in rules[RULE_COLUMNS].to_dict("records")
        ],
    }


def basket_count(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    item: str | None = None,
    thresholds: Thresholds | None = None,
) -> int:
    """The number of baskets: customers with any item bought in the period, net of returns."""
    return int(_params(con, period, filters, item, thresholds)["baskets"])
