"""The only crm_core module that imports streamlit: connection, page guard, sidebar, filters."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import inspect as pyinspect
import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from crm_core import ingest
from crm_core.app import auth, snapshot
from crm_core.engine import backends, config, db, summaries
from crm_core.engine.config import currency as currency_symbol
from crm_core.ingest import uploads
from crm_core.metrics import customer360, overview
from crm_core.metrics.filters import DIMENSIONS, Filters, filter_options
from crm_core.present import caveat_text, i18n
from crm_core.present import slides as slides_mod
from crm_core.present.filter_text import not_applied_note
from crm_core.present.text import md_escape, safe_figure


def lang() -> str:
    """The UI language of this session: ?lang= in the URL, else the browser's locale."""
    chosen = st.query_params.get("lang")
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


def page_guard() -> None:
    """Re-run through app.py when Streamlit's legacy pages/ runner started this page directly.

    With a top-level pages/ folder, the first session after a server start that opens a deep
    link (/data) runs pages/data.py without app.py: no layout, no sidebar, no language. Clearing
    the flag the way st.navigation does and rerunning makes app.py run, then this same page.
    """
    legacy = bool(PagesManager.uses_pages_directory) or any(
        f.function == "_mpa_v1" for f in pyinspect.stack(context=0)
    )
    if legacy:
        PagesManager.uses_pages_directory = False
        st.rerun()
    if st.session_state.get(_ACCOUNT) is None:
        st.stop()  # app.py's sign-in gate has not let this session in: draw nothing


@st.cache_resource(show_spinner="Opening the database …")
def _shared_connection(path: str) -> db.Connection:
    db.private_umask()
    con = db.connect(path)
    empty = con.execute("SELECT count(*) FROM load_history").fetchone()[0] == 0  # type: ignore[index]
    if empty and not any(db.table_counts(con).values()):
        # First start with no data: managers should see real numbers at once.
        ingest.load_demo(con)
    summaries.ensure(con)
    if db.is_duckdb(con):
        snapshot.expire(Path(path))  # links past CRM_LENS_SNAPSHOT_DAYS go at start-up too
    return con


def _secret_db() -> str | None:
    try:
        return st.secrets.get("CRM_LENS_DB")
    except FileNotFoundError:  # no secrets.toml: the normal case
        return None


def db_path() -> Path:
    """$CRM_LENS_DB, else `CRM_LENS_DB` in .streamlit/secrets.toml, else data/crm.duckdb."""
    return config.db_path(_secret_db())


def db_target() -> str:
    """Like db_path, as text: also a postgresql:// or spark: URL (README, Backends)."""
    return config.db_target(_secret_db())


def connection() -> db.Connection:
    """This session's cursor on the process-wide database connection; it reads the meeting
    snapshot named by ?snapshot= when there is one."""
    path = db_target()
    key = "_crm_cursor"
    cur = st.session_state.get(key)
    if cur is None or st.session_state.get("_crm_cursor_path") != path:
        cur = _shared_connection(path).cursor()
        st.session_state[key] = cur
        st.session_state["_crm_cursor_path"] = path
        st.session_state["_crm_snapshot"] = None
    if db.is_duckdb(cur):  # meeting snapshots are DuckDB files
        _follow_snapshot(cur, Path(path))
    return cur


# A render on a server engine overlapped by a load's commit is run again up to this many times.
RERENDERS = 3


@contextlib.contextmanager
def consistent_read(con: db.Connection) -> Iterator[None]:
    """Run one page render in one read transaction: every query of the page sees the same data,
    even when a load commits half-way through the render.

    DuckDB gives the render a snapshot. PostgreSQL reads each statement's committed data (a
    page-long snapshot would block a load's swap), so a render that a load's commit overlapped is
    run again (at most RERENDERS times in a row): the render left on screen is all old or all new.
    """
    con.execute("BEGIN TRANSACTION")
    stale = False
    try:
        yield
        stale = db.changed_since_begin(con)
    finally:
        con.execute("ROLLBACK")  # read-only: nothing to keep; ends the snapshot
    tries = st.session_state.get("_crm_rerenders", 0)
    if stale and tries < RERENDERS:
        st.session_state["_crm_rerenders"] = tries + 1
        st.rerun()
    st.session_state["_crm_rerenders"] = 0


def fresh_read(con: db.Connection) -> None:
    """Move this render's read transaction forward (after this session committed a load)."""
    con.execute("ROLLBACK")
    con.execute("BEGIN TRANSACTION")


def _follow_snapshot(cur: db.Connection, path: Path) -> None:
    raw = st.query_params.get("snapshot")
    found = snapshot.info(path, raw) if raw is not None else None
    if found is not None and not snapshot.can_view(found, viewer_scope()):
        found = None  # said like an unknown link: the id's existence is not revealed
    if raw is not None and found is None:
        st.session_state["_crm_param_notes"] = [*param_notes(), ("snapshot", raw[:60])]
    wanted = found.id if found else None
    if wanted != st.session_state.get("_crm_snapshot"):
        snapshot.use(cur, path, wanted)
        st.session_state["_crm_snapshot"] = wanted
        st.session_state["_crm_snapshot_info"] = found


def viewer_scope() -> Filters | None:
    """What this session's user may see (Filters with regions / owners set by sign-in), or None
    for an unrestricted viewer. Snapshots made under a wider scope are refused to them."""
    regions, owners = scope()
    return Filters(regions=regions, owners=owners) if regions or owners else None


def active_snapshot() -> snapshot.SnapshotInfo | None:
    """The snapshot this session's view is frozen at, or None for live data."""
    if st.session_state.get("_crm_snapshot") is None:
        return None
    return st.session_state.get("_crm_snapshot_info")


def param_notes() -> list[tuple[str, str]]:
    """URL parameters of this run that were invalid and replaced by defaults."""
    return list(st.session_state.get("_crm_param_notes", []))


def _freeze() -> None:
    account = require("freeze")
    path = db_path()
    con = _shared_connection(str(path))
    sid = snapshot.freeze(con, path, scope=viewer_scope(), created_by=account.name)
    audit(account, "snapshot", f"froze the view as snapshot {sid}")
    st.query_params["snapshot"] = sid


def _unfreeze() -> None:
    del st.query_params["snapshot"]


def _server_name() -> str:
    """A PostgreSQL / Spark target as the sidebar shows it (no password)."""
    return backends.parse_target(db_target()).display


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


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_call(
    target: str, path: str, version: tuple, args: tuple, kwargs: tuple, _con: db.Connection
) -> Any:
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)(_con, *args, **dict(kwargs))


