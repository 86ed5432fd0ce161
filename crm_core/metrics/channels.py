"""Channel return: marketing spend against the new customers each acquisition channel brought."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from crm_core.engine import db
from crm_core.metrics.filters import NO_FILTERS, SCOPE_FIELDS, Filters
from crm_core.metrics.overview import Period, data_range, default_period, filter_period

# The first year of a new customer: net revenue in this many days from the first order.
FIRST_YEAR_DAYS = 365
# Spend has channel and month only: under these filters (or a scope) spend cannot be matched to
# the customers shown, so spend, CAC, CLV/CAC and payback are withheld rather than overstated.
SPEND_BLIND = ("region", "owner", "segment", "category")
# The channel label of new customers whose customer row names no source.
NO_CHANNEL = None
COLUMNS = [
    "channel", "spend", "new_customers", "cac", "first_year_value", "first_year_partial",
    "clv", "clv_to_cac", "payback_months",
]  # fmt: skip


def window(con: db.Connection, f: Filters = NO_FILTERS) -> Period | None:
    """The filters' period, else the 12 months up to the last order (None: no orders)."""
    return filter_period(con, f) or default_period(con)


def _spend_blind(f: Filters) -> list[str]:
    """The dimensions, set by a filter or restricted by the scope, that spend cannot follow, in
    sidebar order (a scope of regions {华东} reads as region = 华东 does)."""
    scoped = {dim for dim, name in SCOPE_FIELDS.items() if getattr(f, name)}
    return [d for d in SPEND_BLIND if getattr(f, d) is not None or d in scoped]


def _clv_by_customer(con: db.Connection, f: Filters) -> tuple[pd.Series | None, dict[str, Any]]:
    """The CLV model's clv per customer id under the filters' dimensions (the Churn & CLV
    page's figure), or (None, {reason: clv.refused.<key>, facts, message}) saying why not."""
    from crm_core.metrics import clv
    from crm_core.metrics.clv_models import FitError

    try:
        result = clv.churn_clv(con, f)
    except clv.ClvRefused as e:
        facts = {k: str(v) for k, v in e.facts.items()}
        return None, {"reason": e.key, "facts": facts, "message": str(e)}
    except FitError as e:
        return None, {"reason": "not_identified", "facts": {"detail": str(e)}, "message": str(e)}
    if not result.fit.churn_identified:
        why = "the data do not pin down churn (see the Churn & CLV page)"
        return None, {"reason": "not_identified", "facts": {"detail": why}, "message": why}
    return result.customers["clv"].astype(float), {}


def _payback(curve: pd.DataFrame, new_customers: int, cac: float | None) -> int | None:
    """Smallest month number k at which the new customers' cumulative net value per customer
    over their months 1..k reaches the CAC; None when it never does within the data."""
    if cac is None or not new_customers or curve.empty:
        return None
    cum = curve.sort_values("month_number").assign(
        per_customer=lambda d: d["value"].cumsum() / new_customers
    )
    hit = cum[cum["per_customer"] >= cac]
    return int(hit["month_number"].iloc[0]) if not hit.empty else None


