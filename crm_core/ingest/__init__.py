"""Ingest: CSV exports into the canonical tables, and back out again.

Owns each stage of a load — decode (encodings, reading the CSV: decode.py) → map (headers to
canonical columns: matching.py, mapping.py) → type (typed columns, dates, amounts: typed.py) →
check (bad values, duplicate keys, problems and notes: checks.py, reports.py) → swap (one
transaction into the live tables: swap.py) — with files.py taking one file through them and
batch.py a whole load; undo and the load history (history.py), the staging of uploaded files
(uploads.py) and the demo company's generator (demo/). Imports only crm_core.engine.

This facade re-exports what callers use: `from crm_core import ingest; ingest.load(...)`.
"""

from crm_core.engine.schema import TABLES
from crm_core.ingest.batch import MODES, load, load_demo, validate
from crm_core.ingest.decode import ENCODINGS, normalise_encoding
from crm_core.ingest.files import inspect
from crm_core.ingest.history import (
    demo_hashes,
    demo_sources,
    demo_tables,
    load_history,
    rollback_to_before,
)
from crm_core.ingest.mapping import profile_columns
from crm_core.ingest.reports import (
    FileReport,
    IngestError,
    LoadResult,
    Note,
    Problem,
    Source,
    describe_reports,
)

__all__ = [
    "ENCODINGS",
    "MODES",
    "TABLES",
    "FileReport",
    "IngestError",
    "LoadResult",
    "Note",
    "Problem",
    "Source",
    "demo_hashes",
    "demo_sources",
    "demo_tables",
    "describe_reports",
    "inspect",
    "load",
    "load_demo",
    "load_history",
    "normalise_encoding",
    "profile_columns",
    "rollback_to_before",
    "validate",
]
