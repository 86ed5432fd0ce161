"""The weekly digest command: build each account's digest and send it, or show it (--dry-run)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crm_core import ingest
from crm_core.app import auth
from crm_core.cli.common import (
    FilterValueError,
    actor,
    command,
    db_arg,
    iso_date,
    json_default,
    require_db,
)
from crm_core.engine import db
from crm_core.engine.redact import redact


def _digest_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
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
        type=iso_date,
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
    require_db(args.db)
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
            print(json.dumps(found, ensure_ascii=False, indent=2, default=json_default))
        else:
            print("\n\n".join(found) if found else "no account has a channel")
        return 0
    if not any(p.delivery.any for p in plans):
        raise FilterValueError(
            "no channel: give --to ADDR or --webhook NAME (or set them with "
            "user add --email / --webhook)"
        )
    outcomes = digest.deliver(con, plans, week, actor(), args.force, pdf=not args.no_pdf)
    for o in outcomes:
        extra = f" after {o.attempts} attempts: {o.error}" if o.status == "failed" else ""
        print(f"{o.user} {o.channel}: {o.status}{extra}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0
