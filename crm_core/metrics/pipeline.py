"""Lead pipeline: stage order, reached-stage funnel, close rate, velocity, follow-up discipline."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from crm_core.engine import db
from crm_core.metrics.filters import NO_FILTERS, Filters


@dataclass(frozen=True)
class StageVocabulary:
    """A known pipeline: its open stages in order, and the won / lost terminal stage names."""

    name: str
    stages: tuple[str, ...]
    won: tuple[str, ...]
    lost: tuple[str, ...]


# Known stage vocabularies. The one matching most of the data's stage values wins (ties: the
# shortest). Stages of the data that none names are placed by timing or count (stage_order()).
VOCABULARIES = (
    StageVocabulary("zh_auto", ("新线索", "已联系", "到店/试驾", "报价"), ("成交",), ("战败",)),
    StageVocabulary("maven", ("Prospecting", "Engaging"), ("Won",), ("Lost",)),
    StageVocabulary(
        "en", ("Prospecting", "Qualified", "Proposal", "Negotiation"), ("Won",), ("Lost",)
    ),
    StageVocabulary(
        "salesforce",
        (
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Perception Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
        ),
        ("Closed Won",),
        ("Closed Lost",),
    ),
    StageVocabulary(
        "zh_b2b", ("初步接洽", "需求确认", "方案报价", "谈判审核"), ("赢单",), ("输单", "丢单")
    ),
)
# Outcome values that close a lead whatever its stage column says.
WON_OUTCOMES = ("赢单", "成交", "won", "win", "closed won")
LOST_OUTCOMES = ("输单", "战败", "丢单", "lost", "lose", "closed lost")
# Stable keys (`metrics --json`) and display names of known stages; others keep their own name.
STAGE_NAMES: dict[str, tuple[str, str, str]] = {
    "新线索": ("new_lead", "新线索", "New lead"),
    "已联系": ("contacted", "已联系", "Contacted"),
    "到店/试驾": ("visit_test_drive", "到店/试驾", "Visit / test drive"),
    "报价": ("quote", "报价", "Quote"),
    "成交": ("won", "成交", "Won"),
    "战败": ("lost", "战败", "Lost"),
    "prospecting": ("prospecting", "潜在客户开发", "Prospecting"),
    "engaging": ("engaging", "接洽中", "Engaging"),
    "qualified": ("qualified", "已确认需求", "Qualified"),
    "proposal": ("proposal", "方案/报价", "Proposal"),
    "negotiation": ("negotiation", "谈判", "Negotiation"),
    "won": ("won", "赢单", "Won"),
    "closed won": ("won", "赢单", "Closed won"),
    "lost": ("lost", "输单", "Lost"),
    "closed lost": ("lost", "输单", "Closed lost"),
}

# Lead grades (H/A/B/C: expected to buy within 7 days / 1 month / 1-3 months / later) and the
# house rule for how often each must be contacted, in days.
GRADES = ("H", "A", "B", "C")
GRADE_FOLLOWUP_DAYS = {"H": 2.0, "A": 7.0, "B": 14.0, "C": 30.0}
DEFAULT_FOLLOWUP_DAYS = 30.0  # leads with no or an unknown grade
# Deliveries for the 24 h follow-up: orders in the first of these categories present in the
# data; all orders when none is present.
DELIVERY_CATEGORIES = ("新车销售", "新车", "整车销售", "New vehicle", "New car", "Vehicle sales")
FOLLOWUP_HOURS = 24
OVERDUE_SHOWN = 1000  # overdue leads listed on the page; the downloads hold all of them


def _norm(s: object) -> str:
    return str(s).strip().lower()


def stage_key(stage: str) -> str:
    """Stable English key of a stage (its own name, lower-cased, for stages not in STAGE_NAMES)."""
    hit = STAGE_NAMES.get(stage) or STAGE_NAMES.get(_norm(stage))
    return hit[0] if hit else _norm(stage).replace(" ", "_")


def stage_label(stage: str, lang: str) -> str:
    """Display name of a stage in `lang`."""
    hit = STAGE_NAMES.get(stage) or STAGE_NAMES.get(_norm(stage))
    return (hit[1] if lang == "zh" else hit[2]) if hit else stage


def label_stages(df: pd.DataFrame, lang: str, stage_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A copy with stage names shown in `lang`: the values of `stage` / `step` columns and the
    headers of `stage_columns` (e.g. the steps of funnel_by())."""
    out = df.copy()
    for col in ("stage", "step"):
        if col in out:
            out[col] = out[col].map(lambda s: stage_label(s, lang))
    return out.rename(columns={c: stage_label(c, lang) for c in stage_columns})


