"""Table downloads (CSV, Excel), named with the data date and the active filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from crm_core.app import meeting
from crm_core.app.ui.connection import connection
from crm_core.app.ui.language import lang, t
from crm_core.app.ui.notes import period_of
from crm_core.app.ui.session import filters
from crm_core.app.ui.signin import audited_export
from crm_core.metrics.filters import Filters


def export_facts(table: str | None = None) -> tuple[Filters, dt.date | None, Any]:
    """What a download is named and labelled with (crm_core.present.export): this run's filters, the
    data date (meeting.data_date: the filters' end, else the last order date) and the period the
    page header shows (the filters', else the default 12 months)."""
    con, f = connection(), filters()
    p = period_of(con, f)
    return f, meeting.data_date(con, f), (p.start, p.end) if p else None


def download_name(name: str, ext: str, table: str | None = None) -> str:
    """A download's file name with the data date and the active filters (export.file_name)."""
    from crm_core.present import export

    f, as_of, _ = export_facts(table)
    return export.file_name(name, ext, f, lang(), as_of, table)


def table_downloads(
    df: pd.DataFrame | Callable[[], pd.DataFrame], name: str, table: str | None = None
) -> None:
    """CSV and XLSX downloads of a table (or of the table a function returns, for a large one),
    formula injection neutralised, built when clicked. Both files are named with the data date
    and the active filters that apply to `table` (export.file_name); the workbook's second sheet
    holds the filter line, the data date and the row count (export.about_sheet)."""
    from crm_core.present import export

    f, as_of, period = export_facts(table)
    session_lang = lang()

    def frame_of() -> pd.DataFrame:
        return df() if callable(df) else df

    def export_of(fmt: str) -> Callable[[], tuple[bytes, int]]:
        def build() -> tuple[bytes, int]:
            frame = frame_of()
            if fmt == "csv":
                return export.safe_csv(frame), len(frame)
            about = export.about_sheet(f, session_lang, as_of, len(frame), table, period)
            return export.safe_xlsx(frame, name, about), len(frame)

        return build

    a, b = st.columns(2)
    a.download_button(
        t("common.download_csv"),
        audited_export(f"table {name}.csv", export_of("csv"), counted=True),
        export.file_name(name, "csv", f, session_lang, as_of, table),
        mime="text/csv",
        key=f"csv_{name}",
        on_click="ignore",
    )
    b.download_button(
        t("common.download_xlsx"),
        audited_export(f"table {name}.xlsx", export_of("xlsx"), counted=True),
        export.file_name(name, "xlsx", f, session_lang, as_of, table),
        key=f"xlsx_{name}",
        on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def csv_download(df: pd.DataFrame, name: str, key: str, table: str | None = None) -> None:
    """One audited CSV download of `df` (formula injection neutralised), named with the data
    date and the active filters (export.file_name)."""
    from crm_core.present import export

    st.download_button(
        t("common.download_csv"),
        audited_export(f"table {name}.csv", lambda: (export.safe_csv(df), len(df)), True),
        file_name=download_name(name, "csv", table),
        mime="text/csv",
        key=key,
        on_click="ignore",
    )
