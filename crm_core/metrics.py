"""The `metrics --json` document: one dict of headline figures that scripts depend on."""

from __future__ import annotations

from typing import Any

from crm_core import clv, complaints, db, lifecycle, pipeline, value
from crm_core.filters import NO_FILTERS, Filters


def base_metrics(con: db.Connection, filters: Filters = NO_FILTERS) -> dict[str, Any]:
    """Table sizes, gross sales (`revenue`, returns excluded), `net_revenue` and `returns_amount`,
    customers with net spend > 0 and the order date range (docs/metrics.md, "Net or gross")."""
    row = db.query_rows(con, "metrics_base", **filters.params())[0]
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


def metrics(con: db.Connection) -> dict[str, Any]:
    """Every published metric; later features add their blocks under their own keys."""
    out = base_metrics(con)
    out["clv"] = clv.clv_metrics(con)
    out.update(value.value_metrics(con))  # tiers, pareto_top20_share, rfm_segments
    out.update(lifecycle.metrics_block(con))  # lifecycle_stages, new/lost last month
    out.update(pipeline.metrics_block(con))  # lead_funnel, lead_close_rate, followup_24h_share
    # complaints_monthly, median_resolution_hours, sla_breach_rate, satisfied_share, ...
    out.update(complaints.metrics_block(con))
    return out