def cached(fn: Any, con: db.Connection, *args: Any, **kwargs: Any) -> Any:
    """fn(con, *args, **kwargs), computed once per (database file, loads, arguments).

    For slow results such as model fits: a load or a rollback changes the data version and so
    recomputes; `fn` must be a module-level crm_core function and the arguments hashable.
    Exceptions are not cached.
    """
    version = tuple(db.query_rows(con, "data_version")[0])
    target = f"{fn.__module__}.{fn.__qualname__}"
    items = tuple(sorted(kwargs.items()))
    # The signed-in scope is part of the key even when a call's arguments do not carry it.
    return _cached_call(target, str(db_path()), (*version, scope()), args, items, _con=con)


def _last_load(hist: pd.DataFrame) -> str:
    live = hist[hist["status"] == "loaded"]
    if live.empty:
        return _no_load()
    batch = live[live["load_id"] == live["load_id"].iloc[0]]
    # A replace-all load also logs the tables it emptied, with no file.
    names = batch["file_name"].dropna()
    files = md(names.iloc[0]) if len(names) == 1 else t("sidebar.files", n=len(names))
    return f"#{batch['load_id'].iloc[0]} {files} · {pd.Timestamp(batch['finished_at'].iloc[0]):%Y-%m-%d %H:%M}"


def demo_note(con: db.Connection, hist: pd.DataFrame) -> None:
    """Sidebar: say so while (some of) the data shown is still the demo company's."""
    demo = ingest.demo_tables(con, hist)
    if not demo:
        return
    if set(demo) == set(ingest.demo_hashes()):
        text = t("sidebar.demo_all")
    else:
        text = t("sidebar.demo_some", tables=", ".join(demo))
    st.sidebar.info(text, icon=":material/science:")


def _no_load() -> str:
    return t("sidebar.no_load")


def set_scope(regions: tuple[str, ...] = (), owners: tuple[str, ...] = ()) -> None:
    """Restrict this session to these regions / owners (empty = unrestricted): the sidebar offers
    only them, and every page's filters (ui.filters()) carry them as Filters.regions / owners."""
    st.session_state["_crm_scope"] = (tuple(regions), tuple(owners))


def scope() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """This session's (regions, owners) scope; ((), ()) = unrestricted."""
    return st.session_state.get("_crm_scope", ((), ()))


def sidebar(con: db.Connection) -> Filters:
    """The shared sidebar: database facts and the global filters (mirrored in the URL), within
    the session's scope (set_scope): a URL value outside it is refused with a note."""
    rng = overview.data_range(con)
    period = overview.default_period(con)
    regions, owners = scope()
    options = filter_options(con, Filters(regions=regions, owners=owners))
    _check_params(options)
    with st.sidebar:
        name = db_path().name if db.is_duckdb(con) else _server_name()
        hist = ingest.load_history(con)
        st.caption(t("sidebar.database", name=md(name), last=_last_load(hist)))
        demo_note(con, hist)
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
    for name, value in param_notes():
        st.sidebar.warning(t("common.bad_param", name=md(name), value=md(value[:60])))
    st.session_state["_crm_param_notes"] = []
    f = Filters(
        start=start if isinstance(start, dt.date) else None,
        end=end if isinstance(end, dt.date) else None,
        **values,
    ).within_scope(regions, owners)
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
    for dim in DIMENSIONS:
        raw = st.query_params.get(dim)
        if raw is not None and raw != "" and raw not in options.get(dim, []):
            notes.append((dim, raw))
    for name in ("start", "end"):
        raw = st.query_params.get(name)
        if raw:
            try:
                dt.date.fromisoformat(raw)
            except ValueError:
                notes.append((name, raw))
    raw = st.query_params.get("lang")
    if raw is not None and raw not in i18n.LANGS:
        notes.append(("lang", raw))
    st.session_state["_crm_param_notes"] = notes


def filters() -> Filters:
    """The global filters chosen in the sidebar of this run, always within the session's scope
    (a page that runs before the sidebar still gets the scope)."""
    f = st.session_state.get("_crm_filters", Filters())
    return f.within_scope(*scope())


def period_of(con: db.Connection, f: Filters) -> overview.Period | None:
    """The filter's period, or the default 12 months when it has none."""
    if f.start and f.end:
        return overview.Period(f.start, f.end)
    return overview.default_period(con)


def metric(
    box: Any,
    label: str,
    value: Any,
    delta: Any = None,
    decimals: int = 0,
    help: str | None = None,
    delta_color: str = "normal",
    money: bool = False,
) -> None:
    """st.metric of a number in compact form (13.7K, 481M; 1.37万, 4.81亿) so that it fits a
    narrow tile instead of ending in "…"; a numeric delta likewise (a text delta is shown as it
    is). When that shortened the value or the delta, the tile's tooltip gives the exact numbers.
    `delta_color`: "inverse" for a figure whose rise is bad news (overview.delta_color).
    `money`: the value after the currency symbol (config.currency: ¥4.81亿 in Chinese)."""
    lg = lang()
    shown, exact = i18n.fmt_compact(value, lg, decimals), i18n.fmt_exact(value, decimals)
    if money and shown != i18n.MISSING:
        unit = currency_symbol(lg)
        shown, exact = unit + shown, unit + exact
    note = None
    if delta is None or isinstance(delta, str):
        delta_shown = delta
        if shown != exact:
            note = t("common.exact", value=exact)
    else:
        delta_shown = i18n.fmt_compact(delta, lg, decimals)
        delta_exact = i18n.fmt_exact(delta, decimals)
        if shown != exact or delta_shown != delta_exact:
            sign = "+" if float(delta) > 0 else ""
            note = t("common.exact_change", value=exact, change=sign + delta_exact)
    notes = [x for x in (help, note) if x]
    if delta is not None and not isinstance(delta, str) and float(delta) == 0:
        delta_color = "off"  # no change: neither good nor bad news
    box.metric(
        label, shown, delta=delta_shown, delta_color=delta_color, help="\n\n".join(notes) or None
    )


def kpi_row(deltas: pd.DataFrame, prefix: str, compare: bool = True) -> None:
    """One st.metric per KPI (label = message `prefix.<kpi>`) with its change vs the period
    before, red when a bad-news figure rises (overview.delta_color); no change for a figure that
    cannot change, nor for any when `compare` is False (the period before is nearly empty)."""
    cols = st.columns(len(deltas))
    for col, row in zip(cols, deltas.itertuples(), strict=True):
        key = f"{prefix}.{row.kpi}"
        helped = t(f"{key}_help") if i18n.has(f"{key}_help") else None  # what the figure counts
        colour = overview.delta_color(str(row.kpi))
        show = compare and row.previous and colour != "off"
        delta = row.change if show else None
        metric(
            col,
            t(key),
            row.value,
            delta,
            help=helped,
            delta_color=colour,
            money=i18n.is_money(row.kpi),
        )


