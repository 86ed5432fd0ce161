"""Presentation mode: the slide in the URL, the slides built once for all sessions, the chrome hidden."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any, overload

import streamlit as st

from crm_core.app import meeting
from crm_core.app.ui.connection import cached, db_path, read_version
from crm_core.app.ui.language import md, t
from crm_core.app.ui.session import scope
from crm_core.engine import db
from crm_core.engine.lru import LRU
from crm_core.metrics.filters import Filters
from crm_core.present import slides as slides_mod
from crm_core.present.text import safe_figure


def hide_sidebar() -> None:
    """Presentation mode: no sidebar, no header chrome, wider content."""
    st.html(
        "<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],"
        "header[data-testid='stHeader'],.st-key-slide_remote_keys{display:none}"
        ".block-container{padding-top:1rem;padding-bottom:1rem;max-width:100%}</style>"
    )


def slide_index(n: int) -> int:
    """The 0-based slide from ?slide= (1-based in the URL); a bad value shows a note."""
    raw = st.query_params.get("slide")
    if raw is None:
        return 0
    try:
        i = int(raw) - 1
    except ValueError:
        i = -1
    if not 0 <= i < n:
        st.caption(t("common.bad_param", name="slide", value=md(raw[:60])))
        return 0
    return i


def goto_slide(i: int, n: int) -> None:
    """Button callback: move to slide i (0-based), kept in the URL."""
    st.query_params["slide"] = str(min(max(i, 0), n - 1) + 1)


# Prepared slides per (database, snapshot, data version, scope, filters, language), for every
# session of the process: a room opening the presentation builds the deck once, not once each.
_PREPARED_MAX = 16
_PREPARED: LRU[tuple[Any, ...], tuple[Any, ...]] = LRU(_PREPARED_MAX)


def prepared_slides(
    con: db.Connection, f: Filters, lang: str
) -> tuple[list[slides_mod.Slide], Sequence[Any], dt.date | None]:
    """Every slide, its figure styled for the screen (large type, escaped text) and the data
    date, built once per (database, snapshot, data version, scope, filters, language) for every
    session of the process (the _PREPARED_MAX most recent are kept) and kept as they are:
    changing slides then runs no query and copies no figure. Not st.cache_data, which would
    unpickle every figure on every rerun. The slides and figures are shared: never change them."""
    version = read_version(con)  # once per render, as ui.cached reads it
    # The meeting snapshot this session reads (None: live data) is part of the key too.
    snap = st.session_state.get("_crm_snapshot")
    key = (str(db_path()), snap, version, scope(), f, lang)
    held = _PREPARED.get(key)
    if held is None:
        found = cached(meeting.all_slides, con, f, lang)  # stored for every process
        held = (found, _ScreenFigures(found), cached(meeting.data_date, con, f))
        _PREPARED.put(key, held)
    return held[0], held[1], held[2]


class _ScreenFigures(Sequence[Any]):
    """Each slide's figure styled for the screen (large type, escaped text), styled when its
    slide is first shown and kept for every session: a presentation opens on one slide, so the
    others (0.03 s each) are not styled before it can be drawn."""

    def __init__(self, found: list[slides_mod.Slide]) -> None:
        self._found = found
        self._styled: dict[int, Any] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._found)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        k = range(len(self))[i]  # IndexError as a list's
        with self._lock:
            if k not in self._styled:
                styled = slides_mod.presentation_style(self._found[k].figure)
                self._styled[k] = safe_figure(styled)
            return self._styled[k]


def present_back_link() -> None:
    """The way out of presentation mode: to the Overview, keeping language and filters."""
    keep = {k: v for k, v in st.query_params.to_dict().items() if k != "slide"}
    st.page_link(
        "pages/overview.py", label=t("present.exit"), icon=":material/close:", query_params=keep
    )
