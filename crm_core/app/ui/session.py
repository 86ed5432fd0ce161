"""What a session keeps across runs (account, scope, filters, notes, messages); page guard."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from crm_core.app import auth
from crm_core.app.ui.language import lang, t
from crm_core.metrics.filters import Filters


def page_guard() -> None:
    """Re-run through app.py when Streamlit's legacy pages/ runner started this page directly.

    With a top-level pages/ folder, the first session after a server start that opens a deep
    link (/data) runs pages/data.py without app.py: no layout, no sidebar, no language. Clearing
    the flag the way st.navigation does and rerunning makes app.py run, then this same page.
    """
    legacy = bool(PagesManager.uses_pages_directory) or _called_from("_mpa_v1")
    if legacy:
        PagesManager.uses_pages_directory = False
        st.rerun()
    if st.session_state.get(_ACCOUNT) is None:
        st.stop()  # app.py's sign-in gate has not let this session in: draw nothing


def pages(spec: list[tuple[str, str, str]]) -> list[Any]:
    """The st.Page of each (file, message key of its title, icon), the first the default, made
    once per session and language. Streamlit resolves a page file's real path each time it
    makes a Page: a dozen file-system calls per render, each giving up the interpreter lock,
    which in a room of sessions waits its turn to come back. A session's runs follow one
    another, so its pages are never in two runs at once."""
    key = (lang(), tuple(spec))
    held = st.session_state.get(_PAGES)
    if held is None or held[0] != key:
        made = [st.Page(f, title=t(k), icon=i, default=n == 0) for n, (f, k, i) in enumerate(spec)]
        held = st.session_state[_PAGES] = (key, made)
    return list(held[1])


_PAGES = "_crm_pages"


def _called_from(function: str) -> bool:
    """Whether a function of this name is on the current thread's call stack. Frames are walked
    as they are: inspect.stack() would also look up each frame's source file and module, 0.15 s
    the first time in a process (every page's first open) for names that are not used."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def viewer_scope() -> Filters | None:
    """What this session's user may see (Filters with regions / owners set by sign-in), or None
    for an unrestricted viewer. Snapshots made under a wider scope are refused to them."""
    regions, owners = scope()
    return Filters(regions=regions, owners=owners) if regions or owners else None


def param_notes() -> list[tuple[str, str]]:
    """URL parameters of this run that were invalid and replaced by defaults."""
    return list(st.session_state.get("_crm_param_notes", []))


def set_scope(regions: tuple[str, ...] = (), owners: tuple[str, ...] = ()) -> None:
    """Restrict this session to these regions / owners (empty = unrestricted): the sidebar offers
    only them, and every page's filters (ui.filters()) carry them as Filters.regions / owners."""
    st.session_state["_crm_scope"] = (tuple(regions), tuple(owners))


def scope() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """This session's (regions, owners) scope; ((), ()) = unrestricted."""
    return st.session_state.get("_crm_scope", ((), ()))


def filters() -> Filters:
    """The global filters chosen in the sidebar of this run, always within the session's scope
    (a page that runs before the sidebar still gets the scope)."""
    f = st.session_state.get("_crm_filters", Filters())
    return f.within_scope(*scope())


def flash(message: str | None = None, kind: str = "success") -> None:
    """Keep a message (st.success / warning / error) across st.rerun(), or, with no argument,
    show the kept messages in order and forget them."""
    if message is not None:
        st.session_state.setdefault("_crm_flash", []).append((kind, message))
        return
    for kept_kind, kept in st.session_state.pop("_crm_flash", []):
        getattr(st, kept_kind)(kept)


_ACCOUNT = "_crm_account"  # session_state: the signed-in auth.Account (None: nobody)


def account() -> auth.Account | None:
    """The account the sign-in gate let in for this run (None before the gate)."""
    return st.session_state.get(_ACCOUNT)


def can(permission: str) -> bool:
    """Whether this session's account may do `permission` (auth.PERMISSIONS)."""
    who = account()
    return who is not None and who.can(permission)
