"""Follow-up discipline: 24 h contact after delivery, contact cadence per grade, overdue leads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_core.engine import db, facts
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.pipeline.funnel import data_end, rounded, stage_stats
from crm_core.metrics.pipeline.stages import StageOrder, _classify, _norm, stage_order

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


def _lead_rows_query(con: db.Connection, name: str, params: dict[str, object]) -> pd.DataFrame:
    # A _pipeline_lead_rows.sql query; on DuckDB its contacts per lead are the view's shared ones.
    counts = facts.lead_contact_counts(con, params["as_of"])
    if counts is None:
        return db.query(con, name, **params)
    return db.query(
        con, f"{name}_shared", **params, contacts_id=counts, _slots=facts.SHARED_CONTACT_COUNTS
    )


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
    return _lead_rows_query(
        con, "pipeline_lead_contacts", _interval_params(as_of, start, end, filters, intervals)
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
    out = _lead_rows_query(
        con, "pipeline_cadence", _interval_params(as_of, start, end, filters, intervals)
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
    # A lead closed after as_of was open then, whatever its stage says now. The overdue list has
    # a row per lead but few (stage, outcome) pairs: each pair is classified once.
    pair = df.groupby(["stage", "outcome"], dropna=False, sort=False).ngroup().to_numpy()
    first = ~pd.Series(pair).duplicated().to_numpy()
    firsts = df[first]
    cls = _classify(
        firsts["stage"], firsts["outcome"], set(order.won_values), set(order.lost_values)
    )
    is_open = pd.Series(cls.to_numpy() == "open", index=pair[first])
    return pd.Series(is_open.reindex(pair).to_numpy(), index=df.index) | closed_later.astype(bool)


OWNER_COLUMNS = ["owner", "open_leads", "overdue", "max_days_overdue", "overdue_share"]


def _open_groups(
    con: db.Connection,
    as_of: dt.date,
    order: StageOrder,
    end: dt.date | None,
    filters: Filters,
    intervals: dict[str, float] | None,
) -> pd.DataFrame:
    # pipeline_overdue_groups.sql's rows (owner, stage, outcome, closed later) of the leads
    # still open at as_of: the overdue figures per owner, and which (stage, outcome) are open.
    groups = _lead_rows_query(
        con, "pipeline_overdue_groups", _interval_params(as_of, None, end, filters, intervals)
    )
    return groups[_still_open(groups, order, groups["closed_later"])]


def _owner_table(groups: pd.DataFrame) -> pd.DataFrame:
    # overdue_by_owner's rows from _open_groups.
    out = groups.groupby("owner").agg(
        open_leads=("open_leads", "sum"),
        overdue=("overdue", "sum"),
        max_days_overdue=("max_days_overdue", "max"),
    )
    out = out.astype({"open_leads": int, "overdue": int})
    out["overdue_share"] = out["overdue"] / out["open_leads"]
    out = out.reset_index().sort_values(["overdue", "owner"], ascending=[False, True])
    return out[OWNER_COLUMNS].reset_index(drop=True)


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
    return _owner_table(_open_groups(con, as_of, order, end, filters, intervals))


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
    df = _lead_rows_query(
        con, "pipeline_overdue_leads", _interval_params(as_of, None, end, filters, intervals)
    )
    df = df[_still_open(df, order, df["closed_at"].notna())]
    return df[OVERDUE_COLUMNS].reset_index(drop=True)


# Separators of pipeline_overdue_top.sql's $open_pairs keys: a value holding one of them makes
# overdue_top cut the whole list instead.
_PAIR_SEP, _PAIR_MISSING, _PAIR_END = "\x1d", "\x1e", "\x1f"


def _pair_part(v: object) -> str | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):  # type: ignore[call-overload]
        return _PAIR_MISSING
    text = str(v)
    return None if any(c in text for c in (_PAIR_SEP, _PAIR_MISSING, _PAIR_END)) else text


def _open_pairs(groups: pd.DataFrame) -> str | None:
    # The (stage, outcome) pairs of _open_groups not closed later, as pipeline_overdue_top.sql's
    # $open_pairs; None when a value holds a separator.
    keys = []
    for stage, outcome in (
        groups.loc[~groups["closed_later"].astype(bool), ["stage", "outcome"]]
        .drop_duplicates()
        .itertuples(index=False)
    ):
        a, b = _pair_part(stage), _pair_part(outcome)
        if a is None or b is None:
            return None
        keys.append(a + _PAIR_SEP + b)
    return _PAIR_END + _PAIR_END.join(keys) + _PAIR_END


def _overdue_top(
    con: db.Connection,
    as_of: dt.date,
    order: StageOrder,
    end: dt.date | None,
    filters: Filters,
    intervals: dict[str, float] | None,
    limit: int,
    groups: pd.DataFrame,
) -> tuple[pd.DataFrame, int]:
    # overdue_top from _open_groups' rows, which count the overdue leads and name the open pairs.
    total = int(groups["overdue"].sum())
    pairs = _open_pairs(groups)
    if pairs is None:
        full = overdue_list(con, as_of, order, end, filters, intervals)
        if len(full) <= limit:
            return full, total
        return full.nlargest(limit, "days_overdue", keep="first").reset_index(drop=True), total
    if total == 0:
        return pd.DataFrame(columns=OVERDUE_COLUMNS), 0
    params = _interval_params(as_of, None, end, filters, intervals)
    df = _lead_rows_query(
        con, "pipeline_overdue_top", {**params, "open_pairs": pairs, "limit": limit}
    )
    if total <= limit:  # the whole list, in its own order
        df = df.sort_values("list_rank")
    return df[OVERDUE_COLUMNS].reset_index(drop=True), total


def overdue_top(
    con: db.Connection,
    as_of: dt.date,
    order: StageOrder | None = None,
    end: dt.date | None = None,
    filters: Filters = NO_FILTERS,
    intervals: dict[str, float] | None = None,
    limit: int = OVERDUE_SHOWN,
) -> tuple[pd.DataFrame, int]:
    """The overdue leads a page lists and how many overdue_list holds: its `limit` longest
    overdue, longest first (ties by owner, then lead id), or the whole list in its own order
    when it holds no more; computed in SQL, so a list of 245 k leads never reaches pandas."""
    order = order or _open_order(con, as_of, end, filters)
    if order is None:
        return pd.DataFrame(columns=OVERDUE_COLUMNS), 0
    groups = _open_groups(con, as_of, order, end, filters, intervals)
    return _overdue_top(con, as_of, order, end, filters, intervals, limit, groups)


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
    return _summary(db.query(con, "pipeline_followup_summary", by=by or "", **params), by)


def followup_summaries(
    con: db.Connection,
    start: dt.date,
    end: dt.date,
    filters: Filters = NO_FILTERS,
    category: str | None = "auto",
    hours: int = FOLLOWUP_HOURS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """followup_summary() and followup_summary(by="owner") from one statement, which reads the
    deliveries and their contacts once."""
    params = _followup_params(con, start, end, filters, category, hours)
    both = db.query(con, "pipeline_followup_summaries", **params)
    parts = [both[both["by_owner"] == flag].drop(columns="by_owner") for flag in (False, True)]
    return _summary(parts[0], None), _summary(parts[1], "owner")


def _summary(out: pd.DataFrame, by: str | None) -> pd.DataFrame:
    out = out.astype({"deliveries": int, "within": int})
    out["share"] = out["within"] / out["deliveries"]
    out = out.rename(columns={"segment": by}) if by else out
    return out.sort_values(["share", by or "segment"]).reset_index(drop=True)


@dataclass(frozen=True)
class FollowupReport:
    """The Pipeline page's follow-up discipline part (display-rounded)."""

    as_of: dt.date
    delivery_category: str | None
    deliveries: pd.DataFrame  # followup_summary(), one row (followup_summaries()[0])
    by_owner: pd.DataFrame  # followup_summary(by="owner") (followup_summaries()[1])
    cadence: pd.DataFrame  # grade_cadence()
    overdue_owners: pd.DataFrame
    overdue: pd.DataFrame  # overdue_top(): the longest overdue, at most `shown` of them
    overdue_total: int  # the leads overdue_list() holds


