"""Decode: a file's bytes as UTF-8 text (BOM, UTF-8, GB18030 or as chosen) and its header."""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from pathlib import Path

from crm_core.ingest.reports import IngestError, _fail

HEADER_LIMIT = 1 << 20  # a header line longer than 1 MB is not a CSV header
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


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _utf8_error_offset(path: Path) -> tuple[int | None, bool, int | None]:
    """Offset of the first invalid UTF-8 byte (None if valid), whether non-ASCII came before,
    and, for a valid file, the offset of its first NUL byte (None if it has none): one pass."""
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    offset, non_ascii, nul = 0, False, None
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                return offset + e.start, non_ascii or not chunk[: e.start].isascii(), None
            non_ascii = non_ascii or not chunk.isascii()
            if nul is None and (i := chunk.find(b"\x00")) >= 0:
                nul = offset + i
            offset += len(chunk)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset, non_ascii, None
    return None, non_ascii, nul


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
        bad, non_ascii_before, nul = _utf8_error_offset(path)
        if bad is None:
            if nul is not None:  # the head was checked above; NUL is valid UTF-8
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
