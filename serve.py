"""Deployment entry point: app.py served with security headers (`streamlit run serve.py`)."""

import streamlit as st
from starlette.middleware import Middleware

from crm_core.web import SecurityHeaders

app = st.App("app.py", middleware=[Middleware(SecurityHeaders)])
