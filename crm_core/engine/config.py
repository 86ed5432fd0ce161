"""Paths and settings, each overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = ROOT / "data" / "demo"
SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def db_path(fallback: str | None = None) -> Path:
    """The DuckDB file in use: $CRM_LENS_DB, else `fallback` (the app's secrets), else
    data/crm.duckdb."""
    return Path(os.environ.get("CRM_LENS_DB") or fallback or ROOT / "data" / "crm.duckdb")


def db_target(fallback: str | None = None) -> str:
    """Like db_path, as text: a DuckDB file, or a postgresql:// / spark: URL (README, Backends)."""
    return os.environ.get("CRM_LENS_DB") or fallback or str(ROOT / "data" / "crm.duckdb")


def spark_warehouse() -> str:
    """Folder of a Spark target's Parquet tables unless its URL names one (?warehouse=)."""
    return os.environ.get("CRM_LENS_SPARK_WAREHOUSE") or str(ROOT / "data" / "spark-warehouse")


def currency(lang: str = "zh") -> str:
    """The currency symbol of money on tiles and in tables: $CRM_LENS_CURRENCY (any language;
    set it empty for none), else ¥ in Chinese and none in English (figures as the exports hold
    them)."""
    found = os.environ.get("CRM_LENS_CURRENCY")
    if found is not None:
        return found
    return "¥" if lang == "zh" else ""


# PostgreSQL: connections one app process may hold, and how long to wait for the server (s).
PG_POOL_SIZE = int(os.environ.get("CRM_LENS_PG_POOL_SIZE", "8"))
PG_CONNECT_TIMEOUT = float(os.environ.get("CRM_LENS_PG_CONNECT_TIMEOUT", "10"))
# Seconds a statement waits for a free pooled connection: a room of renders queues rather than
# failing after psycopg_pool's 30 s default (20 sessions on one process measured waits past it).
PG_POOL_WAIT = float(os.environ.get("CRM_LENS_PG_POOL_WAIT", "300"))
# Spark (local masters): shuffle partitions (Spark's 200 suits a cluster, not CRM-sized data),
# driver memory, and how many INSERT folders a table collects before it is compacted.
SPARK_SHUFFLE_PARTITIONS = int(os.environ.get("CRM_LENS_SPARK_SHUFFLE_PARTITIONS", "8"))
SPARK_DRIVER_MEMORY = os.environ.get("CRM_LENS_SPARK_DRIVER_MEMORY", "2g")
SPARK_MAX_SEGMENTS = 16
# Cache each table version in Spark memory (spilling to disk) while it is current.
SPARK_CACHE = os.environ.get("CRM_LENS_SPARK_CACHE", "1") != "0"
# Spark query results kept per data version (a load or rollback makes a new one): entries, and
# the largest result kept.
SPARK_RESULT_CACHE_SIZE = int(os.environ.get("CRM_LENS_SPARK_RESULT_CACHE", "512"))
SPARK_RESULT_CACHE_MAX_BYTES = 16 << 20


# After a load, compute every page's default view into the result store in a background process
# (python -m crm_core warm); 0 turns it off (the test suite does).
def warm_after_load() -> bool:
    return os.environ.get("CRM_LENS_WARM_AFTER_LOAD", "1") != "0"


# How many past loads keep their undo data (each replace keeps a full copy of the old table).
UNDO_KEEP = int(os.environ.get("CRM_LENS_UNDO_KEEP", "5"))
# DuckDB memory cap for the app and the CLI; the default of 80 % of RAM is too greedy on a server.
MEMORY_LIMIT = os.environ.get("CRM_LENS_MEMORY_LIMIT", "1GB")
THREADS = int(os.environ.get("CRM_LENS_THREADS", "0"))  # 0 = DuckDB's default
# Dates more than this many days after "now" are refused as data errors.
FUTURE_TOLERANCE_DAYS = 1
# Ambiguous a/b/yyyy dates with no day > 12 in the column: "mdy" or "dmy".
DEFAULT_DATE_ORDER = os.environ.get("CRM_LENS_DATE_ORDER", "mdy")

# Uploads (crm_core/uploads.py): where the private staging folders live (default: the system's
# temp folder), how many files and megabytes one browser session may have staged at a time, and
# after how many idle hours a session's staged files are removed.
UPLOAD_DIR = os.environ.get("CRM_LENS_UPLOAD_DIR", "")
MAX_SESSION_FILES = int(os.environ.get("CRM_LENS_MAX_SESSION_FILES", "10"))
MAX_SESSION_UPLOAD_MB = int(os.environ.get("CRM_LENS_MAX_SESSION_UPLOAD_MB", "1500"))
UPLOAD_STALE_HOURS = float(os.environ.get("CRM_LENS_UPLOAD_STALE_HOURS", "6"))
# Meeting snapshots (crm_core/snapshot.py) are deleted this many days after they were made.
SNAPSHOT_DAYS = float(os.environ.get("CRM_LENS_SNAPSHOT_DAYS", "30"))
