"""Downloads people open in Excel: CSV with formula injection neutralised."""

from __future__ import annotations

from typing import Any

import pandas as pd

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


def safe_xlsx(df: pd.DataFrame, sheet: str = "data") -> bytes:
    """`df` as an Excel workbook whose text cells are stored as text: a value like "=1+1" or
    "@SUM(A1)" is shown, never evaluated (formulas and links are not inferred from strings)."""
    import io

    buf = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": options}) as xw:
        df.to_excel(xw, sheet_name=sheet[:31], index=False)
    return buf.getvalue()
