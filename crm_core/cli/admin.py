"""Upkeep: purge (erase one customer) and schema-doc (the table reference in docs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crm_core.cli.common import actor, command, db_arg, require_db
from crm_core.engine import backends, config, db


def _purge_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument("--customer", required=True, metavar="ID", help="the customer id to erase")


@command("purge", _purge_setup)
def cmd_purge(args: argparse.Namespace) -> int:
    """Erase one customer: live rows, undo data, rejected rows and snapshots holding them."""
    from crm_core.app import purge

    require_db(args.db)
    target = args.db or config.db_target()
    con = db.connect(target)
    db_file = None if backends.is_remote(target) else Path(backends.parse_target(target).url)
    result = purge.purge_customer(con, args.customer, db_file, actor())
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


DOC_MARK = "<!-- generated from crm_core/engine/schema.py: python -m crm_core schema-doc -->\n"


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
