"""Relationship lifecycle: stages with their rules, end patterns, funnels, new vs lost, cohorts."""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.present import i18n

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
STAGE_NAMES = {
    "prospect": {"zh": "潜在客户", "en": "Prospect"},
    "exploration": {"zh": "考察期", "en": "Exploration"},
    "formation": {"zh": "形成期", "en": "Formation"},
    "stability": {"zh": "稳定期", "en": "Stability"},
    "decline": {"zh": "退化期", "en": "Decline"},
    "lost": {"zh": "已流失", "en": "Lost"},
}
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
END_PATTERN_NAMES = {
    "aborted_early": {"zh": "早期流产", "en": "Aborted early"},
    "died_in_formation": {"zh": "中途夭折", "en": "Died in formation"},
    "exited_after_stability": {"zh": "提前退出", "en": "Left after stability"},
    "lasting": {"zh": "长久保持", "en": "Lasting"},
    "ongoing": {"zh": "尚在发展", "en": "Still developing"},
}
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


def stage_labels(lang: str) -> dict[str, str]:
    """Stage key -> display name."""
    return {k: v[lang] for k, v in STAGE_NAMES.items()}


def end_pattern_labels(lang: str) -> dict[str, str]:
    """End-pattern key -> display name."""
    return {k: v[lang] for k, v in END_PATTERN_NAMES.items()}


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
    lang: str = "en",
) -> pd.DataFrame:
    """One row per customer known by `as_of`: stage, rule_key, `rule` (the rule and its numbers
    in words), end_pattern, purchases, first/last purchase date, days_since_last,
    relationship_days, span_days, median_gap_days, overdue_days, revenue, revenue_12m,
    revenue_prev_12m, source, owner."""
    df = _stage_rows(con, as_of, filters, rules)
    df["rule"] = explain(df, rules, as_of, lang)
    return df


def rule_of(
    con: db.Connection,
    customer_id: str,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    rules: LifecycleRules = DEFAULT_RULES,
    lang: str = "en",
) -> str | None:
    """The rule text (explain) of one customer's stage as of `as_of`, None when the customer is
    unknown to the lifecycle under the filters. Explains that row only."""
    df = _stage_rows(con, as_of, filters, rules)
    row = df[df["customer_id"] == customer_id]
    if row.empty:
        return None
    return str(explain(row, rules, as_of, lang).iloc[0])


