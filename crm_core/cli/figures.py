"""Figures as JSON: metrics, explain, customers, customer, clv, affinity, channels, forecast."""

from __future__ import annotations

import argparse
import json
import sys

from crm_core import ingest
from crm_core.cli.common import (
    FilterValueError,
    as_user_arg,
    check_filters,
    command,
    db_arg,
    filter_args,
    filters_from,
    json_default,
    require_db,
    scoped,
)
from crm_core.engine import db


def _metrics_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    filter_args(p)
    as_user_arg(p)


@command("metrics", _metrics_setup)
def cmd_metrics(args: argparse.Namespace) -> int:
    """Print the headline metrics as one JSON object (optionally under the sidebar's filters)."""
    from crm_core.metrics.figures import metrics
    from crm_core.present.caveat_text import with_messages

    f = filters_from(args)
    require_db(args.db)
    con = db.connect(args.db)
    check_filters(con, f)
    f = scoped(con, f, args)
    doc = metrics(con, f)
    doc["warnings"] = with_messages(doc["warnings"])  # in English, for scripts' logs
    print(json.dumps(doc, ensure_ascii=False, indent=2, default=json_default))
    return 0


def _explain_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument(
        "--metric",
        default="revenue",
        choices=("revenue", "customers", "orders", "complaints"),
        help="the figure whose change to explain (customers = active customers)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    p.add_argument("--top", type=int, default=5, help="values per dimension before 'others'")
    p.add_argument("--lang", default="zh", choices=("zh", "en"), help="language of labels")
    filter_args(p)


@command("explain", _explain_setup)
def cmd_explain(args: argparse.Namespace) -> int:
    """Explain a metric's change against the period before: {change, components, contributors}."""
    from crm_core.metrics import explain
    from crm_core.present import explain_text

    f = filters_from(args)
    if args.top < 1:
        raise FilterValueError(f"--top {args.top}: give 1 or more")
    require_db(args.db)
    con = db.connect(args.db)
    check_filters(con, f)
    period = explain.period_for(con, f)
    if period is None:
        raise ingest.IngestError("no orders loaded: nothing to compare (load orders first)")
    e = explain.explain(con, period, args.metric, f, top=args.top)
    print(json.dumps(explain_text.to_json(e, args.lang), ensure_ascii=False, indent=2))
    return 0


def _customers_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    filter_args(p)
    p.add_argument("--json", action="store_true", help="print a JSON array (the default)")


@command("customers", _customers_setup)
def cmd_customers(args: argparse.Namespace) -> int:
    """Print one JSON object per customer (tier, net revenue, RFM, stage, P(alive))."""
    from crm_core.metrics import customers

    require_db(args.db)
    con = db.connect(args.db)
    f = filters_from(args)
    check_filters(con, f)
    try:
        df = customers.customer_table(con, f)
    except ValueError as e:  # a period that starts after it ends
        raise ingest.IngestError(str(e)) from e
    # A JSON array with one customer per line, written row by row.
    out = sys.stdout
    out.write("[")
    for i, row in enumerate(customers.json_rows(df)):
        out.write(("\n" if i == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
    out.write("\n]\n" if len(df) else "]\n")
    return 0


def _customer_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("customer_id", metavar="ID", help="the customer id (as in the customers table)")
    db_arg(p)
    filter_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    p.add_argument("--lang", choices=("zh", "en"), default="en", help="language of the rule texts")


@command("customer", _customer_setup)
def cmd_customer(args: argparse.Namespace) -> int:
    """Print one customer's 360 (profile, relationship level, timeline) as one JSON object."""
    from crm_core.metrics import customer360
    from crm_core.present import customer_text

    require_db(args.db)
    con = db.connect(args.db)
    f = filters_from(args)
    check_filters(con, f)
    try:
        prof = customer_text.profile_text(customer360.profile(con, args.customer_id, f), args.lang)
    except ValueError as e:  # a period that starts after it ends
        raise ingest.IngestError(str(e)) from e
    if prof is None:
        raise FilterValueError(
            f"customer {args.customer_id!r} not found or not in your scope (filters)"
        )
    print(json.dumps(prof, ensure_ascii=False, indent=2, default=json_default))
    return 0


def _clv_setup(p: argparse.ArgumentParser) -> None:
    import datetime as dt

    from crm_core.metrics import clv

    db_arg(p)
    p.add_argument(
        "--calibration-end",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="fit on the orders up to this day and score as of it (default: last order date)",
    )
    p.add_argument("--unit", choices=clv.UNITS, default=clv.DEFAULT_UNIT, help="model time unit")
    p.add_argument(
        "--horizon",
        type=float,
        default=None,
        metavar="N",
        help=f"CLV horizon in units (default: {clv.HORIZON_WEEKS} weeks = 364 days)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")


@command("clv", _clv_setup)
def cmd_clv(args: argparse.Namespace) -> int:
    """Fit BG/NBD + Gamma-Gamma and print parameters, churn counts and total CLV as JSON."""
    from crm_core.metrics import clv

    require_db(args.db)
    con = db.connect(args.db)
    try:
        result = clv.churn_clv(
            con, calibration_end=args.calibration_end, unit=args.unit, horizon=args.horizon
        )
    except clv.FitError as e:
        print(f"error: CLV fit refused: {e}", file=sys.stderr)
        return 3
    print(json.dumps(clv.clv_json(result), indent=2))
    return 0


def _affinity_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    filter_args(p)


@command("affinity", _affinity_setup)
def cmd_affinity(args: argparse.Namespace) -> int:
    """Print the cross-sell rules (support, confidence, lift over customers) as one JSON object."""
    from crm_core.metrics import affinity

    f = filters_from(args)
    require_db(args.db)
    con = db.connect(args.db)
    check_filters(con, f)
    print(json.dumps(affinity.affinity_json(con, f), ensure_ascii=False, indent=2))
    return 0


def _channels_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    filter_args(p)
    as_user_arg(p)


@command("channels", _channels_setup)
def cmd_channels(args: argparse.Namespace) -> int:
    """Print the return per acquisition channel (spend, CAC, first-year value, CLV/CAC, payback)."""
    from crm_core.metrics import channels

    f = filters_from(args)
    require_db(args.db)
    con = db.connect(args.db)
    check_filters(con, f)
    f = scoped(con, f, args)
    print(json.dumps(channels.channels_json(con, f), ensure_ascii=False, indent=2))
    return 0


def _forecast_setup(p: argparse.ArgumentParser) -> None:
    from crm_core.metrics import forecast

    db_arg(p)
    p.add_argument("--metric", choices=forecast.METRICS, default="revenue", help="what to forecast")
    p.add_argument(
        "--months",
        type=int,
        choices=range(1, forecast.MAX_HORIZON + 1),
        default=forecast.DEFAULT_HORIZON,
        metavar="N",
        help=f"months ahead, 1-{forecast.MAX_HORIZON} (default {forecast.DEFAULT_HORIZON})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    filter_args(p)


@command("forecast", _forecast_setup)
def cmd_forecast(args: argparse.Namespace) -> int:
    """Forecast monthly revenue, new customers or complaints with 80/95 % intervals and a backtest."""
    from crm_core.metrics import forecast

    f = filters_from(args)
    require_db(args.db)
    con = db.connect(args.db)
    check_filters(con, f)
    result = forecast.forecast(con, args.metric, args.months, f)
    print(json.dumps(result, ensure_ascii=False, indent=2, default=json_default))
    return 0
