"""Sign-in, roles and audit log: the gate, permission checks, audited downloads, admin panels."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from crm_core.app import auth
from crm_core.app.ui.connection import _live, _shared_connection, db_target, has_secret
from crm_core.app.ui.language import t
from crm_core.app.ui.session import _ACCOUNT, account, filters, flash, set_scope
from crm_core.app.ui.tables import labelled_table
from crm_core.engine import db
from crm_core.metrics.filters import filter_options

_FAILURES = "_crm_sign_in_failures"  # wrong passwords in this browser session
SESSION_DELAY_MAX_S = 8.0  # a session's n-th wrong password waits min(2^(n-1), this) seconds


def _oidc_configured() -> bool:
    return has_secret("auth")


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
    shared = _shared_connection(path=db_target())
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
