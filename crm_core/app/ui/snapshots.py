"""The sidebar's meeting-snapshot widgets: freeze the view as a shareable link, or go live."""

from __future__ import annotations

import streamlit as st

from crm_core.app import snapshot
from crm_core.app.ui.connection import _shared_connection, db_path, db_target
from crm_core.app.ui.language import lang, t
from crm_core.app.ui.session import viewer_scope
from crm_core.app.ui.signin import audit, require
from crm_core.engine import backends
from crm_core.present import i18n


def active_snapshot() -> snapshot.SnapshotInfo | None:
    """The snapshot this session's view is frozen at, or None for live data."""
    if st.session_state.get("_crm_snapshot") is None:
        return None
    return st.session_state.get("_crm_snapshot_info")


def _freeze() -> None:
    account = require("freeze")
    path = db_path()
    con = _shared_connection(str(path))
    sid = snapshot.freeze(con, path, scope=viewer_scope(), created_by=account.name)
    audit(account, "snapshot", f"froze the view as snapshot {sid}")
    st.query_params["snapshot"] = sid


def _unfreeze() -> None:
    del st.query_params["snapshot"]


def snapshot_control() -> None:
    """Sidebar: freeze the view for a meeting (a shareable link), or go back to live data."""
    if backends.is_remote(db_target()):
        return  # snapshots are DuckDB files (crm_core/snapshot.py)
    frozen = active_snapshot()
    with st.sidebar:
        if frozen is None:
            st.button(
                t("snapshot.freeze"),
                icon=":material/push_pin:",
                on_click=_freeze,
                help=t("snapshot.freeze_help"),
                width="stretch",
            )
        else:
            expires = i18n.fmt_date(frozen.expires_at.date(), lang())
            st.info(
                t("snapshot.frozen_until", id=frozen.load_id, expires=expires),
                icon=":material/push_pin:",
            )
            st.button(t("snapshot.live"), on_click=_unfreeze, width="stretch")
