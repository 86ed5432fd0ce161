"""The `metrics --json` document: one dict of headline figures that scripts depend on."""

from __future__ import annotations

from typing import Any

from crm_core import db


def base_metrics(con: db.Connection) -> dict[str, Any]:
    """Table sizes, total revenue (returns excluded), buying customers and the order date range."""
    revenue, buyers, first, last = db.query_rows(con, "metrics_base")[0]
    return {
        "tables": db.table_counts(con),
        "revenue": float(revenue) if revenue is not None else 0.0,
        "customers_with_orders": int(buyers or 0),
        "first_order_date": first.isoformat() if first else None,
        "last_order_date": last.isoformat() if last else None,
    }


def metrics(con: db.Connection) -> dict[str, Any]:
    """Every published metric; later features add their blocks under their own keys."""
    out = base_metrics(con)
    return out
