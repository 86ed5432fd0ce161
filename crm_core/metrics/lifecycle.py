"""Lifecycle stages: the rules, each customer's stage, counts, funnels, moves and end patterns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics.filters import NO_FILTERS, Filters

# Defaults of the stage rules (docs/lifecycle.md). Days are calendar days between purchase dates.
CHURN_DAYS = 365  # lost: more days than this since the last purchase
FORMATION_DAYS = 365  # formation: a repeat buyer whose first purchase is fewer days ago than this
GAP_FACTOR = 2.0  # decline: silence longer than GAP_FACTOR x the customer's median gap ...
MIN_OVERDUE_DAYS = 90  # ... and never before this many days (two purchases a week apart)
# decline by spend: the last 12 months more than this share below the 12 before. Off (None) by
# default: on the demo data it flagged car buyers in their second year, who were no likelier to be
# lost a year later than stable customers (see docs/lifecycle.md); 0.5 suits steady baskets.
SPEND_DROP: float | None = None
LOYAL_PURCHASES = 3  # customer funnel: loyal = at least this many purchases, or in stability
# Customer sources that mean "referred by an existing customer" (the advocate stage).
REFERRAL_SOURCES = ("老客户推荐", "客户推荐", "转介绍", "referral", "referred", "word of mouth")

# Stage order of the relationship (考察期 → 形成期 → 稳定期 → 退化期), with prospects before
# and lost customers after. Keys are stable: `metrics --json` publishes them.
STAGES = ("prospect", "exploration", "formation", "stability", "decline", "lost")
# Rule keys of the `rule_key` column, in the order the rules are tried (first match wins).
RULES = (
    "prospect",
    "lost",
    "exploration",
    "decline_overdue",
    "decline_spend",
    "formation",
    "stability",
)
# How a relationship ended (lost customers) or stands (the others who bought).
END_PATTERNS = (
    "aborted_early",
    "died_in_formation",
    "exited_after_stability",
    "lasting",
    "ongoing",
)
# The columns of a customer_stages() row that a rule's text quotes (rule_of).
RULE_FACTS = (
    "rule_key",
    "days_since_last",
    "relationship_days",
    "purchases",
    "median_gap_days",
    "overdue_days",
    "revenue_12m",
    "revenue_prev_12m",
)
# The stage member table shows this many customers (highest revenue first); downloads hold all.
MEMBERS_SHOWN = 1000
LIFECYCLE_FUNNEL = ("known", "exploration", "formation", "stability")
CUSTOMER_FUNNEL = ("known", "first_purchase", "repeat", "loyal", "advocate")


@dataclass(frozen=True)
class LifecycleRules:
    """The configurable thresholds of the stage rules."""

    churn_days: int = CHURN_DAYS
    formation_days: int = FORMATION_DAYS
    gap_factor: float = GAP_FACTOR
    min_overdue_days: int = MIN_OVERDUE_DAYS
    spend_drop: float | None = SPEND_DROP  # None switches the spend rule off

    def params(self) -> dict[str, object]:
        return {
            "churn_days": self.churn_days,
            "formation_days": self.formation_days,
            "gap_factor": self.gap_factor,
            "min_overdue_days": self.min_overdue_days,
            "spend_drop": self.spend_drop,
        }


DEFAULT_RULES = LifecycleRules()


def _params(as_of: dt.date, rules: LifecycleRules, filters: Filters) -> dict[str, object]:
    return {"as_of": as_of, **rules.params(), **filters.params()}


def _report(con: db.Connection, name: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run report `name` (params include the filters) on the shared customer x purchase-day rows
    (crm_core/facts.py): `<name>_shared.sql` on DuckDB, else `<name>.sql` over the order lines."""
    days = facts.purchase_days(con, params)
    if days is None:
        return db.query(con, name, **params)
    return db.query(con, f"{name}_shared", **params, days_id=days)


