"""File -> decoded -> mapped -> typed -> checked -> swapped into DuckDB atomically, with undo."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from crm_core import config, db
from crm_core.schema import SQL_TYPES, TABLES, Table, detect_table

Progress = Callable[[float, str], None]
MODES = ("replace", "append")
EXAMPLES = 5  # problem examples kept per column in a report
HEADER_LIMIT = 1 << 20  # a header line longer than 1 MB is not a CSV header
CHUNK = 1 << 20

# Values of a status column that mark an order line as a return (lower-cased, exact).
RETURN_WORDS = (
    "return",
    "returned",
    "refund",
    "refunded",
    "cancel",
    "cancelled",
    "canceled",
    "退货",
    "退款",
    "已退货",
    "已退款",
    "取消",
    "已取消",
    "退单",
)
TRUE_WORDS = ("yes", "y", "true", "t", "1", "是", "及时", "对")
FALSE_WORDS = ("no", "n", "false", "f", "0", "否", "不及时", "错")
# Columns holding when something happened: a value after "now" is a data error.
EVENT_COLUMNS = {
    "order_date",
    "received_at",
    "created_at",
    "occurred_at",
    "accepted_at",
    "handled_at",
    "feedback_at",
    "closed_at",
    "stage_changed_at",
}


class IngestError(Exception):
    """A file (or batch) that cannot be loaded; the message names file, row, column and value."""

    def __init__(self, message: str, reports: list[FileReport] | None = None):
        super().__init__(message)
        self.reports = reports or []


@dataclass
class Problem:
    """One kind of bad value in one column, with how many rows and the first examples."""

    column: str | None
    reason: str
    count: int = 1
    examples: list[tuple[int | None, str | None]] = field(default_factory=list)
    source_column: str | None = None

    def describe(self, file_name: str) -> str:
        where = f"column '{self.source_column}'" if self.source_column else ""
        if self.column and self.source_column and self.column != self.source_column:
            where += f" ({self.column})"
        ex = "; ".join(
            (f"row {r}" if r is not None else "") + (f": {v!r}" if v is not None else "")
            for r, v in self.examples
        )
        head = f"{file_name}: {where + ': ' if where else ''}{self.reason}"
        if self.count > 1 or ex:
            head += f" — {self.count} row(s)" + (f", e.g. {ex}" if ex else "")
        return head


@dataclass
class Source:
    """A file to load: path, optional forced table, optional header mapping overrides."""

    path: Path
    table: str | None = None
    mapping: dict[str, str] | None = None  # source header -> canonical column ("" = ignore)
    name: str | None = None  # display name (an upload's original file name)
    date_order: str | None = None  # "dmy" / "mdy" for ambiguous a/b/yyyy dates
    skip_bad_rows: bool = False  # reject rows with unparseable values instead of the file
    strict_mapping: bool = True  # an override naming a header the file lacks is an error

    @property
    def file_name(self) -> str:
        return self.name or Path(self.path).name


@dataclass
class FileReport:
    """What inspecting / validating a file found; `errors` empty means it can be loaded."""

    file_name: str
    sha256: str = ""
    encoding: str = ""
    delimiter: str = ","
    headers: list[str] = field(default_factory=list)
    table: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    line_items: bool = False
    stage: str | None = None
    preview: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self) -> str:
        return "\n".join(p.describe(self.file_name) for p in self.errors)


@dataclass
class LoadResult:
    load_id: int
    reports: list[FileReport]


# --------------------------------------------------------------------------- decoding


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _fail(file_name: str, reason: str, row: int | None = None, value: str | None = None) -> None:
    report = FileReport(file_name)
    report.errors.append(Problem(None, reason, 1, [(row, value)] if row or value else []))
    raise IngestError(report.error_text(), [report])


def _utf8_error_offset(path: Path) -> tuple[int | None, bool]:
    """Offset of the first invalid UTF-8 byte (None if valid) and whether non-ASCII came before."""
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    offset, non_ascii = 0, False
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                return offset + e.start, non_ascii or not chunk[: e.start].isascii()
            non_ascii = non_ascii or not chunk.isascii()
            offset += len(chunk)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset, non_ascii
    return None, non_ascii


def _line_of(path: Path, offset: int) -> int:
    n = 1
    with open(path, "rb") as f:  # streamed: the offset may be deep inside a huge file
        while offset > 0:
            chunk = f.read(min(CHUNK, offset))
            if not chunk:
                break
            n += chunk.count(b"\n")
            offset -= len(chunk)
    return n


def _nul_offset(path: Path) -> int | None:
    """Offset of the first NUL byte of the file, None if it has none."""
    offset = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            i = chunk.find(b"\x00")
            if i >= 0:
                return offset + i
            offset += len(chunk)
    return None


def _guess_legacy_encoding(path: Path, offset: int) -> str:
    """Pick the legacy code page of a non-UTF-8 file: GB18030 unless it clearly is Western."""
    from charset_normalizer import from_bytes

    with open(path, "rb") as f:
        head = f.read(1 << 16)
        f.seek(max(0, offset - (1 << 15)))
        around = f.read(1 << 16)
    best = from_bytes(
        head + b"\n" + around, cp_isolation=["gb18030", "big5", "cp1252", "shift_jis", "utf_16"]
    ).best()
    # GBK text is the common case for this product; only a confident Western code page wins.
    if best is not None and best.encoding in ("cp1252", "big5", "shift_jis"):
        if best.encoding == "cp1252" and _high_runs_are_gbk(head + b"\n" + around):
            return "gb18030"  # a few GBK pairs ("￥" = A3 A4) can look like cp1252 ("£¤")
        return best.encoding
    return "gb18030"


def _high_runs_are_gbk(sample: bytes) -> bool:
    """Every run of non-ASCII bytes decodes as GB18030 by itself: double-byte Chinese text, not
    the lone accented bytes of Western text ("ü" is the single byte FC in cp1252)."""
    runs = re.findall(rb"(?<=[\x00-\x7f])[\x80-\xff]+(?=[\x00-\x7f])", sample)
    try:
        for r in runs:
            r.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return bool(runs)


def decode_to_utf8(path: Path, file_name: str, workdir: Path) -> tuple[Path, str]:
    """A UTF-8 copy of the file (or the file itself when it already is UTF-8) and its encoding."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if not head.strip():
        _fail(file_name, "the file is empty")
    encoding = None
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head:
        _fail(
            file_name,
            "the file contains NUL bytes: it is binary, not a CSV text export",
            row=_line_of(path, head.index(b"\x00")),
        )
    if encoding is None or encoding == "utf-8-sig":
        bad, non_ascii_before = _utf8_error_offset(path)
        if bad is None:
            nul = _nul_offset(path)  # the head was checked above; NUL is valid UTF-8
            if nul is not None:
                _fail(
                    file_name,
                    "the file contains NUL bytes: it is binary, not a CSV text export",
                    row=_line_of(path, nul),
                )
            return path, encoding or "utf-8"
        if encoding == "utf-8-sig" or non_ascii_before:
            _fail(
                file_name,
                "the file mixes text encodings: earlier lines are UTF-8, this one is "
                "not. Re-export the whole file in one encoding",
                row=_line_of(path, bad),
            )
        encoding = _guess_legacy_encoding(path, bad)
    out = workdir / (Path(file_name).stem[:40] + ".utf8.csv")
    dec = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    try:
        with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                text = dec.decode(chunk)
                if "\x00" in text:
                    _fail(
                        file_name,
                        "the file contains NUL characters: it is not a CSV text export",
                        row=_line_of(path, offset + chunk.find(b"\x00")),
                    )
                dst.write(text.lstrip("\ufeff") if offset == 0 else text)
                offset += len(chunk)
            dst.write(dec.decode(b"", final=True))
    except UnicodeDecodeError as e:
        _fail(
            file_name,
            f"the file is neither UTF-8 nor {encoding}: undecodable bytes",
            row=_line_of(path, offset + e.start),
            value=repr(e.object[e.start : e.start + 4]),
        )
    return out, encoding


