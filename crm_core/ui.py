"""The only crm_core module that imports streamlit: connection, page guard, sidebar, filters."""

from __future__ import annotations

import datetime as dt
import inspect as pyinspect
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from crm_core import config, db, ingest, overview, summaries
from crm_core.filters import DIMENSIONS, Filters

DIMENSION_LABELS = {"region": "Region", "source": "Source / channel", "owner": "Owner",
                    "segment": "Customer type", "category": "Product category"}


def page_guard() -> None:
    """Re-run through app.py when Streamlit's legacy pages/ runner started this page directly.

    With a top-level pages/ folder, the first session after a server start that opens a deep
    link (/upload) runs pages/upload.py without app.py: no layout, no sidebar. Clearing the
    flag the way st.navigation does and rerunning makes app.py run, then this same page.
    """
    legacy = bool(PagesManager.uses_pages_directory) or any(
        f.function == "_mpa_v1" for f in pyinspect.stack(context=0)
    )
    if legacy:
        PagesManager.uses_pages_directory = False
        st.rerun()


@st.cache_resource(show_spinner="Opening the database …")
def _shared_connection(path: str) -> db.Connection:
    con = db.connect(path)
    empty = con.execute("SELECT count(*) FROM load_history").fetchone()[0] == 0  # type: ignore[index]
    if empty and not any(db.table_counts(con).values()):
        # First start with no data: managers should see real numbers at once.
        ingest.load_demo(con)
    summaries.ensure(con)
    return con


def connection() -> db.Connection:
    """This session's cursor on the process-wide database connection."""
    path = str(config.db_path())
    key = "_crm_cursor"
    cur = st.session_state.get(key)
    if cur is None or st.session_state.get("_crm_cursor_path") != path:
        cur = _shared_connection(path).cursor()
        st.session_state[key] = cur
        st.session_state["_crm_cursor_path"] = path
    return cur


def _last_load(con: db.Connection) -> str:
    hist = ingest.load_history(con)
    live = hist[hist["status"] == "loaded"]
    if live.empty:
        return "none"
    row = live.iloc[0]
    return f"#{row.load_id} {row.file_name} · {pd.Timestamp(row.finished_at):%Y-%m-%d %H:%M}"


def sidebar(con: db.Connection) -> Filters:
    """The shared sidebar: database facts and the global filters (mirrored in the URL)."""
    rng = overview.data_range(con)
    period = overview.default_period(con)
    with st.sidebar:
        st.caption(f"Database: `{config.db_path().name}` · last load: {_last_load(con)}")
        if rng:
            st.caption(f"Orders from {rng[0]:%Y-%m-%d} to {rng[1]:%Y-%m-%d}")
        start = end = None
        if rng and period:
            start = st.date_input("From", value=period.start, min_value=rng[0] - dt.timedelta(
                days=3650), max_value=rng[1], key="start", bind="query-params")
            end = st.date_input("To", value=period.end, min_value=rng[0] - dt.timedelta(
                days=3650), max_value=rng[1] + dt.timedelta(days=3650), key="end",
                bind="query-params")
            if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
                st.warning("'From' is after 'To'; showing the default period.")
                start, end = period.start, period.end
        options = _filter_options(con)
        values: dict[str, Any] = {}
        for dim in DIMENSIONS:
            opts = options.get(dim, [])
            if not opts:
                continue
            values[dim] = st.selectbox(DIMENSION_LABELS[dim], opts, index=None,
                                       placeholder="All", key=dim, bind="query-params")
    f = Filters(start=start if isinstance(start, dt.date) else None,
                end=end if isinstance(end, dt.date) else None, **values)
    st.session_state["_crm_filters"] = f
    return f


def _filter_options(con: db.Connection) -> dict[str, list[str]]:
    df = db.query(con, "filter_options")
    return {d: g["value"].tolist() for d, g in df.groupby("dimension")}


