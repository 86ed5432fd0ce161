"""Customer value: pyramid tiers, Pareto concentration, RFM 8 segments, tier migration."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.overview import Period, default_period, filter_period

# Cumulative top shares of ACTIVE customers closing the first three tiers: top 1 %, next 4 %,
# next 15 %; the remaining 80 % are "regular". Rounding and ties: docs/metrics.md.
TIER_CUTS: tuple[float, float, float] = (0.01, 0.05, 0.20)
# Stable keys in pyramid order (tier_no 1..6 in SQL); the JSON and CSV use these.
TIER_KEYS = ("diamond", "gold", "silver", "regular", "sleeping", "prospect")
ACTIVE_TIERS = TIER_KEYS[:4]
TIER_NAMES: dict[str, dict[str, str]] = {
    "diamond": {"zh": "钻石", "en": "Diamond"},
    "gold": {"zh": "黄金", "en": "Gold"},
    "silver": {"zh": "白银", "en": "Silver"},
    "regular": {"zh": "普通", "en": "Regular"},
    "sleeping": {"zh": "沉睡", "en": "Sleeping"},
    "prospect": {"zh": "潜在", "en": "Prospect"},
}
# Migration only: customers not yet known at the earlier date (tier_no 0 in SQL).
NEW_KEY = "new"
NEW_NAMES = {"zh": "新增", "en": "New"}

MEASURES = ("revenue", "profit")  # what ranks customers into tiers
# Columns the page shows of value_pyramid() and rfm_segments(), and the heatmap's metrics.
PYRAMID_COLUMNS = [
    "label", "customers", "revenue", "revenue_share", "avg_order_value", "orders_per_customer",
]  # fmt: skip
SEGMENT_COLUMNS = ["label", "customers", "revenue", "revenue_share", "action"]
HEATMAP_METRICS = ("customer_share", "revenue_share", "recency_days", "frequency", "monetary")
PARETO_TOP = 0.20  # "the top 20 %" of buying customers, ceil(0.20 * n) of them
MIGRATION_MONTHS = 12  # the earlier pyramid: the same window shifted back this many months


@dataclass(frozen=True)
class Segment:
    """One of the eight RFM segments: high/low code for R, F, M and its names and action."""

    key: str
    code: str  # R, F, M: 'H' = better than the mean (recent, frequent, high spend)
    zh: str
    en: str
    action_zh: str
    action_en: str

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def action(self, lang: str) -> str:
        return self.action_zh if lang == "zh" else self.action_en


SEGMENTS: tuple[Segment, ...] = (
    Segment("important_value", "HHH", "重要价值客户", "Important value",
            "VIP 专属服务，优先资源倾斜，保持满意度",
            "VIP service and priority resources; keep them delighted"),
    Segment("important_development", "HLH", "重要发展客户", "Important development",
            "提升购买频次：交叉销售、保养套餐、会员权益",
            "Raise frequency: cross-sell, service plans, loyalty perks"),
    Segment("important_retention", "LHH", "重要保持客户", "Important retention",
            "近期未购：主动联系关怀，了解原因",
            "Quiet lately: reach out personally and find out why"),
    Segment("important_winback", "LLH", "重要挽留客户", "Important win-back",
            "由客户经理进行挽回回访",
            "Account manager win-back call"),
    Segment("general_value", "HHL", "一般价值客户", "General value",
            "推荐更高价值的产品与服务，提升客单价",
            "Upsell higher-value products and services"),
    Segment("general_development", "HLL", "一般发展客户", "General development",
            "新客培育：发放优惠券，促进复购",
            "Nurture: coupons and offers for a repeat purchase"),
    Segment("general_retention", "LHL", "一般保持客户", "General retention",
            "定期低成本触达（短信、微信）",
            "Low-cost periodic contact (SMS, WeChat)"),
    Segment("general_winback", "LLL", "一般挽留客户", "General win-back",
            "自动化低成本营销，不投入人工",
            "Automated low-cost campaigns only"),
)  # fmt: skip
SEGMENT_BY_CODE = {s.code: s for s in SEGMENTS}
SEGMENT_BY_KEY = {s.key: s for s in SEGMENTS}


def tier_name(key: str, lang: str, names: Mapping[str, Mapping[str, str]] = TIER_NAMES) -> str:
    """Display name of a tier key (or of NEW_KEY) in `lang`."""
    return NEW_NAMES[lang] if key == NEW_KEY else names[key][lang]


# --------------------------------------------------------------------------- periods


def _shift_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 - months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def earlier_period(period: Period, months: int = MIGRATION_MONTHS) -> Period:
    """The same window `months` earlier (days clamped to month ends: Feb 29 -> Feb 28)."""
    return Period(_shift_months(period.start, months), _shift_months(period.end, months))


def _window_params(period: Period, suffix: str = "") -> dict[str, Any]:
    return {
        f"start{suffix}": period.start,
        f"end_excl{suffix}": period.end_excl,
        f"as_of{suffix}": period.end,
    }


def _params(
    period: Period, filters: Filters, measure: str = "revenue", cuts: Sequence[float] = TIER_CUTS
) -> dict[str, Any]:
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")
    if len(cuts) != 3 or not 0 < cuts[0] < cuts[1] < cuts[2] < 1:
        raise ValueError(f"cuts must be three increasing shares in (0, 1), not {cuts!r}")
    return {
        **_window_params(period),
        **filters.params(),
        "measure": measure,
        "cut_1": cuts[0],
        "cut_2": cuts[1],
        "cut_3": cuts[2],
        "scores": True,  # the shared window computes RFM scores (facts.NO_SCORES: tiers alone)
    }


def _report(
    con: db.Connection, name: str, params: dict[str, Any], any_variant: bool = False, **extra: Any
) -> pd.DataFrame:
    """Run report `name` on the shared per-customer window of `params` (crm_core/facts.py):
    `<name>_shared.sql` on DuckDB, else `<name>.sql`, which computes the window itself."""
    window = facts.value_window(con, params, any_variant)
    if window is None:
        return db.query(con, name, **params, **extra)
    return db.query(con, f"{name}_shared", **params, **extra, window_id=window)


def has_cost(con: db.Connection) -> bool:
    """Whether any order line has a cost, i.e. whether ranking by profit means anything."""
    return bool(db.scalar(con, "value_has_cost"))


def measures(con: db.Connection) -> tuple[str, ...]:
    """The ranking measures this database supports: profit only when costs were loaded."""
    return MEASURES if has_cost(con) else MEASURES[:1]


# --------------------------------------------------------------------------- pyramid


def value_pyramid(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    measure: str = "revenue",
    cuts: Sequence[float] = TIER_CUTS,
    lang: str = "zh",
    names: Mapping[str, Mapping[str, str]] = TIER_NAMES,
) -> pd.DataFrame:
    """One row per tier (all six, top first), as of period.end over the period as window.

    Columns: tier (key), label, active (bool), customers, revenue (net of returns),
    revenue_share, profit, profit_share (shares of the active tiers' totals; 0 for sleeping and
    prospect), value_share (share of the ranking measure), gross_revenue, returns_amount,
    orders, avg_order_value, orders_per_customer. Money is float here (the display edge).
    """
    df = _report(con, "value_pyramid", _params(period, filters, measure, cuts))
    df = df.set_index("tier_no").reindex(range(1, len(TIER_KEYS) + 1))
    counts = ["customers", "orders"]
    df[counts] = df[counts].fillna(0).astype("int64")
    money = [
        "revenue", "profit", "revenue_share", "profit_share", "gross_revenue", "returns_amount",
        "orders_per_customer",
    ]  # fmt: skip
    df[money] = df[money].astype(float).fillna(0.0)
    df["avg_order_value"] = df["avg_order_value"].astype(float)
    df.insert(0, "tier", TIER_KEYS)
    df.insert(1, "label", [names[k][lang] for k in TIER_KEYS])
    df.insert(2, "active", [k in ACTIVE_TIERS for k in TIER_KEYS])
    df["value_share"] = df[f"{measure}_share"]
    return df.reset_index(drop=True)


def negative_net_tiers(pyramid: pd.DataFrame) -> pd.DataFrame:
    """The tiers of a value_pyramid frame whose window net revenue is below 0, with columns
    tier, label, customers, revenue, gross_revenue, returns_amount (empty when none). Only an
    inactive tier can be (an active customer's net is > 0): its customers returned more in the
    window than they bought in it, purchases made before the window included. A fact of
    net-of-returns accounting, said in words on the page."""
    cols = ["tier", "label", "customers", "revenue", "gross_revenue", "returns_amount"]
    return pyramid.loc[pyramid["revenue"] < 0, cols].reset_index(drop=True)


def active_customers(pyramid: pd.DataFrame) -> int:
    """Customers with net revenue > 0 in the window (the ranked tiers of a pyramid frame)."""
    return int(pyramid.loc[pyramid["active"], "customers"].sum())


# --------------------------------------------------------------------------- Pareto


@dataclass(frozen=True)
class Pareto:
    """Concentration of window net revenue over the customers buying in the window (net > 0)."""

    customers: int  # buying customers n (net revenue in the window > 0)
    top_customers: int  # ceil(top_share * n)
    top_share: float  # the share of customers asked for (0.2)
    top_revenue_share: float | None  # revenue share of those customers; None without revenue
    curve: pd.DataFrame  # customer_share, revenue_share from (0, 0) to (1, 1); empty if none


def pareto(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    top_share: float = PARETO_TOP,
    points: int = 200,
) -> Pareto:
    """Net revenue share of the top `top_share` of buying customers and the concentration curve."""
    params = _params(period, filters)
    extra = {"top_share": top_share, "points": points}
    window = facts.value_window(con, params, any_variant=True)
    if window is None:
        df = db.query(con, "value_pareto", **params, **extra)
    else:
        # A window ranked by revenue (the page's measure is) gives the curve's order unsorted.
        ranked = facts.value_window_ranks_revenue(con, window)
        name = "value_pareto_ranked" if ranked else "value_pareto_shared"
        df = db.query(con, name, **extra, window_id=window)
    if df.empty:
        return Pareto(0, 0, top_share, None, pd.DataFrame())
    first = df.iloc[0]
    n, total = int(first["n"]), float(first["total_revenue"])
    curve = pd.DataFrame(
        {
            "customer_share": [0.0, *(df["customers"] / n)],
            "revenue_share": [0.0, *(df["cum_revenue"].astype(float) / total)],
        }
    )
    share = float(first["top_revenue"]) / total
    return Pareto(n, int(first["top_customers"]), top_share, share, curve)


# --------------------------------------------------------------------------- RFM


def rfm_segments(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS, lang: str = "zh"
) -> pd.DataFrame:
    """One row per RFM segment (all eight, SEGMENTS order) among customers buying in the window.

    Columns: segment (key), code, label, action, customers, customer_share, revenue,
    revenue_share, recency_days, frequency, monetary (means), r_score, f_score, m_score (means).
    """
    df = _report(con, "value_segments", _params(period, filters), True)
    df = df.set_index("rfm_code").reindex([s.code for s in SEGMENTS]).reset_index()
    df["customers"] = df["customers"].fillna(0).astype("int64")
    rest = [c for c in df.columns if c not in ("rfm_code", "customers")]
    df[rest] = df[rest].astype(float)
    for c in ("customer_share", "revenue", "revenue_share"):
        df[c] = df[c].fillna(0.0)
    df = df.rename(columns={"rfm_code": "code"})
    df.insert(0, "segment", [s.key for s in SEGMENTS])
    df.insert(2, "label", [s.name(lang) for s in SEGMENTS])
    df.insert(3, "action", [s.action(lang) for s in SEGMENTS])
    return df


# --------------------------------------------------------------------------- migration


@dataclass(frozen=True)
class Migration:
    """Tier movements between the earlier and the current pyramid."""

    before: Period
    after: Period
    flows: pd.DataFrame  # tier_before, tier_now (keys), labels, customers, revenue_before/now
    upgrades: int  # customers in a better tier now (prospect -> buyer included)
    downgrades: int  # customers in a worse tier now (buyer -> sleeping included)
    stayed: int
    new: int  # not known at the earlier date
    revenue_at_stake: float  # earlier-window revenue of the downgraded customers


def migration_order(lang: str = "zh") -> list[str]:
    """Sankey node labels top to bottom: the tiers, best first, then customers new since."""
    return [tier_name(k, lang) for k in (*TIER_KEYS, NEW_KEY)]


def tier_migration(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    measure: str = "revenue",
    cuts: Sequence[float] = TIER_CUTS,
    months: int = MIGRATION_MONTHS,
    lang: str = "zh",
    names: Mapping[str, Mapping[str, str]] = TIER_NAMES,
) -> Migration:
    """Pyramid as of period.end vs the same window `months` earlier, customer by customer."""
    before = earlier_period(period, months)
    now = _params(period, filters, measure, cuts)
    # The earlier window is read for its tiers alone: no RFM scores to sort for.
    earlier = {**_params(before, filters, measure, cuts), "scores": False}
    now_id = facts.value_window(con, now)
    before_id = facts.value_window(con, earlier)
    if now_id is None or before_id is None:
        df = db.query(con, "value_migration", **now, **_window_params(before, "_before"))
    else:
        df = db.query(con, "value_migration_shared", window_id=now_id, before_id=before_id)
    keys = (NEW_KEY, *TIER_KEYS)  # tier_no 0 = not known yet
    flows = pd.DataFrame(
        {
            "tier_before": [keys[i] for i in df["tier_before"]],
            "tier_now": [keys[i] for i in df["tier_now"]],
            "customers": df["customers"].astype("int64"),
            "revenue_before": df["revenue_before"].astype(float),
            "revenue_now": df["revenue_now"].astype(float),
        }
    )
    flows["label_before"] = [tier_name(k, lang, names) for k in flows["tier_before"]]
    flows["label_now"] = [tier_name(k, lang, names) for k in flows["tier_now"]]
    known = df["tier_before"] > 0
    up = known & (df["tier_now"] < df["tier_before"])
    down = known & (df["tier_now"] > df["tier_before"])
    return Migration(
        before=before,
        after=period,
        flows=flows,
        upgrades=int(df.loc[up, "customers"].sum()),
        downgrades=int(df.loc[down, "customers"].sum()),
        stayed=int(df.loc[known & ~up & ~down, "customers"].sum()),
        new=int(df.loc[~known, "customers"].sum()),
        revenue_at_stake=float(df.loc[down, "revenue_before"].sum()),
    )


# --------------------------------------------------------------------------- drill-down


def drill_choices(lang: str = "zh") -> dict[str, str]:
    """Drill-down targets: 'tier:<key>' and 'segment:<key>' -> display name."""
    return {f"tier:{k}": tier_name(k, lang) for k in TIER_KEYS} | {
        f"segment:{s.key}": s.name(lang) for s in SEGMENTS
    }


def customer_list(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    choice: str | None = None,
    measure: str = "revenue",
    cuts: Sequence[float] = TIER_CUTS,
    lang: str = "zh",
) -> pd.DataFrame:
    """One row per customer of a tier or segment (`choice` from drill_choices; None = all).

    Columns: customer_id, name, owner, region, recency_days, frequency, monetary, tier,
    segment (display names), last_order_date, r_score, f_score, m_score; best rank first.
    """
    kind, _, key = (choice or "").partition(":")
    tier_no = TIER_KEYS.index(key) + 1 if kind == "tier" else None
    code = SEGMENT_BY_KEY[key].code if kind == "segment" else None
    params = _params(period, filters, measure, cuts)
    df = _report(con, "value_customers", params, tier_no=tier_no, rfm_code=code)
    df["tier"] = df["tier_no"].map({i + 1: tier_name(k, lang) for i, k in enumerate(TIER_KEYS)})
    df["segment"] = df["rfm_code"].map({s.code: s.name(lang) for s in SEGMENTS})  # NaN: no RFM
    df["monetary"] = df["monetary"].astype(float)
    df["last_order_date"] = df["last_order_date"].dt.date
    cols = [
        "customer_id", "name", "owner", "region", "recency_days", "frequency", "monetary",
        "tier", "segment", "last_order_date", "r_score", "f_score", "m_score",
    ]  # fmt: skip
    return df[cols]


def customer_values(
    con: db.Connection,
    period: Period,
    filters: Filters = NO_FILTERS,
    measure: str = "revenue",
    cuts: Sequence[float] = TIER_CUTS,
    tier: str | None = None,
    segment: str | None = None,
) -> pd.DataFrame:
    """One row per customer known as of period.end (value_customers.sql), with stable keys;
    only tier `tier` (TIER_KEYS key) and / or RFM segment `segment` (SEGMENTS key) when given.

    Columns: customer_id, name, owner, region, source, customer_type, tier (TIER_KEYS key),
    rfm_segment (SEGMENTS key, None for non-buyers), net_revenue, gross_revenue,
    returns_amount (window money, float), profit, orders, last_order_date (date or NaT),
    recency_days, r_score, f_score, m_score, value_rank; best rank first.
    """
    df = _report(
        con,
        "value_customers",
        _params(period, filters, measure, cuts),
        tier_no=TIER_KEYS.index(tier) + 1 if tier is not None else None,
        rfm_code=SEGMENT_BY_KEY[segment].code if segment is not None else None,
    )
    df["tier"] = df["tier_no"].map(dict(enumerate(TIER_KEYS, start=1)))
    df["rfm_segment"] = df["rfm_code"].map({s.code: s.key for s in SEGMENTS})
    df = df.rename(columns={"monetary": "net_revenue", "frequency": "orders"})
    for c in ("net_revenue", "gross_revenue", "returns_amount", "profit"):
        df[c] = df[c].astype(float)
    df["last_order_date"] = pd.to_datetime(df["last_order_date"]).dt.date
    return df.drop(columns=["tier_no", "rfm_code"])


# --------------------------------------------------------------------------- metrics JSON


def value_metrics(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, Any]:
    """`tiers`, `pareto_top20_share`, `rfm_segments` under the filters, for their period (the
    default period when they set none)."""
    period = filter_period(con, filters) or default_period(con)
    if period is None:
        return {"tiers": {}, "pareto_top20_share": None, "rfm_segments": {}}
    pyr = value_pyramid(con, period, filters)
    active = pyr[pyr["active"]]
    segs = rfm_segments(con, period, filters)
    return {
        "tiers": {
            r.tier: {
                "customers": int(r.customers),  # type: ignore[arg-type]
                "revenue": float(r.revenue),  # type: ignore[arg-type]
                "revenue_share": float(r.revenue_share),  # type: ignore[arg-type]
            }
            for r in active.itertuples()
        },
        "pareto_top20_share": pareto(con, period, filters).top_revenue_share,
        "rfm_segments": dict(zip(segs["segment"], segs["customers"].astype(int), strict=True)),
    }