def _read_header(path: Path, file_name: str) -> tuple[str, str, list[str]]:
    """Delimiter, the header line's text and the parsed header names."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        sample = f.read(HEADER_LIMIT)
    m = re.search(r"[\r\n]", sample)  # a lone CR ends a line too ("CSV (Macintosh)")
    first_nl = m.start() if m else -1
    if first_nl < 0 and len(sample) >= HEADER_LIMIT:
        _fail(file_name, "the first line is longer than 1 MB: this is not a CSV with a header row")
    first = sample[: first_nl if first_nl >= 0 else len(sample)].rstrip("\r")
    if not first.strip():
        _fail(file_name, "the first line is blank: expected a header row", row=1)
    try:
        delim = csv.Sniffer().sniff(sample[:65536], delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in ",\t;|"}
        delim = max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","
    headers = next(csv.reader([first], delimiter=delim))
    if any(h.count('"') for h in headers):
        _fail(file_name, "the header row has unbalanced quotes", row=1, value=first[:200])
    headers = [h.strip() or f"column_{i + 1}" for i, h in enumerate(headers)]
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):  # Excel allows repeated headers; keep them apart
        if h in seen:
            seen[h] += 1
            headers[i] = f"{h}_{seen[h]}"
        else:
            seen[h] = 1
    if len(headers) > 2000:
        _fail(
            file_name,
            f"the header has {len(headers)} columns; a CRM export has far fewer — "
            "is this the right file?",
            row=1,
        )
    return delim, first, headers


# --------------------------------------------------------------------------- typing


def _clean_text(c: str) -> str:
    return f"NULLIF(trim({c}), '')"


def _decimal_comma(s: str) -> str:
    """Thousands commas dropped; a decimal comma ("1.234,50", "99,5", "12,00") made a point.
    A single comma before exactly three digits ("1,234") stays a thousands separator."""
    return (
        f"CASE WHEN regexp_full_match({s}, '[^,]*\\d\\.\\d{{3}}[^,]*,\\d+\\D*') "
        f"OR regexp_full_match({s}, '[^.,]*\\d,(\\d{{1,2}}|\\d{{4,}})\\D*') "
        f"THEN replace(replace({s}, '.', ''), ',', '.') ELSE replace({s}, ',', '') END"
    )


def _money_expr(c: str) -> str:
    s = f"regexp_replace(trim({c}), '[¥￥$€£\\s\u00a0]|RMB|CNY|USD|EUR|元', '', 'g')"
    s = _decimal_comma(s)
    # Accounting negatives "(1,234.50)" and trailing minus "1234-" become "-1234.50".
    s = (
        f"CASE WHEN {s} LIKE '(%)' THEN '-' || trim({s}, '()') "
        f"WHEN {s} LIKE '%-' AND {s} NOT LIKE '-%' THEN '-' || rtrim({s}, '-') ELSE {s} END"
    )
    return f"TRY_CAST({s} AS DECIMAL(18,4))"


def _number_expr(c: str) -> str:
    s = _decimal_comma(f"regexp_replace(trim({c}), '\\s', '', 'g')")
    v = f"TRY_CAST({s} AS DOUBLE)"
    return f"CASE WHEN isfinite({v}) THEN {v} END"


def _date_formats(order: str) -> list[str]:
    times = ["", " %H:%M:%S", " %H:%M", " %H:%M:%S.%f", " %I:%M:%S %p", " %I:%M %p"]
    fmts: list[str] = []
    for d in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
        fmts += [d + t for t in times]
        if d == "%Y-%m-%d":
            fmts += ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f"]
    fmts += ["%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H:%M", "%Y年%m月%d日 %H时%M分"]
    first, second = ("%d", "%m") if order == "dmy" else ("%m", "%d")
    for sep in ("/", "-", "."):
        for y in ("%Y", "%y"):
            fmts += [f"{first}{sep}{second}{sep}{y}{t}" for t in times]
    fmts += ["%Y%m%d", "%Y%m%d%H%M%S", "%d %b %Y", "%d-%b-%Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y"]
    return fmts


def _timestamp_text(c: str) -> str:
    return f"regexp_replace(trim({c}), '(T\\d{{2}}:\\d{{2}}(:\\d{{2}}(\\.\\d+)?)?)(Z|[+-]\\d{{2}}:?\\d{{2}})$', '\\1')"


def _sql_str(x: str) -> str:
    return "'" + x.replace("'", "''") + "'"


def _timestamp_expr(c: str, order: str, usual: str | None = None) -> str:
    s = _timestamp_text(c)
    fmts = ", ".join(_sql_str(f) for f in _date_formats(order))
    # try_strptime over the list pays for every format that fails (about 1 µs each, 12 s per
    # million "2024/1/31 9:05" values): the column's usual format first, the list for the rest.
    first = f"try_strptime({s}, {_sql_str(usual)}), " if usual else ""
    serial = (
        f"CASE WHEN regexp_full_match(trim({c}), '[1-9]\\d{{4}}(\\.\\d+)?') THEN "
        f"TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(CAST(trim({c}) AS DOUBLE) "
        f"* 86400000000) AS BIGINT)) END"
    )
    return f"coalesce({first}try_strptime({s}, [{fmts}]), {serial})"


def _usual_formats(
    con: db.Connection, raw: str, params: dict, cols: list[str], order: str
) -> dict[str, str]:
    """Per date column, the format that try_strptime's list picks most often in a sample: the
    list tries formats in order, so this is the first format that parses those values."""
    if not cols:
        return {}
    fmts = _date_formats(order)
    firsts = [
        "mode(list_position(["
        + ", ".join(f"try_strptime({_timestamp_text(c)}, {_sql_str(f)}) IS NOT NULL" for f in fmts)
        + "], true))"
        for c in cols
    ]
    row = con.execute(f"SELECT {', '.join(firsts)} FROM (SELECT * FROM {raw} LIMIT 200)", params)
    picked = row.fetchone() or ()
    return {c: fmts[int(k) - 1] for c, k in zip(cols, picked, strict=True) if k}


def _bool_expr(c: str) -> str:
    t = ", ".join(f"'{w}'" for w in TRUE_WORDS)
    f = ", ".join(f"'{w}'" for w in FALSE_WORDS)
    v = f"lower(trim({c}))"
    return f"CASE WHEN {v} IN ({t}) THEN TRUE WHEN {v} IN ({f}) THEN FALSE END"


def _id_expr(c: str) -> str:
    # Excel and pandas write numeric ids as floats ("13607.0"); the ".0" is not part of the id.
    return f"NULLIF(regexp_replace(trim({c}), '^(\\d+)\\.0+$', '\\1'), '')"


def _typed_expr(kind: str, c: str, order: str, usual: str | None = None) -> str:
    return {
        "id": _id_expr,
        "text": _clean_text,
        "money": _money_expr,
        "number": _number_expr,
        "int": lambda x: f"TRY_CAST(trim({x}) AS BIGINT)",
        "bool": _bool_expr,
        "timestamp": lambda x: _timestamp_expr(x, order, usual),
        "date": lambda x: f"CAST({_timestamp_expr(x, order, usual)} AS DATE)",
    }[kind](c)


def _date_order(
    con: db.Connection, raw: str, params: dict, cols: list[str], default: str
) -> tuple[str, bool]:
    """'dmy' or 'mdy' from the data (a first part > 12 means day-first); bool = was ambiguous."""
    if not cols:
        return default, False
    parts = []
    for c in cols:
        a = f"TRY_CAST(regexp_extract(trim({c}), '^(\\d{{1,2}})[/.-]\\d{{1,2}}[/.-]\\d{{2,4}}', 1) AS INT)"
        b = f"TRY_CAST(regexp_extract(trim({c}), '^\\d{{1,2}}[/.-](\\d{{1,2}})[/.-]\\d{{2,4}}', 1) AS INT)"
        parts.append(f"max({a}), max({b})")
    row = con.execute(
        f"SELECT {', '.join(parts)} FROM (SELECT * FROM {raw} LIMIT 500000)", params
    ).fetchone()
    vals = list(row or [])
    firsts = [v for v in vals[0::2] if v is not None]
    seconds = [v for v in vals[1::2] if v is not None]
    if not firsts:
        return default, False
    if max(firsts) > 12:
        return "dmy", False
    if seconds and max(seconds) > 12:
        return "mdy", False
    return default, True


# --------------------------------------------------------------------------- inspect / prepare


def inspect(source: Source, workdir: Path | None = None) -> FileReport:
    """Encoding, delimiter, headers, detected table, suggested mapping and a 20-row preview."""
    own = workdir is None
    wd = Path(tempfile.mkdtemp(prefix="crm_lens_")) if own else workdir
    try:
        assert wd is not None
        report = FileReport(source.file_name)
        utf8, report.encoding = decode_to_utf8(Path(source.path), source.file_name, wd)
        report.delimiter, _, report.headers = _read_header(utf8, source.file_name)
        detected, mappings = detect_table(report.headers)
        report.table = source.table or detected
        if report.table:
            report.mapping = dict(mappings[report.table])
        if source.mapping:
            _apply_overrides(report, source.mapping, source.strict_mapping)
        with open(utf8, encoding="utf-8-sig", newline="") as f:
            rows = []
            reader = csv.reader(f, delimiter=report.delimiter)
            next(reader, None)
            for i, r in enumerate(reader):
                if i >= 20:
                    break
                rows.append((r + [""] * len(report.headers))[: len(report.headers)])
        report.preview = pd.DataFrame(rows, columns=report.headers)
        return report
    finally:
        if own and wd is not None:
            shutil.rmtree(wd, ignore_errors=True)


def _apply_overrides(report: FileReport, overrides: dict[str, str], strict: bool = True) -> None:
    for src, target in overrides.items():
        if src not in report.headers:
            if not strict:
                continue
            report.errors.append(
                Problem(
                    None,
                    f"--map names a column the file does not have: {src!r}; "
                    f"its columns are {report.headers}",
                )
            )
            continue
        for k in [k for k, v in report.mapping.items() if v == target or k == src]:
            del report.mapping[k]
        if target:
            report.mapping[src] = target


def _ident(i: int) -> str:
    return f"c{i}"


def prepare(con: db.Connection, source: Source, workdir: Path, stage: str) -> FileReport:
    """Decode, map, type and check one file into the temp table `stage`; nothing else changes."""
    report = FileReport(source.file_name)
    report.sha256 = sha256_of(Path(source.path))
    utf8, report.encoding = decode_to_utf8(Path(source.path), source.file_name, workdir)
    report.delimiter, _, report.headers = _read_header(utf8, source.file_name)
    detected, mappings = detect_table(report.headers)
    if source.table and source.table not in TABLES:
        _fail(source.file_name, f"unknown table {source.table!r}; one of {sorted(TABLES)}")
    report.table = source.table or detected
    if report.table is None:
        best = max(TABLES, key=lambda t: len(mappings[t]))
        missing = [c for c in TABLES[best].required if c not in mappings[best].values()]
        report.errors.append(
            Problem(
                None,
                "cannot tell which table this file is: no table has all its required columns "
                f"(closest: {best}, missing {missing}). Columns found: {report.headers[:30]}. "
                "Name the table, or map the columns by hand (--map SOURCE=column)",
            )
        )
        return report
    table = TABLES[report.table]
    report.mapping = dict(mappings[report.table])
    if source.mapping:
        _apply_overrides(report, source.mapping, source.strict_mapping)
    for src, target in report.mapping.items():
        if target not in {c.name for c in table.columns}:
            report.errors.append(
                Problem(
                    None, f"mapping {src!r} -> {target!r}: {table.name} has no column {target!r}"
                )
            )
    mapped = set(report.mapping.values())
    derive_amount = (
        table.name == "orders" and "amount" not in mapped and {"quantity", "unit_price"} <= mapped
    )
    missing = [
        c for c in table.required if c not in mapped and not (c == "amount" and derive_amount)
    ]
    if table.one_of and not mapped & set(table.one_of):
        missing.append(" or ".join(table.one_of))
    if missing:
        report.errors.append(
            Problem(
                None,
                f"missing required column(s) for {table.name}: {missing}. The file's columns "
                f"are {report.headers[:30]}; map them with --map SOURCE={missing[0]} or in the Data page",
            )
        )
    if report.errors:
        return report

    names = [_ident(i) for i in range(len(report.headers))]
    col_struct = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    raw = (
        f"read_csv($path, delim=$delim, header=true, auto_detect=false, quote='\"', "
        f"escape='\"', strict_mode=true, null_padding=false, columns={col_struct}, "
        f"max_line_size=8388608)"
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
                f"{source.file_name}: dates like 03/04/2024 are ambiguous in every row; read as "
                f"{'month/day' if order == 'mdy' else 'day/month'}/year (choose the order to change)"
            )
        usual = _usual_formats(con, raw, params, ts_cols, order)
        selects, checks = [], []
        for col in table.all_columns:
            if col.name in src_of:
                c = src_of[col.name]
                expr = _typed_expr(col.kind, c, order, usual.get(c))
                selects.append(f"{expr} AS {col.name}")
                # The raw text of a value that did not parse, kept for the report.
                checks.append(
                    f"CASE WHEN NULLIF(trim({c}), '') IS NOT NULL AND ({expr}) IS NULL "
                    f"THEN {c} END AS _bad_{col.name}"
                )
            elif col.name == "amount" and derive_amount:
                q = _number_expr(src_of["quantity"])
                p = _money_expr(src_of["unit_price"])
                selects.append(f"CAST({q} * {p} AS DECIMAL(18,4)) AS amount")
            elif col.name in ("line_no", "is_return"):
                continue
            else:
                selects.append(f"CAST(NULL AS {SQL_TYPES[col.kind]}) AS {col.name}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {stage}_typed AS SELECT {', '.join(selects + checks)} "
            f"FROM {raw}",
            params,
        )
    except duckdb.Error as e:
        report.errors.append(Problem(None, _duck_message(e, utf8, source.file_name)))
        return report
    report.rows_read = con.execute(f"SELECT count(*) FROM {stage}_typed").fetchone()[0]  # type: ignore[index]
    if report.rows_read == 0:
        report.errors.append(Problem(None, "the file has a header but no data rows"))
        return report
    _check_values(con, report, table, stage, src_of, source.skip_bad_rows)
    if report.errors:
        return report
    _finish_stage(con, report, table, stage)
    return report


def _duck_message(e: duckdb.Error, path: Path, file_name: str) -> str:
    msg = str(e).replace(str(path), file_name)
    msg = re.sub(r"\n\s*file = .*", "", msg)
    msg = re.split(r"Possible (?:fixes|Solution)", msg)[0].strip()
    msg = re.sub(r"(Original Line: [^\n]{200})[^\n]+", r"\1…", msg)
    m = re.search(r"Line: (\d+)", msg)
    if m:
        why = (
            "the row is longer than 8 MB"
            if "Maximum line size" in msg
            else "the row does not fit the header (wrong column count or quoting)"
        )
        msg = f"row {m.group(1)}: {why}. " + msg
    return "cannot read the CSV: " + msg


def _check_values(
    con: db.Connection,
    report: FileReport,
    table: Table,
    stage: str,
    src_of: dict[str, str],
    skip_bad_rows: bool,
) -> None:
    """Count unparseable, implausible and missing values; collect row/value examples."""
    src_name = {v: k for k, v in report.mapping.items()}
    n_notes = len(report.warnings)  # the rejection notes added below follow
    now = dt.datetime.now() + dt.timedelta(days=config.FUTURE_TOLERANCE_DAYS)
    # Data rows start at row 2 (the header is row 1), as a spreadsheet numbers them.
    bad_conds: list[tuple[str, str, str]] = []  # (column, condition, reason)
    for col in table.columns:
        if col.name not in src_of:
            continue
        kind_name = {
            "timestamp": "a date/time",
            "date": "a date",
            "money": "an amount",
            "number": "a number",
            "bool": "yes/no",
            "int": "a whole number",
        }
        if col.kind in kind_name:
            bad_conds.append(
                (col.name, f"_bad_{col.name} IS NOT NULL", f"not {kind_name[col.kind]}")
            )
        if col.kind in ("timestamp", "date"):
            bad_conds.append((col.name, f"{col.name} < TIMESTAMP '1900-01-01'", "before 1900"))
            if col.name in EVENT_COLUMNS:
                bad_conds.append(
                    (col.name, f"{col.name} > TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}'", "in the future")
                )
        if col.name == "satisfaction":
            bad_conds.append((col.name, "satisfaction NOT BETWEEN 1 AND 5", "not a 1-5 score"))
    reject_conds: list[str] = []
    for colname, cond, reason in bad_conds:
        n, ex = _count_examples(
            con,
            stage,
            cond,
            f"_bad_{colname}" if "_bad_" in cond else f"CAST({colname} AS VARCHAR)",
        )
        if n:
            p = Problem(colname, f"{reason}", n, ex, src_name.get(colname))
            if skip_bad_rows:
                report.warnings.append(p.describe(report.file_name) + " — rows rejected")
                reject_conds.append(cond)
                _save_rejects(con, stage, cond, colname, reason)
            else:
                report.errors.append(p)
    if report.errors:
        report.errors.append(
            Problem(
                None,
                "nothing was loaded. Fix the values, choose the date "
                "order, or load with 'skip bad rows' to reject just those rows",
            )
        )
        return
    # Blank required values: the row cannot be keyed; it is rejected and counted, not guessed.
    # A row already rejected above for an unparseable value is not "missing" as well.
    bad_rows = " OR ".join(f"({c})" for c in reject_conds)
    not_bad = f" AND NOT coalesce({bad_rows}, FALSE)" if bad_rows else ""
    for req in table.required:
        if req == "amount" and req not in src_of:
            cond = "amount IS NULL"
        elif req not in src_of:
            continue
        else:
            cond = f"{req} IS NULL"
        cond += not_bad
        n, ex = _count_examples(con, stage, cond, "NULL")
        if n:
            report.warnings.append(
                f"{report.file_name}: {n} row(s) have no {src_name.get(req, req)} ({req}) and were "
                f"rejected, e.g. rows {', '.join(str(r) for r, _ in ex)}"
            )
            reject_conds.append(cond)
            _save_rejects(con, stage, cond, req, "required value missing")
    present = [c for c in table.one_of if c in src_of]
    if present:
        cond = " AND ".join(f"{c} IS NULL" for c in present) + not_bad
        n, ex = _count_examples(con, stage, cond, "NULL")
        if n:
            report.warnings.append(
                f"{report.file_name}: {n} row(s) name neither {' nor '.join(present)} and were "
                f"rejected, e.g. rows {', '.join(str(r) for r, _ in ex)}"
            )
            reject_conds.append(cond)
            _save_rejects(con, stage, cond, present[0], "required value missing")
    if reject_conds:
        where = " OR ".join(f"({c})" for c in reject_conds)
        con.execute(f"DELETE FROM {stage}_typed WHERE {where}")
    report.rows_loaded = con.execute(f"SELECT count(*) FROM {stage}_typed").fetchone()[0]  # type: ignore[index]
    report.rows_rejected = report.rows_read - report.rows_loaded
    if report.rows_loaded == 0:
        why = [w.removeprefix(f"{report.file_name}: ") for w in report.warnings[n_notes:]]
        report.errors.append(
            Problem(None, "every row was rejected; nothing to load: " + "; ".join(why))
        )


def _count_examples(
    con: db.Connection, stage: str, cond: str, value_expr: str
) -> tuple[int, list[tuple[int | None, str | None]]]:
    n = con.execute(f"SELECT count(*) FROM {stage}_typed WHERE {cond}").fetchone()[0]  # type: ignore[index]
    if not n:
        return 0, []
    rows = con.execute(
        f"SELECT rowid + 2, {value_expr} FROM {stage}_typed WHERE {cond} ORDER BY rowid LIMIT {EXAMPLES}"
    ).fetchall()
    return n, [(int(r), None if v is None else str(v)[:80]) for r, v in rows]


def _save_rejects(con: db.Connection, stage: str, cond: str, column: str, reason: str) -> None:
    con.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage}_rejects (row_number BIGINT, column_name VARCHAR, "
        "value VARCHAR, reason VARCHAR)"
    )
    bad = f"_bad_{column}" if f"_bad_{column}" in _stage_columns(con, stage) else "NULL"
    con.execute(
        f"INSERT INTO {stage}_rejects SELECT rowid + 2, $col, COALESCE({bad}, "
        f"CAST({column} AS VARCHAR)), $reason FROM {stage}_typed WHERE {cond}",
        {"col": column, "reason": reason},
    )


def _stage_columns(con: db.Connection, stage: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {stage}_typed").fetchall()}


def _finish_stage(con: db.Connection, report: FileReport, table: Table, stage: str) -> None:
    """Derive line numbers and return flags, check primary keys, build the final stage table."""
    cols = [c.name for c in table.all_columns]
    mapped = set(report.mapping.values())
    if table.name == "orders":
        # A line-item export (quantity and unit price per row) repeats the order id on each line.
        report.line_items = {"quantity", "unit_price"} <= mapped
        words = ", ".join(f"'{w}'" for w in RETURN_WORDS)
        # "C536379"-style cancellation invoices, only when the same file also has plain numbers.
        c_prefix = con.execute(
            f"SELECT count(*) FILTER (WHERE regexp_full_match(order_id, 'C\\d+')) > 0 AND "
            f"count(*) FILTER (WHERE regexp_full_match(order_id, '\\d+')) > 0 FROM {stage}_typed"
        ).fetchone()[0]  # type: ignore[index]
        ret = (
            f"(coalesce(amount < 0, FALSE) OR coalesce(quantity < 0, FALSE) "
            f"OR coalesce(lower(status) IN ({words}), FALSE)"
            + (" OR regexp_full_match(order_id, 'C\\d+')" if c_prefix else "")
            + ")"
        )
        line = (
            "row_number() OVER (PARTITION BY order_id ORDER BY rowid)" if report.line_items else "1"
        )
        exprs = [
            f"CAST({line} AS BIGINT) AS line_no"
            if c == "line_no"
            else f"{ret} AS is_return"
            if c == "is_return"
            else c
            for c in cols
        ]
        key_cols = ["order_id", "line_no"] if report.line_items else ["order_id"]
    else:
        exprs = list(cols)
        if table.name == "interactions" and "interaction_id" not in mapped:
            exprs[cols.index("interaction_id")] = (
                "$prefix || '-' || CAST(rowid + 2 AS VARCHAR) AS interaction_id"
            )
        key_cols = list(table.key)
    params = {"prefix": report.sha256[:10]} if "$prefix" in " ".join(exprs) else {}
    # Only the line-number window can reorder rows; a plain scan keeps file order (DuckDB's
    # preserve_insertion_order), and sorting 10 M rows again costs as much as typing them.
    order = " ORDER BY rowid" if report.line_items else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT {', '.join(exprs)}, rowid + 2 AS _row "
        f"FROM {stage}_typed{order}",
        params,
    )
    con.execute(f"DROP TABLE {stage}_typed")
    k = ", ".join(key_cols)
    dups = con.execute(
        f"SELECT {k}, count(*) AS n, list(_row ORDER BY _row)[1:3] FROM {stage} GROUP BY {k} "
        f"HAVING count(*) > 1 ORDER BY min(_row) LIMIT {EXAMPLES}"
    ).fetchall()
    if dups:
        n = con.execute(
            f"SELECT count(*) FROM (SELECT {k} FROM {stage} GROUP BY {k} HAVING count(*) > 1)"
        ).fetchone()[0]  # type: ignore[index]
        hint = (
            " (a line-item export needs quantity and unit price columns so that lines of one "
            "order are told apart)"
            if table.name == "orders"
            else ""
        )
        report.errors.append(
            Problem(
                key_cols[0],
                f"duplicate {' + '.join(key_cols)}{hint}",
                n,
                [
                    (
                        rows[0],
                        "/".join(str(x) for x in key) + f" (rows {', '.join(map(str, rows))})",
                    )
                    for *key, _, rows in dups
                ],
                {v: s for s, v in report.mapping.items()}.get(key_cols[0]),
            )
        )
    if table.name == "orders":
        n_ret = con.execute(f"SELECT count(*) FROM {stage} WHERE is_return").fetchone()[0]  # type: ignore[index]
        if n_ret:
            report.warnings.append(
                f"{report.file_name}: {n_ret} return/cancellation line(s) "
                "flagged; value figures subtract them (net of returns)"
            )
        if report.line_items:
            report.warnings.append(
                f"{report.file_name}: line-item export: lines sharing an order "
                "id are one order"
                + ("" if "amount" in mapped else "; amount = quantity × unit price")
            )
    ignored = [h for h in report.headers if h not in report.mapping]
    if ignored:
        report.warnings.append(
            f"{report.file_name}: columns not used: {ignored[:20]}"
            + (" …" if len(ignored) > 20 else "")
        )
    report.stage = stage


# --------------------------------------------------------------------------- loading


def validate(sources: Iterable[Source]) -> list[FileReport]:
    """Check files as a load would, in a scratch database; the real database is not touched."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    db.ensure_schema(con)
    wd = Path(tempfile.mkdtemp(prefix="crm_lens_"))
    reports = []
    try:
        for i, s in enumerate(sources):
            try:
                reports.append(prepare(con, s, wd, f"stage_{i}"))
            except IngestError as e:
                reports.extend(e.reports)
        return reports
    finally:
        con.close()
        shutil.rmtree(wd, ignore_errors=True)


