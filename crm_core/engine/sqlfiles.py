"""The named SQL files of crm_core/sql: their text, with `-- @include fragment` lines expanded."""

from __future__ import annotations

import re
from functools import cache

from crm_core.engine import config

_INCLUDE = re.compile(r"--\s*@include\s+(\w+)")


@cache
def sql(name: str) -> str:
    """Text of crm_core/sql/<name>.sql with `-- @include fragment` lines expanded."""
    text = (config.SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: sql("_" + m.group(1)).strip(), text)


def duckdb_only(name: str) -> bool:
    """Whether crm_core/sql/<name>.sql runs on DuckDB only (its first line says "-- DuckDB
    only"): the shared windows of crm_core/facts.py, which other engines compute per report."""
    return sql(name).startswith("-- DuckDB only")
