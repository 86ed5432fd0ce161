"""Data: upload CSV exports, check the mapping, validate, load, and roll back a load."""

import streamlit as st

from crm_core import ingest, ui

ui.page_guard()

st.title("Data")
con = ui.connection()
files = st.file_uploader("CSV exports (UTF-8, GBK/GB18030, UTF-16 …)", type=["csv", "txt", "tsv"],
                         accept_multiple_files=True, key="uploads")
sources: list[ingest.Source] = []
for i, up in enumerate(files or []):
    with st.expander(f"{up.name} · {up.size / 1e6:.1f} MB", expanded=True):
        key = f"file{i}"
        st.session_state[f"{key}_path"] = str(ingest.stage_upload(up.getvalue(), up.name,
                                                                  ui.upload_dir()))
        try:
            report = ingest.inspect(ingest.Source(st.session_state[f"{key}_path"], name=up.name))
        except ingest.IngestError as e:
            st.error(str(e))
            continue
        st.caption(f"Encoding {report.encoding} · delimiter {report.delimiter!r} · "
                   f"{len(report.headers)} columns")
        source = ui.mapping_editor(report, key)
        st.dataframe(report.preview, hide_index=True, height=200)
        if source:
            sources.append(source)

if sources:
    mode = st.radio("Mode", ingest.MODES, horizontal=True, help="replace the tables of these "
                    "files, or append and update rows with the same key")
    skip = st.checkbox("Skip bad rows (keep them in the reject log) instead of refusing a file")
    for s in sources:
        s.skip_bad_rows = skip
    check, go = st.columns(2)
    if check.button("Validate", width="stretch"):
        ui.report_messages(ingest.validate(sources))
    if go.button("Load", type="primary", width="stretch"):
        bar = st.progress(0.0, "starting")
        try:
            result = ingest.load(con, sources, mode, progress=lambda f, m: bar.progress(f, m))
            ui.report_messages(result.reports)
            st.success(f"Load {result.load_id} committed.")
        except ingest.IngestError as e:
            ui.report_messages(e.reports or [])
            st.error(f"Nothing was loaded. {e}" if not e.reports else "Nothing was loaded.")

st.subheader("Load history")
hist = ingest.load_history(con)
if hist.empty:
    st.caption("No loads yet.")
else:
    ui.history_table(hist)
    undoable = hist[hist["can_roll_back"]]["load_id"].drop_duplicates().tolist()
    if undoable:
        target = st.selectbox("Roll back to the state before load", undoable, index=None)
        if target and st.button(f"Roll back load {target} and every later load"):
            st.success(f"Rolled back load(s) {ingest.rollback_to_before(con, int(target))}.")
            st.rerun()