def _next_load_id(con: db.Connection) -> int:
    return int(con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_history").fetchone()[0])  # type: ignore[index]


def _key_expr(table: str) -> str:
    # Orders upsert by order id: appending an order replaces all of its lines.
    return "order_id" if table == "orders" else TABLES[table].key[0]


def load(
    con: db.Connection,
    sources: list[Source],
    mode: str = "replace",
    progress: Progress | None = None,
) -> LoadResult:
    """Load files as one batch: all files are checked first, then swapped in one transaction."""
    if mode not in MODES:
        raise IngestError(f"unknown mode {mode!r}; use one of {MODES}")
    if not sources:
        raise IngestError("no files to load")
    say = progress or (lambda f, m: None)
    cur = con.cursor()  # temp tables live on this cursor only
    # PostgreSQL / Spark: decode, type and check in a scratch DuckDB; _swap ships the stage.
    stage = cur if db.is_duckdb(con) else db.scratch()
    wd = Path(tempfile.mkdtemp(prefix="crm_lens_"))
    started = dt.datetime.now()
    reports: list[FileReport] = []
    try:
        for i, s in enumerate(sources):
            say(0.8 * i / len(sources), f"reading {s.file_name}")
            try:
                reports.append(prepare(stage, s, wd, f"stage_{i}"))
            except IngestError as e:
                reports.extend(e.reports)
        say(0.8, "checking")
        bad = [r for r in reports if not r.ok]
        if not bad:
            _check_batch(stage, reports)
            bad = [r for r in reports if not r.ok]
        if bad:
            raise IngestError("\n".join(r.error_text() for r in bad), reports)
        say(0.85, "swapping in")
        load_id = _swap(cur, reports, mode, started, stage)
        say(1.0, "done")
        return LoadResult(load_id, reports)
    finally:
        if stage is not cur:
            stage.close()
        cur.close()
        shutil.rmtree(wd, ignore_errors=True)


def _check_batch(cur: db.Connection, reports: list[FileReport]) -> None:
    """Keys duplicated across files of one table in the same batch."""
    by_table: dict[str, list[FileReport]] = {}
    for r in reports:
        by_table.setdefault(r.table or "", []).append(r)
    for table, rs in by_table.items():
        if len(rs) < 2:
            continue
        k = _key_expr(table)
        union = " UNION ALL ".join(f"SELECT DISTINCT {k} FROM {r.stage}" for r in rs)
        dup = cur.execute(
            f"SELECT {k} FROM ({union}) GROUP BY {k} HAVING count(*) > 1 LIMIT 5"
        ).fetchall()
        if dup:
            rs[-1].errors.append(
                Problem(
                    k,
                    f"the same {k} appears in several {table} files of this load",
                    len(dup),
                    [(None, str(d[0])) for d in dup],
                )
            )


def _swap(
    cur: db.Connection,
    reports: list[FileReport],
    mode: str,
    started: dt.datetime,
    stage: db.Connection | None = None,
) -> int:
    """One transaction: keep undo data, replace or upsert each table, refresh summaries, log.

    `stage` holds the checked stage tables when it is not `cur` (a scratch DuckDB for a
    PostgreSQL or Spark target): they are shipped into the transaction first."""
    stage = cur if stage is None else stage
    cols_cache = {t: [c.name for c in TABLES[t].all_columns] for t in TABLES}
    cur.execute("BEGIN TRANSACTION")
    try:
        load_id = _next_load_id(cur)
        if stage is not cur:
            staged_tables = db.table_columns(stage)
            names = [r.stage or "" for r in reports]
            names += [f"{n}_rejects" for n in names if f"{n}_rejects" in staged_tables]
            db.import_tables(cur, stage, names)
        by_table: dict[str, list[FileReport]] = {}
        for r in reports:
            by_table.setdefault(r.table or "", []).append(r)
        undo_kinds: dict[str, str] = {}
        for table, rs in by_table.items():
            cols = ", ".join(cols_cache[table])
            staged = " UNION ALL ".join(f"SELECT {cols} FROM {r.stage}" for r in rs)
            undo = f"_undo_{load_id}_{table}"
            if mode == "replace":
                cur.execute(f"ALTER TABLE {table} RENAME TO {undo}")
                cur.execute(db.table_ddl(table))
                cur.execute(f"INSERT INTO {table} ({cols}) {staged}")
                undo_kinds[table] = "replaced"
            else:
                k = _key_expr(table)
                cur.execute(f"CREATE TABLE {undo}_keys AS SELECT DISTINCT {k} FROM ({staged})")
                cur.execute(
                    f"CREATE TABLE {undo} AS SELECT * FROM {table} "
                    f"WHERE {k} IN (SELECT {k} FROM {undo}_keys)"
                )
                cur.execute(f"DELETE FROM {table} WHERE {k} IN (SELECT {k} FROM {undo}_keys)")
                cur.execute(f"INSERT INTO {table} ({cols}) {staged}")
                undo_kinds[table] = "upserted"
        _warn_unknown_customers(cur, reports)
        from crm_core import summaries

        summaries.refresh(cur)
        finished = dt.datetime.now()
        for r in reports:
            cur.execute(
                "INSERT INTO load_history VALUES ($id, $file, $table, $sha, $enc, $read, $loaded, "
                "$rejected, $mode, $start, $end, 'loaded', $warn, $undo)",
                {
                    "id": load_id,
                    "file": r.file_name,
                    "table": r.table,
                    "sha": r.sha256,
                    "enc": r.encoding,
                    "read": r.rows_read,
                    "loaded": r.rows_loaded,
                    "rejected": r.rows_rejected,
                    "mode": mode,
                    "start": started,
                    "end": finished,
                    "warn": json.dumps(r.warnings, ensure_ascii=False),
                    "undo": undo_kinds[r.table or ""],
                },
            )
            rej = f"{r.stage}_rejects"
            if stage.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = $t", {"t": rej}
            ).fetchone()[0]:  # type: ignore[index]
                cur.execute(
                    f"INSERT INTO load_rejects SELECT $id, $file, $table, row_number, column_name, "
                    f"value, reason FROM {rej}",
                    {"id": load_id, "file": r.file_name, "table": r.table},
                )
        _prune_undo(cur, load_id)
        cur.execute("COMMIT")
        return load_id
    except BaseException:
        cur.execute("ROLLBACK")
        raise


