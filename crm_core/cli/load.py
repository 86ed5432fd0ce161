"""Loading data: demo, load, validate, history and rollback (undo)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crm_core import ingest
from crm_core.app import auth, results, warm
from crm_core.cli.common import actor, command, db_arg, require_db
from crm_core.engine import backends, config, db
from crm_core.engine.schema import TABLES


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
    db_arg(p)


@command("demo", _demo_setup)
def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo database from data/demo/*.csv."""
    con = db.connect(args.db)
    result = ingest.load_demo(con, progress=_progress)
    print(ingest.describe_reports(result.reports), end="")
    print(f"demo database ready: {backends.parse_target(args.db or config.db_target()).display}")
    return 0


def _load_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
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
    p.add_argument(
        "--no-warm",
        action="store_true",
        help="do not compute the pages' default views in the background after the load "
        "(PostgreSQL; on DuckDB, which one process holds at a time, run python -m crm_core "
        "warm when nothing else needs the file)",
    )


@command("load", _load_setup)
def cmd_load(args: argparse.Namespace) -> int:
    """Load CSV files atomically: every file is checked before anything changes."""
    sources = _sources(args)
    con = db.connect(args.db)
    result = ingest.load(con, sources, args.mode, progress=_progress)
    auth.record(con, actor(), auth.load_action(args.mode), result.audit_detail(), result.rows)
    print(ingest.describe_reports(result.reports), end="")
    for table, n in result.emptied.items():
        print(f"{table}: emptied ({n} rows removed; no file named it)")
    print(f"load {result.load_id} committed ({args.mode})")
    con.close()
    if config.warm_after_load() and not args.no_warm:
        _start_warm(args.db or config.db_target())
    return 0


def _start_warm(target: str) -> None:
    """Fill the result store with every page's default view, in a process of its own."""
    if not results.supported_target(target):
        return
    if backends.parse_target(target).kind == "duckdb":
        # A warm holds a DuckDB file for minutes: a script's next command (metrics, report,
        # another load) would find it busy. The app warms a copy after its own uploads.
        print("to store the pages' default views, run: python -m crm_core warm")
        return
    pid = warm.start_background(target)
    print(f"warming the pages' default views in the background: process {pid}")


def _validate_setup(p: argparse.ArgumentParser) -> None:
    _file_args(p)


@command("validate", _validate_setup)
def cmd_validate(args: argparse.Namespace) -> int:
    """Check files as a load would and report; changes nothing."""
    sources = _sources(args)
    reports = ingest.validate(sources)
    print(ingest.describe_reports(reports), end="")
    return 0 if all(r.ok for r in reports) else 1


def _history_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")


@command("history", _history_setup)
def cmd_history(args: argparse.Namespace) -> int:
    """List past loads, newest first."""
    require_db(args.db)
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
    db_arg(p)
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
    require_db(args.db)
    con = db.connect(args.db)
    undone = ingest.rollback_to_before(con, args.to_before)
    auth.record(con, actor(), "rollback", "undid load(s) " + ", ".join(f"#{i}" for i in undone))
    print(f"rolled back load(s) {undone}")
    return 0