@dataclass(frozen=True)
class StageOrder:
    """The funnel's open stages in order, the won stage shown last, and how the order was found."""

    stages: tuple[str, ...]
    won: str
    won_values: frozenset[str]
    lost_values: frozenset[str]
    vocabulary: str | None
    inferred: tuple[str, ...]  # stages placed by timing / count, not by a vocabulary
    basis: str  # "vocabulary", "timing" or "count"

    @property
    def steps(self) -> tuple[str, ...]:
        return (*self.stages, self.won)


def _classify(stage: pd.Series, outcome: pd.Series, won: set[str], lost: set[str]) -> pd.Series:
    st, oc = stage.map(_norm), outcome.fillna("").map(_norm)
    cls = pd.Series("open", index=stage.index)
    cls[st.isin(lost) | oc.isin({_norm(x) for x in LOST_OUTCOMES})] = "lost"
    cls[st.isin(won) | oc.isin({_norm(x) for x in WON_OUTCOMES})] = "won"
    return cls


def stage_order(
    stats: pd.DataFrame, vocabularies: tuple[StageVocabulary, ...] = VOCABULARIES
) -> StageOrder:
    """Order the stages of pipeline_stage_stats rows: the best-matching vocabulary's stages in
    its order (all of them: a lead at stage k reached every stage before k), and stages it does
    not name placed by median days from creation to entering them (when stage_changed_at is
    known) or else by lead count, larger first. Stages closed by outcome are terminal."""
    values = {_norm(s): s for s in stats["stage"].dropna().unique()}
    best, best_hits = None, 0
    for v in vocabularies:
        names = {_norm(s) for s in (*v.stages, *v.won, *v.lost)}
        hits = len(names & values.keys())
        if hits > best_hits or (
            best is not None and hits == best_hits and hits and len(names) < _size(best)
        ):
            best, best_hits = v, hits
    won_values = {_norm(s) for s in best.won} if best else set()
    lost_values = {_norm(s) for s in best.lost} if best else set()
    cls = _classify(stats["stage"], stats["outcome"], won_values, lost_values)
    by_stage = stats.assign(cls=cls, key=stats["stage"].map(_norm))
    # A stage whose leads are all won (lost) by outcome is a terminal stage of this data.
    terminal = by_stage.groupby("key")["cls"].agg(lambda c: c.iloc[0] if c.nunique() == 1 else "")
    won_values |= set(terminal[terminal == "won"].index)
    lost_values |= set(terminal[terminal == "lost"].index)
    known = [s for s in (best.stages if best else ()) if _norm(s) not in won_values | lost_values]
    known_keys = {_norm(s) for s in known}
    unknown = [
        values[k]
        for k in sorted(values)
        if k not in known_keys and k not in won_values and k not in lost_values
    ]
    # Lead-weighted mean of the (stage, outcome) groups' medians: a sort key, not a statistic.
    x = by_stage["median_days_to_stage"].astype(float)
    w = by_stage["with_stage_time"].astype(float).where(x.notna(), 0.0)
    sums = by_stage.assign(wx=w * x.fillna(0.0), w=w).groupby("key")[["wx", "w"]].sum()
    timing = (sums["wx"] / sums["w"]).where(sums["w"] > 0)
    counts = by_stage.groupby("key")["leads"].sum()
    use_timing = bool(unknown) and timing.reindex([_norm(s) for s in unknown]).notna().all()

    def sort_key(stage: str) -> float:
        k = _norm(stage)
        return float(timing.get(k, math.nan)) if use_timing else -float(counts.get(k, 0))

    ordered = list(known)
    for u in sorted(unknown, key=sort_key):
        pos = next(
            (
                i
                for i, s in enumerate(ordered)
                if not math.isnan(sort_key(s)) and sort_key(s) > sort_key(u)
            ),
            len(ordered),
        )
        ordered.insert(pos, u)
    won_name = (
        best.won[0] if best else next((values[k] for k in sorted(won_values) if k in values), "won")
    )
    return StageOrder(
        stages=tuple(ordered),
        won=won_name,
        won_values=frozenset(won_values | {_norm(won_name)}),
        lost_values=frozenset(lost_values),
        vocabulary=best.name if best else None,
        inferred=tuple(unknown),
        basis="vocabulary" if not unknown else ("timing" if use_timing else "count"),
    )


