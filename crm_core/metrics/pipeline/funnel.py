"""Lead funnel and conversion: per-stage lead stats, reached-stage funnel, close rate, velocity."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from crm_core.engine import db
from crm_core.metrics.filters import NO_FILTERS, Filters
from crm_core.metrics.pipeline.stages import StageOrder, _classify, _norm, stage_key, stage_order


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


def stage_stats_with_all(
    con: db.Connection,
    start: dt.date | None,
    end: dt.date | None,
    filters: Filters = NO_FILTERS,
    by: str = "source",
    as_of: dt.date | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """stage_stats(..., None, as_of) and stage_stats(..., by, as_of) from one statement, which
    reads the leads once."""
    as_of = as_of or end or data_end(con) or dt.date.today()
    both = db.query(
        con,
        "pipeline_stage_stats_all",
        start=start,
        end_excl=end + dt.timedelta(days=1) if end else None,
        by=by,
        as_of=as_of,
        **filters.params(),
    )
    all_leads, seg = (
        both[both["by_segment"] == flag].drop(columns="by_segment").reset_index(drop=True)
        for flag in (False, True)
    )
    return all_leads, seg


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
    stats, seg = stage_stats_with_all(con, start, end, filters, by, as_of)
    order = stage_order(stats)
    if seg.empty:
        return pd.DataFrame()
    reached = lead_funnel(seg, order).pivot(index="segment", columns="step", values="reached")
    rates = close_rates(seg, order)[
        ["segment", "leads", "lost", "open", "close_rate", "lead_to_win"]
    ]
    out = rates.merge(reached[list(order.steps)].reset_index(), on="segment", how="left")
    out = out.sort_values(["leads", "segment"], ascending=[False, True]).reset_index(drop=True)
    return rounded(out.rename(columns={"segment": by}))
