"""Data: upload CSV exports, check the mapping, validate, load, and roll back a load."""

import streamlit as st

from crm_core import ingest
from crm_core.app import ui

ui.page_guard()

st.title(ui.t("data.title"))
con = ui.connection()
ui.flash()
files = (
    st.file_uploader(
        ui.t("data.uploader"),
        type=["csv", "txt", "tsv"],
        accept_multiple_files=True,
        key=ui.uploader_key(),  # a new key after each load: an empty uploader
    )
    if ui.can("load")
    else ui.read_only_note()
)
ui.keep_uploads(files)
ui.uploader_chrome()
sources = [s for i, up in enumerate(files or []) if (s := ui.upload_panel(up, f"file{i}"))]

if sources:
    mode = ui.load_mode(con, sources)
    skip = st.checkbox(ui.t("data.skip_bad"))
    for s in sources:
        s.skip_bad_rows = skip
    check, go = st.columns(2)
    if check.button(ui.t("data.validate"), width="stretch"):
        ui.report_messages(ingest.validate(sources))
    if go.button(ui.t("data.load"), type="primary", width="stretch"):
        ui.require(ui.LOAD_PERMISSION[mode])
        ui.run_load(con, sources, mode)
    if ui.can(ui.LOAD_PERMISSION["replace-all"]) and ui.start_with_own_data(con, sources):
        ui.require(ui.LOAD_PERMISSION["replace-all"])
        ui.run_load(con, sources, "replace-all")

st.subheader(ui.t("data.history"))
hist = ingest.load_history(con)
if hist.empty:
    st.caption(ui.t("data.no_history"))
else:
    ui.history_table(hist)
    undoable = hist[hist["can_roll_back"]]["load_id"].drop_duplicates().tolist()
    undoable = undoable if ui.can("rollback") else []
    target = (
        st.selectbox(
            ui.t("data.rollback_to"),
            undoable,
            index=None,
            key="rollback",
            placeholder=ui.t("common.choose"),
        )
        if undoable
        else None
    )
    if target and st.button(ui.t("data.rollback_button", id=target)):
        ui.require("rollback")
        with ui.exclusive_load():
            ids = ingest.rollback_to_before(con, int(target))
        ui.rolled_back(ids)
        st.rerun()

if ui.can("manage_users"):
    ui.users_panel()
if ui.can("audit"):
    ui.audit_panel()
