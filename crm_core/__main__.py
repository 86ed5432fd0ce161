"""Command line: python -m crm_core demo|load|metrics|explain|customers|...|user|audit|digest."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from crm_core import ingest
from crm_core.app import auth
from crm_core.app.purge import PurgeError
from crm_core.engine import backends, config, db
from crm_core.engine.schema import TABLES
from crm_core.metrics.filters import DIMENSIONS, Filters, filter_options, unknown_values
from crm_core.present.images import ImageExportUnavailable
from crm_core.present.text import redact

# Subcommands register here so later features add theirs without touching the parser core.
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = {}


def command(name: str, setup: Callable[[argparse.ArgumentParser], None]):
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        COMMANDS[name] = (setup, fn)
        return fn

    return deco


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=None,
        help=f"DuckDB file, postgresql://user@host:port/db or spark:local[2] (README, Backends; "
        f"default: $CRM_LENS_DB or {redact(config.db_target())})",
    )


def _progress(frac: float, msg: str) -> None:
    print(f"[{frac:4.0%}] {msg}", file=sys.stderr)


def _file_args(p: argparse.ArgumentParser) -> None:
    for t in TABLES:
        # The optional spend table also answers to the short --spend.
        names = (f"--{t}", "--spend") if t == "marketing_spend" else (f"--{t}",)
        p.add_argument(
            *names,
            dest=t,
            action="append",
            type=Path,
            default=[],
            metavar="FILE",
            help=f"a {t} CSV (repeatable)",
        )
    p.add_argument(
        "--file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a CSV whose table is detected from its headers (repeatable)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SRC=column",
        help="map a source header to a canonical column ('SRC=' ignores it)",
    )
    p.add_argument(
        "--date-order",
        choices=("dmy", "mdy"),
        default=None,
        help="order of ambiguous dates like 03/04/2024 (default: from the data)",
    )
    p.add_argument(
        "--encoding",
        default=None,
        metavar="NAME",
        help=f"text encoding of every file named (e.g. {', '.join(ingest.ENCODINGS)}); "
        "default: decided from each whole file",
    )
    p.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="reject rows with unparseable values (kept in load_rejects) instead of "
        "refusing the file",
    )


def _sources(args: argparse.Namespace) -> list[ingest.Source]:
    mapping: dict[str, str] = {}
    for m in args.map:
        if "=" not in m:
            raise ingest.IngestError(f"--map {m!r}: expected SOURCE=column")
        src, _, target = m.partition("=")
        mapping[src.strip()] = target.strip()
    encoding = ingest.normalise_encoding(args.encoding) if args.encoding else None
    out = []
    paths = [(t, p) for t in [*TABLES, "file"] for p in getattr(args, t)]
    for t, path in paths:
        if not path.is_file():
            raise ingest.IngestError(f"{path}: no such file")
        out.append(
            ingest.Source(
                path,
                None if t == "file" else t,
                mapping or None,
                date_order=args.date_order,
                skip_bad_rows=args.skip_bad_rows,
                encoding=encoding,
                # With several files, a --map entry applies where it fits.
                strict_mapping=len(paths) == 1,
            )
        )
    if not out:
        raise ingest.IngestError("name at least one file, e.g. --orders orders.csv")
    return out


def _demo_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)


@command("demo", _demo_setup)
def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo database from data/demo/*.csv."""
    con = db.connect(args.db)
    result = ingest.load_demo(con, progress=_progress)
    print(ingest.describe_reports(result.reports), end="")
    print(f"demo database ready: {backends.parse_target(args.db or config.db_target()).display}")
    return 0


def _load_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument(
        "--mode",
        choices=ingest.MODES,
        default="append",
        help="append (the default, as on the Data page; deletes nothing): add the files' rows, "
        "a row whose key is loaded already is updated; replace: swap in each named table whole; "
        "replace-all: replace, and empty every table no file names (start with your own data "
        "instead of the demo's). Every load can be rolled back",
    )
    _file_args(p)


