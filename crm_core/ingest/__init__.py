"""File -> decoded -> mapped -> typed -> checked -> swapped into DuckDB atomically, with undo."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import json
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from crm_core.engine import config, db
from crm_core.engine.schema import (
    SQL_TYPES,
    TABLES,
    ColumnProfile,
    Guess,
    Table,
    amount_derivable,
    detect_table,
    infer_columns,
    missing_required,
)
from crm_core.ingest import uploads

Progress = Callable[[float, str], None]
MODES = ("append", "replace", "replace-all")
EXAMPLES = 5  # problem examples kept per column in a report
HEADER_LIMIT = 1 << 20  # a header line longer than 1 MB is not a CSV header
SAMPLE_ROWS = 2000  # data rows read to find a required column from its values
HEADER_CELL_LIMIT = 1000  # characters: a longer header cell is data, not a column name
LINE_LIMIT = 8 << 20  # the longest row DuckDB's reader is given (max_line_size)
CHUNK = 1 << 20
# Python's csv module refuses fields over 128 KB by default (a global setting); the preview and
# header readers must take any row the DuckDB reader takes.
csv.field_size_limit(max(csv.field_size_limit(), LINE_LIMIT))

# Encodings offered by name (the Data page's choice, the CLI's --encoding help); any other
# text encoding Python knows is accepted too.
ENCODINGS = ("utf-8", "gb18030", "gbk", "big5", "utf-16", "cp1252", "shift_jis")
# First bytes of files that are not text; refused with what they look like.
# (first bytes, what the file is, its message key "ingest.kind.<key>").
BINARY_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive", "zip"),
    (b"PK\x05\x06", "a ZIP archive", "zip"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Excel workbook (.xls) or another Office file",
        "xls",
    ),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "png"),
    (b"\xff\xd8\xff", "a JPEG image", "jpeg"),
    (b"GIF87a", "a GIF image", "gif"),
    (b"GIF89a", "a GIF image", "gif"),
    (b"%PDF-", "a PDF document", "pdf"),
    (b"\x1f\x8b", "a gzip-compressed file", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "7z"),
    (b"Rar!\x1a\x07", "a RAR archive", "rar"),
)
# Control bytes a text export never holds (tab, LF, CR, form feed and Ctrl-Z it may).
CONTROL_BYTES = re.compile(rb"[\x01-\x08\x0b\x0e-\x19\x1b-\x1f]")

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
    """One kind of bad value in one column, with how many rows and the first examples.
    `reason` is English (CLI, JSON); `key` and `params` name the same reason in the message
    catalogue (messages/ingest.toml, "ingest.problem.<key>") for the pages."""

    column: str | None
    reason: str
    count: int = 1
    examples: list[tuple[int | None, str | None]] = field(default_factory=list)
    source_column: str | None = None
    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self, file_name: str) -> str:
        where = f"column '{self.source_column}'" if self.source_column else ""
        if self.column and self.source_column and self.column != self.source_column:
            where += f" ({self.column})"
        examples = self.examples
        if "dup_rows" in self.params:  # a duplicated key: the rows it is on
            examples = [
                (r, f"{v} (rows {', '.join(map(str, rows))})")
                for (r, v), rows in zip(examples, self.params["dup_rows"], strict=True)
            ]
        ex = "; ".join(
            (f"row {r}" if r is not None else "") + (f": {v!r}" if v is not None else "")
            for r, v in examples
        )
        head = f"{file_name}: {where + ': ' if where else ''}{self.reason}"
        if self.count > 1 or ex:
            head += f" — {self.count} row(s)" + (f", e.g. {ex}" if ex else "")
        return head


class Note(str):
    """A warning as English text (what the CLI prints and the load history keeps) that also
    names its message ("ingest.note.<key>") and values, for the pages to say it in the reader's
    language."""

    key: str
    params: dict[str, Any]

    def __new__(cls, text: str, key: str = "", **params: Any) -> Note:
        note = super().__new__(cls, text)
        note.key, note.params = key, params
        return note


@dataclass
class Source:
    """A file to load: path, optional forced table, header mapping overrides and encoding."""

    path: Path
    table: str | None = None
    mapping: dict[str, str] | None = None  # source header -> canonical column ("" = ignore)
    name: str | None = None  # display name (an upload's original file name)
    date_order: str | None = None  # "dmy" / "mdy" for ambiguous a/b/yyyy dates
    skip_bad_rows: bool = False  # reject rows with unparseable values instead of the file
    strict_mapping: bool = True  # an override naming a header the file lacks is an error
    encoding: str | None = None  # the file's text encoding; None = decided from the file

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
    # Required columns found from the file's values, not its headers: column -> the guess.
    inferred: dict[str, Guess] = field(default_factory=dict)
    # Required columns that several headers could be, for the user to choose: column -> headers.
    ambiguous: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self) -> str:
        return "\n".join(p.describe(self.file_name) for p in self.errors)


@dataclass
class LoadResult:
    load_id: int
    reports: list[FileReport]
    # replace-all: the tables no file named that held rows, with the rows they held (now 0).
    emptied: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows the load wrote, over its files."""
        return sum(r.rows_loaded for r in self.reports)

    def audit_detail(self) -> str:
        """The audit log's detail for this load: its id, each file with its table, and the
        tables a replace-all emptied."""
        files = ", ".join(f"{r.file_name} → {r.table}" for r in self.reports)
        emptied = f"; emptied {', '.join(self.emptied)}" if self.emptied else ""
        return f"load #{self.load_id}: {files}{emptied}"


