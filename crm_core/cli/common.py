"""What every command shares: the registry, the --db / filter / --as-user options and their checks."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crm_core import ingest
from crm_core.app import auth
from crm_core.engine import backends, config, db
from crm_core.engine.redact import redact
from crm_core.metrics.filters import DIMENSIONS, Filters, filter_options, unknown_values

# Subcommands register here so later features add theirs without touching the parser core.
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = {}


def command(name: str, setup: Callable[[argparse.ArgumentParser], None]):
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        COMMANDS[name] = (setup, fn)
        return fn

    return deco


def db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=None,
        help=f"DuckDB file, postgresql://user@host:port/db or spark:local[2] (README, Backends; "
        f"default: $CRM_LENS_DB or {redact(config.db_target())})",
    )


def iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-01-31") from None


def filter_args(p: argparse.ArgumentParser) -> None:
    """The sidebar's global filters as options: --start --end --region --source --owner
    --segment --category (docs/metrics.md, "Filters")."""
    g = p.add_argument_group("filters (as the sidebar's)")
    g.add_argument("--start", type=iso_date, metavar="YYYY-MM-DD", help="period start (incl.)")
    g.add_argument("--end", type=iso_date, metavar="YYYY-MM-DD", help="period end (incl.)")
    for dim in DIMENSIONS:
        g.add_argument(f"--{dim}", default=None, metavar="VALUE", help=f"only this {dim}")


def filters_from(args: argparse.Namespace) -> Filters:
    """The Filters the filter_args options name (unset ones are open)."""
    if args.start and args.end and args.start > args.end:
        raise FilterValueError(f"--start {args.start} is after --end {args.end}")
    return Filters(args.start, args.end, **{d: getattr(args, d) for d in DIMENSIONS})


class FilterValueError(ValueError):
    """A filter option the data cannot satisfy (a value it does not hold, a reversed period)."""


def check_filters(con: db.Connection, f: Filters) -> None:
    options = filter_options(con)
    bad = unknown_values(f, options)
    if bad:
        dim, value = next(iter(bad.items()))
        known = ", ".join(options.get(dim, [])[:30]) or "none in the data"
        raise FilterValueError(f"--{dim} {value!r} is not in the data; known values: {known}")


def as_user_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-user",
        default=None,
        metavar="NAME",
        help="only what this account may see: its regions / owners restrict every figure "
        "(the filters above can narrow that, never widen it)",
    )


def scoped(con: db.Connection, f: Filters, args: argparse.Namespace) -> Filters:
    """`f` within the --as-user account's scope (unchanged without --as-user)."""
    if not getattr(args, "as_user", None):
        return f
    regions, owners = auth.user_scope(con, args.as_user)
    for dim, allowed in (("region", regions), ("owner", owners)):
        chosen = getattr(f, dim)
        if allowed and chosen is not None and chosen not in allowed:
            raise FilterValueError(
                f"--{dim} {chosen!r} is outside {args.as_user}'s scope ({', '.join(allowed)})"
            )
    return f.within_scope(regions, owners)


def actor() -> str:
    """Who a CLI change is recorded as in the audit log: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


def require_db(path: str | Path | None) -> None:
    p = path or config.db_target()
    if not backends.is_remote(p) and not Path(p).exists():
        raise ingest.IngestError(f"{p}: no such database (build one with 'demo' or 'load')")


def json_default(o: Any) -> Any:
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    return float(o)
