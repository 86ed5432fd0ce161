"""Sign-in accounts and their log: user add|list|remove|passwd, audit."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crm_core.app import auth
from crm_core.cli.common import actor, command, db_arg, json_default, require_db
from crm_core.engine import db


def _user_setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create an account")
    db_arg(add)
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
    db_arg(listing)
    listing.add_argument("--json", action="store_true", help="one JSON array")
    remove = sub.add_parser("remove", help="delete an account")
    db_arg(remove)
    remove.add_argument("name")
    passwd = sub.add_parser("passwd", help="set a new password (and lift a sign-in lock)")
    db_arg(passwd)
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
            con, args.name, args.role, password, args.region, args.owner, actor=actor()
        )
        if delivery.any or args.lang:
            auth.set_delivery(con, account.name, delivery, actor=actor())
        print(f"added {account.name} ({account.role})")
    elif args.action == "passwd":
        auth.set_password(con, args.name, _read_password(), actor=actor())
        print(f"password of {args.name} changed")
    elif args.action == "remove":
        auth.remove_user(con, args.name, actor=actor())
        print(f"removed {args.name}")
    else:
        users = auth.list_users(con)
        if args.json:
            print(json.dumps(_records(users), ensure_ascii=False, indent=2, default=json_default))
        else:
            print(users.to_string(index=False) if len(users) else "no accounts: sign-in is off")
    return 0


def _audit_setup(p: argparse.ArgumentParser) -> None:
    db_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON array (the default is a table)")
    p.add_argument("--limit", type=int, default=200, metavar="N", help="newest N lines (200)")


@command("audit", _audit_setup)
def cmd_audit(args: argparse.Namespace) -> int:
    """Print the audit log, newest first: sign-ins, loads, rollbacks, exports, account changes."""
    require_db(args.db)
    con = db.connect(args.db)
    log = auth.audit_log(con, args.limit)
    if args.json:
        print(json.dumps(_records(log), ensure_ascii=False, indent=2, default=json_default))
    else:
        print(log.to_string(index=False) if len(log) else "the audit log is empty")
    return 0


def _records(df: Any) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts: missing cells (None / NaN / NaT) become null."""
    import pandas as pd

    def cell(v: Any) -> Any:
        return None if not isinstance(v, str | list) and pd.isna(v) else v

    return [{k: cell(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