# --------------------------------------------------------------------------- decoding


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _fail(
    file_name: str,
    reason: str,
    row: int | None = None,
    value: str | None = None,
    key: str = "",
    **params: Any,
) -> None:
    """Refuse the whole file: `reason` in English (CLI), `key` and `params` the same reason in
    the message catalogue ("ingest.problem.<key>") for the pages."""
    report = FileReport(file_name)
    examples = [(row, value)] if row or value else []
    report.errors.append(Problem(None, reason, 1, examples, key=key, params=params))
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


def normalise_encoding(name: str) -> str:
    """Python's codec name for an encoding a user chose ("GBK" -> "gbk", "utf8" -> "utf-8",
    "windows-1252" -> "cp1252"); IngestError for a name that is not a text encoding."""
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, ValueError):
        info = None
    # base64, rot13, zlib … are codecs too, but not text encodings of a file.
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise IngestError(
            f"unknown text encoding {name!r}; use one of {', '.join(ENCODINGS)} (or any "
            "encoding name Python knows, e.g. gbk, shift_jis, utf-16-le)"
        )
    return info.name


def _binary_kind(head: bytes) -> tuple[str, str] | None:
    """What a file that is not text looks like, from its first bytes, in English and as a
    message key (None: may be text)."""
    for magic, kind, key in BINARY_MAGIC:
        if head.startswith(magic):
            if magic.startswith(b"PK") and (b"[Content_Types].xml" in head or b"xl/" in head):
                return "an Excel workbook (.xlsx)", "xlsx"
            return kind, key
    return None


def _control_bytes(head: bytes) -> tuple[int, int | None]:
    """How many control bytes that never occur in a text export the head holds, and where the
    first one is (tab, CR, LF, form feed and Ctrl-Z do occur)."""
    found = CONTROL_BYTES.findall(head)
    m = CONTROL_BYTES.search(head)
    return len(found), m.start() if m else None


