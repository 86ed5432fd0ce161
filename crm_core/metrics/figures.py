"""The `metrics --json` document: one dict of headline figures that scripts depend on."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from crm_core.engine import db
from crm_core.metrics import caveats, clv, complaints, lifecycle_cohorts, pipeline, value
from crm_core.metrics.filters import NO_FILTERS, Filters, inapplicable

# Filters a block does not take, besides the dimensions filters.APPLIES leaves out of the
# block's table (docs/metrics.md, "Filters"): `tables` counts whole tables; lifecycle stages are
# as of the end date (a start would cut customers' history); the CLV model fits the whole history.
PERIOD = ("start", "end")
NOT_TAKEN: dict[str, tuple[str, ...]] = {
    "tables": (*PERIOD, "region", "source", "owner", "segment", "category", "scope"),
    "lifecycle": ("start",),
    "clv": PERIOD,
}
# The table whose filters a block follows.
BLOCK_TABLE = {"pipeline": "leads", "complaints": "complaints"}


def _bounds(f: Filters) -> dict[str, dt.date | None]:
    return {"start": f.start, "end_excl": f.end + dt.timedelta(days=1) if f.end else None}


def base_metrics(con: db.Connection, f: Filters = NO_FILTERS) -> dict[str, Any]:
    """Table sizes (whole tables), gross sales (`revenue`, returns excluded), `net_revenue` and
    `returns_amount`, customers with net spend > 0 and the order date range, of the order lines in
    the filters' period (all time without one; docs/metrics.md, "Net or gross")."""
    row = db.query_rows(con, "metrics_base", **_bounds(f), **f.params())[0]
    revenue, net, returned, buyers, first, last = row
    return {
        "tables": db.table_counts(con),
        "revenue": float(revenue or 0),
        "net_revenue": float(net or 0),
        "returns_amount": float(returned or 0),
        "customers_with_orders": int(buyers or 0),
        "first_order_date": first.isoformat() if first else None,
        "last_order_date": last.isoformat() if last else None,
    }


def filters_not_applied(f: Filters) -> dict[str, list[str]]:
    """Per block of the document, the active filters it does not follow ({} without filters)."""
    active = [k for k in ("start", "end") if getattr(f, k) is not None]
    active += list(f.active) + (["scope"] if f.scoped else [])
    out: dict[str, list[str]] = {}
    for block, names in NOT_TAKEN.items():
        if hit := [k for k in active if k in names]:
            out[block] = hit
    for block, table in BLOCK_TABLE.items():
        if hit := inapplicable(table, f):
            out[block] = out.get(block, []) + hit
    return out


def filters_json(f: Filters) -> dict[str, Any]:
    """The filters a document was computed under (only those set)."""
    d = dataclasses.asdict(f)
    out = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in d.items()}
    return {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items() if v not in (None, ())
    }


def metrics(con: db.Connection, f: Filters = NO_FILTERS) -> dict[str, Any]:
    """Every published metric under the filters (NO_FILTERS: the whole database); later features
    add their blocks under their own keys."""
    out = base_metrics(con, f)
    out["clv"] = clv.clv_metrics(con, f)
    out.update(value.value_metrics(con, f))  # tiers, pareto_top20_share, rfm_segments
    out.update(lifecycle_cohorts.metrics_block(con, f))  # lifecycle_stages, new/lost last month
    out.update(pipeline.metrics_block(con, f))  # lead_funnel, lead_close_rate, followup_24h_share
    # complaints_monthly, median_resolution_hours, sla_breach_rate, satisfied_share, ...
    # What the data cannot tell: [{code, severity, ...}] (docs/metrics.md); the CLI adds each
    # one's English `message` (present.caveat_text.with_messages).
    out["warnings"] = caveats.metrics_warnings(con, out["clv"], f)
    out.update(complaints.metrics_block(con, f))
    if f != NO_FILTERS:
        out["filters"] = filters_json(f)
        out["filters_not_applied"] = filters_not_applied(f)
    return out