@command("load", _load_setup)
def cmd_load(args: argparse.Namespace) -> int:
    """Load CSV files atomically: every file is checked before anything changes."""
    sources = _sources(args)
    con = db.connect(args.db)
    result = ingest.load(con, sources, args.mode, progress=_progress)
    auth.record(con, _actor(), auth.load_action(args.mode), result.audit_detail(), result.rows)
    print(ingest.describe_reports(result.reports), end="")
    for table, n in result.emptied.items():
        print(f"{table}: emptied ({n} rows removed; no file named it)")
    print(f"load {result.load_id} committed ({args.mode})")
    return 0


def _validate_setup(p: argparse.ArgumentParser) -> None:
    _file_args(p)


@command("validate", _validate_setup)
def cmd_validate(args: argparse.Namespace) -> int:
    """Check files as a load would and report; changes nothing."""
    sources = _sources(args)
    reports = ingest.validate(sources)
    print(ingest.describe_reports(reports), end="")
    return 0 if all(r.ok for r in reports) else 1


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-01-31") from None


def _filter_args(p: argparse.ArgumentParser) -> None:
    """The sidebar's global filters as options: --start --end --region --source --owner
    --segment --category (docs/metrics.md, "Filters")."""
    g = p.add_argument_group("filters (as the sidebar's)")
    g.add_argument("--start", type=_iso_date, metavar="YYYY-MM-DD", help="period start (incl.)")
    g.add_argument("--end", type=_iso_date, metavar="YYYY-MM-DD", help="period end (incl.)")
    for dim in DIMENSIONS:
        g.add_argument(f"--{dim}", default=None, metavar="VALUE", help=f"only this {dim}")


def _filters_from(args: argparse.Namespace) -> Filters:
    """The Filters the _filter_args options name (unset ones are open)."""
    if args.start and args.end and args.start > args.end:
        raise FilterValueError(f"--start {args.start} is after --end {args.end}")
    return Filters(args.start, args.end, **{d: getattr(args, d) for d in DIMENSIONS})


class FilterValueError(ValueError):
    """A filter option the data cannot satisfy (a value it does not hold, a reversed period)."""


def _check_filters(con: db.Connection, f: Filters) -> None:
    options = filter_options(con)
    bad = unknown_values(f, options)
    if bad:
        dim, value = next(iter(bad.items()))
        known = ", ".join(options.get(dim, [])[:30]) or "none in the data"
        raise FilterValueError(f"--{dim} {value!r} is not in the data; known values: {known}")


def _as_user_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-user",
        default=None,
        metavar="NAME",
        help="only what this account may see: its regions / owners restrict every figure "
        "(the filters above can narrow that, never widen it)",
    )


def _scoped(con: db.Connection, f: Filters, args: argparse.Namespace) -> Filters:
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


def _actor() -> str:
    """Who a CLI change is recorded as in the audit log: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


def _metrics_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    _filter_args(p)
    _as_user_arg(p)


@command("metrics", _metrics_setup)
def cmd_metrics(args: argparse.Namespace) -> int:
    """Print the headline metrics as one JSON object (optionally under the sidebar's filters)."""
    from crm_core.metrics.figures import metrics
    from crm_core.present.caveat_text import with_messages

    f = _filters_from(args)
    _require_db(args.db)
    con = db.connect(args.db)
    _check_filters(con, f)
    f = _scoped(con, f, args)
    doc = metrics(con, f)
    doc["warnings"] = with_messages(doc["warnings"])  # in English, for scripts' logs
    print(json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default))
    return 0