def filter_line(con: db.Connection, f: Filters, container: Any = None) -> None:
    """The active filters (filter_text.active_line) as a caption under a page's title."""
    from crm_core.present.filter_text import active_line

    p = period_of(con, f)
    line = active_line(f, lang(), p.start if p else None, p.end if p else None)
    (container or st).caption(md(line))


def chart(fig: Any, name: str, container: Any = None, select: str | None = None) -> Any:
    """A plotly chart (toolbar hints in the session's language) with PNG and SVG downloads,
    rendered only when clicked. With `select` (a plotly selection mode, "points"), a click reruns
    the page and the selection event is returned (crm_core.metrics.drill.selected reads it); None
    otherwise."""
    from crm_core.present import charts, images

    box = container or st
    # Formatted hovers, then category names escaped: no <a href> links in charts or SVGs.
    fig = safe_figure(charts.localise_hovers(fig, lang()))
    config = charts.plotly_config(lang())
    if select:
        event = box.plotly_chart(
            fig, key=f"chart_{name}", config=config, on_select="rerun", selection_mode=select
        )
    else:
        event = None
        box.plotly_chart(fig, key=f"chart_{name}", config=config)

    def render(fmt: str) -> Callable[[], bytes]:
        return lambda: images.figure_image(fig, fmt)

    with box.popover("⬇", help=t("present.exports")):
        for fmt in ("png", "svg"):
            st.download_button(
                t(f"present.{fmt}"),
                data=audited_export(f"chart {name}.{fmt}", render(fmt)),
                file_name=f"{name}.{fmt}",
                mime="image/png" if fmt == "png" else "image/svg+xml",
                key=f"dl_{name}_{fmt}",
                on_click="ignore",
            )
    return event


def export_facts(table: str | None = None) -> tuple[Filters, dt.date | None, Any]:
    """What a download is named and labelled with (crm_core.present.export): this run's filters, the
    data date (slides.data_date: the filters' end, else the last order date) and the period the
    page header shows (the filters', else the default 12 months)."""
    con, f = connection(), filters()
    p = period_of(con, f)
    return f, slides_mod.data_date(con, f), (p.start, p.end) if p else None


def download_name(name: str, ext: str, table: str | None = None) -> str:
    """A download's file name with the data date and the active filters (export.file_name)."""
    from crm_core.present import export

    f, as_of, _ = export_facts(table)
    return export.file_name(name, ext, f, lang(), as_of, table)