def _stage_rows(
    con: db.Connection, as_of: dt.date, filters: Filters, rules: LifecycleRules
) -> pd.DataFrame:
    # customer_stages() without the rule text, which costs more than the query for a million
    # customers: the page explains only the rows it shows (stage_members).
    return _report(con, "lifecycle_customers", _params(as_of, rules, filters))


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
        return "–"
    f = float(x)
    return f"{f:,.0f}" if f == int(f) else f"{f:,.1f}"


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
    """stage_counts() from customer_stages() rows already fetched (the same numbers)."""
    df = stages.groupby("stage", as_index=False).agg(
        customers=("customer_id", "size"),
        revenue=("revenue", "sum"),
        revenue_12m=("revenue_12m", "sum"),
    )
    return _counts_frame(df)


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
    stability). Input: customer_stages()."""
    bought = stages["purchases"] >= 1
    repeat = stages["purchases"] >= 2
    stable = stages["end_pattern"].isin(["lasting", "exited_after_stability"])
    counts = [len(stages), int(bought.sum()), int(repeat.sum()), int((repeat & stable).sum())]
    return _funnel_frame(LIFECYCLE_FUNNEL, counts)


def customer_funnel(
    stages: pd.DataFrame,
    loyal_purchases: int = LOYAL_PURCHASES,
    referral_sources: tuple[str, ...] = REFERRAL_SOURCES,
) -> pd.DataFrame:
    """HubSpot-style customer funnel: known -> first purchase -> repeat -> loyal (>= N purchases
    or in stability) -> advocate. The data records who was referred, not who referred: the
    advocate stage counts buying customers acquired by a referral (each one a recommendation by
    an existing customer), so it is not a subset of loyal. Input: customer_stages()."""
    bought = stages["purchases"] >= 1
    loyal = (stages["purchases"] >= loyal_purchases) | (stages["stage"] == "stability")
    referred = (
        stages["source"]
        .fillna("")
        .str.strip()
        .str.lower()
        .isin([s.lower() for s in referral_sources])
    )
    counts = [
        len(stages),
        int(bought.sum()),
        int((stages["purchases"] >= 2).sum()),
        int(loyal.sum()),
        int((referred & bought).sum()),
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
    return transitions_between(
        _stage_of(con, start, filters, rules), _stage_of(con, end, filters, rules)
    )


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
    out = m.groupby(["stage_from", "stage_to"]).size().rename("customers").reset_index()
    order = {s: i for i, s in enumerate(("new", *STAGES))}
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
    df = stages[stages["purchases"] >= 1].copy()
    if by in ("cohort_year", "cohort_quarter"):
        first = pd.to_datetime(df["first_purchase_date"])
        df[by] = first.dt.year.astype(str)
        if by == "cohort_quarter":
            df[by] = df[by] + "-Q" + first.dt.quarter.astype(str)
    keys = [by, "end_pattern"] if by else ["end_pattern"]
    if by:
        df[by] = df[by].fillna("–")
    out = df.groupby(keys).size().rename("customers").reset_index()
    total = out.groupby(by)["customers"].transform("sum") if by else out["customers"].sum()
    out["share"] = out["customers"] / total
    order = {p: i for i, p in enumerate(END_PATTERNS)}
    return out.sort_values(
        keys, key=lambda s: s.map(order) if s.name == "end_pattern" else s
    ).reset_index(drop=True)


def new_vs_lost(
    con: db.Connection,
    as_of: dt.date,
    start: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    churn_days: int = CHURN_DAYS,
) -> pd.DataFrame:
    """One row per calendar month from `start` (default: first event) to `as_of`: new_customers,
    lost_customers (the month their silence passed `churn_days`), reactivated_customers and
    net_change = new + reactivated - lost."""
    params = {"as_of": as_of, "churn_days": churn_days, **filters.params()}
    df = _report(con, "lifecycle_new_lost", params)
    if df.empty:
        return pd.DataFrame(
            columns=[
                "month",
                "new_customers",
                "lost_customers",
                "reactivated_customers",
                "net_change",
            ]
        )
    df["month"] = pd.to_datetime(df["month"])
    first = pd.Timestamp(start).to_period("M").to_timestamp() if start else df["month"].min()
    months = pd.date_range(first, pd.Timestamp(as_of).to_period("M").to_timestamp(), freq="MS")
    df = df.set_index("month").reindex(months, fill_value=0).rename_axis("month").reset_index()
    cols = ["new_customers", "lost_customers", "reactivated_customers"]
    df[cols] = df[cols].astype(int)
    df["month"] = df["month"].dt.date
    df["net_change"] = df["new_customers"] + df["reactivated_customers"] - df["lost_customers"]
    return df


def last_full_month(last_date: dt.date) -> dt.date:
    """First day of the last complete calendar month on or before `last_date`: its own month when
    `last_date` is the month's last day, else the month before."""
    if (last_date + dt.timedelta(days=1)).month != last_date.month:
        return last_date.replace(day=1)
    return (last_date.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def cohort_retention(
    con: db.Connection,
    as_of: dt.date,
    start: dt.date,
    end: dt.date,
    filters: Filters = NO_FILTERS,
) -> pd.DataFrame:
    """Long form: one row per (cohort = month of first purchase in [start, end], months_since)
    with cohort_size, customers ordering in that month and retention = customers / size."""
    params = {"as_of": as_of, "start": start, "end_excl": end + dt.timedelta(days=1)}
    df = _report(con, "lifecycle_cohorts", {**params, **filters.params()})
    df["months_since"] = df["months_since"].astype(int)
    df["cohort"] = pd.to_datetime(df["cohort"])
    # Months up to as_of in which nobody of a cohort bought are 0, not missing.
    last = pd.Timestamp(as_of).to_period("M")
    sizes = df.groupby("cohort")["cohort_size"].first()
    spans = [(last - p).n + 1 for p in pd.DatetimeIndex(sizes.index).to_period("M")]
    grid = pd.DataFrame(
        [
            (c, k, n)
            for c, n, span in zip(sizes.index, sizes.to_numpy(), spans, strict=True)
            for k in range(span)
        ],
        columns=["cohort", "months_since", "cohort_size"],
    )
    # Typed even when empty (a period in which nobody made a first purchase): the merge needs
    # the same key types on both sides.
    grid = grid.astype({"cohort": df["cohort"].dtype, "months_since": df["months_since"].dtype})
    df = grid.merge(df[["cohort", "months_since", "customers"]], how="left")
    df["customers"] = df["customers"].fillna(0).astype(int)
    df["retention"] = df["customers"] / df["cohort_size"]
    return df


def retention_matrix(cohorts: pd.DataFrame) -> pd.DataFrame:
    """cohort_retention() as a matrix: rows = cohort month, columns = months since first
    purchase, values = retention share (NaN where the month is after `as_of`)."""
    return cohorts.pivot(index="cohort", columns="months_since", values="retention").sort_index()


def metrics_block(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, object]:
    """The lifecycle part of `metrics --json` under the filters, as of their end date when they
    set one (see docs/metrics.md)."""
    have = db.table_columns(con)
    out: dict[str, object] = {
        "lifecycle_stages": None,
        "lifecycle_as_of": None,
        "new_customers_last_month": None,
        "lost_customers_last_month": None,
        "new_lost_month": None,
    }
    if not {"orders", "customers"} <= have.keys():
        return out
    last = db.query_rows(con, "lifecycle_data_end")[0]
    last_order, last_known = last
    if last_known is None:
        return out
    if filters.end is not None:
        last_known = min(last_known, filters.end)
        last_order = min(last_order, filters.end) if last_order else None
    counts = stage_counts(con, last_known, filters)
    out["lifecycle_stages"] = dict(zip(counts["stage"], counts["customers"].tolist(), strict=True))
    out["lifecycle_as_of"] = last_known.isoformat()
    if last_order is None:
        return out
    month = last_full_month(last_order)
    nl = new_vs_lost(con, last_order, filters=filters)
    row = nl[nl["month"] == month]
    out["new_customers_last_month"] = int(row["new_customers"].sum())
    out["lost_customers_last_month"] = int(row["lost_customers"].sum())
    out["new_lost_month"] = f"{month:%Y-%m}"
    return out


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


@dataclass(frozen=True)
class LifecycleReport:
    """Everything the Lifecycle page shows for one period and filter set."""

    as_of: dt.date
    start: dt.date
    rules: LifecycleRules
    lang: str
    customers: pd.DataFrame  # customer_stages() as of `as_of`, without the rule text
    counts: pd.DataFrame
    lifecycle_funnel: pd.DataFrame
    customer_funnel: pd.DataFrame
    transitions: pd.DataFrame
    end_patterns: pd.DataFrame
    new_lost: pd.DataFrame
    cohorts: pd.DataFrame


def lifecycle_report(
    con: db.Connection,
    start: dt.date,
    as_of: dt.date,
    filters: Filters = NO_FILTERS,
    lang: str = "en",
    rules: LifecycleRules = DEFAULT_RULES,
) -> LifecycleReport:
    """Stages as of `as_of`, transitions since the day before `start`, end patterns, new vs lost
    per month and the retention of the cohorts acquired from `start` to `as_of`."""
    customers = _stage_rows(con, as_of, filters, rules)
    before = _stage_of(con, start - dt.timedelta(days=1), filters, rules)
    return LifecycleReport(
        as_of=as_of,
        start=start,
        rules=rules,
        lang=lang,
        customers=customers,
        counts=counts_of(customers),
        lifecycle_funnel=lifecycle_funnel(customers),
        customer_funnel=customer_funnel(customers),
        transitions=transitions_between(before, customers),
        end_patterns=end_patterns(customers),
        new_lost=new_vs_lost(con, as_of, start, filters, rules.churn_days),
        cohorts=cohort_retention(con, as_of, start, as_of, filters),
    )


def report_members(rep: LifecycleReport, stage: str, limit: int | None = None) -> pd.DataFrame:
    """stage_members() of a lifecycle report: one stage's customers, highest revenue first."""
    return stage_members(rep.customers, stage, limit, rep.rules, rep.as_of, rep.lang)
