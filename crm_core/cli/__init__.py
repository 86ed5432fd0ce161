"""The command line (python -m crm_core): one module per command group, main() parses and runs.

The CLI sits on top of crm_core and may import every package (engine, ingest, metrics, present,
app); nothing in crm_core imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crm_core import ingest
from crm_core.app import auth
from crm_core.app.purge import PurgeError
from crm_core.app.warm import WarmRefused
from crm_core.cli import accounts, admin, digest, export, figures, load, warm
from crm_core.cli.common import COMMANDS, FilterValueError
from crm_core.engine import backends, db
from crm_core.engine.redact import redact
from crm_core.present.images import ImageExportUnavailable

__all__ = ["COMMANDS", "DESCRIPTION", "HELP_ORDER", "main"]
# The command modules register their commands in COMMANDS as they are imported.
_GROUPS = (load, figures, export, admin, accounts, digest, warm)

DESCRIPTION = (
    "Command line: python -m crm_core demo|load|metrics|explain|customers|...|user|audit|digest."
)
# The order --help lists the commands in (the order they were added, as README documents them).
HELP_ORDER = (
    "demo",
    "load",
    "validate",
    "metrics",
    "explain",
    "customers",
    "customer",
    "history",
    "rollback",
    "deck",
    "report",
    "purge",
    "schema-doc",
    "clv",
    "user",
    "audit",
    "affinity",
    "channels",
    "forecast",
    "digest",
    "warm",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_core", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in sorted(COMMANDS, key=HELP_ORDER.index):
        setup, fn = COMMANDS[name]
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
        WarmRefused,
    ) as e:
        print(f"error: {redact(e)}", file=sys.stderr)
        return 2