def _size(v: StageVocabulary) -> int:
    return len(v.stages) + len(v.won) + len(v.lost)


def stage_stats(
    con: db.Connection,
    start: dt.date | None = None,
    end: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    by: str | None = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """One row per (segment, stage, outcome) of leads created in [start, end]: leads and median
    days to the stage / to close / in the stage (see pipeline_stage_stats.sql)."""
    as_of = as_of or end or data_end(con) or dt.date.today()
    return db.query(
        con,
        "pipeline_stage_stats",
        start=start,
        end_excl=end + dt.timedelta(days=1) if end else None,
        by=by or "",
        as_of=as_of,
        **filters.params(),
    )


def lead_funnel(
    stats: pd.DataFrame, order: StageOrder | None = None, lost_reached: str | None = None
) -> pd.DataFrame:
    """The reached-stage funnel per segment: one row per (segment, step) in funnel order with
    reached (leads that got at least that far), open_here (still open at it), lost_here (lost
    and counted at it), conversion from the previous step and share of the entry step.

    A current-stage export says where each lead is now, not where it has been: an open lead at
    stage k reached every stage up to k; a won lead reached all; a lost lead reached the stage
    it was lost at when the stage column names one (outcome 'lost' on stage '报价'), otherwise
    (stage '战败' / 'Lost') only `lost_reached` (default: the entry stage)."""
    order = order or stage_order(stats)
    m = len(order.stages)
    cls = _classify(stats["stage"], stats["outcome"], set(order.won_values), set(order.lost_values))
    df = stats.assign(rank=reached_ranks(stats, order, lost_reached), cls=cls)
    steps = pd.DataFrame({"rank": range(m + 1), "step": order.steps})
    segs = df["segment"].drop_duplicates()
    grid = segs.to_frame().merge(steps, how="cross")
    counts = df.pivot_table(
        index=["segment", "rank"], columns="cls", values="leads", aggfunc="sum", fill_value=0
    ).reindex(columns=["open", "won", "lost"], fill_value=0)
    out = grid.merge(counts.reset_index(), on=["segment", "rank"], how="left").fillna(
        {"open": 0, "won": 0, "lost": 0}
    )
    out["here"] = out["open"] + out["won"] + out["lost"]
    out = out.sort_values(["segment", "rank"], ascending=[True, False])
    out["reached"] = out.groupby("segment")["here"].cumsum().astype(int)
    out = out.sort_values(["segment", "rank"]).reset_index(drop=True)
    out = out.rename(columns={"open": "open_here", "lost": "lost_here"})
    prev = out.groupby("segment")["reached"].shift(1)
    out["conversion"] = (out["reached"] / prev).where(prev > 0)
    entry = out.groupby("segment")["reached"].transform("first")
    out["share_of_entry"] = (out["reached"] / entry).where(entry > 0)
    out["key"] = out["step"].map(stage_key)
    cols = ["segment", "step", "key", "reached", "open_here", "lost_here", "conversion"]
    return out[[*cols, "share_of_entry"]].astype({"open_here": int, "lost_here": int})


def reached_ranks(
    rows: pd.DataFrame, order: StageOrder, lost_reached: str | None = None
) -> pd.Series:
    """The index in order.steps of the last funnel step each row (a `stage`, `outcome` pair:
    stage_stats rows or single leads) reached, by lead_funnel's rules: an open lead its stage
    (unknown stages: the entry step), a won lead the won step, a lost lead the stage it was
    lost at, else `lost_reached` (default: the entry step)."""
    rank = {_norm(s): i for i, s in enumerate(order.stages)}
    lost_rank = rank.get(_norm(lost_reached), 0) if lost_reached else 0
    cls = _classify(rows["stage"], rows["outcome"], set(order.won_values), set(order.lost_values))
    at = rows["stage"].map(_norm).map(rank)
    base = pd.Series(float(len(order.stages)), index=rows.index)
    r = base.mask(cls == "open", at.fillna(0)).mask(cls == "lost", at.fillna(lost_rank))
    return r.astype(int)


def close_rates(stats: pd.DataFrame, order: StageOrder | None = None) -> pd.DataFrame:
    """Per segment: leads, won, lost, open, close_rate = won / (won + lost) (decided leads) and
    lead_to_win = won / leads."""
    order = order or stage_order(stats)
    cls = _classify(stats["stage"], stats["outcome"], set(order.won_values), set(order.lost_values))
    df = stats.assign(cls=cls).pivot_table(
        index="segment", columns="cls", values="leads", aggfunc="sum", fill_value=0
    )
    df = df.reindex(columns=["won", "lost", "open"], fill_value=0).reset_index()
    df.columns.name = None
    df["leads"] = df["won"] + df["lost"] + df["open"]
    decided = df["won"] + df["lost"]
    df["close_rate"] = (df["won"] / decided).where(decided > 0)
    df["lead_to_win"] = (df["won"] / df["leads"]).where(df["leads"] > 0)
    return df


def velocity(stats: pd.DataFrame, order: StageOrder | None = None) -> pd.DataFrame:
    """Per stage and status (open / won / lost) of the '(all)' segment: leads, median days from
    creation to entering the stage, median days sitting in it (open leads, to as_of) and median
    days to close. Without a stage history this is all a current-stage export allows: the time
    to reach the stage each lead is at now, not the time spent in each earlier stage."""
    order = order or stage_order(stats)
    cls = _classify(stats["stage"], stats["outcome"], set(order.won_values), set(order.lost_values))
    df = stats.assign(status=cls)
    pos = {_norm(s): i for i, s in enumerate(order.steps)}
    df["pos"] = df["stage"].map(_norm).map(pos).fillna(len(pos))
    cols = ["median_days_to_stage", "median_days_in_stage", "median_days_to_close"]
    df[cols] = df[cols].astype(float)
    out = df.sort_values(["pos", "status"])[["stage", "status", "leads", *cols]]
    return out.reset_index(drop=True)


def prospects_needed(target_sales: float, close_rate: float | None) -> int | None:
    """Leads needed to make `target_sales` at `close_rate` (1 sale : 1/close_rate leads)."""
    if not close_rate or close_rate <= 0 or target_sales is None:
        return None
    return math.ceil(round(target_sales / close_rate, 9))


def data_end(con: db.Connection) -> dt.date | None:
    """The last date the lead pipeline is known at (leads and contacts), None without leads."""
    return db.scalar(con, "pipeline_data_end")


def _interval_params(
    as_of: dt.date,
    start: dt.date | None,
    end: dt.date | None,
    filters: Filters,
    intervals: dict[str, float] | None,
) -> dict[str, object]:
    """The parameters of the _pipeline_lead_rows.sql queries: period, filters and the required
    contact interval per grade (GRADE_FOLLOWUP_DAYS unless `intervals` says otherwise)."""
    days = {**GRADE_FOLLOWUP_DAYS, **(intervals or {})}
    return {
        "as_of": as_of,
        "start": start,
        "end_excl": end + dt.timedelta(days=1) if end else None,
        **{f"days_{g.lower()}": float(days[g]) for g in GRADES},
        "days_other": DEFAULT_FOLLOWUP_DAYS,
        **filters.params(),
    }


def lead_contacts(
    con: db.Connection,
    as_of: dt.date,
    start: dt.date | None = None,
    end: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    intervals: dict[str, float] | None = None,
) -> pd.DataFrame:
    """One row per filtered lead created by `as_of` with its contacts to `as_of`, required_days
    (its grade's interval in `intervals`, default GRADE_FOLLOWUP_DAYS), actual_days (open days
    per contact: how often it was actually contacted) and days_overdue; a drill-down, the page
    aggregates in SQL (grade_cadence, overdue_by_owner)."""
    return db.query(
        con, "pipeline_lead_contacts", **_interval_params(as_of, start, end, filters, intervals)
    )


def grade_cadence(
    con: db.Connection,
    as_of: dt.date,
    start: dt.date | None = None,
    end: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    intervals: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per lead grade (H, A, B, C, then others) of the leads created in [start, end]: leads,
    never_contacted, required_days, median actual days between contacts, share of contacted
    leads on cadence (actual <= required) and median hours from creation to the first contact."""
    out = db.query(
        con, "pipeline_cadence", **_interval_params(as_of, start, end, filters, intervals)
    )
    out = out.astype({"leads": int, "never_contacted": int})
    rank = out["grade"].map({g: i for i, g in enumerate(GRADES)}).fillna(len(GRADES))
    out = out.assign(_rank=rank).sort_values(["_rank", "grade"]).drop(columns="_rank")
    return out.reset_index(drop=True)


def _open_order(
    con: db.Connection, as_of: dt.date, end: dt.date | None, filters: Filters
) -> StageOrder | None:
    # The stage order of every lead created by `end`, as the overdue figures classify them.
    stats = stage_stats(con, None, end, filters, None, as_of)
    return stage_order(stats) if len(stats) else None


def _still_open(df: pd.DataFrame, order: StageOrder, closed_later: pd.Series) -> pd.Series:
    # A lead closed after as_of was open then, whatever its stage says now.
    cls = _classify(df["stage"], df["outcome"], set(order.won_values), set(order.lost_values))
    return (cls == "open") | closed_later.astype(bool)


OWNER_COLUMNS = ["owner", "open_leads", "overdue", "max_days_overdue", "overdue_share"]


def overdue_by_owner(
    con: db.Connection,
    as_of: dt.date,
    order: StageOrder | None = None,
    end: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    intervals: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per owner, of the leads still open at as_of (not closed by then, not at a won / lost
    stage): open leads, overdue leads (days since the last contact, or creation, above the
    grade's interval), share overdue, worst days overdue; most overdue first. `order`: the stage
    order of the leads created by `end` unless given."""
    order = order or _open_order(con, as_of, end, filters)
    if order is None:
        return pd.DataFrame(columns=OWNER_COLUMNS)
    groups = db.query(
        con, "pipeline_overdue_groups", **_interval_params(as_of, None, end, filters, intervals)
    )
    groups = groups[_still_open(groups, order, groups["closed_later"])]
    out = groups.groupby("owner").agg(
        open_leads=("open_leads", "sum"),
        overdue=("overdue", "sum"),
        max_days_overdue=("max_days_overdue", "max"),
    )
    out = out.astype({"open_leads": int, "overdue": int})
    out["overdue_share"] = out["overdue"] / out["open_leads"]
    out = out.reset_index().sort_values(["overdue", "owner"], ascending=[False, True])
    return out[OWNER_COLUMNS].reset_index(drop=True)


OVERDUE_COLUMNS = [
    "owner",
    "lead_id",
    "grade",
    "stage",
    "created_at",
    "last_contact_at",
    "days_since_contact",
    "required_days",
    "days_overdue",
]


def overdue_list(
    con: db.Connection,
    as_of: dt.date,
    order: StageOrder | None = None,
    end: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    intervals: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The leads still open at as_of and overdue for a contact, by owner, longest overdue
    first (`order` as for overdue_by_owner)."""
    order = order or _open_order(con, as_of, end, filters)
    if order is None:
        return pd.DataFrame(columns=OVERDUE_COLUMNS)
    df = db.query(
        con, "pipeline_overdue_leads", **_interval_params(as_of, None, end, filters, intervals)
    )
    df = df[_still_open(df, order, df["closed_at"].notna())]
    return df[OVERDUE_COLUMNS].reset_index(drop=True)


def delivery_category(
    con: db.Connection, candidates: tuple[str, ...] = DELIVERY_CATEGORIES
) -> str | None:
    """The first of `candidates` present among the order categories (case-insensitive), or None
    (then every order counts as a delivery)."""
    present = {_norm(r[0]): r[0] for r in db.query_rows(con, "pipeline_categories")}
    return next((present[_norm(c)] for c in candidates if _norm(c) in present), None)


def followup_deliveries(
    con: db.Connection,
    start: dt.date,
    end: dt.date,
    filters: Filters = NO_FILTERS,
    category: str | None = "auto",
    hours: int = FOLLOWUP_HOURS,
) -> pd.DataFrame:
    """One row per delivery in [start, end]: order_id, customer_id, owner, delivered_at,
    first_contact_at (first interaction with the customer at or after delivery, within 30 days),
    hours_to_contact, within (contact at most `hours` after delivery, both ends included).
    category='auto' uses delivery_category(); None counts every order."""
    return db.query(
        con, "pipeline_followup_24h", **_followup_params(con, start, end, filters, category, hours)
    )


def _followup_params(
    con: db.Connection,
    start: dt.date,
    end: dt.date,
    filters: Filters,
    category: str | None,
    hours: int,
) -> dict[str, object]:
    """The parameters of the _pipeline_followups.sql queries."""
    return {
        "start": start,
        "end_excl": end + dt.timedelta(days=1),
        "delivery_category": delivery_category(con) if category == "auto" else category,
        "hours": hours,
        **filters.params(),
    }


def followup_summary(
    con: db.Connection,
    start: dt.date,
    end: dt.date,
    filters: Filters = NO_FILTERS,
    category: str | None = "auto",
    by: str | None = None,
    hours: int = FOLLOWUP_HOURS,
) -> pd.DataFrame:
    """Deliveries in [start, end], those followed up within `hours`, share and median hours to
    the first contact; one row per `by` value ('owner', lowest share first) or one row (column
    `segment` = '(all)'); no rows without deliveries. category as for followup_deliveries()."""
    params = _followup_params(con, start, end, filters, category, hours)
    out = db.query(con, "pipeline_followup_summary", by=by or "", **params)
    out = out.astype({"deliveries": int, "within": int})
    out["share"] = out["within"] / out["deliveries"]
    out = out.rename(columns={"segment": by}) if by else out
    return out.sort_values(["share", by or "segment"]).reset_index(drop=True)


def metrics_block(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, object]:
    """The pipeline part of `metrics --json` (see docs/metrics.md): leads created in the
    filters' period, deliveries in it (all time without one), under the filters that apply."""
    out: dict[str, object] = {
        "lead_funnel": None,
        "lead_close_rate": None,
        "followup_24h_share": None,
    }
    have = db.table_columns(con)
    if "leads" in have and db.scalar(con, "pipeline_data_end") is not None:
        stats = stage_stats(con, filters.start, filters.end, filters)
        order = stage_order(stats)
        funnel = lead_funnel(stats, order)
        out["lead_funnel"] = dict(zip(funnel["key"], funnel["reached"].tolist(), strict=True))
        rate = close_rates(stats, order)["close_rate"].iloc[0]
        out["lead_close_rate"] = None if pd.isna(rate) else round(float(rate), 4)
    if {"orders", "interactions", "customers"} <= have.keys():
        rng = db.query_rows(con, "pipeline_order_range")[0]
        has_contacts = db.scalar(con, "pipeline_has_interactions")
        if rng[0] is not None and has_contacts:
            d = followup_summary(con, filters.start or rng[0], filters.end or rng[1], filters)
            if len(d):
                out["followup_24h_share"] = round(float(d["share"].iloc[0]), 4)
    return out


def rounded(df: pd.DataFrame) -> pd.DataFrame:
    """For display: shares, rates and conversions to 3 decimals, other fractions to 1."""
    out = df.copy()
    for c in out.select_dtypes("float").columns:
        share = any(w in c for w in ("share", "rate", "conversion", "lead_to_win"))
        out[c] = out[c].round(3 if share else 1)
    return out


@dataclass(frozen=True)
class FunnelReport:
    """The Pipeline page's funnel part for one period and filter set (display-rounded)."""

    as_of: dt.date
    order: StageOrder
    funnel: pd.DataFrame  # lead_funnel() of all filtered leads
    rates: pd.DataFrame  # close_rates(), one row
    velocity: pd.DataFrame
    unplaced_lost: int  # lost leads whose stage does not say where they were lost


def funnel_report(
    con: db.Connection,
    start: dt.date | None,
    end: dt.date | None,
    filters: Filters = NO_FILTERS,
) -> FunnelReport | None:
    """Funnel, close rate and velocity of the leads created in [start, end] (None = open end);
    None when no lead passes."""
    as_of = end or data_end(con)
    if as_of is None:
        return None
    stats = stage_stats(con, start, end, filters, None, as_of)
    if stats.empty:
        return None
    order = stage_order(stats)
    cls = _classify(stats["stage"], stats["outcome"], set(order.won_values), set(order.lost_values))
    open_stage = stats["stage"].map(_norm).isin({_norm(s) for s in order.stages})
    return FunnelReport(
        as_of=as_of,
        order=order,
        funnel=rounded(lead_funnel(stats, order)),
        rates=close_rates(stats, order),
        velocity=rounded(velocity(stats, order)),
        unplaced_lost=int(stats.loc[(cls == "lost") & ~open_stage, "leads"].sum()),
    )


def funnel_by(
    con: db.Connection,
    start: dt.date | None,
    end: dt.date | None,
    filters: Filters = NO_FILTERS,
    by: str = "source",
) -> pd.DataFrame:
    """One row per `by` value (source / owner / grade), most leads first: leads, lost, open,
    close_rate, lead_to_win, then the leads that reached each funnel step (one column per step,
    in funnel order; the last one is the won leads). Stage order as for all leads together."""
    as_of = end or data_end(con)
    if as_of is None:
        return pd.DataFrame()
    order = stage_order(stage_stats(con, start, end, filters, None, as_of))
    seg = stage_stats(con, start, end, filters, by, as_of)
    if seg.empty:
        return pd.DataFrame()
    reached = lead_funnel(seg, order).pivot(index="segment", columns="step", values="reached")
    rates = close_rates(seg, order)[
        ["segment", "leads", "lost", "open", "close_rate", "lead_to_win"]
    ]
    out = rates.merge(reached[list(order.steps)].reset_index(), on="segment", how="left")
    out = out.sort_values(["leads", "segment"], ascending=[False, True]).reset_index(drop=True)
    return rounded(out.rename(columns={"segment": by}))


@dataclass(frozen=True)
class FollowupReport:
    """The Pipeline page's follow-up discipline part (display-rounded)."""

    as_of: dt.date
    delivery_category: str | None
    deliveries: pd.DataFrame  # followup_summary(), one row
    by_owner: pd.DataFrame  # followup_summary(by="owner")
    cadence: pd.DataFrame  # grade_cadence()
    overdue_owners: pd.DataFrame
    overdue: pd.DataFrame


def followup_report(
    con: db.Connection,
    start: dt.date | None,
    end: dt.date | None,
    filters: Filters = NO_FILTERS,
) -> FollowupReport | None:
    """24 h delivery follow-up in [start, end], contact cadence per grade of the leads created
    then, and every lead still open at the end that is overdue for a contact (whenever it was
    created); None without interactions."""
    if not db.scalar(con, "pipeline_has_interactions"):
        return None
    rng = db.query_rows(con, "pipeline_order_range")[0]
    as_of = end or data_end(con) or rng[1]
    if as_of is None:
        return None
    category = delivery_category(con)
    d_start, d_end = start or rng[0], end or rng[1]
    if d_start is not None and d_end is not None:
        deliveries = followup_summary(con, d_start, d_end, filters, category)
        by_owner = followup_summary(con, d_start, d_end, filters, category, "owner")
    else:
        deliveries = pd.DataFrame(columns=["segment", "deliveries", "within", "share"])
        by_owner = pd.DataFrame(columns=["owner", "deliveries", "within", "share"])
    order = _open_order(con, as_of, end, filters)
    return FollowupReport(
        as_of=as_of,
        delivery_category=category,
        deliveries=deliveries,
        by_owner=rounded(by_owner),
        cadence=rounded(grade_cadence(con, as_of, start, end, filters)),
        overdue_owners=rounded(overdue_by_owner(con, as_of, order, end, filters)),
        overdue=rounded(overdue_list(con, as_of, order, end, filters)),
    )


def report_overdue(report: FollowupReport, limit: int | None = None) -> pd.DataFrame:
    """The report's overdue leads by owner; when there are more than `limit`, the `limit`
    longest overdue, longest first (what the page lists; its downloads hold all)."""
    if limit is None or len(report.overdue) <= limit:
        return report.overdue
    return report.overdue.nlargest(limit, "days_overdue", keep="first")
