"""Warming the result store: every page's default view computed once for every app process."""

from __future__ import annotations

import argparse
import json

from crm_core.app import warm
from crm_core.cli.common import command, db_arg, require_db
from crm_core.engine import config
from crm_core.present import i18n


def _warm_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument(
        "--lang",
        action="append",
        choices=i18n.LANGS,
        default=None,
        help="a language to warm (repeatable; default: every language)",
    )
    p.add_argument(
        "--page",
        action="append",
        default=None,
        metavar="pages/NAME.py",
        help="only this page (repeatable; default: every page)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object")


@command("warm", _warm_setup)
def cmd_warm(args: argparse.Namespace) -> int:
    """Render every page's default view headless so its results are stored for every process."""
    target = args.db or config.db_target()
    require_db(target)
    known = warm.pages()
    for page in args.page or []:
        if page not in known:
            raise warm.WarmRefused(f"{page}: not a page; pages: {', '.join(known)}")
    out = warm.warm(target, args.lang or i18n.LANGS, args.page)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0 if all(not p["errors"] for p in out["pages"]) else 1
    for p in out["pages"]:
        note = f"  errors: {'; '.join(p['errors'])}" if p["errors"] else ""
        print(f"{p['page']} ({p['lang']}): {p['seconds']:.2f} s{note}")
    if "skipped" in out:
        print(f"nothing warmed: {out['skipped']}")
        return 0
    print(
        f"{out['results']} results stored ({out['bytes'] / 2**20:.1f} MB) for data version "
        f"{out['data_version']} in {out['seconds']:.1f} s; {out['pruned']} older rows deleted"
    )
    return 0 if all(not p["errors"] for p in out["pages"]) else 1
