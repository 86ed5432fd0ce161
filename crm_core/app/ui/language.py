"""The session's language: catalogue messages, numbers, escaped user text, the zh / en switch."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm_core.present import i18n
from crm_core.present.text import md_escape


def lang() -> str:
    """The UI language of this session: ?lang= in the URL, else the browser's locale."""
    # to_dict().get: what query_params.get("lang") answers, without the KeyError (and the
    # message built for it) that a URL without ?lang= costs on every call.
    chosen = st.query_params.to_dict().get("lang")
    if chosen in i18n.LANGS:
        return chosen
    locale = (getattr(st.context, "locale", None) or "").lower()
    return "en" if locale and not locale.startswith("zh") else i18n.DEFAULT_LANG


def t(key: str, **kwargs: Any) -> str:
    """The catalogue message `key` in this session's language."""
    return i18n.t(key, lang(), **kwargs)


def md(value: Any) -> str:
    """User-derived text (a file name, cell value, URL parameter) for a Streamlit call that
    renders Markdown (caption, warning, subheader, label, metric label): shown literally."""
    return md_escape(value)


def md_lines(value: Any) -> str:
    """Like md, for a multi-line message (an ingest error naming files, rows and values)."""
    return md_escape(value, keep_newlines=True)


def num(x: Any, decimals: int = 0) -> str:
    """A number formatted for this session's language (万/亿 in Chinese)."""
    return i18n.fmt_number(x, lang(), decimals)


def _on_language() -> None:
    st.query_params["lang"] = st.session_state["_crm_lang"]


def language_switch() -> str:
    """The zh / en switch at the top of the sidebar, kept in the URL as ?lang=zh|en."""
    current = lang()
    if st.session_state.get("_crm_lang") != current:
        st.session_state["_crm_lang"] = current
    with st.sidebar:
        st.selectbox(
            "语言 / Language",
            i18n.LANGS,
            key="_crm_lang",
            on_change=_on_language,
            format_func=lambda x: {"zh": "中文", "en": "English"}[x],
        )
    return current


def labels(prefix: str) -> dict[str, str]:
    """Every message under `prefix.` in this session's language, keyed by the rest of its key."""
    n = len(prefix) + 1
    return {k[n:]: t(k) for k in i18n.catalogue() if k.startswith(prefix + ".")}