def table_downloads(
    df: pd.DataFrame | Callable[[], pd.DataFrame], name: str, table: str | None = None
) -> None:
    """CSV and XLSX downloads of a table (or of the table a function returns, for a large one),
    formula injection neutralised, built when clicked. Both files are named with the data date
    and the active filters that apply to `table` (export.file_name); the workbook's second sheet
    holds the filter line, the data date and the row count (export.about_sheet)."""
    from crm_core.present import export

    f, as_of, period = export_facts(table)
    session_lang = lang()

    def frame_of() -> pd.DataFrame:
        return df() if callable(df) else df

    def export_of(fmt: str) -> Callable[[], tuple[bytes, int]]:
        def build() -> tuple[bytes, int]:
            frame = frame_of()
            if fmt == "csv":
                return export.safe_csv(frame), len(frame)
            about = export.about_sheet(f, session_lang, as_of, len(frame), table, period)
            return export.safe_xlsx(frame, name, about), len(frame)

        return build

    a, b = st.columns(2)
    a.download_button(
        t("common.download_csv"),
        audited_export(f"table {name}.csv", export_of("csv"), counted=True),
        export.file_name(name, "csv", f, session_lang, as_of, table),
        mime="text/csv",
        key=f"csv_{name}",
        on_click="ignore",
    )
    b.download_button(
        t("common.download_xlsx"),
        audited_export(f"table {name}.xlsx", export_of("xlsx"), counted=True),
        export.file_name(name, "xlsx", f, session_lang, as_of, table),
        key=f"xlsx_{name}",
        on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def csv_download(df: pd.DataFrame, name: str, key: str, table: str | None = None) -> None:
    """One audited CSV download of `df` (formula injection neutralised), named with the data
    date and the active filters (export.file_name)."""
    from crm_core.present import export

    st.download_button(
        t("common.download_csv"),
        audited_export(f"table {name}.csv", lambda: (export.safe_csv(df), len(df)), True),
        file_name=download_name(name, "csv", table),
        mime="text/csv",
        key=key,
        on_click="ignore",
    )


def open_customer(customer_id: Any) -> None:
    """Switch to the Customer 360 page of `customer_id` (/customer?id=…), keeping ?lang=."""
    params = {"id": str(customer_id)}
    if st.query_params.get("lang") in i18n.LANGS:
        params["lang"] = st.query_params["lang"]
    st.switch_page(CUSTOMER_PAGE, query_params=params)


def drill_list(
    df: pd.DataFrame,
    name: str,
    what: str,
    label: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    count: str = "drill.rows",
    source: str | None = None,
) -> None:
    """The customers (or leads: `count` names the caption's message) behind a clicked chart element (a crm_core.metrics.drill result): a caption naming
    the element (`what`, escaped: it may be a data value) and the row count, the rows as a
    table where choosing a row opens that customer's 360 page, and audited CSV / XLSX
    downloads of the same rows (scoped: the rows come from the session's filters), named with
    the filters that apply to the `source` table (None: all)."""
    from crm_core.metrics import drill

    st.caption(t(count, what=md(what), n=num(len(df))))
    shown = table(
        df, label, key=f"drill_rows_{name}", on_select="rerun", selection_mode="single-row"
    )
    st.caption(t("drill.open_hint"))
    table_downloads(shown, f"drill-{name}", source)
    state = st.session_state.get(f"drill_rows_{name}")
    row = drill.selected_row(state)
    if row is not None and row < len(df):
        cid = df["customer_id"].iloc[row]
        if isinstance(cid, str) and cid:
            open_customer(cid)
        else:
            st.caption(t("drill.no_customer"))


def labels(prefix: str) -> dict[str, str]:
    """Every message under `prefix.` in this session's language, keyed by the rest of its key."""
    n = len(prefix) + 1
    return {k[n:]: t(k) for k in i18n.catalogue() if k.startswith(prefix + ".")}


# Columns that hold a fraction of 1 (0.2345) meant as a percentage (23.5%), by their crm_core
# name: ... rate / share / retention / conversion / pct, share_of ..., probabilities.
_SHARE_COLUMN = re.compile(
    r"(?:^|_)(?:rate|share|retention|conversion|pct)$|^share_|^p_(?:alive|purchase)$|^lead_to_win$"
)


def is_share(column: Any) -> bool:
    """Whether a crm_core result column holds fractions meant as percentages."""
    return bool(_SHARE_COLUMN.search(str(column)))


PERCENT_PLACES = 3  # fractions to 3 places: percentages with one decimal
# Numbers that are labels, not quantities: never shown with thousands separators.
_LABEL_NUMBER = re.compile(r"(?:^|_)(?:id|year|no|code)$")


def needs_separators(column: Any, values: pd.Series) -> bool:
    """Whether a numeric table column is a quantity large enough (some |value| >= 1,000) to be
    shown with thousands separators (1,234,567.5); shares, ids and years never are."""
    if is_share(column) or _LABEL_NUMBER.search(str(column)):
        return False
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    return bool((values.abs() >= 1000).any())


def percent_column(**kwargs: Any) -> Any:
    """A st.dataframe column of fractions shown as percentages with one decimal (0.2345 -> 23.5%).
    Streamlit truncates a value to the column's step (0.00898 would show as 0.8%): round the
    shown values to PERCENT_PLACES first, and keep the unrounded frame for downloads."""
    return st.column_config.NumberColumn(format="percent", step=10**-PERCENT_PLACES, **kwargs)


def table(
    df: pd.DataFrame,
    label: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """st.dataframe of `df` as `label(df)` shows it (headers, category names in the session's
    language; same columns in the same order): missing values as "–" instead of None / NaN /
    <NA>, share columns (is_share) as percentages, large quantities with thousands separators.
    Returns the shown frame, values and types unchanged, for the CSV / Excel downloads."""
    shown = label(df) if label else df
    names = dict(zip(df.columns, shown.columns, strict=True))
    shares = [names[c] for c in df.columns if is_share(c) and pd.api.types.is_numeric_dtype(df[c])]
    config = {c: percent_column() for c in shares}
    config |= {
        names[c]: st.column_config.NumberColumn(format="localized")
        for c in df.columns
        if needs_separators(c, df[c])
    }
    currency = currency_symbol(lang())
    config |= {
        names[c]: st.column_config.NumberColumn(format=fmt)
        for c in df.columns
        if not is_share(c)
        and pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
        and (fmt := i18n.number_format(c, currency))
    }
    config.update(kwargs.pop("column_config", None) or {})
    kwargs.setdefault("hide_index", True)
    display = shown.round(dict.fromkeys(shares, PERCENT_PLACES)) if shares else shown
    st.dataframe(display, placeholder=i18n.MISSING, column_config=config, **kwargs)
    return shown


def labelled_table(df: pd.DataFrame, prefix: str, **kwargs: Any) -> None:
    """A table (see `table`) with each header from message `prefix.<column>`."""
    table(df, lambda d: d.rename(columns=lambda c: t(f"{prefix}.{c}")), **kwargs)


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


def prepared_slides(
    con: db.Connection, f: Filters, lang: str
) -> tuple[list[slides_mod.Slide], list[Any], dt.date | None]:
    """Every slide, its figure styled for the screen (large type, escaped text) and the data
    date, built once per session for (database, data version, scope, filters, language) and
    kept as they are: changing slides then runs no query and copies no figure. Per session, not
    st.cache_data, which would unpickle every figure on every rerun."""
    version = tuple(db.query_rows(con, "data_version")[0])
    key = (str(db_path()), version, scope(), f, lang)
    held = st.session_state.get("_crm_slides")
    if held is None or held[0] != key:
        found = slides_mod.all_slides(con, f, lang)
        shown = [safe_figure(slides_mod.presentation_style(s.figure)) for s in found]
        held = (key, found, shown, slides_mod.data_date(con, f))
        st.session_state["_crm_slides"] = held
    return held[1], held[2], held[3]


def present_back_link() -> None:
    """The way out of presentation mode: to the Overview, keeping language and filters."""
    keep = {k: v for k, v in st.query_params.to_dict().items() if k != "slide"}
    st.page_link(
        "pages/overview.py", label=t("present.exit"), icon=":material/close:", query_params=keep
    )


def empty_note(f: Filters) -> None:
    """Say plainly that the filters left nothing to show."""
    active = ", ".join(f"{t('dim.' + k)} = {md(v)}" for k, v in f.active.items())
    st.info(t("common.empty", active=f" ({active})" if active else ""))


def data_warnings(warnings: list[dict[str, Any]], notes: bool = True) -> None:
    """caveats.data_warnings() on a page: st.warning for each warning, st.info for each note
    (when `notes`), in this session's language, escaped."""
    for w in warnings:
        if w["severity"] == "warning":
            st.warning(md_lines(caveat_text.message(w, lang())))
        elif notes:
            st.info(md_lines(caveat_text.message(w, lang())))


def filter_note(table: str, f: Filters, container: Any = None) -> None:
    """A caption under a section built from `table` naming the active filters that do not apply
    to it (filters.inapplicable), so that its figures are not read as filtered; nothing when all
    apply."""
    if note := not_applied_note(table, f, lang()):
        (container or st).caption(note)


def period_caption(period: overview.Period) -> None:
    """The period a page shows, in this session's language."""
    st.caption(
        t(
            "common.period_vs_previous",
            start=i18n.fmt_date(period.start, lang()),
            end=i18n.fmt_date(period.end, lang()),
        )
    )


def explanation(e: Any, name: str) -> None:
    """The "why did it change" section of an explain.Explanation: the takeaway, a waterfall of
    its factors (or why there are none) and one of its top contributors' dimension, and the
    table of contributors. Values (region names, ...) are data: escaped / kept out of Markdown."""
    from crm_core.present import charts, explain_text

    lg = lang()
    bad = e.metric in overview.BAD_WHEN_UP  # a rise in complaints is drawn red
    metric = t(f"explain.metrics.{e.metric}")
    st.subheader(t("explain.title", metric=metric))
    st.markdown("**" + md(explain_text.takeaway(e, lg)) + "**")
    prev = e.previous_period
    st.caption(
        t("explain.caption", start=i18n.fmt_date(prev.start, lg), end=i18n.fmt_date(prev.end, lg))
    )
    ends = ((t("explain.previous"), e.previous), (t("explain.current"), e.current))
    left, right = st.columns(2)
    if e.not_applicable:
        factor = t(f"explain.components.{e.not_applicable}")
        left.info(t("explain.not_applicable", factor=factor))
    else:
        steps = [(t(f"explain.components.{k}"), v) for k, v in e.components.items()]
        if e.residual:
            steps.append((t("explain.residual"), e.residual))
        fig = charts.waterfall(ends[0], steps, ends[1], t("explain.factors_chart"), lg, bad)
        chart(fig, f"{name}_factors", left)
    top = e.top_contributor()
    dim = top[0].dimension if top else "region"
    steps = [(explain_text.contributor_label(c, lg), c.change) for c in e.by_dimension(dim)]
    title = t("explain.dimension_chart", dimension=t(f"explain.dimensions.{dim}"))
    chart(charts.waterfall(ends[0], steps, ends[1], title, lg, bad), f"{name}_{dim}", right)
    rows = pd.DataFrame(
        {
            "dimension": [t(f"explain.dimensions.{c.dimension}") for c in e.contributors],
            "value": [explain_text.contributor_label(c, lg) for c in e.contributors],
            "change": [float(c.change) for c in e.contributors],
        }
    )
    table(rows, lambda d: d.rename(columns=lambda c: t(f"explain.{c}")))


# --------------------------------------------------------------------------- Data page


@st.cache_resource(show_spinner=False)
def _swept_at_start() -> float:
    # Once per process: staged uploads of processes that are gone (a crash, a restart) and of
    # long-idle sessions hold personal data nobody will load.
    uploads.process_root()
    uploads.sweep()
    return time.time()


def session_uploads() -> uploads.SessionUploads:
    """This session's staged uploads. The object lives in session_state only: when Streamlit
    drops an ended session, its folder is removed with it; idle ones are swept at start-up and
    every UPLOAD_STALE_HOURS."""
    swept = _swept_at_start()
    if time.time() - swept > 3600 * config.UPLOAD_STALE_HOURS:
        _swept_at_start.clear()
        _swept_at_start()
    staged = st.session_state.get("_crm_uploads")
    if staged is None:
        staged = st.session_state["_crm_uploads"] = uploads.SessionUploads()
    return staged


def keep_uploads(files: list[Any] | None) -> None:
    """Forget the staged copies of files taken out of the uploader."""
    session_uploads().keep({up.file_id for up in files or []})


def flash(message: str | None = None, kind: str = "success") -> None:
    """Keep a message (st.success / warning / error) across st.rerun(), or, with no argument,
    show the kept messages in order and forget them."""
    if message is not None:
        st.session_state.setdefault("_crm_flash", []).append((kind, message))
        return
    for kept_kind, kept in st.session_state.pop("_crm_flash", []):
        getattr(st, kept_kind)(kept)


def _css_string(text: str) -> str:
    """`text` as a CSS string literal (for `content:`)."""
    return (
        '"'
        + "".join(c if c.isalnum() or c in " ·、，（）" else f"\\{ord(c):x} " for c in text)
        + '"'
    )


def uploader_chrome() -> None:
    """The file uploader's own words (Streamlit's "Upload", "200MB per file") in this session's
    language: Streamlit has no option for them, so they are replaced by CSS on this page."""
    drop = "[data-testid=stFileUploaderDropzone]"
    button = _css_string(t("data.upload_button"))
    limit = _css_string(t("data.upload_limit", mb=st.get_option("server.maxUploadSize")))
    st.html(
        f"<style>{drop} [data-testid=stBaseButton-secondary] [data-testid=stMarkdownContainer] p"
        "{display:none}"
        f"{drop} [data-testid=stBaseButton-secondary] [data-testid=stMarkdownContainer]::after"
        f"{{content:{button}}}"
        "[data-testid=stFileUploaderDropzoneInstructions] span{display:none}"
        f"[data-testid=stFileUploaderDropzoneInstructions] > div::after{{content:{limit}}}</style>"
    )


def uploader_key() -> str:
    """The Data page's file-uploader key: a new key (after a load) is an empty uploader."""
    return f"uploads_{st.session_state.get('_crm_upload_round', 0)}"


def after_load(result: ingest.LoadResult, mode: str = "append") -> None:
    """After a committed load: keep its messages for the next run, empty the file uploader and
    drop the staged copies, then rerun, so that the sidebar's last-load caption (drawn before
    the page) and the load history show this load."""
    for kind, text in report_lines(result.reports):
        flash(text, kind)
    if result.emptied:
        flash(t("data.emptied", tables=", ".join(result.emptied)))
    flash(t("data.committed", id=result.load_id))
    st.session_state.pop("_crm_own_data", None)
    audit(
        account(),
        auth.load_action(mode),
        result.audit_detail(),
        result.rows,
    )
    st.session_state["_crm_upload_round"] = st.session_state.get("_crm_upload_round", 0) + 1
    session_uploads().clear()
    st.rerun()


# One load or rollback at a time per process: a second one waits this long, then is told that
# a load is running (two at once failed with "Catalog write-write conflict").
LOAD_WAIT_SECONDS = 5.0
_load_lock = threading.Lock()


@contextlib.contextmanager
def exclusive_load() -> Iterator[None]:
    """Run a load or rollback alone: if another session's is running, wait LOAD_WAIT_SECONDS,
    then say so and stop this run; a full disk is said plainly, not shown as a traceback."""
    if not _load_lock.acquire(timeout=LOAD_WAIT_SECONDS):
        st.warning(t("security.load_running"), icon=":material/hourglass_top:")
        st.stop()
    try:
        yield
    except Exception as e:
        if not uploads.is_disk_full(e):
            raise
        st.error(t("security.disk_full"))
        st.stop()
    finally:
        _load_lock.release()


LOAD_MODES = ("append", "replace")  # append first: the default leaves loaded rows alone
# The permission each load mode needs (crm_core/auth.py ROLE_CAN).
LOAD_PERMISSION = {"append": "load", "replace": "replace", "replace-all": "replace"}


def load_mode(con: db.Connection, sources: list[ingest.Source]) -> str:
    """The load mode: append by default; replace one click away, its consequences next to it
    and, once chosen, the rows it deletes."""
    # Labels looked up here, not in format_func: AppTest calls format_func outside the
    # session, where lang() falls back to the default language.
    if not can("replace"):  # analysts append; replacing is for administrators
        st.caption(t("auth.append_only"))
        return "append"
    names = {m: t(f"data.mode_{m}") for m in LOAD_MODES}
    mode = st.radio(
        t("data.mode"),
        LOAD_MODES,
        format_func=names.__getitem__,
        captions=[t(f"data.mode_{m}_help") for m in LOAD_MODES],
        horizontal=True,
        help=t("data.mode_help", keep=config.UNDO_KEEP),
        key="load_mode",
    )
    if mode == "replace":
        counts = db.table_counts(con)
        tables = sorted({s.table for s in sources if s.table})
        st.warning(
            t(
                "data.replace_warning",
                tables=", ".join(t("data.table_rows", table=x, n=f"{counts[x]:,}") for x in tables),
                keep=config.UNDO_KEEP,
            ),
            icon=":material/warning:",
        )
    return mode


# The encodings offered on the Data page ("" = decided from the file); any other is a CLI flag.
ENCODING_CHOICES = ("", "utf-8", "gb18030", "big5", "utf-16", "cp1252")


def encoding_choice(key: str) -> str | None:
    """The file encoding chosen for an upload: None = detect it from the file."""
    labels = {e: t(f"data.enc.{e or 'auto'}") for e in ENCODING_CHOICES}
    chosen = st.selectbox(
        t("data.encoding"),
        ENCODING_CHOICES,
        format_func=labels.__getitem__,
        key=f"{key}_encoding",
        help=t("data.encoding_help"),
    )
    return chosen or None


def start_with_own_data(con: db.Connection, sources: list[ingest.Source]) -> bool:
    """The Data page's "start with my own data" action: a button, then a confirmation naming
    the tables the files replace and the tables emptied. True once confirmed: load the files
    with mode "replace-all"."""
    if st.button(
        t("data.own_data"), icon=":material/restart_alt:", help=t("data.own_data_help"), key="own"
    ):
        st.session_state["_crm_own_data"] = True
    if not st.session_state.get("_crm_own_data"):
        return False
    counts = db.table_counts(con)
    given = sorted({s.table for s in sources if s.table})
    emptied = [x for x in ingest.TABLES if x not in given and counts[x]]

    def rows(tables: list[str]) -> str:
        return ", ".join(t("data.table_rows", table=x, n=f"{counts[x]:,}") for x in tables)

    st.warning(
        t(
            "data.own_data_confirm",
            replaced=rows(given),
            emptied=rows(emptied) or t("data.none"),
            keep=config.UNDO_KEEP,
        ),
        icon=":material/warning:",
    )
    go, cancel = st.columns(2)
    if cancel.button(t("data.own_data_cancel"), key="own_cancel", width="stretch"):
        st.session_state.pop("_crm_own_data", None)
        st.rerun()
    return go.button(t("data.own_data_go"), type="primary", key="own_go", width="stretch")


def run_load(con: db.Connection, sources: list[ingest.Source], mode: str) -> None:
    """Load the files with a progress bar; the file reports and a plain error when refused,
    else after_load (which reruns the page)."""
    bar = st.progress(0.0, t("data.starting"))

    def say(frac: float, message: str) -> None:
        bar.progress(frac, message)

    with exclusive_load():  # one load at a time; a second one waits, then is told why
        try:
            result = ingest.load(con, sources, mode, progress=say)
        except ingest.IngestError as e:
            report_messages(e.reports)
            st.error(t("data.nothing_loaded") + ("" if e.reports else f" {md_lines(e)}"))
            return
    after_load(result, mode)  # reruns: the sidebar and the history show the new load


def upload_panel(up: Any, key: str) -> ingest.Source | None:
    """One uploaded file: facts, encoding and table choice, editable mapping, preview; the
    source to load."""
    with st.expander(f"{md(up.name)} · {up.size / 1e6:.1f} MB", expanded=True):
        try:
            staged = session_uploads().stage(up.file_id, up.name, up, up.size)
        except uploads.UploadRefused as e:
            st.error(t(f"security.upload_{e.key}", file=md(up.name), **e.facts))
            return None
        st.session_state[f"{key}_path"] = str(staged)
        encoding = encoding_choice(key)
        try:
            report = ingest.inspect(
                ingest.Source(
                    Path(st.session_state[f"{key}_path"]), name=up.name, encoding=encoding
                )
            )
        except ingest.IngestError as e:
            if e.reports:
                report_messages(e.reports)
            else:
                st.error(md_lines(e))
            return None
        st.caption(
            t(
                "data.file_facts",
                encoding=md(i18n.encoding_label(report.encoding, lang()))
                + ("" if encoding else t("data.detected")),
                delimiter=md(i18n.delimiter_label(report.delimiter, lang())),
                n=len(report.headers),
            )
        )
        source = mapping_editor(report, key)
        if source is not None:
            source.encoding = encoding
        st.dataframe(report.preview, hide_index=True, height=200, placeholder=i18n.MISSING)
        return source


def mapping_editor(report: ingest.FileReport, key: str) -> ingest.Source | None:
    """Table choice + editable header mapping for one uploaded file; returns the source to load."""
    tables, here = list(ingest.TABLES), lang()
    table = st.selectbox(
        t("data.table"),
        tables,
        format_func=lambda name: i18n.table_label(name, here),
        key=f"{key}_table",
        index=tables.index(report.table) if report.table in tables else None,
        placeholder=t("data.choose_table"),
    )
    if table is None:
        st.warning(t("data.unknown_table"))
        return None
    if table != report.table:
        report = ingest.inspect(
            ingest.Source(
                Path(st.session_state[f"{key}_path"]),
                table,
                encoding=st.session_state.get(f"{key}_encoding") or None,
            )
        )
    targets = [""] + [c.name for c in ingest.TABLES[table].columns]
    # The choices are the fields' words (the grid's cells and its screen-reader text alike);
    # the English names are in the column's help.
    named = {i18n.field_label(c, here): c for c in targets}
    word = {c: w for w, c in named.items()}
    required = set(ingest.TABLES[table].required)
    guesses(report)
    fc, mt, nt, ex = t("data.file_column"), t("data.maps_to"), t("data.note"), t("data.example")
    notes = guess_notes(report)
    frame = pd.DataFrame(
        {
            fc: report.headers,
            mt: [word.get(report.mapping.get(h, ""), word[""]) for h in report.headers],
            nt: [notes.get(h, "") for h in report.headers],
            ex: [
                str(report.preview[h].iloc[0])
                if report.preview is not None and len(report.preview)
                else ""
                for h in report.headers
            ],
        }
    )
    edited = st.data_editor(
        frame,
        key=f"{key}_map_{table}",
        hide_index=True,
        width="stretch",
        disabled=[fc, nt, ex],
        column_config={
            mt: st.column_config.SelectboxColumn(
                options=list(named),
                required=True,
                help=t("data.required", cols=field_names(sorted(required)))
                + "\n\n"
                + t("field.hint", names=", ".join(c for c in targets if c)),
            )
        },
    )
    mapping = {r[fc]: named.get(r[mt], "") if r[mt] else "" for _, r in edited.iterrows()}
    return ingest.Source(
        Path(st.session_state[f"{key}_path"]), table, mapping, name=report.file_name
    )


def field_names(columns: list[str]) -> str:
    """Canonical fields in this session's words: 订单编号、客户编号."""
    return t("filters.joiner").join(i18n.field_label(c, lang()) for c in columns)


def guess_notes(report: ingest.FileReport) -> dict[str, str]:
    """The mapping table's note per file column: a guessed column, or a candidate of a tie."""
    notes = {g.header: t("data.guessed") for g in report.inferred.values()}
    for col, headers in report.ambiguous.items():
        for h in headers:
            notes[h] = t("data.candidate", col=i18n.field_label(col, lang()))
    return notes


def guesses(report: ingest.FileReport) -> None:
    """Say which required columns were found from the file's values (pre-selected below, to be
    confirmed) and which several columns could be, for the user to choose."""
    lines = [
        t(
            f"data.guess_{g.rule}",
            col=i18n.field_label(g.column, lang()),
            header=md(g.header),
            share=f"{g.matched / g.values:.0%}",
            distinct=f"{g.matched:,}",
            n=f"{g.values:,}",
        )
        for g in report.inferred.values()
    ]
    if lines:
        st.info(t("data.guessed_info") + "\n\n" + "\n".join(f"- {x}" for x in lines))
    for col, headers in report.ambiguous.items():
        name = i18n.field_label(col, lang())
        st.warning(t("data.ambiguous", col=name, headers="、".join(md(h) for h in headers)))


def report_lines(reports: list[ingest.FileReport]) -> list[tuple[str, str]]:
    """(kind, text) of the errors, warnings and successes of a validation or load."""
    lines = []
    for r in reports:
        here = lang()
        if r.errors:
            text = "\n".join(i18n.problem_text(p, r.file_name, here) for p in r.errors)
            lines.append(("error", md_lines(text)))
        lines += [("warning", md_lines(i18n.note_text(w, here))) for w in r.warnings]
        if r.ok and r.rows_read:
            ok = t(
                "data.file_ok",
                file=md(r.file_name),
                table=md(i18n.table_label(r.table, lang())) if r.table else "",
                read=f"{r.rows_read:,}",
                loaded=f"{r.rows_loaded:,}",
                rejected=f"{r.rows_rejected:,}",
            )
            lines.append(("success", ok))
    return lines


def report_messages(reports: list[ingest.FileReport]) -> None:
    """Errors and warnings of a validation or load, each naming its file."""
    for kind, text in report_lines(reports):
        getattr(st, kind)(text)


def history_table(hist: pd.DataFrame) -> None:
    """The load history with its warnings decoded."""
    show = hist.drop(columns=["sha256"]).copy()
    show["warnings"] = show["warnings"].map(lambda w: len(json.loads(w)) if w else 0)
    here = lang()
    words = {  # codes in words; a missing value (an emptied table has no file) stays missing
        "table_name": lambda x: i18n.table_label(x, here),
        "mode": lambda x: i18n.value_label("load_mode", x, here),
        "status": lambda x: i18n.value_label("load_status", x, here),
        "encoding": lambda x: i18n.encoding_label(x, here),
    }
    for col, say in words.items():
        show[col] = show[col].map(say, na_action="ignore")
    labelled_table(show, "data.hist", width="stretch")


# --------------------------------------------------------------------------- sign-in, roles, audit

_ACCOUNT = "_crm_account"  # session_state: the signed-in auth.Account (None: nobody)
_FAILURES = "_crm_sign_in_failures"  # wrong passwords in this browser session
SESSION_DELAY_MAX_S = 8.0  # a session's n-th wrong password waits min(2^(n-1), this) seconds


@contextlib.contextmanager
def _live() -> Iterator[db.Connection]:
    """A cursor of its own on the live database: never a meeting snapshot, never inside this
    render's read transaction (so that what it writes is committed at once)."""
    cur = _shared_connection(db_target()).cursor()
    try:
        yield cur
    finally:
        cur.close()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml
        return False


def auth_mode() -> str:
    """ "oidc" when .streamlit/secrets.toml has an [auth] section (st.login), "accounts" when
    the users table holds an account, else "off" (served to this computer only)."""
    if _oidc_configured():
        return "oidc"
    with _live() as cur:
        return "accounts" if auth.user_count(cur) else "off"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_only() -> bool:
    """Whether this session is certainly served to this computer only: the server listens on a
    loopback address, the browser connects from one and no proxy forwarded the request."""
    if not _is_loopback(st.get_option("server.address")):
        return False
    ip = st.context.ip_address  # None for a loopback peer
    if isinstance(ip, str) and not _is_loopback(ip):
        return False
    headers = st.context.headers
    return not any(h in headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-Ip"))


def _signed_in(mode: str) -> auth.Account | None:
    if mode == "off":
        return auth.Account("local", "admin", via="local") if local_only() else None
    if mode == "oidc":
        if not st.user.is_logged_in:
            return None
        claims = st.user.to_dict()
        with _live() as cur:
            found = auth.account_from_claims(cur, claims)
            # One audit line per browser session (a reload is a new session, the sign-in
            # cookie lets it in): who came in, or who was refused for want of a role.
            name = found.name if found else auth.oidc_name(claims)
            if st.session_state.get("_crm_oidc_logged") != name:
                action = "sign_in" if found else "sign_in_refused"
                auth.record(cur, name, action, "oidc" if found else "oidc: no role")
                st.session_state["_crm_oidc_logged"] = name
        return found
    known: auth.Account | None = st.session_state.get(_ACCOUNT)
    if known is None or known.via != "password":
        return None
    with _live() as cur:  # re-read: a removed account or a changed role applies at once
        return auth.get_account(cur, known.name)


def current_account() -> auth.Account | None:
    """The account of this session, or None when someone must sign in first. With sign-in off
    it is the local administrator, on this computer only (docs/security.md)."""
    mode = auth_mode()
    found = _signed_in(mode)
    st.session_state["_crm_auth_mode"] = mode
    st.session_state[_ACCOUNT] = found
    # The scope is a filter on every query of this session (ui.filters, the cache key).
    set_scope(*((found.regions, found.owners) if found else ((), ())))
    return found


def account() -> auth.Account | None:
    """The account the sign-in gate let in for this run (None before the gate)."""
    return st.session_state.get(_ACCOUNT)


def can(permission: str) -> bool:
    """Whether this session's account may do `permission` (auth.PERMISSIONS)."""
    who = account()
    return who is not None and who.can(permission)


def require(permission: str) -> auth.Account:
    """This session's account if it may do `permission`; else an error on the page and stop."""
    try:
        return auth.require(account(), permission)
    except auth.PermissionDenied:
        st.error(t("auth.denied"))
        st.stop()
        raise  # st.stop() raises; this keeps the type checker informed


def audit(who: auth.Account | None, action: str, detail: str = "", rows: int | None = None) -> None:
    """One line in the audit log, committed at once (whatever this render's transaction)."""
    with _live() as cur:
        auth.record(cur, who.name if who else "?", action, detail, rows)


def audited_export(what: str, make: Callable[[], Any], counted: bool = False) -> Callable[[], Any]:
    """A download's data callable that records the export (who, what, filters, rows) when it
    runs; with `counted`, `make` returns (data, rows). Streamlit runs it outside the session,
    so the account and the connection are bound now."""
    who = account()
    shared = _shared_connection(db_target())
    active = filters().active
    detail = f"{what} {active}" if active else what

    def run() -> Any:
        made = make()
        data, rows = made if counted else (made, None)
        cur = shared.cursor()
        try:
            auth.record(cur, who.name if who else "?", "export", detail, rows)
        finally:
            cur.close()
        return data

    return run


def _sign_out() -> None:
    who = account()
    audit(who, "sign_out")
    st.session_state[_ACCOUNT] = None


def _account_box(who: auth.Account) -> None:
    with st.sidebar:
        if who.via == "local":
            st.caption(t("auth.off"), help=t("auth.off_help"))
            return
        st.caption(t("auth.signed_in_as", name=f"`{who.name}`", role=t(f"auth.role.{who.role}")))
        if who.scoped:
            scope = ", ".join([*who.regions, *who.owners])
            st.caption(t("auth.scope", scope=f"`{scope}`"))
        if who.via == "oidc":
            st.button(t("auth.sign_out"), on_click=st.logout, key="_crm_sign_out")
        else:
            st.button(t("auth.sign_out"), on_click=_sign_out, key="_crm_sign_out")


def sign_in_gate(who: auth.Account | None) -> None:
    """Let a signed-in account through (its name and sign-out in the sidebar); otherwise show
    only what signing in needs — the form, the single sign-on button, or why this computer
    alone may open the app — and stop the run: no page, no data."""
    if who is not None:
        _account_box(who)
        return
    mode = st.session_state.get("_crm_auth_mode", "off")
    st.title(t("auth.title"))
    if mode == "off":
        st.error(t("auth.off_remote"), icon=":material/lock:")
    elif mode == "oidc":
        _oidc_prompt()
    else:
        _password_form()
    st.stop()


def _oidc_prompt() -> None:
    if st.user.is_logged_in:  # authenticated, but no role here
        st.warning(t("auth.no_role", name=auth.oidc_name(st.user.to_dict())))
        st.button(t("auth.sign_out"), on_click=st.logout)
        return
    st.caption(t("auth.oidc_help"))
    st.button(t("auth.oidc_button"), on_click=st.login, type="primary")


def _password_form() -> None:
    with st.form("_crm_sign_in", clear_on_submit=True):  # no password kept in the session
        name = st.text_input(t("auth.name"), max_chars=auth.NAME_MAX)
        password = st.text_input(t("auth.password"), type="password")
        submitted = st.form_submit_button(t("auth.sign_in"), type="primary")
    if not submitted:
        return
    failures = st.session_state.get(_FAILURES, 0)
    if failures:  # slows down guessing in one session; the account lock covers many sessions
        time.sleep(min(2.0 ** (failures - 1), SESSION_DELAY_MAX_S))
    with _live() as cur:
        result = auth.sign_in(cur, name, password)
    if result.account is not None:
        st.session_state[_FAILURES] = 0
        st.session_state[_ACCOUNT] = result.account
        st.rerun()
    st.session_state[_FAILURES] = failures + 1
    if result.reason == "locked" and result.locked_until is not None:
        st.error(t("auth.locked", until=f"{result.locked_until:%H:%M:%S}"))
    else:
        st.error(t("auth.bad"))


def read_only_note() -> None:
    """The Data page for a role that cannot load: say so instead of an uploader."""
    who = account()
    st.info(t("auth.read_only", role=t(f"auth.role.{who.role if who else 'viewer'}")))


def rolled_back(ids: list[int]) -> None:
    """After a committed rollback: audit it and keep its message for the next run."""
    audit(account(), "rollback", "undid load(s) " + ", ".join(f"#{i}" for i in ids))
    flash(t("data.rolled_back", ids=", ".join(f"#{i}" for i in ids)))


def audit_panel() -> None:
    """The Data page's audit log (admins): the newest lines, headers in this language."""
    st.subheader(t("auth.audit"), help=t("auth.audit_help"))
    with _live() as cur:
        log = auth.audit_log(cur)
    labelled_table(log, "auth.col", width="stretch")


def users_panel() -> None:
    """The Data page's account management (admins): the accounts, add one, set a password,
    remove one; each change audited with the admin's name."""
    who = require("manage_users")
    st.subheader(t("auth.users.title"), help=t("auth.users.help"))
    with _live() as cur:
        users = auth.list_users(cur)
        options = filter_options(cur)
    shown = users.assign(
        regions=users["regions"].map(", ".join), owners=users["owners"].map(", ".join)
    )
    labelled_table(shown, "auth.users.col", width="stretch")
    with st.expander(t("auth.users.add")), st.form("_crm_user_add", clear_on_submit=True):
        name = st.text_input(t("auth.name"), max_chars=auth.NAME_MAX)
        role = st.selectbox(
            t("auth.users.role"),
            auth.ROLES,
            format_func={r: t(f"auth.role.{r}") for r in auth.ROLES}.__getitem__,
        )
        regions = st.multiselect(
            t("auth.users.regions"), options.get("region", []), placeholder=t("common.choose")
        )
        owners = st.multiselect(
            t("auth.users.owners"), options.get("owner", []), placeholder=t("common.choose")
        )
        password = st.text_input(
            t("auth.password"), type="password", help=t("auth.users.password_help")
        )
        if st.form_submit_button(t("auth.users.add")):
            _account_change(
                lambda cur: auth.add_user(
                    cur, name, role, password or None, regions, owners, actor=who.name
                ),
                t("auth.users.added", name=name),
            )
    if users.empty:
        return
    with (
        st.expander(t("auth.users.set_password")),
        st.form("_crm_user_passwd", clear_on_submit=True),
    ):
        target = st.selectbox(t("auth.users.pick"), users["name"].tolist(), key="_crm_passwd_user")
        password = st.text_input(t("auth.users.new_password"), type="password")
        if st.form_submit_button(t("auth.users.set_password")):
            _account_change(
                lambda cur: auth.set_password(cur, target, password, actor=who.name),
                t("auth.users.password_set", name=target),
            )
    with st.expander(t("auth.users.remove")), st.form("_crm_user_remove"):
        target = st.selectbox(t("auth.users.pick"), users["name"].tolist(), key="_crm_remove_user")
        if st.form_submit_button(t("auth.users.remove")):
            if target == who.name:
                st.error(t("auth.users.not_yourself"))
            else:
                _account_change(
                    lambda cur: auth.remove_user(cur, target, actor=who.name),
                    t("auth.users.removed", name=target),
                )


def _account_change(change: Callable[[db.Connection], Any], done: str) -> None:
    try:
        with _live() as cur:
            change(cur)
    except auth.AuthError as e:
        st.error(t(f"auth.err.{e.key}", **e.params))
        return
    flash(done)
    st.rerun()
