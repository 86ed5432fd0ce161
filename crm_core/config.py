"""Paths and settings, each overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "data" / "demo"
SQL_DIR = Path(__file__).resolve().parent / "sql"


def db_path(fallback: str | None = None) -> Path:
    """The DuckDB file in use: $CRM_LENS_DB, else `fallback` (the app's secrets), else
    data/crm.duckdb."""
    return Path(os.environ.get("CRM_LENS_DB") or fallback or ROOT / "data" / "crm.duckdb")


# How many past loads keep their undo data (each replace keeps a full copy of the old table).
UNDO_KEEP = int(os.environ.get("CRM_LENS_UNDO_KEEP", "5"))
# DuckDB memory cap for the app and the CLI; the default of 80 % of RAM is too greedy on a server.
MEMORY_LIMIT = os.environ.get("CRM_LENS_MEMORY_LIMIT", "1GB")
THREADS = int(os.environ.get("CRM_LENS_THREADS", "0"))  # 0 = DuckDB's default
# Dates more than this many days after "now" are refused as data errors.
FUTURE_TOLERANCE_DAYS = 1
# Ambiguous a/b/yyyy dates with no day > 12 in the column: "mdy" or "dmy".
DEFAULT_DATE_ORDER = os.environ.get("CRM_LENS_DATE_ORDER", "mdy")
