"""Definitions: what each figure counts, one click from every page."""

import streamlit as st

from crm_core.app import ui
from crm_core.present import glossary

ui.page_guard()

st.title(ui.t("glossary.title"))
st.caption(ui.t("glossary.caption"))
for section, terms in glossary.entries(ui.lang()):
    st.subheader(section)
    for term, definition in terms:
        st.markdown(f"**{term}**  \n{definition}")