def _explain_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument(
        "--metric",
        default="revenue",
        choices=("revenue", "customers", "orders", "complaints"),
        help="the figure whose change to explain (customers = active customers)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    p.add_argument("--top", type=int, default=5, help="values per dimension before 'others'")
    p.add_argument("--lang", default="zh", choices=("zh", "en"), help="language of labels")
    _filter_args(p)


@command("explain", _explain_setup)
def cmd_explain(args: argparse.Namespace) -> int:
    """Explain a metric's change against the period before: {change, components, contributors}."""
    from crm_core.metrics import explain
    from crm_core.present import explain_text

    f = _filters_from(args)
    if args.top < 1:
        raise FilterValueError(f"--top {args.top}: give 1 or more")
    _require_db(args.db)
    con = db.connect(args.db)
    _check_filters(con, f)
    period = explain.period_for(con, f)
    if period is None:
        raise ingest.IngestError("no orders loaded: nothing to compare (load orders first)")
    e = explain.explain(con, period, args.metric, f, top=args.top)
    print(json.dumps(explain_text.to_json(e, args.lang), ensure_ascii=False, indent=2))
    return 0


def _customers_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    _filter_args(p)
    p.add_argument("--json", action="store_true", help="print a JSON array (the default)")


@command("customers", _customers_setup)
def cmd_customers(args: argparse.Namespace) -> int:
    """Print one JSON object per customer (tier, net revenue, RFM, stage, P(alive))."""
    from crm_core.metrics import customers

    _require_db(args.db)
    con = db.connect(args.db)
    f = _filters_from(args)
    _check_filters(con, f)
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
    _db_arg(p)
    _filter_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    p.add_argument("--lang", choices=("zh", "en"), default="en", help="language of the rule texts")


@command("customer", _customer_setup)
def cmd_customer(args: argparse.Namespace) -> int:
    """Print one customer's 360 (profile, relationship level, timeline) as one JSON object."""
    from crm_core.metrics import customer360
    from crm_core.present import customer_text

    _require_db(args.db)
    con = db.connect(args.db)
    f = _filters_from(args)
    _check_filters(con, f)
    try:
        prof = customer_text.profile_text(customer360.profile(con, args.customer_id, f), args.lang)
    except ValueError as e:  # a period that starts after it ends
        raise ingest.IngestError(str(e)) from e
    if prof is None:
        raise FilterValueError(
            f"customer {args.customer_id!r} not found or not in your scope (filters)"
        )
    print(json.dumps(prof, ensure_ascii=False, indent=2, default=_json_default))
    return 0


def _history_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")


@command("history", _history_setup)
def cmd_history(args: argparse.Namespace) -> int:
    """List past loads, newest first."""
    _require_db(args.db)
    con = db.connect(args.db)
    df = ingest.load_history(con)
    if args.json:
        rows = json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False))
        for r in rows:  # stored as JSON text; a script wants the list
            r["warnings"] = json.loads(r["warnings"] or "[]")
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    df = df.drop(columns=["sha256", "warnings"])
    print(df.to_string(index=False) if len(df) else "no loads yet")
    return 0


def _rollback_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument(
        "--to-before",
        type=int,
        required=True,
        metavar="LOAD_ID",
        help="undo this load and every later one",
    )


@command("rollback", _rollback_setup)
def cmd_rollback(args: argparse.Namespace) -> int:
    """Return the database to its state before a chosen load."""
    _require_db(args.db)
    con = db.connect(args.db)
    undone = ingest.rollback_to_before(con, args.to_before)
    auth.record(con, _actor(), "rollback", "undid load(s) " + ", ".join(f"#{i}" for i in undone))
    print(f"rolled back load(s) {undone}")
    return 0


def _export_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the file to write, or an existing folder: the file is then named with the data "
        "date (客户关系分析-2026-10-31.pptx, crm-review-2026-10-31-en.pdf)",
    )
    _filter_args(p)
    _as_user_arg(p)


def _named_out(args: argparse.Namespace, kind: str, as_of: Any) -> None:
    """An --out folder gets the download's file name, with the data date."""
    from crm_core.present import deck

    if args.out.is_dir():
        args.out = args.out / deck.file_name(kind, args.lang, as_of)


def _slides_and_date(args: argparse.Namespace) -> tuple[list, Any, db.Connection]:
    from crm_core.present import slides

    f = _filters_from(args)
    _require_db(args.db)
    con = db.connect(args.db)
    _check_filters(con, f)
    f = _scoped(con, f, args)
    found = slides.all_slides(con, f, lang=args.lang)
    if not found:
        raise ingest.IngestError("nothing to present: the database has no data")
    # As the Present page: the filters' end, else the last order date.
    return found, slides.data_date(con, f), con


def _audit_export(con: db.Connection, args: argparse.Namespace, what: str) -> None:
    as_user = f" as {args.as_user}" if args.as_user else ""
    auth.record(con, _actor(), "export", f"{what} {args.out.name}{as_user}")


