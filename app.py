"""CRM Lens entry point: page config, language, sign-in gate, navigation over pages/, sidebar."""

import streamlit as st

from crm_core.app import ui

st.set_page_config(page_title="CRM Lens", page_icon=":material/insights:", layout="wide")
ui.language_switch()

# (file, message key of its title, Material icon); the first page is the default, served at "/".
# Material icons, not emoji: a projector PC or a server-side screenshot may lack an emoji font.
PAGES = [
    ("pages/overview.py", "nav.overview", ":material/dashboard:"),
    ("pages/pyramid.py", "nav.pyramid", ":material/change_history:"),
    ("pages/weekly.py", "nav.weekly", ":material/calendar_month:"),
    ("pages/churn_clv.py", "nav.churn_clv", ":material/hourglass_bottom:"),
    ("pages/affinity.py", "nav.affinity", ":material/add_shopping_cart:"),
    ("pages/channels.py", "nav.channels", ":material/campaign:"),
    ("pages/lifecycle.py", "nav.lifecycle", ":material/cycle:"),
    ("pages/pipeline.py", "nav.pipeline", ":material/filter_alt:"),
    ("pages/complaints.py", "nav.complaints", ":material/feedback:"),
    ("pages/customer.py", "nav.customer", ":material/person_search:"),
    ("pages/present.py", "nav.present", ":material/slideshow:"),
    ("pages/glossary.py", "nav.glossary", ":material/menu_book:"),
    ("pages/data.py", "nav.data", ":material/upload_file:"),
]

# Nobody signed in: no menu and no page, only the sign-in form (the URL, a deep link included,
# is kept, so the page opens once signed in). docs/security.md.
account = ui.current_account()
nav = st.navigation(
    ui.pages(PAGES),
    position="sidebar" if account else "hidden",
    expanded=True,  # every page listed: Streamlit folds more than 10 behind an English "View more"
)
ui.sign_in_gate(account)
con = ui.connection()
with ui.consistent_read(con):
    ui.sidebar(con)
    nav.run()