def _refuse_binary(path: Path, file_name: str, head: bytes, wide: bool) -> None:
    """Refuse a file that is an archive, workbook, image or other binary data, not text.
    `wide`: a UTF-16/32 file, whose text holds NUL bytes."""
    found = _binary_kind(head)
    if found:
        kind, kind_key = found
        hint_key = (
            "excel"
            if "Excel" in kind
            else "archive"
            if "archive" in kind or "compressed" in kind
            else "export"
        )
        hint = {
            "excel": "Open it in Excel or WPS and save it as CSV (Save As › CSV UTF-8), then load "
            "that file",
            "archive": "Extract the CSV file from it and load that",
            "export": "Load the CSV export itself",
        }[hint_key]
        _fail(
            file_name,
            f"this is not a CSV text export: it looks like {kind}. {hint}",
            key="binary_kind",
            kind=kind_key,
            hint=hint_key,
        )
    if wide:
        return
    if b"\x00" in head:
        _fail(
            file_name,
            "this is not a CSV text export: the file contains NUL bytes (binary data)",
            row=_line_of(path, head.index(b"\x00")),
            key="nul_bytes",
        )
    n, first = _control_bytes(head)
    if first is not None and n >= max(8, len(head) // 100):
        _fail(
            file_name,
            f"this is not a CSV text export: it holds binary data ({n} control bytes in its "
            "first 64 KB)",
            row=_line_of(path, first),
            key="control_bytes",
            n=n,
        )


def _hex(raw: bytes) -> str:
    """Bytes as a reader can compare them with a hex viewer: "B6 A9 B5 A5"."""
    return " ".join(f"{b:02X}" for b in raw)


class _Undecodable(Exception):
    def __init__(self, offset: int, sample: bytes):
        super().__init__(offset)
        self.offset, self.sample = offset, sample


def _decodes_wholly(path: Path, encoding: str) -> bool:
    """Whether every byte of the file decodes strictly in `encoding` (streamed)."""
    dec = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                dec.decode(chunk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_utf8_chinese(prefix: bytes) -> bool:
    """Whether the valid UTF-8 bytes before the first invalid one hold Chinese text: GBK bytes
    read as UTF-8 make two-byte sequences (投 = CD B6 is "Ͷ") and hardly ever three-byte CJK."""
    text = prefix.decode("utf-8", errors="ignore")
    return sum(1 for ch in text if "\u3400" <= ch <= "\u9fff") >= 2


def _transcode(path: Path, out: Path, file_name: str, encoding: str) -> None:
    """Write the file as UTF-8 to `out`; _Undecodable at the first byte `encoding` rejects."""
    dec = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    try:
        with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                text = dec.decode(chunk)
                if "\x00" in text:
                    _fail(
                        file_name,
                        "this is not a CSV text export: the file contains NUL characters",
                        row=_line_of(path, offset + max(chunk.find(b"\x00"), 0)),
                        key="nul_bytes",
                    )
                dst.write(text.lstrip("\ufeff") if offset == 0 else text)
                offset += len(chunk)
            dst.write(dec.decode(b"", final=True))
    except UnicodeDecodeError as e:
        raise _Undecodable(offset + e.start, e.object[e.start : e.start + 4]) from None


def decode_to_utf8(
    path: Path, file_name: str, workdir: Path, encoding: str | None = None
) -> tuple[Path, str]:
    """A UTF-8 copy of the file (or the file itself when it already is UTF-8) and its encoding.

    `encoding` None decides from the whole file, streamed: a BOM; else UTF-8 when every byte
    is valid UTF-8; else a legacy code page (GB18030 unless clearly Western), also when the
    first bytes happen to be valid UTF-8 (投 = CD B6) as long as GB18030 decodes the whole
    file. UTF-8 Chinese followed by bytes that are not is refused as mixed encodings. A given
    `encoding` (any name normalise_encoding accepts) is used as it is."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if not head.strip():
        _fail(file_name, "the file is empty", key="empty_file")
    forced = normalise_encoding(encoding) if encoding else None
    guess: str | None = None
    wide = (
        forced.startswith(("utf-16", "utf-32"))
        if forced
        else head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    )
    _refuse_binary(path, file_name, head, wide)
    if forced in ("utf-8", "utf-8-sig"):
        forced = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if forced is None:
        if head.startswith(codecs.BOM_UTF8):
            forced = "utf-8-sig"
        elif wide:
            guess = "utf-16"
    if forced in ("utf-8", "utf-8-sig") or (forced is None and guess is None):
        bad, non_ascii_before = _utf8_error_offset(path)
        if bad is None:
            nul = _nul_offset(path)  # the head was checked above; NUL is valid UTF-8
            if nul is not None:
                _fail(
                    file_name,
                    "this is not a CSV text export: the file contains NUL bytes (binary data)",
                    row=_line_of(path, nul),
                    key="nul_bytes",
                )
            return path, forced or "utf-8"
        if forced == "utf-8":
            _fail(
                file_name,
                "the file is not UTF-8 (the encoding chosen): undecodable bytes",
                row=_line_of(path, bad),
                value=_hex(head[bad : bad + 4]) if bad < len(head) else None,
                key="not_chosen_encoding",
                encoding="utf-8",
            )
        mixed = forced == "utf-8-sig" or (
            non_ascii_before
            and (_looks_like_utf8_chinese(head[:bad]) or not _decodes_wholly(path, "gb18030"))
        )
        if mixed:
            _fail(
                file_name,
                "the file mixes text encodings: earlier lines are UTF-8, this one is "
                "not. Re-export the whole file in one encoding, or name its encoding "
                "(--encoding, or 'File encoding' on the Data page)",
                row=_line_of(path, bad),
                key="mixed_encodings",
            )
        guess = _guess_legacy_encoding(path, bad)
    chosen = forced or guess or "gb18030"
    out = workdir / (Path(file_name).stem[:40] + ".utf8.csv")
    try:
        _transcode(path, out, file_name, chosen)
    except _Undecodable as e:
        if forced is None and chosen != "gb18030" and _decodes_wholly(path, "gb18030"):
            # The guess (Big5, cp1252 …) fails somewhere; GB18030 reads every byte.
            _transcode(path, out, file_name, "gb18030")
            return out, "gb18030"
        what = (
            f"the file is not {chosen} text (the encoding chosen)"
            if forced
            else f"the file is neither UTF-8 nor {chosen}"
        )
        _fail(
            file_name,
            f"{what}: undecodable bytes",
            row=_line_of(path, e.offset),
            value=_hex(e.sample),
            key="not_chosen_encoding" if forced else "not_utf8_nor",
            encoding=chosen,
        )
    return out, chosen


def _read_header(path: Path, file_name: str) -> tuple[str, str, list[str]]:
    """Delimiter, the header line's text and the parsed header names."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        sample = f.read(HEADER_LIMIT)
    m = re.search(r"[\r\n]", sample)  # a lone CR ends a line too ("CSV (Macintosh)")
    first_nl = m.start() if m else -1
    if first_nl < 0 and len(sample) >= HEADER_LIMIT:
        _fail(
            file_name,
            "the first line is longer than 1 MB: this is not a CSV with a header row",
            key="header_too_long",
        )
    first = sample[: first_nl if first_nl >= 0 else len(sample)].rstrip("\r")
    if not first.strip():
        _fail(
            file_name, "the first line is blank: expected a header row", row=1, key="blank_header"
        )
    try:
        delim = csv.Sniffer().sniff(sample[:65536], delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in ",\t;|"}
        delim = max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","
    try:
        headers = next(csv.reader([first], delimiter=delim))
    except csv.Error as e:
        _fail(
            file_name,
            f"the header row cannot be read as CSV ({e})",
            row=1,
            value=first[:200],
            key="header_unreadable",
        )
    if any(h.count('"') for h in headers):
        _fail(
            file_name,
            "the header row has unbalanced quotes",
            row=1,
            value=first[:200],
            key="header_quotes",
        )
    long = next((i for i, h in enumerate(headers) if len(h) > HEADER_CELL_LIMIT), None)
    if long is not None:
        _fail(
            file_name,
            f"header column {long + 1} is {len(headers[long]):,} characters long: the first row "
            "is not a header row (or the file is not a CSV export)",
            row=1,
            value=headers[long][:80] + "…",
            key="header_cell_long",
            column=long + 1,
            chars=len(headers[long]),
        )
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
            key="too_many_columns",
            n=len(headers),
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


# A month as exported: 2024-01, 2024/1, 2024.1, 2024年1月, 202401 (a full date counts as its month).
MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%Y.%m", "%Y年%m月", "%Y%m")


def _month_expr(c: str, order: str) -> str:
    fmts = ", ".join(_sql_str(f) for f in MONTH_FORMATS)
    s = _timestamp_text(c)
    return (
        f"CAST(date_trunc('month', coalesce(try_strptime({s}, [{fmts}]), "
        f"try_strptime({s}, [{', '.join(_sql_str(f) for f in _date_formats(order))}]))) AS DATE)"
    )


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
        "month": lambda x: _month_expr(x, order),
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


def prepare(con: db.Connection, source: Source, workdir: Path, stage: str) -> FileReport:
    """Decode, map, type and check one file into the temp table `stage`; nothing else changes."""
    report = FileReport(source.file_name)
    report.sha256 = sha256_of(Path(source.path))
    utf8, report.encoding = decode_to_utf8(
        Path(source.path), source.file_name, workdir, source.encoding
    )
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
                amount = f"TRY_CAST({q} * {p} AS DECIMAL(18,4))"
                selects.append(f"{amount} AS amount")
                # A product too large for an amount is a bad value of the line, not a file
                # DuckDB cannot read: its row is reported with quantity × unit price.
                checks.append(
                    f"CASE WHEN ({q}) IS NOT NULL AND ({p}) IS NOT NULL AND {amount} IS NULL "
                    f"THEN trim({src_of['quantity']}) || ' × ' || trim({src_of['unit_price']}) "
                    "END AS _bad_amount"
                )
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
        report.errors.append(_duck_problem(e, utf8, source.file_name))
        return report
    report.rows_read = con.execute(f"SELECT count(*) FROM {stage}_typed").fetchone()[0]  # type: ignore[index]
    if report.rows_read == 0:
        report.errors.append(Problem(None, "the file has a header but no data rows", key="no_rows"))
        return report
    _check_values(con, report, table, stage, src_of, source.skip_bad_rows, derive_amount)
    if report.errors:
        return report
    _finish_stage(con, report, table, stage)
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


def _check_values(
    con: db.Connection,
    report: FileReport,
    table: Table,
    stage: str,
    src_of: dict[str, str],
    skip_bad_rows: bool,
    derived_amount: bool = False,
) -> None:
    """Count unparseable, implausible and missing values; collect row/value examples.
    `derived_amount`: the amount is quantity × unit price (a product too large is counted)."""
    src_name = {v: k for k, v in report.mapping.items()}
    n_notes = len(report.warnings)  # the rejection notes added below follow
    now = dt.datetime.now() + dt.timedelta(days=config.FUTURE_TOLERANCE_DAYS)
    # Data rows start at row 2 (the header is row 1), as a spreadsheet numbers them.
    bad_conds: list[tuple[str, str, str, str]] = []  # (column, condition, reason, reason key)
    for col in table.columns:
        if col.name not in src_of:
            continue
        kind_name = {
            "timestamp": "a date/time",
            "date": "a date",
            "month": "a month (2024-01, 2024/1, 2024年1月)",
            "money": "an amount",
            "number": "a number",
            "bool": "yes/no",
            "int": "a whole number",
        }
        if col.kind in kind_name:
            bad_conds.append(
                (
                    col.name,
                    f"_bad_{col.name} IS NOT NULL",
                    f"not {kind_name[col.kind]}",
                    f"not_{col.kind}",
                )
            )
        if col.kind in ("timestamp", "date", "month"):
            bad_conds.append(
                (col.name, f"{col.name} < TIMESTAMP '1900-01-01'", "before 1900", "before_1900")
            )
            if col.name in EVENT_COLUMNS:
                bad_conds.append(
                    (
                        col.name,
                        f"{col.name} > TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}'",
                        "in the future",
                        "future",
                    )
                )
        if col.name == "satisfaction":
            bad_conds.append(
                (col.name, "satisfaction NOT BETWEEN 1 AND 5", "not a 1-5 score", "not_score")
            )
    if derived_amount:
        bad_conds.append(
            (
                "amount",
                "_bad_amount IS NOT NULL",
                "quantity × unit price is too large for an amount",
                "amount_too_large",
            )
        )
    reject_conds: list[str] = []
    for colname, cond, reason, reason_key in bad_conds:
        n, ex = _count_examples(
            con,
            stage,
            cond,
            f"_bad_{colname}" if "_bad_" in cond else f"CAST({colname} AS VARCHAR)",
        )
        if n:
            p = Problem(colname, f"{reason}", n, ex, src_name.get(colname), reason_key)
            if skip_bad_rows:
                text = p.describe(report.file_name) + " — rows rejected"
                report.warnings.append(
                    Note(text, "rows_rejected", file=report.file_name, problem=p)
                )
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
                key="nothing_loaded",
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
            rows = ", ".join(str(r) for r, _ in ex)
            report.warnings.append(
                Note(
                    f"{report.file_name}: {n} row(s) have no {src_name.get(req, req)} ({req}) and "
                    f"were rejected, e.g. rows {rows}",
                    "missing_required_rows",
                    file=report.file_name,
                    n=n,
                    field=req,
                    header=src_name.get(req, ""),
                    rows=rows,
                )
            )
            reject_conds.append(cond)
            _save_rejects(con, stage, cond, req, "required value missing")
    present = [c for c in table.one_of if c in src_of]
    if present:
        cond = " AND ".join(f"{c} IS NULL" for c in present) + not_bad
        n, ex = _count_examples(con, stage, cond, "NULL")
        if n:
            rows = ", ".join(str(r) for r, _ in ex)
            report.warnings.append(
                Note(
                    f"{report.file_name}: {n} row(s) name neither {' nor '.join(present)} and "
                    f"were rejected, e.g. rows {rows}",
                    "neither_rows",
                    file=report.file_name,
                    n=n,
                    fields=present,
                    rows=rows,
                )
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
            Problem(
                None,
                "every row was rejected; nothing to load: " + "; ".join(why),
                key="all_rejected",
                params={"notes": report.warnings[n_notes:]},
            )
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
        # A line-item export (quantity and unit price, or a product and its quantity, per row)
        # repeats the order id on each line. An export without order numbers gets one order per
        # customer per day (a member system's purchase log), its rows the lines of that order.
        derived_id = "order_id" not in mapped
        report.line_items = (
            derived_id or {"quantity", "unit_price"} <= mapped or {"product", "quantity"} <= mapped
        )
        oid = (
            "customer_id || ' ' || strftime(CAST(order_date AS DATE), '%Y-%m-%d')"
            if derived_id
            else "order_id"
        )
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
            f"row_number() OVER (PARTITION BY {oid} ORDER BY rowid)" if report.line_items else "1"
        )
        exprs = [
            f"CAST({line} AS BIGINT) AS line_no"
            if c == "line_no"
            else f"{ret} AS is_return"
            if c == "is_return"
            else f"{oid} AS order_id"
            if c == "order_id"
            else c
            for c in cols
        ]
        if derived_id:
            report.warnings.append(
                Note(
                    f"{report.file_name}: no order number column: one order per customer per day "
                    "(order id = customer id + date)",
                    "no_order_id",
                    file=report.file_name,
                )
            )
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
                [(rows[0], "/".join(str(x) for x in key)) for *key, _, rows in dups],
                {v: s for s, v in report.mapping.items()}.get(key_cols[0]),
                "duplicate_line" if hint else "duplicate",
                # The rows each example key is on; `count` counts keys, not rows.
                {"fields": key_cols, "dup_rows": [list(rows) for *_, rows in dups]},
            )
        )
    if table.name == "orders":
        n_ret = con.execute(f"SELECT count(*) FROM {stage} WHERE is_return").fetchone()[0]  # type: ignore[index]
        if n_ret:
            report.warnings.append(
                Note(
                    f"{report.file_name}: {n_ret} return/cancellation line(s) "
                    "flagged; value figures subtract them (net of returns)",
                    "returns_flagged",
                    file=report.file_name,
                    n=n_ret,
                )
            )
        if report.line_items:
            derived = "amount" not in mapped
            report.warnings.append(
                Note(
                    f"{report.file_name}: line-item export: lines sharing an order "
                    "id are one order" + ("; amount = quantity × unit price" if derived else ""),
                    "line_items_derived" if derived else "line_items",
                    file=report.file_name,
                )
            )
    ignored = [h for h in report.headers if h not in report.mapping]
    if ignored:
        report.warnings.append(
            Note(
                f"{report.file_name}: columns not used: {ignored[:20]}"
                + (" …" if len(ignored) > 20 else ""),
                "columns_not_used",
                file=report.file_name,
                columns=ignored[:20],
                more=len(ignored) > 20,
            )
        )
    report.stage = stage