def customer_stages(
    con: db.Connection,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> pd.DataFrame:
    """One row per customer known by `as_of`: stage, rule_key, end_pattern, purchases, first/last
    purchase date, days_since_last, relationship_days, span_days, median_gap_days, overdue_days,
    revenue, revenue_12m, revenue_prev_12m, source, owner. The rule in words (the `rule` column)
    is present's: crm_core.present.lifecycle_text.with_rule_text."""
    return _report(con, "lifecycle_customers", _params(as_of, rules, filters))


def rule_of(
    con: db.Connection,
    customer_id: str,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> dict[str, Any] | None:
    """The rule that placed one customer in its stage as of `as_of` and that rule's numbers
    (RULE_FACTS of its customer_stages() row), None when the customer is unknown to the
    lifecycle under the filters. In words: crm_core.present.lifecycle_text.rule_text."""
    df = customer_stages(con, as_of, filters, rules)
    row = df[df["customer_id"] == customer_id]
    if row.empty:
        return None
    return {k: row[k].iloc[0] for k in RULE_FACTS}


def stage_counts(
    con: db.Connection,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> pd.DataFrame:
    """One row per stage in STAGES order (zeros included): customers, share, revenue (lifetime
    to `as_of`), revenue_12m."""
    return _counts_frame(_report(con, "lifecycle_stage_counts", _params(as_of, rules, filters)))


def counts_of(stages: pd.DataFrame) -> pd.DataFrame:
    """stage_counts() from customer_stages() rows or a profile() already fetched (the same
    numbers)."""
    df = (
        stages.assign(customers=_weights(stages))
        .groupby("stage", as_index=False)
        .agg(
            customers=("customers", "sum"),
            revenue=("revenue", "sum"),
            revenue_12m=("revenue_12m", "sum"),
        )
    )
    return _counts_frame(df)


def _weights(stages: pd.DataFrame) -> pd.Series:
    """Customers each row stands for: a profile() row's `customers`, else 1 (one customer)."""
    if "customers" in stages.columns and "customer_id" not in stages.columns:
        return stages["customers"].astype("int64")
    return pd.Series(1, index=stages.index, dtype="int64")


# The groups of a profile(): known customers are counted per combination of these.
PROFILE_KEYS = ("stage", "end_pattern", "source", "purchases", "first_purchase_date")


def profile(
    con: db.Connection,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> pd.DataFrame:
    """Customers known by `as_of` counted per (stage, end pattern, source, purchases, quarter of
    the first purchase as its first day), with their lifetime and 12-month revenue: what the
    counts, funnels and end patterns sum, without a row per customer."""
    return _profile_frame(_stages_report(con, "lifecycle_profile", _params(as_of, rules, filters)))


def profile_of(stages: pd.DataFrame) -> pd.DataFrame:
    """profile() from customer_stages() rows already fetched (the same groups and numbers)."""
    df = stages.assign(
        first_purchase_date=pd.to_datetime(stages["first_purchase_date"])
        .dt.to_period("Q")
        .dt.start_time
    )
    out = df.groupby(list(PROFILE_KEYS), dropna=False, as_index=False).agg(
        customers=("customer_id", "size"),
        revenue=("revenue", "sum"),
        revenue_12m=("revenue_12m", "sum"),
    )
    return _profile_frame(out)


def _profile_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A profile in one shape whichever way it was computed: fixed types, missing as None,
    rows ordered by the keys."""
    out = df[[*PROFILE_KEYS, "customers", "revenue", "revenue_12m"]].copy()
    for c in ("stage", "end_pattern", "source"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    out["purchases"] = out["purchases"].astype("int64")
    out["first_purchase_date"] = pd.to_datetime(out["first_purchase_date"]).astype("datetime64[ns]")
    out["customers"] = out["customers"].astype("int64")
    out[["revenue", "revenue_12m"]] = out[["revenue", "revenue_12m"]].astype(float)
    keys = list(PROFILE_KEYS)
    return out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)


def stage_rows(
    con: db.Connection,
    as_of: dt.date,
    stage: str | None = None,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
    limit: int | None = None,
) -> pd.DataFrame:
    """customer_stages() rows of one stage (every stage when None), highest revenue first (ties
    by customer id), the first `limit` of each stage (all when None)."""
    params = {**_params(as_of, rules, filters), "stage": stage, "limit": limit}
    return _stage_order(_stages_report(con, "lifecycle_members", params))


def _stage_order(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(
        ["stage", "revenue", "customer_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def _stages_report(con: db.Connection, name: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run report `name` on the shared lifecycle-stage rows (crm_core/engine/facts.py):
    `<name>_shared.sql` on DuckDB, else `<name>.sql` over the order lines."""
    stages = facts.lifecycle_stages(con, params)
    if stages is None:
        return db.query(con, name, **params)
    return db.query(con, f"{name}_shared", **params, stages_id=stages)


def _counts_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"stage": STAGES}).merge(df, on="stage", how="left")
    out[["customers", "revenue", "revenue_12m"]] = (
        out[["customers", "revenue", "revenue_12m"]].astype(float).fillna(0)
    )
    out["customers"] = out["customers"].astype(int)
    total = out["customers"].sum()
    out["share"] = out["customers"] / total if total else 0.0
    return out


def lifecycle_funnel(stages: pd.DataFrame) -> pd.DataFrame:
    """Customers who have reached each relationship phase (nested, so never increasing):
    known -> exploration (bought) -> formation (bought twice) -> stability (lasting or lost after
    stability). Input: customer_stages() or profile()."""
    w = _weights(stages)
    bought = stages["purchases"] >= 1
    repeat = stages["purchases"] >= 2
    stable = stages["end_pattern"].isin(["lasting", "exited_after_stability"])
    counts = [
        int(w.sum()),
        int(w[bought].sum()),
        int(w[repeat].sum()),
        int(w[repeat & stable].sum()),
    ]
    return _funnel_frame(LIFECYCLE_FUNNEL, counts)


def customer_funnel(
    stages: pd.DataFrame,
    loyal_purchases: int = LOYAL_PURCHASES,
    referral_sources: tuple[str, ...] = REFERRAL_SOURCES,
) -> pd.DataFrame:
    """HubSpot-style customer funnel: known -> first purchase -> repeat -> loyal (>= N purchases
    or in stability) -> advocate. The data records who was referred, not who referred: the
    advocate stage counts buying customers acquired by a referral (each one a recommendation by
    an existing customer), so it is not a subset of loyal. Input: customer_stages() or
    profile()."""
    bought = stages["purchases"] >= 1
    loyal = (stages["purchases"] >= loyal_purchases) | (stages["stage"] == "stability")
    referred = (
        stages["source"]
        .fillna("")
        .str.strip()
        .str.lower()
        .isin([s.lower() for s in referral_sources])
    )
    w = _weights(stages)
    counts = [
        int(w.sum()),
        int(w[bought].sum()),
        int(w[stages["purchases"] >= 2].sum()),
        int(w[loyal].sum()),
        int(w[referred & bought].sum()),
    ]
    return _funnel_frame(CUSTOMER_FUNNEL, counts)


def _funnel_frame(steps: tuple[str, ...], counts: list[int]) -> pd.DataFrame:
    df = pd.DataFrame({"step": steps, "customers": counts})
    first = df["customers"].iloc[0]
    df["share_of_first"] = df["customers"] / first if first else 0.0
    prev = df["customers"].shift(1)
    df["conversion"] = (df["customers"] / prev).where(prev > 0)
    return df


def stage_transitions(
    con: db.Connection,
    start: dt.date,
    end: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> pd.DataFrame:
    """One row per (stage at `start`, stage at `end`) with customers moving between them;
    customers not yet known at `start` come from 'new'."""
    earlier = _params(start, rules, filters)
    days = facts.purchase_days(con, earlier)  # one window for every day under these filters
    at_end = facts.lifecycle_stages(con, _params(end, rules, filters))
    if days is None or at_end is None:
        return transitions_between(
            _stage_of(con, start, filters, rules), _stage_of(con, end, filters, rules)
        )
    moves = db.query(con, "lifecycle_transitions_shared", **earlier, days_id=days, stages_id=at_end)
    return _transition_order(moves)


def _stage_of(
    con: db.Connection, as_of: dt.date, filters: Filters, rules: LifecycleRules
) -> pd.DataFrame:
    # customer_id and stage only: what a transition needs.
    return _report(con, "lifecycle_stage_of", _params(as_of, rules, filters))


def stage_of_customers(
    con: db.Connection,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
) -> pd.DataFrame:
    """One row per customer known by `as_of`: customer_id, stage (a STAGES key) — the stages of
    customer_stages() without the numbers and rule text, cheap enough for every customer."""
    return _stage_of(con, as_of, filters, rules)


def transitions_between(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """stage_transitions() from the stages at the start (`a`) and at the end (`b`), each with
    customer_id and stage."""
    m = b[["customer_id", "stage"]].merge(
        a[["customer_id", "stage"]], on="customer_id", how="left", suffixes=("_to", "_from")
    )
    m["stage_from"] = m["stage_from"].fillna("new")
    return _transition_order(
        m.groupby(["stage_from", "stage_to"]).size().rename("customers").reset_index()
    )


def _transition_order(moves: pd.DataFrame) -> pd.DataFrame:
    order = {s: i for i, s in enumerate(("new", *STAGES))}
    out = moves.astype({"customers": "int64"})
    return out.sort_values(["stage_from", "stage_to"], key=lambda s: s.map(order)).reset_index(
        drop=True
    )


def transition_matrix(transitions: pd.DataFrame) -> pd.DataFrame:
    """stage_transitions() as a matrix: rows = stage at start, columns = stage at end."""
    rows = [s for s in ("new", *STAGES) if s in set(transitions["stage_from"])]
    m = transitions.pivot_table(
        index="stage_from", columns="stage_to", values="customers", aggfunc="sum", fill_value=0
    )
    return m.reindex(index=rows, columns=[s for s in STAGES if s in m.columns], fill_value=0)


def end_patterns(stages: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Customers per end pattern (buyers only), optionally per `by` value: one row per
    (by, end_pattern) with customers and share within the `by` group. `by` is a column of
    customer_stages() such as 'source', or 'cohort_year' / 'cohort_quarter' (of the first
    purchase)."""
    df = stages[stages["purchases"] >= 1].assign(customers=_weights(stages))
    if by in ("cohort_year", "cohort_quarter"):
        first = pd.to_datetime(df["first_purchase_date"])
        df[by] = first.dt.year.astype(str)
        if by == "cohort_quarter":
            df[by] = df[by] + "-Q" + first.dt.quarter.astype(str)
    keys = [by, "end_pattern"] if by else ["end_pattern"]
    if by:
        df[by] = df[by].fillna("–")
    out = df.groupby(keys)["customers"].sum().reset_index()
    total = out.groupby(by)["customers"].transform("sum") if by else out["customers"].sum()
    out["share"] = out["customers"] / total
    order = {p: i for i, p in enumerate(END_PATTERNS)}
    return out.sort_values(
        keys, key=lambda s: s.map(order) if s.name == "end_pattern" else s
    ).reset_index(drop=True)


def history_warnings(
    con: db.Connection, filters: Filters = NO_FILTERS, rules: LifecycleRules = DEFAULT_RULES
) -> list[dict[str, Any]]:
    """What the order history cannot tell about lifecycle stages (docs/metrics.md, "What each
    warning means"): a list of {code, severity, ...params}, empty when nothing to say.

    - `short_history`: the history (last - first non-return order date over all orders, in
      days) is too short for a stage rule: no customer can be `lost` while it is <= churn_days,
      none `stability` while it is < formation_days. Params: history_days, threshold (the
      longest rule: "churn_days" or "formation_days"), threshold_days, unreachable_stages,
      first_order_date, last_order_date. Severity "warning".
    - `left_censored`: buying customers (under the filters) whose first purchase is fewer than
      churn_days days after the data start: had they bought the day before the export begins,
      they would not have been lost in between, so whether they are new is unknown and their
      relationship is longer than it looks. Params: customers, buyers, share (4 decimals),
      horizon_days (= churn_days), first_order_date, censored_until (the last first-purchase
      day that is censored). Severity "warning" with a short history or when at least half the
      buyers are censored, else "note".
    """
    rows = db.query_rows(con, "lifecycle_history", censor_days=rules.churn_days, **filters.params())
    if not rows or rows[0][0] is None:
        return []
    first, last, buyers, censored = rows[0]
    history = (last - first).days
    out: list[dict[str, Any]] = []
    unreachable = [
        stage
        for stage, short in (
            ("lost", history <= rules.churn_days),
            ("stability", history < rules.formation_days),
        )
        if short
    ]
    if unreachable:
        longest = "churn_days" if rules.churn_days >= rules.formation_days else "formation_days"
        out.append(
            {
                "code": "short_history",
                "severity": "warning",
                "history_days": history,
                "threshold": longest,
                "threshold_days": getattr(rules, longest),
                "unreachable_stages": unreachable,
                "first_order_date": first.isoformat(),
                "last_order_date": last.isoformat(),
            }
        )
    if censored:
        share = round(censored / buyers, 4)
        out.append(
            {
                "code": "left_censored",
                "severity": "warning" if unreachable or share >= 0.5 else "note",
                "customers": int(censored),
                "buyers": int(buyers),
                "share": share,
                "horizon_days": rules.churn_days,
                "first_order_date": first.isoformat(),
                "censored_until": (first + dt.timedelta(days=rules.churn_days - 1)).isoformat(),
            }
        )
    return out


def censored_until(warnings: list[dict[str, Any]]) -> dt.date | None:
    """The last left-censored first-purchase day of history_warnings() (None: none)."""
    for w in warnings:
        if w["code"] == "left_censored":
            return dt.date.fromisoformat(w["censored_until"])
    return None
