"""The presentation as a file: deck (PPTX) and report (PDF or HTML)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from crm_core import ingest
from crm_core.app import auth
from crm_core.cli.common import (
    actor,
    as_user_arg,
    check_filters,
    command,
    db_arg,
    filter_args,
    filters_from,
    require_db,
    scoped,
)
from crm_core.engine import db


def _export_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the file to write, or an existing folder: the file is then named with the data "
        "date (客户关系分析-2026-10-31.pptx, crm-review-2026-10-31-en.pdf)",
    )
    filter_args(p)
    as_user_arg(p)


def _named_out(args: argparse.Namespace, kind: str, as_of: Any) -> None:
    """An --out folder gets the download's file name, with the data date."""
    from crm_core.present import deck

    if args.out.is_dir():
        args.out = args.out / deck.file_name(kind, args.lang, as_of)


def _slides_and_date(args: argparse.Namespace) -> tuple[list, Any, db.Connection]:
    from crm_core.app import meeting

    f = filters_from(args)
    require_db(args.db)
    con = db.connect(args.db)
    check_filters(con, f)
    f = scoped(con, f, args)
    found = meeting.all_slides(con, f, lang=args.lang)
    if not found:
        raise ingest.IngestError("nothing to present: the database has no data")
    # As the Present page: the filters' end, else the last order date.
    return found, meeting.data_date(con, f), con


def _audit_export(con: db.Connection, args: argparse.Namespace, what: str) -> None:
    as_user = f" as {args.as_user}" if args.as_user else ""
    auth.record(con, actor(), "export", f"{what} {args.out.name}{as_user}")


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
