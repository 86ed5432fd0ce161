"""The Data page's flow: staged uploads, encoding, table and column mapping, load, reports."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from crm_core import ingest
from crm_core.app import auth, results, warm
from crm_core.app.ui.connection import _live, _shared_connection, db_target
from crm_core.app.ui.language import lang, md, md_lines, t
from crm_core.app.ui.session import account, can, flash
from crm_core.app.ui.signin import audit
from crm_core.app.ui.tables import labelled_table
from crm_core.engine import backends, config, db
from crm_core.ingest import batch, uploads
from crm_core.present import i18n

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _swept_at_start() -> float:
    # Once per process: staged uploads of processes that are gone (a crash, a restart) and of
    # long-idle sessions hold personal data nobody will load.
    uploads.process_root()
    uploads.sweep()
    return time.time()


def session_uploads() -> uploads.SessionUploads:
    """This session's staged uploads. The object lives in session_state only: when Streamlit
    drops an ended session, its folder is removed with it; idle ones are swept at start-up and
    every UPLOAD_STALE_HOURS."""
    swept = _swept_at_start()
    if time.time() - swept > 3600 * config.UPLOAD_STALE_HOURS:
        _swept_at_start.clear()
        _swept_at_start()
    staged = st.session_state.get("_crm_uploads")
    if staged is None:
        staged = st.session_state["_crm_uploads"] = uploads.SessionUploads()
    return staged


def keep_uploads(files: list[Any] | None) -> None:
    """Forget the staged copies of files taken out of the uploader."""
    session_uploads().keep({up.file_id for up in files or []})


def _css_string(text: str) -> str:
    """`text` as a CSS string literal (for `content:`)."""
    return (
        '"'
        + "".join(c if c.isalnum() or c in " ·、，（）" else f"\\{ord(c):x} " for c in text)
        + '"'
    )


def uploader_chrome() -> None:
    """The file uploader's own words (Streamlit's "Upload", "200MB per file") in this session's
    language: Streamlit has no option for them, so they are replaced by CSS on this page."""
    drop = "[data-testid=stFileUploaderDropzone]"
    button = _css_string(t("data.upload_button"))
    limit = _css_string(t("data.upload_limit", mb=st.get_option("server.maxUploadSize")))
    st.html(
        f"<style>{drop} [data-testid=stBaseButton-secondary] [data-testid=stMarkdownContainer] p"
        "{display:none}"
        f"{drop} [data-testid=stBaseButton-secondary] [data-testid=stMarkdownContainer]::after"
        f"{{content:{button}}}"
        "[data-testid=stFileUploaderDropzoneInstructions] span{display:none}"
        f"[data-testid=stFileUploaderDropzoneInstructions] > div::after{{content:{limit}}}</style>"
    )


def uploader_key() -> str:
    """The Data page's file-uploader key: a new key (after a load) is an empty uploader."""
    return f"uploads_{st.session_state.get('_crm_upload_round', 0)}"


def after_load(result: ingest.LoadResult, mode: str = "append") -> None:
    """After a committed load: keep its messages for the next run, empty the file uploader and
    drop the staged copies, then rerun, so that the sidebar's last-load caption (drawn before
    the page) and the load history show this load."""
    for kind, text in report_lines(result.reports):
        flash(text, kind)
    if result.emptied:
        flash(t("data.emptied", tables=", ".join(result.emptied)))
    flash(t("data.committed", id=result.load_id))
    st.session_state.pop("_crm_own_data", None)
    audit(
        account(),
        auth.load_action(mode),
        result.audit_detail(),
        result.rows,
    )
    st.session_state["_crm_upload_round"] = st.session_state.get("_crm_upload_round", 0) + 1
    session_uploads().clear()
    refresh_results()
    st.rerun()


def refresh_results() -> None:
    """After a committed load: the result store's rows of older data go, and every page's
    default view is computed into it in the background (app/warm.py): on PostgreSQL by a warm
    process, on DuckDB (which this app holds alone) by a warm process on a copy of the data."""
    target = db_target()
    try:
        with _live() as cur:
            results.prune(cur)
        if not config.warm_after_load():
            return
        kind = backends.parse_target(target).kind
        if kind == "postgresql":
            warm.start_background(target)
        elif kind == "duckdb":
            con = _shared_connection(target)
            threading.Thread(target=_warm_copy, args=(con, target), daemon=True).start()
    except Exception:  # the load is committed; a store left to fill later is no error
        log.warning("result store: not refreshed after the load", exc_info=True)


