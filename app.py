"""CRM Lens entry point: page config, shared sidebar, navigation over pages/."""

import streamlit as st

from crm_core import ui

st.set_page_config(page_title="CRM Lens", page_icon="🔎", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
    st.Page("pages/data.py", title="Data", icon="📥"),
]

nav = st.navigation(PAGES)
con = ui.connection()
ui.sidebar(con)
nav.run()
