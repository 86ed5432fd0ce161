"""CRM Lens entry point: page config, language, navigation over pages/, shared sidebar."""

import streamlit as st

from crm_core import ui

st.set_page_config(page_title="CRM Lens", page_icon="🔎", layout="wide")
ui.language_switch()

# (file, message key of its title, icon); the first page is the default, served at "/".
PAGES = [
    ("pages/overview.py", "nav.overview", "📊"),
    ("pages/weekly.py", "nav.weekly", "🗓️"),
    ("pages/present.py", "nav.present", "🎞️"),
    ("pages/data.py", "nav.data", "📥"),
]

nav = st.navigation(
    [st.Page(f, title=ui.t(k), icon=i, default=n == 0) for n, (f, k, i) in enumerate(PAGES)]
)
ui.sidebar(ui.connection())
nav.run()