_warm_lock = threading.Lock()  # one warm at a time per process


def _warm_copy(con: db.Connection, target: str) -> None:
    with _warm_lock:
        try:
            done = warm.warm_copy(con, Path(backends.parse_target(target).url))
            if done["warm"] is None:
                log.warning("result store: warming after the load failed: %s", done["stderr"])
            log.info("result store: %d results stored after the load", done["imported"])
        except Exception:
            log.warning("result store: warming after the load failed", exc_info=True)


# One load or rollback at a time per process: a second one waits this long, then is told that
# a load is running (two at once failed with "Catalog write-write conflict").
LOAD_WAIT_SECONDS = 5.0
_load_lock = threading.Lock()


@contextlib.contextmanager
def exclusive_load() -> Iterator[None]:
    """Run a load or rollback alone: if another session's is running, wait LOAD_WAIT_SECONDS,
    then say so and stop this run; a full disk is said plainly, not shown as a traceback."""
    if not _load_lock.acquire(timeout=LOAD_WAIT_SECONDS):
        st.warning(t("security.load_running"), icon=":material/hourglass_top:")
        st.stop()
    try:
        yield
    except Exception as e:
        if not uploads.is_disk_full(e):
            raise
        st.error(t("security.disk_full"))
        st.stop()
    finally:
        _load_lock.release()


LOAD_MODES = ("append", "replace")  # append first: the default leaves loaded rows alone
# The permission each load mode needs (crm_core/auth.py ROLE_CAN).
LOAD_PERMISSION = {"append": "load", "replace": "replace", "replace-all": "replace"}


def load_mode(con: db.Connection, sources: list[ingest.Source]) -> str:
    """The load mode: append by default; replace one click away, its consequences next to it
    and, once chosen, the rows it deletes."""
    # Labels looked up here, not in format_func: AppTest calls format_func outside the
    # session, where lang() falls back to the default language.
    if not can("replace"):  # analysts append; replacing is for administrators
        st.caption(t("auth.append_only"))
        return "append"
    names = {m: t(f"data.mode_{m}") for m in LOAD_MODES}
    mode = st.radio(
        t("data.mode"),
        LOAD_MODES,
        format_func=names.__getitem__,
        captions=[t(f"data.mode_{m}_help") for m in LOAD_MODES],
        horizontal=True,
        help=t("data.mode_help", keep=config.UNDO_KEEP),
        key="load_mode",
    )
    if mode == "replace":
        counts = db.table_counts(con)
        tables = sorted({s.table for s in sources if s.table})
        st.warning(
            t(
                "data.replace_warning",
                tables=", ".join(t("data.table_rows", table=x, n=f"{counts[x]:,}") for x in tables),
                keep=config.UNDO_KEEP,
            ),
            icon=":material/warning:",
        )
    return mode


# The encodings offered on the Data page ("" = decided from the file); any other is a CLI flag.
ENCODING_CHOICES = ("", "utf-8", "gb18030", "big5", "utf-16", "cp1252")


def encoding_choice(key: str) -> str | None:
    """The file encoding chosen for an upload: None = detect it from the file."""
    labels = {e: t(f"data.enc.{e or 'auto'}") for e in ENCODING_CHOICES}
    chosen = st.selectbox(
        t("data.encoding"),
        ENCODING_CHOICES,
        format_func=labels.__getitem__,
        key=f"{key}_encoding",
        help=t("data.encoding_help"),
    )
    return chosen or None


def start_with_own_data(con: db.Connection, sources: list[ingest.Source]) -> bool:
    """The Data page's "start with my own data" action: a button, then a confirmation naming
    the tables the files replace and the tables emptied. True once confirmed: load the files
    with mode "replace-all"."""
    if st.button(
        t("data.own_data"), icon=":material/restart_alt:", help=t("data.own_data_help"), key="own"
    ):
        st.session_state["_crm_own_data"] = True
    if not st.session_state.get("_crm_own_data"):
        return False
    counts = db.table_counts(con)
    given = sorted({s.table for s in sources if s.table})
    emptied = [x for x in ingest.TABLES if x not in given and counts[x]]

    def rows(tables: list[str]) -> str:
        return ", ".join(t("data.table_rows", table=x, n=f"{counts[x]:,}") for x in tables)

    st.warning(
        t(
            "data.own_data_confirm",
            replaced=rows(given),
            emptied=rows(emptied) or t("data.none"),
            keep=config.UNDO_KEEP,
        ),
        icon=":material/warning:",
    )
    go, cancel = st.columns(2)
    if cancel.button(t("data.own_data_cancel"), key="own_cancel", width="stretch"):
        st.session_state.pop("_crm_own_data", None)
        st.rerun()
    return go.button(t("data.own_data_go"), type="primary", key="own_go", width="stretch")