# --------------------------------------------------------------------------- loading


def validate(sources: Iterable[Source]) -> list[FileReport]:
    """Check files as a load would, in a scratch database; the real database is not touched."""
    con = db.scratch()  # the same memory cap as a load
    wd = uploads.work_dir()
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
    """The upsert key of a table as one SQL expression (a column name for every table but the
    spend table, whose key is channel + month). Orders upsert by order id: appending an order
    replaces all of its lines."""
    if table == "orders":
        return "order_id"
    if table == "marketing_spend":
        return "(channel || '|' || CAST(month AS VARCHAR))"
    return TABLES[table].key[0]


def _key_name(table: str) -> str:
    """The column holding _key_expr in a `_keys` table (the key column itself, or spend_key)."""
    return "spend_key" if table == "marketing_spend" else _key_expr(table)


def load(
    con: db.Connection,
    sources: list[Source],
    mode: str = "replace",
    progress: Progress | None = None,
) -> LoadResult:
    """Load files as one batch: all files are checked first, then swapped in one transaction.

    `mode`: "append" adds the files' rows, a row whose key is already loaded replaces it;
    "replace" swaps in each named table whole; "replace-all" does that and also empties every
    canonical table no file names (the demo data gone in one step). Each can be rolled back.
    The CLI and the Data page append by default; this function's default stays "replace" for
    the scripts and tests written against it."""
    if mode not in MODES:
        raise IngestError(f"unknown mode {mode!r}; use one of {MODES}")
    if not sources:
        raise IngestError("no files to load")
    say = progress or (lambda f, m: None)
    cur = con.cursor()  # temp tables live on this cursor only
    # PostgreSQL / Spark: decode, type and check in a scratch DuckDB; _swap ships the stage.
    stage = cur if db.is_duckdb(con) else db.scratch()
    wd = uploads.work_dir()
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
        load_id, emptied = _swap(cur, reports, mode, started, stage)
        say(1.0, "done")
        return LoadResult(load_id, reports, emptied)
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
        k, name = _key_expr(table), _key_name(table)
        union = " UNION ALL ".join(f"SELECT DISTINCT {k} AS {name} FROM {r.stage}" for r in rs)
        dup = cur.execute(
            f"SELECT {name} FROM ({union}) GROUP BY {name} HAVING count(*) > 1 LIMIT 5"
        ).fetchall()
        if dup:
            rs[-1].errors.append(
                Problem(
                    name,
                    f"the same {name} appears in several {table} files of this load",
                    len(dup),
                    [(None, str(d[0])) for d in dup],
                    key="same_key_files",
                    params={"field": k, "table": table},
                )
            )