def _warn_unknown_customers(cur: db.Connection, reports: list[FileReport]) -> None:
    if not cur.execute("SELECT count(*) FROM customers").fetchone()[0]:  # type: ignore[index]
        return  # an orders-only database: every customer is known from orders
    for r in reports:
        if r.table in (None, "customers") or "customer_id" not in r.mapping.values():
            continue
        n = cur.execute(
            f"SELECT count(*) FROM {r.stage} s WHERE s.customer_id IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)"
        ).fetchone()[0]  # type: ignore[index]
        if n:
            r.warnings.append(
                f"{r.file_name}: {n} row(s) name a customer id that is not in the "
                "customers table (loaded; they count as customers known from orders)"
            )


def _undo_tables(cur: db.Connection) -> list[tuple[int, str]]:
    out = []
    for name in sorted(db.table_columns(cur)):
        m = re.match(r"_undo_(\d+)_", name)
        if m:
            out.append((int(m.group(1)), name))
    return out


def _prune_undo(cur: db.Connection, load_id: int) -> None:
    for lid, name in _undo_tables(cur):
        if lid <= load_id - config.UNDO_KEEP:
            cur.execute(f"DROP TABLE {name}")
            cur.execute(
                "UPDATE load_history SET undo_kind = 'expired' WHERE load_id = $id "
                "AND status = 'loaded'",
                {"id": lid},
            )


