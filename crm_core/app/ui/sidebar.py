"""The shared sidebar: database facts, the global filters mirrored in the URL, customer search."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from crm_core.app.ui.connection import db_path, db_target
from crm_core.app.ui.context import LastLoad, facts
from crm_core.app.ui.language import lang, md, t
from crm_core.app.ui.session import param_notes, scope
from crm_core.app.ui.snapshots import snapshot_control
from crm_core.engine import backends, db
from crm_core.metrics import customer360
from crm_core.metrics.filters import DIMENSIONS, Filters
from crm_core.present import i18n


def _server_name() -> str:
    """A PostgreSQL / Spark target as the sidebar shows it (no password)."""
    return backends.parse_target(db_target()).display


def last_load_text(last: LastLoad | None) -> str:
    """The sidebar's words for the newest live load: "#id file · finished", the file name
    escaped, or how many files it read; "no load" for None."""
    if last is None:
        return _no_load()
    n = len(last.files)
    files = md(last.files[0]) if n == 1 else t("sidebar.files", n=n)
    return f"#{last.load_id} {files} · {last.finished}"


def demo_note(demo: list[str], every: bool) -> None:
    """Sidebar: say so while (some of) the data shown is still the demo company's (`demo`:
    ingest.demo_tables; `every`: whether that is every demo table, DataFacts.demo_all)."""
    if not demo:
        return
    if every:
        text = t("sidebar.demo_all")
    else:
        text = t("sidebar.demo_some", tables=", ".join(demo))
    st.sidebar.info(text, icon=":material/science:")


def _no_load() -> str:
    return t("sidebar.no_load")


def sidebar(con: db.Connection) -> Filters:
    """The shared sidebar: database facts and the global filters (mirrored in the URL), within
    the session's scope (set_scope): a URL value outside it is refused with a note."""
    data = facts(con)  # one cached read per data version and scope, not five queries a run
    rng, period, options = data.range, data.period, data.options
    regions, owners = scope()
    _check_params(options)
    with st.sidebar:
        name = db_path().name if db.is_duckdb(con) else _server_name()
        st.caption(t("sidebar.database", name=md(name), last=last_load_text(data.last_load)))
        demo_note(data.demo, data.demo_all)
        if rng:
            st.caption(
                t(
                    "sidebar.range",
                    first=i18n.fmt_date(rng[0], lang()),
                    last=i18n.fmt_date(rng[1], lang()),
                )
            )
        start = end = None
        if rng and period:
            start = st.date_input(
                t("sidebar.from"),
                value=period.start,
                min_value=rng[0] - dt.timedelta(days=3650),
                max_value=rng[1],
                key="start",
                bind="query-params",
            )
            end = st.date_input(
                t("sidebar.to"),
                value=period.end,
                min_value=rng[0] - dt.timedelta(days=3650),
                max_value=rng[1] + dt.timedelta(days=3650),
                key="end",
                bind="query-params",
            )
            if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
                st.warning(t("sidebar.bad_range"))
                start, end = period.start, period.end
        values: dict[str, Any] = {}
        for dim in DIMENSIONS:
            opts = options.get(dim, [])
            if not opts:
                continue
            values[dim] = st.selectbox(
                t(f"dim.{dim}"),
                opts,
                index=None,
                placeholder=t("sidebar.all"),
                key=dim,
                bind="query-params",
            )
    snapshot_control()
    f = Filters(
        start=start if isinstance(start, dt.date) else None,
        end=end if isinstance(end, dt.date) else None,
        **values,
    ).within_scope(regions, owners)
    # A refused link parameter is said until the filters change: the run that dropped it from
    # the URL may be followed by an automatic rerun, which must not take the note away.
    held = st.session_state.get("_crm_param_notes_held")
    if notes := param_notes():
        held = (f, notes)
    elif held is not None and held[0] != f:
        held = None
    st.session_state["_crm_param_notes_held"] = held
    for name, value in held[1] if held else []:
        st.sidebar.warning(t("common.bad_param", name=md(name), value=md(value[:60])))
    st.session_state["_crm_param_notes"] = []
    st.session_state["_crm_filters"] = f
    customer_search(con, f)
    return f


CUSTOMER_PAGE = "pages/customer.py"


def _open_customer() -> None:
    # Widget callbacks cannot switch pages: remember the choice, customer_search() acts on it.
    chosen = st.session_state.get("_crm_customer_pick")
    if chosen:
        st.session_state["_crm_open_customer"] = chosen
        st.session_state["_crm_customer_pick"] = None


def customer_search(con: db.Connection, f: Filters) -> None:
    """The sidebar's customer search: a text box (id or name, customer360.search within the
    filters and scope) and the matches as choices; choosing one opens the Customer 360 page
    (/customer?id=…)."""
    with st.sidebar:
        q = st.text_input(
            t("customer.search"), key="_crm_customer_q", placeholder=t("customer.search_help")
        )
        if q and q.strip():
            hits = customer360.search(con, q, f)
            if hits.empty:
                st.caption(t("customer.no_match"))
            else:
                labels = {
                    str(cid): f"{name} · {cid}" if isinstance(name, str) and name else str(cid)
                    for cid, name in zip(hits["customer_id"], hits["name"], strict=True)
                }
                st.selectbox(
                    t("customer.pick"),
                    list(labels),
                    index=None,
                    placeholder=t("common.choose"),
                    format_func=labels.__getitem__,
                    key="_crm_customer_pick",
                    on_change=_open_customer,
                )
    chosen = st.session_state.pop("_crm_open_customer", None)
    if chosen:
        open_customer(chosen)


def _check_params(options: dict[str, list[str]]) -> None:
    # Bound widgets drop an invalid URL value silently; say so, as a shared link was changed.
    notes = param_notes()
    params = st.query_params.to_dict()  # one read; .get on each name as query_params.get
    for dim in DIMENSIONS:
        raw = params.get(dim)
        if raw is not None and raw != "" and raw not in options.get(dim, []):
            notes.append((dim, raw))
    for name in ("start", "end"):
        raw = params.get(name)
        if raw:
            try:
                dt.date.fromisoformat(raw)
            except ValueError:
                notes.append((name, raw))
    raw = params.get("lang")
    if raw is not None and raw not in i18n.LANGS:
        notes.append(("lang", raw))
    st.session_state["_crm_param_notes"] = notes


def open_customer(customer_id: Any) -> None:
    """Switch to the Customer 360 page of `customer_id` (/customer?id=…), keeping ?lang=."""
    params = {"id": str(customer_id)}
    if st.query_params.get("lang") in i18n.LANGS:
        params["lang"] = st.query_params["lang"]
    st.switch_page(CUSTOMER_PAGE, query_params=params)
