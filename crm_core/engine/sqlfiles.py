"""The named SQL files of crm_core/sql: their text, with `-- @include fragment` lines expanded."""

from __future__ import annotations

import re
from functools import cache

from crm_core.engine import config

_INCLUDE = re.compile(r"--\s*@include\s+(\w+)")

# A fragment swapped for another where a caller asks for it: (fragment, replacement) pairs, e.g.
# (("value_history", "value_history_days"),) reads the value window from the fact layer.
Slots = tuple[tuple[str, str], ...]


@cache
def sql(name: str, slots: Slots = ()) -> str:
    """Text of crm_core/sql/<name>.sql with `-- @include fragment` lines expanded; an include
    named in `slots` expands its replacement fragment instead."""
    text = (config.SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    swap = dict(slots)
    return _INCLUDE.sub(lambda m: sql("_" + swap.get(m.group(1), m.group(1)), slots).strip(), text)


def duckdb_only(name: str) -> bool:
    """Whether crm_core/sql/<name>.sql runs on DuckDB only (its first line says "-- DuckDB
    only"): the shared windows of crm_core/facts.py, which other engines compute per report."""
    return sql(name).startswith("-- DuckDB only")