def _num(v: Any) -> float | None:
    if v is None:
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def channel_return(
    con: db.Connection, period: Period, filters: Filters = NO_FILTERS, with_clv: bool = True
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One row per acquisition channel (customers.source; None = no source) that has new
    customers or spend in the period: COLUMNS (docs/metrics.md, "Channel return"), by spend
    then new customers; and the warnings ([{code, message, channels?}]) that say why a figure is
    missing. spend / cac / clv_to_cac / payback_months are None where spend is unknown."""
    rng = data_range(con)
    data_end_excl = (rng[1] if rng else period.end) + dt.timedelta(days=1)
    base = {"start": period.start, "end_excl": period.end_excl, **filters.params()}
    news = db.query(
        con,
        "channel_new_customers",
        **base,
        days=FIRST_YEAR_DAYS,
        data_end_excl=data_end_excl,
    )
    curve = db.query(con, "channel_payback", **base)
    counts = db.table_counts(con)
    has_spend = bool(counts.get("marketing_spend"))
    blind = _spend_blind(filters)
    spend = (
        db.query(con, "channel_spend", **base)
        if has_spend and not blind
        else pd.DataFrame(columns=["channel", "spend", "months"])
    )
    warnings: list[dict[str, Any]] = []
    if not has_spend:
        warnings.append(
            {
                "code": "no_spend_file",
                "message": "no marketing spend is loaded: load a spend file (channel, month, "
                "amount) to see acquisition cost, CLV/CAC and payback",
            }
        )
    elif blind:
        warnings.append(
            {
                "code": "spend_not_filtered",
                "message": "spend is recorded per channel and month only, not per "
                + ", ".join(blind)
                + ": spend, CAC, CLV/CAC and payback are not shown under these filters",
                "filters": blind,
            }
        )
    clv_of, why = _clv_by_customer(con, filters) if with_clv else (None, {})
    if with_clv and clv_of is None:
        warnings.append(
            {
                "code": "clv_unavailable",
                "message": f"CLV per new customer not available: {why['message']}",
                "reason": why["reason"],
                "facts": why["facts"],
            }
        )
    news["channel"] = news["channel"].astype(object).where(news["channel"].notna(), None)
    spend_of = dict(zip(spend["channel"], spend["spend"].astype(float).tolist(), strict=True))
    channels = list(dict.fromkeys([*spend_of, *news["channel"].tolist()]))
    rows = []
    no_spend, no_new = [], []
    for ch in channels:
        mine = news[news["channel"].isna()] if ch is None else news[news["channel"] == ch]
        n = len(mine)
        sp = spend_of.get(ch) if has_spend and not blind else None
        if has_spend and not blind and ch not in spend_of:
            no_spend.append(ch)
        cac = sp / n if sp is not None and n else None
        if sp is not None and not n:
            no_new.append(ch)
        fyv = float(mine["first_year_value"].astype(float).sum()) / n if n else None
        clv_avg = None
        if clv_of is not None and n:
            vals = clv_of.reindex(mine["customer_id"]).dropna()
            clv_avg = float(vals.mean()) if len(vals) else None
        ch_curve = curve[curve["channel"].isna()] if ch is None else curve[curve["channel"] == ch]
        rows.append(
            {
                "channel": ch,
                "spend": sp,
                "new_customers": n,
                "cac": _num(cac),
                "first_year_value": _num(fyv),
                "first_year_partial": bool(mine["partial"].astype(bool).any()) if n else False,
                "clv": _num(clv_avg),
                "clv_to_cac": _num(clv_avg / cac) if clv_avg is not None and cac else None,
                "payback_months": _payback(
                    ch_curve.assign(value=ch_curve["value"].astype(float)), n, cac
                ),
            }
        )
    if no_spend:
        warnings.append(
            {
                "code": "no_spend_for_channel",
                "message": "no spend loaded for these channels in the period: their CAC is "
                "unknown, not zero",
                "channels": no_spend,
            }
        )
    if no_new:
        warnings.append(
            {
                "code": "no_new_customers",
                "message": "spend but no new customers in the period: CAC cannot be computed",
                "channels": no_new,
            }
        )
    if len(news) and bool(news["partial"].astype(bool).any()):
        warnings.append(
            {
                "code": "first_year_partial",
                "message": f"some new customers have fewer than {FIRST_YEAR_DAYS} days of data "
                "after their first order: their first-year value is the observed part only",
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df = df.sort_values(
        ["spend", "new_customers"], ascending=[False, False], na_position="last", kind="stable"
    ).reset_index(drop=True)
    return df, warnings


# Decimal places of the JSON figures: money to the cent, the ratio to 4 places.
JSON_PLACES = {"spend": 2, "cac": 2, "first_year_value": 2, "clv": 2, "clv_to_cac": 4}


def _json_row(r: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in r.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        if k in JSON_PLACES and v is not None:
            v = round(float(v), JSON_PLACES[k])
        elif k in ("new_customers", "payback_months") and v is not None:
            v = int(v)
        elif k == "first_year_partial":
            v = bool(v)
        out[k] = v
    return out


def channels_json(
    con: db.Connection, filters: Filters = NO_FILTERS, with_clv: bool = True
) -> dict[str, Any]:
    """The `channels --json` document: {period: {start, end}, channels: [{COLUMNS}],
    warnings: [{code, message, ...}]}; period null and no channels when there are no orders."""
    period = window(con, filters)
    if period is None:
        return {
            "period": None,
            "channels": [],
            "warnings": [{"code": "no_orders", "message": "there are no orders"}],
        }
    df, warnings = channel_return(con, period, filters, with_clv)
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "channels": [_json_row(r) for r in df.to_dict("records")],
        "warnings": warnings,
    }