def _swap(
    cur: db.Connection,
    reports: list[FileReport],
    mode: str,
    started: dt.datetime,
    stage: db.Connection | None = None,
) -> tuple[int, dict[str, int]]:
    """One transaction: keep undo data, replace or upsert each table, empty the tables no file
    names (replace-all), refresh summaries, log. Returns the load id and the emptied tables.

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
            if mode in ("replace", "replace-all"):
                cur.execute(f"ALTER TABLE {table} RENAME TO {undo}")
                cur.execute(db.table_ddl(table))
                cur.execute(f"INSERT INTO {table} ({cols}) {staged}")
                undo_kinds[table] = "replaced"
            else:
                k, name = _key_expr(table), _key_name(table)
                cur.execute(
                    f"CREATE TABLE {undo}_keys AS SELECT DISTINCT {k} AS {name} FROM ({staged})"
                )
                cur.execute(
                    f"CREATE TABLE {undo} AS SELECT * FROM {table} "
                    f"WHERE {k} IN (SELECT {name} FROM {undo}_keys)"
                )
                cur.execute(f"DELETE FROM {table} WHERE {k} IN (SELECT {name} FROM {undo}_keys)")
                cur.execute(f"INSERT INTO {table} ({cols}) {staged}")
                undo_kinds[table] = "upserted"
        emptied: dict[str, int] = {}
        if mode == "replace-all":
            counts = db.table_counts(cur)
            for table in TABLES:
                if table not in by_table and counts[table]:
                    # Kept whole as undo data, like a replaced table: rollback renames it back.
                    cur.execute(f"ALTER TABLE {table} RENAME TO _undo_{load_id}_{table}")
                    cur.execute(db.table_ddl(table))
                    emptied[table] = counts[table]
        _warn_unknown_customers(cur, reports)
        from crm_core.engine import summaries

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
        for table, n in emptied.items():
            # One history row per emptied table (no file): rollback finds its undo data here.
            cur.execute(
                "INSERT INTO load_history VALUES ($id, NULL, $table, NULL, NULL, 0, 0, 0, $mode, "
                "$start, $end, 'loaded', $warn, 'replaced')",
                {
                    "id": load_id,
                    "table": table,
                    "mode": mode,
                    "start": started,
                    "end": finished,
                    "warn": json.dumps(
                        [f"{table}: emptied, {n} row(s) removed (no file named it)"],
                        ensure_ascii=False,
                    ),
                },
            )
        _prune_undo(cur, load_id)
        cur.execute("COMMIT")
        return load_id, emptied
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
                Note(
                    f"{r.file_name}: {n} row(s) name a customer id that is not in the "
                    "customers table (loaded; they count as customers known from orders)",
                    "unknown_customers",
                    file=r.file_name,
                    n=n,
                )
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
                k, name = _key_expr(table), _key_name(table)
                cur.execute(f"DELETE FROM {table} WHERE {k} IN (SELECT {name} FROM {undo}_keys)")
                cur.execute(f"INSERT INTO {table} SELECT * FROM {undo}")
                cur.execute(f"DROP TABLE {undo}")
                cur.execute(f"DROP TABLE {undo}_keys")
        done = sorted({lid for lid, _, _ in loads}, reverse=True)
        cur.execute(
            "UPDATE load_history SET status = 'rolled back' WHERE load_id >= $id "
            "AND status = 'loaded'",
            {"id": load_id},
        )
        from crm_core.engine import summaries

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


@functools.lru_cache(maxsize=8)
def _file_sha(path: str, mtime_ns: int, size: int) -> str:
    return sha256_of(Path(path))


def demo_hashes() -> dict[str, str]:
    """sha256 of each shipped demo CSV by table (computed once per file version)."""
    out = {}
    for s in demo_sources():
        st = Path(s.path).stat()
        out[s.table or ""] = _file_sha(str(s.path), st.st_mtime_ns, st.st_size)
    return out


def demo_tables(con: db.Connection, hist: pd.DataFrame | None = None) -> list[str]:
    """The canonical tables that still hold rows of the demo company: a live load of the demo
    CSV (same sha256) that no later replace of that table removed. [] when every row is the
    user's own. `hist`: load_history(con), when the caller has it already."""
    hist = load_history(con) if hist is None else hist
    live = hist[hist["status"] == "loaded"].sort_values("load_id", ascending=False)
    demo = demo_hashes()
    counts = db.table_counts(con)
    out = []
    for table in TABLES:
        if not counts[table] or table not in demo:
            continue
        for row in live[live["table_name"] == table].itertuples():
            if row.sha256 == demo[table]:
                out.append(table)
                break
            if row.mode != "append":  # replaced: nothing older is left in the table
                break
    return out


def load_demo(con: db.Connection, progress: Progress | None = None) -> LoadResult:
    """Replace every table with the demo company's data."""
    sources = demo_sources()
    if not sources:
        raise IngestError(f"no demo data in {config.DEMO_DIR}")
    return load(con, sources, "replace", progress)


def describe_reports(reports: list[FileReport]) -> str:
    """Plain-text summary of a batch: per file its table, rows and warnings."""
    out = io.StringIO()
    for r in reports:
        out.write(
            f"{r.file_name}: {r.table or '?'} — {r.rows_read} rows read, "
            f"{r.rows_loaded} loaded, {r.rows_rejected} rejected ({r.encoding})\n"
        )
        for g in r.inferred.values():
            out.write(f"  inferred: {g.column} ← {g.header} ({g.describe()})\n")
        for w in r.warnings:
            out.write(f"  ! {w}\n")
        if r.errors:
            out.write(r.error_text() + "\n")
    return out.getvalue()