@command("deck", _export_setup)
def cmd_deck(args: argparse.Namespace) -> int:
    """Write the presentation slides as a 16:9 PPTX deck (one titled slide per chart)."""
    from crm_core.present import deck

    found, as_of, con = _slides_and_date(args)
    _named_out(args, "pptx", as_of)
    args.out.write_bytes(deck.build_deck(found, args.lang, as_of))
    _audit_export(con, args, "deck pptx")
    print(f"wrote {args.out}: {len(found) + 1} slides")
    return 0


@command("report", _export_setup)
def cmd_report(args: argparse.Namespace) -> int:
    """Write the presentation as a report: PDF, or HTML when --out ends in .html."""
    from crm_core.present import deck

    found, as_of, con = _slides_and_date(args)
    _named_out(args, "pdf", as_of)
    document = deck.build_html(found, args.lang, as_of)
    if args.out.suffix.lower() in (".html", ".htm"):
        args.out.write_text(document, encoding="utf-8")
    else:
        args.out.write_bytes(deck.html_to_pdf(document))
    _audit_export(con, args, f"report {args.out.suffix.lstrip('.').lower() or 'pdf'}")
    print(f"wrote {args.out}: {len(found)} charts")
    return 0


def _purge_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument("--customer", required=True, metavar="ID", help="the customer id to erase")


@command("purge", _purge_setup)
def cmd_purge(args: argparse.Namespace) -> int:
    """Erase one customer: live rows, undo data, rejected rows and snapshots holding them."""
    from crm_core.app import purge

    _require_db(args.db)
    target = args.db or config.db_target()
    con = db.connect(target)
    db_file = None if backends.is_remote(target) else Path(backends.parse_target(target).url)
    result = purge.purge_customer(con, args.customer, db_file)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


DOC_MARK = "<!-- generated from crm_core/schema.py: python -m crm_core schema-doc -->\n"


def _schema_doc_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=config.ROOT / "docs" / "data-model.md")


