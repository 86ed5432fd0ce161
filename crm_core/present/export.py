"""Downloads people open in Excel: CSV with formula injection neutralised, named and labelled
with the filters and data date they were made under."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pandas as pd

from crm_core.metrics.filters import (
    NOWHERE,
    SCOPE_FIELDS,
    Filters,
    inapplicable,
)
from crm_core.present import i18n
from crm_core.present.filter_text import active_line, not_applied_note

# A cell starting with one of these is run as a formula by Excel / LibreOffice / Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> bytes:
    """`df` as UTF-8 CSV with a BOM (so Excel reads Chinese), no index; text cells and headers
    that start with = + - @ tab or CR get a leading apostrophe. Numbers stay numbers."""
    out = df.copy()
    out.columns = [_neutralise(str(c)) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            out.isetitem(i, col.map(_neutralise, na_action="ignore"))  # type: ignore[arg-type]
    return out.to_csv(index=False).encode("utf-8-sig")


# Characters Excel refuses in a sheet name.
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str) -> str:
    return _SHEET_UNSAFE.sub("-", name).strip("'")[:31] or "data"


def safe_xlsx(
    df: pd.DataFrame, sheet: str = "data", about: tuple[str, list[tuple[str, Any]]] | None = None
) -> bytes:
    """`df` as an Excel workbook whose text cells are stored as text: a value like "=1+1" or
    "@SUM(A1)" is shown, never evaluated (formulas and links are not inferred from strings).

    The table is the first sheet, from cell A1, so a script reading the workbook
    (`pandas.read_excel(path)`) gets it unchanged; `about` = (sheet name, rows of (item, value))
    adds a second sheet after it, as `about_sheet` makes it (the filters and the data date)."""
    buf = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": options}) as xw:
        df.to_excel(xw, sheet_name=_sheet_name(sheet), index=False)
        if about is not None:
            name, rows = about
            frame = pd.DataFrame([[str(k), v] for k, v in rows[1:]], columns=list(rows[0]))
            frame.to_excel(xw, sheet_name=_sheet_name(name), index=False)
            xw.sheets[_sheet_name(name)].set_column(0, 0, 16)
            xw.sheets[_sheet_name(name)].set_column(1, 1, 60)
    return buf.getvalue()


def about_sheet(
    f: Filters,
    lang: str,
    as_of: dt.date | None,
    rows: int,
    table: str | None = None,
    period: tuple[dt.date, dt.date] | None = None,
) -> tuple[str, list[tuple[str, Any]]]:
    """The second sheet of an Excel download: its name in `lang` ("筛选与日期") and its rows, a
    header (项目, 内容) then the filter line as the page header shows it (filter_text.active_line,
    with the page's default `period` when the filters set none), the
    filters that do not apply to `table` (if any), the data date (ISO, YYYY-MM-DD), the row
    count, and one row per set dimension and scope with its raw value, for a script to read."""

    def t(key: str, **kw: Any) -> str:
        return i18n.t(key, lang, **kw)

    out: list[tuple[str, Any]] = [(t("export.about_item"), t("export.about_value"))]
    out.append((t("export.about_filters"), active_line(f, lang, *(period or (None, None)))))
    if table and (note := not_applied_note(table, f, lang)):
        out.append((t("export.about_not_applied"), note))
    out.append((t("export.about_data_date"), f"{as_of:%Y-%m-%d}" if as_of else ""))
    out.append((t("export.about_rows"), rows))
    if f.start and f.end:
        out.append((t("export.about_period"), f"{f.start:%Y-%m-%d} – {f.end:%Y-%m-%d}"))
    out += [(t(f"dim.{k}"), v) for k, v in f.active.items()]
    for dim, name in SCOPE_FIELDS.items():
        values = [v for v in getattr(f, name) if v != NOWHERE]
        if getattr(f, name):
            joined = t("filters.joiner").join(values) or t("filters.line_nothing")
            out.append((t("export.about_scope", dim=t(f"dim.{dim}")), joined))
    return t("export.about_sheet"), out


# A file-name token keeps letters (any script), digits, "_" and "-"; every other run of
# characters (path separators, dots, quotes, pipes, spaces, control and bidi characters)
# becomes one "-", trimmed at the ends: "=cmd|' /C calc'!A0" -> "cmd-C-calc-A0", "../x" -> "x".
_NAME_UNSAFE = re.compile(r"[^\w-]+")
# Longest stem, in characters: 80 CJK characters are 240 UTF-8 bytes, under the 255-byte limit
# of common file systems.
MAX_NAME = 80
MAX_VALUE = 24


def name_token(text: str) -> str:
    """`text` reduced to file-name-safe characters (see _NAME_UNSAFE); "" when nothing is left."""
    return _NAME_UNSAFE.sub("-", text).strip("-_")


def file_name(
    name: str,
    ext: str,
    f: Filters,
    lang: str,
    as_of: dt.date | None,
    table: str | None = None,
) -> str:
    """A download's file name naming what it holds: the table's name, the data date (or the
    filters' period), then each set dimension that applies to `table` and the scope, in sidebar
    order, as "label-value" — 逾期线索_数据至2026-10-31_区域-华东.csv,
    overdue-leads_2024-01-01-to-2024-03-31_Region-East.csv. Values are user text: only letters,
    digits, "_" and "-" are kept (name_token), each value at most MAX_VALUE characters, and
    tokens that would pass MAX_NAME are left out and marked "_等" / "_more" (the Excel download's
    second sheet holds them all)."""

    def t(key: str, **kw: Any) -> str:
        return i18n.t(key, lang, **kw)

    if f.start and f.end:
        when = t("export.name_period", start=f"{f.start:%Y-%m-%d}", end=f"{f.end:%Y-%m-%d}")
    elif as_of:
        when = t("export.name_data_date", date=f"{as_of:%Y-%m-%d}")
    else:
        when = ""
    skipped = set(inapplicable(table, f)) if table else set()
    tokens: list[str] = []
    for dim, value in f.active.items():
        if dim not in skipped:
            tokens.append(f"{name_token(t(f'dim.{dim}'))}-{name_token(value)[:MAX_VALUE]}")
    for dim, field in SCOPE_FIELDS.items():
        values = [name_token(v)[:MAX_VALUE] for v in getattr(f, field) if v != NOWHERE]
        if getattr(f, field):
            label = name_token(t("export.name_scope", dim=t(f"dim.{dim}")))
            tokens.append(f"{label}-{'+'.join(v for v in values if v) or '0'}")
    stem = "_".join(x for x in (name_token(name) or "export", name_token(when)) if x)
    more = name_token(t("export.name_more"))
    for i, token in enumerate(tokens):
        token = token.strip("-")
        if len(stem) + 1 + len(token) + (len(more) + 1 if i < len(tokens) - 1 else 0) > MAX_NAME:
            stem += "_" + more
            break
        stem += "_" + token
    return f"{stem}.{ext}"
