"""One file through decode, map, type and check into its stage table, or shown (inspect)."""

from __future__ import annotations

import csv
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from crm_core.engine import config, db
from crm_core.engine.schema import SQL_TYPES, TABLES
from crm_core.ingest import uploads
from crm_core.ingest.checks import (
    PARSED_KINDS,
    _bad_columns,
    _check_values,
    _finish_stage,
    _return_expr,
)
from crm_core.ingest.decode import LINE_LIMIT, _read_header, decode_to_utf8, sha256_of
from crm_core.ingest.mapping import _check_overrides, _ident, _map_columns
from crm_core.ingest.matching import amount_derivable, detect_table, infer_columns, missing_required
from crm_core.ingest.reports import FileReport, Note, Problem, Source, _fail
from crm_core.ingest.typed import (
    _date_order,
    _money_expr,
    _number_expr,
    _typed_expr,
    _usual_formats,
)


def inspect(source: Source, workdir: Path | None = None) -> FileReport:
    """Encoding, delimiter, headers, detected table, suggested mapping and a 20-row preview."""
    own = workdir is None
    wd = uploads.work_dir() if own else workdir
    try:
        assert wd is not None
        report = FileReport(source.file_name)
        utf8, report.encoding = decode_to_utf8(
            Path(source.path), source.file_name, wd, source.encoding
        )
        report.delimiter, _, report.headers = _read_header(utf8, source.file_name)
        _check_overrides(report, source)
        _map_columns(report, source, utf8)
        report.preview = _preview(utf8, report)
        return report
    finally:
        if own and wd is not None:
            shutil.rmtree(wd, ignore_errors=True)


PREVIEW_ROWS = 20
PREVIEW_CELL = 500  # characters of a cell shown in the preview


def _preview(utf8: Path, report: FileReport) -> pd.DataFrame:
    """The first data rows as text, one column per header; long cells shortened with "…"."""
    rows: list[list[str]] = []
    n = len(report.headers)
    with open(utf8, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=report.delimiter)
        try:
            next(reader, None)
            for r in reader:
                if len(rows) >= PREVIEW_ROWS:
                    break
                cells = [c if len(c) <= PREVIEW_CELL else c[:PREVIEW_CELL] + "…" for c in r]
                rows.append((cells + [""] * n)[:n])
        except csv.Error as e:
            _fail(
                report.file_name,
                f"cannot read the CSV ({e})",
                row=reader.line_num,
                key="unreadable_row",
            )
    return pd.DataFrame(rows, columns=report.headers)


