"""Map one file: its overrides checked, its values sampled, its table and mapping chosen."""

from __future__ import annotations

from pathlib import Path

import duckdb

from crm_core.engine.schema import TABLES
from crm_core.ingest.matching import ColumnProfile, detect_table, infer_columns, missing_required
from crm_core.ingest.reports import FileReport, Problem, Source
from crm_core.ingest.typed import _timestamp_expr

SAMPLE_ROWS = 2000  # data rows read to find a required column from its values


def _check_overrides(report: FileReport, source: Source) -> None:
    """With one file, a --map naming a header the file lacks is a typo: say so."""
    if not source.strict_mapping:
        return
    for src in source.mapping or {}:
        if src not in report.headers:
            report.errors.append(
                Problem(
                    None,
                    f"--map names a column the file does not have: {src!r}; "
                    f"its columns are {report.headers}",
                )
            )


def profile_columns(
    path: Path, delimiter: str, headers: list[str], rows: int = SAMPLE_ROWS
) -> dict[str, ColumnProfile]:
    """How the first `rows` data rows of a UTF-8 CSV look, per header: non-blank values, values
    parsing as dates (as a load would parse them, either day order), id-shaped and distinct
    values. A file DuckDB cannot read gives no profiles (the load reports why)."""
    names = [_ident(i) for i in range(len(headers))]
    col_struct = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    raw = (
        f"read_csv($path, delim=$delim, header=true, auto_detect=false, quote='\"', "
        f"escape='\"', ignore_errors=true, null_padding=true, columns={col_struct}, "
        f"max_line_size=8388608)"
    )
    # Only values shaped like a date go through try_strptime's format list: it costs about a
    # microsecond per failing format.
    shaped = (
        "(\\d{1,4}[-/.年]\\d{1,2}[-/.月]\\d{1,4}|\\d{1,2}[ -][A-Za-z]{3,9}[ -]\\d{4}"
        "|[A-Za-z]{3,9} \\d{1,2}, \\d{4}).*"
    )
    parts = []
    for c in names:
        v = f"NULLIF(trim({c}), '')"
        ts = f"coalesce({_timestamp_expr(c, 'mdy')}, {_timestamp_expr(c, 'dmy')})"
        # Digit-only values a load reads as dates: 20240131, 20240131093000, Excel serials.
        digit_ts = (
            f"CASE WHEN regexp_full_match({v}, '\\d{{8}}|\\d{{14}}') "
            f"THEN try_strptime({v}, ['%Y%m%d', '%Y%m%d%H%M%S']) "
            f"WHEN regexp_full_match({v}, '[1-9]\\d{{4}}(\\.\\d+)?') THEN TIMESTAMP '1899-12-30' END"
        )
        parts.append(
            f"count({v}), "
            f"count(CASE WHEN regexp_full_match({v}, '{shaped}') THEN {ts} END), "
            f"count({digit_ts}), "
            f"count(CASE WHEN regexp_full_match(regexp_replace({v}, '^(\\d+)\\.0+$', '\\1'), "
            f"'[A-Za-z0-9][A-Za-z0-9_-]*') THEN 1 END), "
            f"count(DISTINCT {v})"
        )
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        row = con.execute(
            f"SELECT {', '.join(parts)} FROM (SELECT * FROM {raw} LIMIT {int(rows)})",
            {"path": str(path), "delim": delimiter},
        ).fetchone()
    except duckdb.Error:
        return {}
    finally:
        con.close()
    vals = list(row or [])
    return {
        h: ColumnProfile(h, *(int(x) for x in vals[5 * i : 5 * i + 5]))
        for i, h in enumerate(headers)
    }


def _map_columns(report: FileReport, source: Source, utf8: Path) -> dict[str, ColumnProfile] | None:
    """The file's table and header mapping: the user's overrides, then header synonyms, then,
    for required columns still missing, the file's values (kept in report.inferred, or
    report.ambiguous when several columns fit). Returns the column profiles when it sampled."""
    overrides = source.mapping or {}
    detected, mappings = detect_table(report.headers, overrides)
    table = source.table if source.table in TABLES else None
    table = table or detected
    profiles: dict[str, ColumnProfile] | None = None
    if table is None or missing_required(TABLES[table], set(mappings[table].values())):
        profiles = profile_columns(utf8, report.delimiter, report.headers)
        if table is None and source.table is None:
            table, mappings = detect_table(report.headers, overrides, profiles)
    report.table = source.table or table
    if table is None:
        return profiles
    report.mapping = dict(mappings[table])
    if profiles:
        ignored = {h for h, c in overrides.items() if not c}
        report.inferred, report.ambiguous = infer_columns(
            TABLES[table], report.mapping, profiles, ignored
        )
        report.mapping.update({g.header: c for c, g in report.inferred.items()})
    return profiles


def _ident(i: int) -> str:
    return f"c{i}"
