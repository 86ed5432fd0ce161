"""Deployment entry point: app.py served with security headers (`streamlit run serve.py`), the
process prepared at start (imports, catalogue: crm_core/app/startup.py) so that a first open does
not wait for it, and the weekly digest sent from the app's own process when $CRM_LENS_DIGEST_AT
is set."""

import contextlib
import os

import streamlit as st
from starlette.middleware import Middleware

from crm_core.app import scheduler, startup
from crm_core.app.web import SecurityHeaders


@contextlib.asynccontextmanager
async def lifespan(_app):  # type: ignore[no-untyped-def]
    startup.prepare_in_background()
    # DuckDB lets one process hold the file: the digest runs here, not from cron (README).
    when = os.environ.get("CRM_LENS_DIGEST_AT")
    stop = scheduler.start(when) if when else None
    try:
        yield None
    finally:
        if stop is not None:
            stop.set()


app = st.App("app.py", middleware=[Middleware(SecurityHeaders)], lifespan=lifespan)
