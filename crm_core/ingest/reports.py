"""A load's vocabulary: the file to load, problems and notes found, the result, the error."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crm_core.ingest.matching import Guess


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