def load_history(con: db.Connection) -> pd.DataFrame:
    """Every load, newest first, with whether it can still be rolled back."""
    return db.query(con, "load_history")


def rollback_to_before(con: db.Connection, load_id: int) -> list[int]:
    """Undo load `load_id` and every later one, newest first; returns the loads undone."""
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        loads = cur.execute(
            "SELECT load_id, table_name, min(undo_kind) FROM load_history "
            "WHERE load_id >= $id AND status = 'loaded' GROUP BY 1, 2 ORDER BY 1 DESC",
            {"id": load_id},
        ).fetchall()
        if not loads:
            raise IngestError(f"load {load_id} does not exist or is already rolled back")
        expired = sorted({lid for lid, _, kind in loads if kind == "expired"})
        if expired:
            raise IngestError(
                f"cannot roll back to before load {load_id}: the undo data of load(s) {expired} "
                f"was dropped (only the last {config.UNDO_KEEP} loads keep it)"
            )
        for lid, table, kind in loads:
            undo = f"_undo_{lid}_{table}"
            if kind == "replaced":
                cur.execute(f"DROP TABLE {table}")
                cur.execute(f"ALTER TABLE {undo} RENAME TO {table}")
            else:
                k = _key_expr(table)
                cur.execute(f"DELETE FROM {table} WHERE {k} IN (SELECT {k} FROM {undo}_keys)")
                cur.execute(f"INSERT INTO {table} SELECT * FROM {undo}")
                cur.execute(f"DROP TABLE {undo}")
                cur.execute(f"DROP TABLE {undo}_keys")
        done = sorted({lid for lid, _, _ in loads}, reverse=True)
        cur.execute(
            "UPDATE load_history SET status = 'rolled back' WHERE load_id >= $id "
            "AND status = 'loaded'",
            {"id": load_id},
        )
        from crm_core import summaries

        summaries.refresh(cur)
        cur.execute("COMMIT")
        return done
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def demo_sources() -> list[Source]:
    """The shipped demo CSVs, one per canonical table."""
    return [
        Source(config.DEMO_DIR / f"{t}.csv", t)
        for t in TABLES
        if (config.DEMO_DIR / f"{t}.csv").exists()
    ]


def load_demo(con: db.Connection, progress: Progress | None = None) -> LoadResult:
    """Replace every table with the demo company's data."""
    sources = demo_sources()
    if not sources:
        raise IngestError(f"no demo data in {config.DEMO_DIR}")
    return load(con, sources, "replace", progress)


def stage_upload(data: bytes, name: str, workdir: Path) -> Path:
    """Write an uploaded file's bytes to disk so it streams through the same path as the CLI."""
    safe = re.sub(r"[^\w.\-]+", "_", os.path.basename(name))[:80] or "upload.csv"
    p = workdir / safe
    with open(p, "wb") as f:
        f.write(data)
    return p


def describe_reports(reports: list[FileReport]) -> str:
    """Plain-text summary of a batch: per file its table, rows and warnings."""
    out = io.StringIO()
    for r in reports:
        out.write(
            f"{r.file_name}: {r.table or '?'} — {r.rows_read} rows read, "
            f"{r.rows_loaded} loaded, {r.rows_rejected} rejected ({r.encoding})\n"
        )
        for w in r.warnings:
            out.write(f"  ! {w}\n")
        if r.errors:
            out.write(r.error_text() + "\n")
    return out.getvalue()