def followup_report(
    con: db.Connection,
    start: dt.date | None,
    end: dt.date | None,
    filters: Filters = NO_FILTERS,
    shown: int = OVERDUE_SHOWN,
) -> FollowupReport | None:
    """24 h delivery follow-up in [start, end], contact cadence per grade of the leads created
    then, and the leads still open at the end that are overdue for a contact (whenever they were
    created): per owner, how many, and the `shown` longest overdue; None without
    interactions."""
    if not db.scalar(con, "pipeline_has_interactions"):
        return None
    rng = db.query_rows(con, "pipeline_order_range")[0]
    as_of = end or data_end(con) or rng[1]
    if as_of is None:
        return None
    category = delivery_category(con)
    d_start, d_end = start or rng[0], end or rng[1]
    if d_start is not None and d_end is not None:
        deliveries, by_owner = followup_summaries(con, d_start, d_end, filters, category)
    else:
        deliveries = pd.DataFrame(columns=["segment", "deliveries", "within", "share"])
        by_owner = pd.DataFrame(columns=["owner", "deliveries", "within", "share"])
    order = _open_order(con, as_of, end, filters)
    owners = pd.DataFrame(columns=OWNER_COLUMNS)
    overdue, total = pd.DataFrame(columns=OVERDUE_COLUMNS), 0
    if order is not None:
        groups = _open_groups(con, as_of, order, end, filters, None)
        owners = _owner_table(groups)
        overdue, total = _overdue_top(con, as_of, order, end, filters, None, shown, groups)
    return FollowupReport(
        as_of=as_of,
        delivery_category=category,
        deliveries=deliveries,
        by_owner=rounded(by_owner),
        cadence=rounded(grade_cadence(con, as_of, start, end, filters)),
        overdue_owners=rounded(owners),
        overdue=rounded(overdue),
        overdue_total=total,
    )