def filters() -> Filters:
    """The global filters chosen in the sidebar of this run."""
    return st.session_state.get("_crm_filters", Filters())


def period_of(con: db.Connection, f: Filters) -> overview.Period | None:
    """The filter's period, or the default 12 months when it has none."""
    if f.start and f.end:
        return overview.Period(f.start, f.end)
    return overview.default_period(con)


def fmt_number(x: Any, decimals: int = 0) -> str:
    """1234567.8 -> '1,234,568'."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "–"
    return f"{float(x):,.{decimals}f}"


def kpi_row(deltas: pd.DataFrame, labels: dict[str, str]) -> None:
    """One st.metric per KPI with its change against the previous period."""
    cols = st.columns(len(deltas))
    for col, row in zip(cols, deltas.itertuples(), strict=True):
        col.metric(labels.get(row.kpi, row.kpi), fmt_number(row.value),
                   delta=fmt_number(row.change) if row.previous else None)


def empty_note(f: Filters) -> None:
    """Say plainly that the filters left nothing to show."""
    active = ", ".join(f"{DIMENSION_LABELS[k]} = {v}" for k, v in f.active.items())
    st.info(f"No data for this selection{f' ({active})' if active else ''}. "
            "Widen the period or clear a filter in the sidebar.")


# --------------------------------------------------------------------------- Data page


def upload_dir() -> Path:
    """A per-session folder that keeps uploaded files between reruns."""
    d = st.session_state.get("_crm_upload_dir")
    if d is None or not Path(d).exists():
        d = tempfile.mkdtemp(prefix="crm_lens_upload_")
        st.session_state["_crm_upload_dir"] = d
    return Path(d)


def mapping_editor(report: ingest.FileReport, key: str) -> ingest.Source | None:
    """Table choice + editable header mapping for one uploaded file; returns the source to load."""
    tables = list(ingest.TABLES)
    table = st.selectbox("Table", tables, key=f"{key}_table",
                         index=tables.index(report.table) if report.table in tables else None,
                         placeholder="choose the table this file holds")
    if table is None:
        st.warning("Could not tell which table this file holds: choose one.")
        return None
    if table != report.table:
        report = ingest.inspect(ingest.Source(Path(st.session_state[f"{key}_path"]), table))
    targets = [""] + [c.name for c in ingest.TABLES[table].columns]
    required = set(ingest.TABLES[table].required)
    frame = pd.DataFrame({
        "file column": report.headers,
        "maps to": [report.mapping.get(h, "") for h in report.headers],
        "example": [str(report.preview[h].iloc[0]) if report.preview is not None
                    and len(report.preview) else "" for h in report.headers],
    })
    edited = st.data_editor(
        frame, key=f"{key}_map_{table}", hide_index=True, width="stretch",
        disabled=["file column", "example"],
        column_config={"maps to": st.column_config.SelectboxColumn(
            options=targets, help="canonical column; required: " + ", ".join(sorted(required)))},
    )
    mapping = {r["file column"]: r["maps to"] or "" for _, r in edited.iterrows()}
    return ingest.Source(Path(st.session_state[f"{key}_path"]), table, mapping,
                         name=report.file_name)


def report_messages(reports: list[ingest.FileReport]) -> None:
    """Errors and warnings of a validation or load, each naming its file."""
    for r in reports:
        if r.errors:
            st.error(r.error_text())
        for w in r.warnings:
            st.warning(w)
        if r.ok and r.rows_read:
            st.success(f"{r.file_name}: {r.table}, {r.rows_read:,} rows read, "
                       f"{r.rows_loaded:,} to load, {r.rows_rejected:,} rejected")


def history_table(hist: pd.DataFrame) -> None:
    """The load history with its warnings decoded."""
    show = hist.drop(columns=["sha256"]).copy()
    show["warnings"] = show["warnings"].map(lambda w: len(json.loads(w)) if w else 0)
    st.dataframe(show, hide_index=True, width="stretch")