# ingest's progress messages (English, as the CLI prints them) -> the catalogue's keys.
STEPS = {
    "checking": "data.step_checking",
    "swapping in": "data.step_swapping",
    "updating the customer facts": "data.step_facts",
    batch.DAYS_STEP: "data.step_fact_days",
    "done": "data.step_done",
}


def step_text(message: str) -> str:
    """A load's progress message in the reader's language; a file name in it stays plain text
    (the progress bar's label renders Markdown)."""
    if message.startswith("reading "):
        return t("data.step_reading", file=md(message.removeprefix("reading ")))
    key = STEPS.get(message)
    return t(key) if key else md(message)


def run_load(con: db.Connection, sources: list[ingest.Source], mode: str) -> None:
    """Load the files with a progress bar; the file reports and a plain error when refused,
    else after_load (which reruns the page)."""
    bar = st.progress(0.0, t("data.starting"))

    def say(frac: float, message: str) -> None:
        bar.progress(frac, step_text(message))

    with exclusive_load():  # one load at a time; a second one waits, then is told why
        try:
            result = ingest.load(con, sources, mode, progress=say)
        except ingest.IngestError as e:
            report_messages(e.reports)
            st.error(t("data.nothing_loaded") + ("" if e.reports else f" {md_lines(e)}"))
            return
    after_load(result, mode)  # reruns: the sidebar and the history show the new load


def upload_panel(up: Any, key: str) -> ingest.Source | None:
    """One uploaded file: facts, encoding and table choice, editable mapping, preview; the
    source to load."""
    with st.expander(f"{md(up.name)} · {up.size / 1e6:.1f} MB", expanded=True):
        try:
            staged = session_uploads().stage(up.file_id, up.name, up, up.size)
        except uploads.UploadRefused as e:
            st.error(t(f"security.upload_{e.key}", file=md(up.name), **e.facts))
            return None
        st.session_state[f"{key}_path"] = str(staged)
        encoding = encoding_choice(key)
        try:
            report = ingest.inspect(
                ingest.Source(
                    Path(st.session_state[f"{key}_path"]), name=up.name, encoding=encoding
                )
            )
        except ingest.IngestError as e:
            if e.reports:
                report_messages(e.reports)
            else:
                st.error(md_lines(e))
            return None
        st.caption(
            t(
                "data.file_facts",
                encoding=md(i18n.encoding_label(report.encoding, lang()))
                + ("" if encoding else t("data.detected")),
                delimiter=md(i18n.delimiter_label(report.delimiter, lang())),
                n=len(report.headers),
            )
        )
        source = mapping_editor(report, key)
        if source is not None:
            source.encoding = encoding
        st.dataframe(report.preview, hide_index=True, height=200, placeholder=i18n.MISSING)
        return source