def prepare(
    con: db.Connection, source: Source, workdir: Path, stage: str, persist: bool = False
) -> FileReport:
    """Decode, map, type and check one file into the temp table or view `stage`; nothing else
    changes. `persist`: `stage` is instead a table of the database itself, holding the rows
    the way the canonical table does, for the swap to rename into place (a replace on DuckDB,
    where copying ten million rows from a temp table into the file cost more than typing
    them); the caller drops it should the load not take it."""
    report = FileReport(source.file_name)
    # The file's hash is computed beside the encoding's scan (hashlib lets go of the GIL).
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(sha256_of, Path(source.path))
        try:
            utf8, report.encoding = decode_to_utf8(
                Path(source.path), source.file_name, workdir, source.encoding
            )
        finally:
            report.sha256 = digest.result()
    report.delimiter, _, report.headers = _read_header(utf8, source.file_name)
    if source.table and source.table not in TABLES:
        _fail(source.file_name, f"unknown table {source.table!r}; one of {sorted(TABLES)}")
    _check_overrides(report, source)
    profiles = _map_columns(report, source, utf8)
    if report.table is None:
        overrides = {h: c for h, c in (source.mapping or {}).items() if h in report.headers}
        _, mappings = detect_table(report.headers, overrides)
        named = {c for c in overrides.values() if c}
        eligible = [t for t in TABLES if named <= {c.name for c in TABLES[t].columns}]
        best = max(eligible or list(TABLES), key=lambda t: len(mappings[t]))
        found = set(mappings[best].values())
        if profiles:
            ignored = {h for h, c in overrides.items() if not c}
            found |= set().union(*infer_columns(TABLES[best], mappings[best], profiles, ignored))
        missing = missing_required(TABLES[best], found)
        closest = (
            f"closest: {best}, missing {missing}"
            if mappings[best]
            else "no column has a known header"
        )
        table_arg = best if mappings[best] else "orders"
        report.errors.append(
            Problem(
                None,
                "cannot tell which table this file is: no table has all its required columns "
                f"({closest}). Columns found: {report.headers[:30]}. Name the table "
                f"(e.g. --{table_arg} FILE) and map the missing columns "
                f'(--map "SOURCE={missing[0] if mappings[best] and missing else "column"}"), '
                "or use the Data page",
                key="unknown_table",
                params={"headers": report.headers[:30]},
            )
        )
        return report
    table = TABLES[report.table]
    for src, target in report.mapping.items():
        if target not in {c.name for c in table.columns}:
            report.errors.append(
                Problem(
                    None, f"mapping {src!r} -> {target!r}: {table.name} has no column {target!r}"
                )
            )
    mapped = set(report.mapping.values())
    derive_amount = amount_derivable(table, mapped)
    for target, headers in report.ambiguous.items():
        report.errors.append(
            Problem(
                target,
                f"{len(headers)} columns could be {target}: "
                + ", ".join(f"{h!r}" for h in headers)
                + f'. Choose one: --map "{headers[0]}={target}" (or in the Data page)',
                key="ambiguous",
                params={"field": target, "headers": list(headers)},
            )
        )
    missing = [c for c in missing_required(table, mapped) if c not in report.ambiguous]
    # For the pages: a one-of requirement as a list of alternatives ("客户编号或线索编号").
    fields: list[Any] = list(missing)
    if table.one_of and not mapped & set(table.one_of):
        missing.append(" or ".join(table.one_of))
        fields.append(list(table.one_of))
    if missing:
        report.errors.append(
            Problem(
                None,
                f"missing required column(s) for {table.name}: {missing}. The file's columns "
                f"are {report.headers[:30]}; map one of them with "
                f'--map "SOURCE={missing[0]}" or in the Data page',
                key="missing_required",
                params={"table": table.name, "fields": fields},
            )
        )
    if report.errors:
        return report

    names = [_ident(i) for i in range(len(report.headers))]
    col_struct = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    raw = (
        f"read_csv($path, delim=$delim, header=true, auto_detect=false, quote='\"', "
        f"escape='\"', strict_mode=true, null_padding=false, columns={col_struct}, "
        f"max_line_size={LINE_LIMIT})"
    )
    params = {"path": str(utf8), "delim": report.delimiter}
    src_of = {target: names[report.headers.index(src)] for src, target in report.mapping.items()}
    ts_cols = [
        src_of[c.name]
        for c in table.columns
        if c.name in src_of and c.kind in ("timestamp", "date")
    ]
    try:
        order, ambiguous = _date_order(
            con, raw, params, ts_cols, source.date_order or config.DEFAULT_DATE_ORDER
        )
        if source.date_order:
            order, ambiguous = source.date_order, False
        if ambiguous:
            report.warnings.append(
                Note(
                    f"{source.file_name}: dates like 03/04/2024 are ambiguous in every row; read "
                    f"as {'month/day' if order == 'mdy' else 'day/month'}/year (choose the order "
                    "to change)",
                    f"ambiguous_dates_{order}",
                    file=source.file_name,
                )
            )
        usual = _usual_formats(con, raw, params, ts_cols, order)
        selects, bad = [], {}
        for col in table.all_columns:
            if col.name in src_of:
                c = src_of[col.name]
                expr = _typed_expr(col.kind, c, order, usual.get(c))
                selects.append(f"CAST({expr} AS {SQL_TYPES[col.kind]}) AS {col.name}")
                if col.kind in PARSED_KINDS:
                    bad[col.name] = (
                        f"CASE WHEN NULLIF(trim({c}), '') IS NOT NULL AND ({expr}) IS NULL "
                        f"THEN {c} END"
                    )
            elif col.name == "amount" and derive_amount:
                q = _number_expr(src_of["quantity"])
                p = _money_expr(src_of["unit_price"])
                amount = f"TRY_CAST({q} * {p} AS DECIMAL(18,4))"
                selects.append(f"{amount} AS amount")
                # A product too large for an amount is a bad value of the line, not a file
                # DuckDB cannot read: its row is reported with quantity × unit price.
                bad["amount"] = (
                    f"CASE WHEN ({q}) IS NOT NULL AND ({p}) IS NOT NULL AND {amount} IS NULL "
                    f"THEN trim({src_of['quantity']}) || ' × ' || trim({src_of['unit_price']}) "
                    "END"
                )
            elif col.name in ("line_no", "is_return") and not persist:
                continue  # derived in _finish_stage
            elif col.name == "line_no":
                selects.append("CAST(1 AS BIGINT) AS line_no")  # _finish_stage numbers repeats
            elif col.name == "is_return":
                # The typed columns by their names (DuckDB reads an earlier alias of the list).
                selects.append(f"{_return_expr(False)} AS is_return")
            else:
                selects.append(f"CAST(NULL AS {SQL_TYPES[col.kind]}) AS {col.name}")
        # The raw text of each value that did not parse, kept for the report: one list column
        # (_bad_columns' order), NULL on a row that parsed whole.
        cells = [bad[c] for c in _bad_columns(table, src_of, derive_amount)]
        if cells:
            any_bad = " OR ".join(f"({b}) IS NOT NULL" for b in cells)
            selects.append(f"CASE WHEN {any_bad} THEN [{', '.join(cells)}] END AS _bad")
        con.execute(
            f"CREATE OR REPLACE {'' if persist else 'TEMP '}TABLE {stage}_typed AS "
            f"SELECT {', '.join(selects)} "
            f"FROM {raw}",
            params,
        )
    except duckdb.Error as e:
        if uploads.is_disk_full(e):
            raise  # the disk, not the file: said as such by the caller (ui.exclusive_load)
        report.errors.append(_duck_problem(e, utf8, source.file_name))
        return report
    report.rows_read = con.execute(f"SELECT count(*) FROM {stage}_typed").fetchone()[0]  # type: ignore[index]
    if report.rows_read == 0:
        report.errors.append(Problem(None, "the file has a header but no data rows", key="no_rows"))
        return report
    rejected = _check_values(
        con, report, table, stage, src_of, source.skip_bad_rows, derive_amount, not persist
    )
    if report.errors:
        return report
    _finish_stage(con, report, table, stage, persist, rejected)
    return report


def _duck_problem(e: duckdb.Error, path: Path, file_name: str) -> Problem:
    """A DuckDB error reading the file as a Problem: DuckDB's own words for the CLI, and for
    the pages a message key with the row and its text ("row_too_long", "row_columns"), or
    "unreadable" (params: detail, DuckDB's first line, which names no user value)."""
    msg = str(e).replace(str(path), file_name)
    msg = re.sub(r"\n\s*file = .*", "", msg)
    msg = re.split(r"Possible (?:fixes|Solution)", msg)[0].strip()
    msg = re.sub(r"(Original Line: [^\n]{200})[^\n]+", r"\1…", msg)
    m = re.search(r"Line: (\d+)", msg)
    if m:
        long = "Maximum line size" in msg
        why = (
            "the row is longer than 8 MB"
            if long
            else "the row does not fit the header (wrong column count or quoting)"
        )
        line = re.search(r"Original Line: ([^\n]*)", msg)
        return Problem(
            None,
            f"cannot read the CSV: row {m.group(1)}: {why}. " + msg,
            key="row_too_long" if long else "row_columns",
            params={"row": int(m.group(1)), "line": line.group(1) if line else ""},
        )
    return Problem(None, "cannot read the CSV: " + msg, key="unreadable")