@command("schema-doc", _schema_doc_setup)
def cmd_schema_doc(args: argparse.Namespace) -> int:
    """Regenerate the table reference at the end of docs/data-model.md from schema.py."""
    from crm_core.engine.schema import data_model_markdown

    text = args.out.read_text(encoding="utf-8")
    head = text.split(DOC_MARK)[0]
    args.out.write_text(head + DOC_MARK + data_model_markdown(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _clv_setup(p: argparse.ArgumentParser) -> None:
    import datetime as dt

    from crm_core.metrics import clv

    _db_arg(p)
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

    _require_db(args.db)
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


def _user_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create an account")
    _db_arg(add)
    add.add_argument("name")
    add.add_argument("--role", choices=auth.ROLES, required=True)
    add.add_argument(
        "--region", action="append", default=[], metavar="R", help="sees only region R (repeatable)"
    )
    add.add_argument(
        "--owner", action="append", default=[], metavar="O", help="sees only owner O (repeatable)"
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (without it the account "
        "signs in through single sign-on only)",
    )
    _delivery_args(add)
    listing = sub.add_parser("list", help="list accounts")
    _db_arg(listing)
    listing.add_argument("--json", action="store_true", help="one JSON array")
    remove = sub.add_parser("remove", help="delete an account")
    _db_arg(remove)
    remove.add_argument("name")
    passwd = sub.add_parser("passwd", help="set a new password (and lift a sign-in lock)")
    _db_arg(passwd)
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", required=True)


def _delivery_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("weekly digest (digest command)")
    g.add_argument("--email", default=None, metavar="ADDR", help="send the digest to this address")
    g.add_argument(
        "--webhook",
        default=None,
        metavar="NAME",
        help="post the digest to the group webhook NAME: its URL (which holds the robot's key) "
        "comes from $CRM_LENS_WEBHOOK_<NAME> or [digest.webhooks] in .streamlit/secrets.toml",
    )
    g.add_argument(
        "--webhook-format", choices=auth.WEBHOOK_FORMATS, default=None, help="the group's app"
    )
    g.add_argument("--lang", choices=("zh", "en"), default=None, help="language of the digest")


def _read_password() -> str:
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


@command("user", _user_setup)
def cmd_user(args: argparse.Namespace) -> int:
    """Manage sign-in accounts: user add|list|remove|passwd (docs/security.md)."""
    con = db.connect(args.db)
    if args.action == "add":
        password = _read_password() if args.password_stdin else None
        delivery = auth.Delivery(args.email, args.webhook, args.webhook_format, args.lang or "zh")
        auth.check_delivery(delivery)
        account = auth.add_user(
            con, args.name, args.role, password, args.region, args.owner, actor=_actor()
        )
        if delivery.any or args.lang:
            auth.set_delivery(con, account.name, delivery, actor=_actor())
        print(f"added {account.name} ({account.role})")
    elif args.action == "passwd":
        auth.set_password(con, args.name, _read_password(), actor=_actor())
        print(f"password of {args.name} changed")
    elif args.action == "remove":
        auth.remove_user(con, args.name, actor=_actor())
        print(f"removed {args.name}")
    else:
        users = auth.list_users(con)
        if args.json:
            print(json.dumps(_records(users), ensure_ascii=False, indent=2, default=_json_default))
        else:
            print(users.to_string(index=False) if len(users) else "no accounts: sign-in is off")
    return 0


def _audit_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON array (the default is a table)")
    p.add_argument("--limit", type=int, default=200, metavar="N", help="newest N lines (200)")


@command("audit", _audit_setup)
def cmd_audit(args: argparse.Namespace) -> int:
    """Print the audit log, newest first: sign-ins, loads, rollbacks, exports, account changes."""
    _require_db(args.db)
    con = db.connect(args.db)
    log = auth.audit_log(con, args.limit)
    if args.json:
        print(json.dumps(_records(log), ensure_ascii=False, indent=2, default=_json_default))
    else:
        print(log.to_string(index=False) if len(log) else "the audit log is empty")
    return 0


def _records(df: Any) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts: missing cells (None / NaN / NaT) become null."""
    import pandas as pd

    def cell(v: Any) -> Any:
        return None if not isinstance(v, str | list) and pd.isna(v) else v

    return [{k: cell(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


def _affinity_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    _filter_args(p)


@command("affinity", _affinity_setup)
def cmd_affinity(args: argparse.Namespace) -> int:
    """Print the cross-sell rules (support, confidence, lift over customers) as one JSON object."""
    from crm_core.metrics import affinity

    f = _filters_from(args)
    _require_db(args.db)
    con = db.connect(args.db)
    _check_filters(con, f)
    print(json.dumps(affinity.affinity_json(con, f), ensure_ascii=False, indent=2))
    return 0


def _channels_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    _filter_args(p)
    _as_user_arg(p)


@command("channels", _channels_setup)
def cmd_channels(args: argparse.Namespace) -> int:
    """Print the return per acquisition channel (spend, CAC, first-year value, CLV/CAC, payback)."""
    from crm_core.metrics import channels

    f = _filters_from(args)
    _require_db(args.db)
    con = db.connect(args.db)
    _check_filters(con, f)
    f = _scoped(con, f, args)
    print(json.dumps(channels.channels_json(con, f), ensure_ascii=False, indent=2))
    return 0


def _forecast_setup(p: argparse.ArgumentParser) -> None:
    from crm_core.metrics import forecast

    _db_arg(p)
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
    _filter_args(p)


@command("forecast", _forecast_setup)
def cmd_forecast(args: argparse.Namespace) -> int:
    """Forecast monthly revenue, new customers or complaints with 80/95 % intervals and a backtest."""
    from crm_core.metrics import forecast

    f = _filters_from(args)
    _require_db(args.db)
    con = db.connect(args.db)
    _check_filters(con, f)
    result = forecast.forecast(con, args.metric, args.months, f)
    print(json.dumps(result, ensure_ascii=False, indent=2, default=_json_default))
    return 0


def _digest_setup(p: argparse.ArgumentParser) -> None:
    _db_arg(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--as-user", default=None, metavar="NAME", help="the digest of this account")
    who.add_argument("--all", action="store_true", help="every account that has a channel")
    p.add_argument("--smtp", default=None, metavar="HOST:PORT", help="SMTP server (STARTTLS)")
    p.add_argument("--to", default=None, metavar="ADDR", help="email address (with --as-user)")
    p.add_argument(
        "--webhook", default=None, metavar="NAME", help="group webhook name (with --as-user)"
    )
    p.add_argument("--webhook-format", choices=auth.WEBHOOK_FORMATS, default=None)
    p.add_argument("--lang", choices=("zh", "en"), default=None, help="override the language")
    p.add_argument(
        "--week",
        type=_iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="a day of the Monday-Sunday week to report (default: the last complete week)",
    )
    p.add_argument("--dry-run", action="store_true", help="build the digests, send nothing")
    p.add_argument("--json", action="store_true", help="with --dry-run: one JSON array")
    p.add_argument("--force", action="store_true", help="send again a digest already sent")
    p.add_argument("--no-pdf", action="store_true", help="email without the PDF attachment")


@command("digest", _digest_setup)
def cmd_digest(args: argparse.Namespace) -> int:
    """Send each manager's weekly digest (own scope, own language) by email or group webhook."""
    from crm_core.app import digest

    try:
        return _digest(args)
    except digest.DigestError as e:
        print(f"error: {redact(e)}", file=sys.stderr)
        return 2


def _digest(args: argparse.Namespace) -> int:
    from crm_core.app import digest

    if args.all and (args.to or args.webhook):
        raise FilterValueError("--to and --webhook go with --as-user; --all uses each account's")
    _require_db(args.db)
    con = db.connect(args.db)
    week = digest.digest_week(con, args.week)
    if week is None:
        raise ingest.IngestError("no orders loaded: nothing to report (load orders first)")
    plans = digest.plans_for(
        con,
        None if args.all else args.as_user,
        args.to,
        args.webhook,
        args.webhook_format,
        args.lang,
        args.smtp,
    )
    if args.dry_run:
        cache: dict[Any, Any] = {}
        digest.compute_scopes(con, [p.account for p in plans], week, cache)
        found: list[Any] = []
        for plan in plans:
            d = digest.build_digest(con, plan.account, week, plan.delivery.lang, cache)
            doc = digest.to_json(d)
            doc["channels"] = {
                "email": plan.delivery.email,
                "webhook": plan.delivery.webhook,
                "webhook_format": plan.delivery.webhook_format if plan.delivery.webhook else None,
            }
            doc["already_sent"] = {
                c: digest.already_sent(con, d.user, week, c)
                for c in ("email", "webhook")
                if getattr(plan.delivery, c)
            }
            found.append(doc if args.json else digest.markdown(d, "text"))
        if args.json:
            print(json.dumps(found, ensure_ascii=False, indent=2, default=_json_default))
        else:
            print("\n\n".join(found) if found else "no account has a channel")
        return 0
    if not any(p.delivery.any for p in plans):
        raise FilterValueError(
            "no channel: give --to ADDR or --webhook NAME (or set them with "
            "user add --email / --webhook)"
        )
    outcomes = digest.deliver(con, plans, week, _actor(), args.force, pdf=not args.no_pdf)
    for o in outcomes:
        extra = f" after {o.attempts} attempts: {o.error}" if o.status == "failed" else ""
        print(f"{o.user} {o.channel}: {o.status}{extra}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _require_db(path: str | Path | None) -> None:
    p = path or config.db_target()
    if not backends.is_remote(p) and not Path(p).exists():
        raise ingest.IngestError(f"{p}: no such database (build one with 'demo' or 'load')")


def _json_default(o: Any) -> Any:
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    return float(o)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_core", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (setup, fn) in COMMANDS.items():
        # argparse %-formats help: "80/95 % intervals" would read as a "% i" conversion.
        first_line = (fn.__doc__ or "").strip().splitlines()[0].replace("%", "%%")
        p = sub.add_parser(name, help=first_line)
        setup(p)
        p.set_defaults(func=fn)
    args = parser.parse_args(argv)
    db.private_umask()
    try:
        return int(args.func(args))
    except (
        ingest.IngestError,
        db.DatabaseBusy,
        ImageExportUnavailable,
        backends.BackendUnavailable,
        backends.TransactionConflict,
        PurgeError,
        FilterValueError,
        auth.AuthError,
    ) as e:
        print(f"error: {redact(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