def mapping_editor(report: ingest.FileReport, key: str) -> ingest.Source | None:
    """Table choice + editable header mapping for one uploaded file; returns the source to load."""
    tables, here = list(ingest.TABLES), lang()
    table = st.selectbox(
        t("data.table"),
        tables,
        format_func=lambda name: i18n.table_label(name, here),
        key=f"{key}_table",
        index=tables.index(report.table) if report.table in tables else None,
        placeholder=t("data.choose_table"),
    )
    if table is None:
        st.warning(t("data.unknown_table"))
        return None
    if table != report.table:
        report = ingest.inspect(
            ingest.Source(
                Path(st.session_state[f"{key}_path"]),
                table,
                encoding=st.session_state.get(f"{key}_encoding") or None,
            )
        )
    targets = [""] + [c.name for c in ingest.TABLES[table].columns]
    # The choices are the fields' words (the grid's cells and its screen-reader text alike);
    # the English names are in the column's help.
    named = {i18n.field_label(c, here): c for c in targets}
    word = {c: w for w, c in named.items()}
    required = set(ingest.TABLES[table].required)
    guesses(report)
    fc, mt, nt, ex = t("data.file_column"), t("data.maps_to"), t("data.note"), t("data.example")
    notes = guess_notes(report)
    frame = pd.DataFrame(
        {
            fc: report.headers,
            mt: [word.get(report.mapping.get(h, ""), word[""]) for h in report.headers],
            nt: [notes.get(h, "") for h in report.headers],
            ex: [
                str(report.preview[h].iloc[0])
                if report.preview is not None and len(report.preview)
                else ""
                for h in report.headers
            ],
        }
    )
    edited = st.data_editor(
        frame,
        key=f"{key}_map_{table}",
        hide_index=True,
        width="stretch",
        disabled=[fc, nt, ex],
        column_config={
            mt: st.column_config.SelectboxColumn(
                options=list(named),
                required=True,
                help=t("data.required", cols=field_names(sorted(required)))
                + "\n\n"
                + t("field.hint", names=", ".join(c for c in targets if c)),
            )
        },
    )
    mapping = {r[fc]: named.get(r[mt], "") if r[mt] else "" for _, r in edited.iterrows()}
    return ingest.Source(
        Path(st.session_state[f"{key}_path"]), table, mapping, name=report.file_name
    )


def field_names(columns: list[str]) -> str:
    """Canonical fields in this session's words: 订单编号、客户编号."""
    return t("filters.joiner").join(i18n.field_label(c, lang()) for c in columns)


def guess_notes(report: ingest.FileReport) -> dict[str, str]:
    """The mapping table's note per file column: a guessed column, or a candidate of a tie."""
    notes = {g.header: t("data.guessed") for g in report.inferred.values()}
    for col, headers in report.ambiguous.items():
        for h in headers:
            notes[h] = t("data.candidate", col=i18n.field_label(col, lang()))
    return notes


def guesses(report: ingest.FileReport) -> None:
    """Say which required columns were found from the file's values (pre-selected below, to be
    confirmed) and which several columns could be, for the user to choose."""
    lines = [
        t(
            f"data.guess_{g.rule}",
            col=i18n.field_label(g.column, lang()),
            header=md(g.header),
            share=f"{g.matched / g.values:.0%}",
            distinct=f"{g.matched:,}",
            n=f"{g.values:,}",
        )
        for g in report.inferred.values()
    ]
    if lines:
        st.info(t("data.guessed_info") + "\n\n" + "\n".join(f"- {x}" for x in lines))
    for col, headers in report.ambiguous.items():
        name = i18n.field_label(col, lang())
        st.warning(t("data.ambiguous", col=name, headers="、".join(md(h) for h in headers)))


def report_lines(reports: list[ingest.FileReport]) -> list[tuple[str, str]]:
    """(kind, text) of the errors, warnings and successes of a validation or load."""
    lines = []
    for r in reports:
        here = lang()
        if r.errors:
            text = "\n".join(i18n.problem_text(p, r.file_name, here) for p in r.errors)
            lines.append(("error", md_lines(text)))
        lines += [("warning", md_lines(i18n.note_text(w, here))) for w in r.warnings]
        if r.ok and r.rows_read:
            ok = t(
                "data.file_ok",
                file=md(r.file_name),
                table=md(i18n.table_label(r.table, lang())) if r.table else "",
                read=f"{r.rows_read:,}",
                loaded=f"{r.rows_loaded:,}",
                rejected=f"{r.rows_rejected:,}",
            )
            lines.append(("success", ok))
    return lines


def report_messages(reports: list[ingest.FileReport]) -> None:
    """Errors and warnings of a validation or load, each naming its file."""
    for kind, text in report_lines(reports):
        getattr(st, kind)(text)


def history_table(hist: pd.DataFrame) -> None:
    """The load history with its warnings decoded."""
    show = hist.drop(columns=["sha256"]).copy()
    show["warnings"] = show["warnings"].map(lambda w: len(json.loads(w)) if w else 0)
    here = lang()
    words = {  # codes in words; a missing value (an emptied table has no file) stays missing
        "table_name": lambda x: i18n.table_label(x, here),
        "mode": lambda x: i18n.value_label("load_mode", x, here),
        "status": lambda x: i18n.value_label("load_status", x, here),
        "encoding": lambda x: i18n.encoding_label(x, here),
    }
    for col, say in words.items():
        show[col] = show[col].map(say, na_action="ignore")
    labelled_table(show, "data.hist", width="stretch")
