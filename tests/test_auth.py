"""Accounts, password hashes, sign-in throttling, roles, scope and the audit log (crm_core.app.auth)."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_core.app import auth
from crm_core.engine import db
from crm_core.metrics.filters import Filters

T0 = dt.datetime(2026, 3, 2, 9, 0, 0)


def _log(con: db.Connection) -> list[tuple]:
    """The audit log, oldest first, without the time: (actor, action, detail, rows)."""
    return con.execute(
        "SELECT actor, action, detail, rows FROM audit_log ORDER BY logged_at, action"
    ).fetchall()


def test_hashes_are_salted_argon2id_and_verify() -> None:
    a, b = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert a.startswith("$argon2id$") and a != b  # a fresh salt each time
    assert auth.verify_password(a, "correct horse") and auth.verify_password(b, "correct horse")
    assert not auth.verify_password(a, "correct hors")
    assert not auth.verify_password(None, "correct horse")  # an OIDC-only account
    assert not auth.verify_password("not a hash", "correct horse")
    with pytest.raises(auth.AuthError, match="at least 8"):
        auth.hash_password("short")


def test_accounts_are_created_listed_changed_and_removed(con: db.Connection) -> None:
    admin = auth.add_user(con, "li.lei", "admin", "pw-admin-1", actor="cli:root")
    viewer = auth.add_user(con, "华东经理", "viewer", "pw-viewer-1", regions=["华东", "华东", " "])
    assert admin == auth.Account("li.lei", "admin")
    assert viewer.regions == ("华东",) and viewer.owners == ()  # blanks and repeats dropped
    assert auth.user_count(con) == 2
    users = auth.list_users(con)
    assert users["name"].tolist() == ["li.lei", "华东经理"]
    assert "password_hash" not in users.columns
    assert users["regions"].tolist() == [[], ["华东"]]
    assert auth.user_scope(con, "华东经理") == (("华东",), ())
    with pytest.raises(auth.AuthError, match="exists already"):
        auth.add_user(con, "li.lei", "viewer", "pw-other-1")
    with pytest.raises(auth.AuthError, match="role"):
        auth.add_user(con, "x", "owner", "pw-other-1")
    with pytest.raises(auth.AuthError, match="no spaces"):
        auth.add_user(con, "two words", "viewer", "pw-other-1")
    auth.set_password(con, "华东经理", "pw-viewer-2", actor="cli:root")
    auth.remove_user(con, "li.lei", actor="cli:root")
    with pytest.raises(auth.AuthError, match="no such user"):
        auth.remove_user(con, "li.lei")
    assert auth.user_count(con) == 1
    assert _log(con) == [
        ("cli:root", "user_add", "li.lei role=admin", None),
        ("cli", "user_add", "华东经理 role=viewer regions=['华东'] owners=[]", None),
        ("cli:root", "user_passwd", "华东经理", None),
        ("cli:root", "user_remove", "li.lei", None),
    ]


@pytest.mark.parametrize(
    ("failures", "seconds"),
    # 3 free failures, then 30 s doubling: 30, 60, 120, 240, 480, then capped at 900 (15 min).
    [(0, 0), (2, 0), (3, 30), (4, 60), (5, 120), (7, 480), (8, 900), (40, 900)],
)
def test_lock_grows_exponentially_and_is_capped(failures: int, seconds: int) -> None:
    assert auth.lock_after(failures) == dt.timedelta(seconds=seconds)


def test_sign_in_counts_failures_locks_and_records_each_attempt(con: db.Connection) -> None:
    auth.add_user(con, "wang", "analyst", "right-password")
    con.execute("DELETE FROM audit_log")
    assert auth.sign_in(con, "wang", "right-password", T0).account == auth.Account(
        "wang", "analyst"
    )
    for i in range(2):  # failures 1 and 2 are free
        r = auth.sign_in(con, "wang", "wrong", T0 + dt.timedelta(seconds=i + 1))
        assert (r.account, r.reason, r.locked_until) == (None, "bad", None)
    third = auth.sign_in(con, "wang", "wrong", T0 + dt.timedelta(seconds=3))
    assert third.reason == "locked"
    assert third.locked_until == T0 + dt.timedelta(seconds=3 + 30)  # 09:00:33
    # While locked even the right password is refused, without counting as a failure.
    during = auth.sign_in(con, "wang", "right-password", T0 + dt.timedelta(seconds=20))
    assert (during.account, during.reason) == (None, "locked")
    assert auth.list_users(con)["failed_logins"].tolist() == [3]
    # After the lock the right password works and the count starts again.
    after = auth.sign_in(con, "wang", "right-password", T0 + dt.timedelta(seconds=34))
    assert after.account is not None
    row = auth.list_users(con).iloc[0]
    assert row["failed_logins"] == 0 and row["locked_until"] is pd_nat()
    assert _log(con) == [
        ("wang", "sign_in", "password", None),
        ("wang", "sign_in_failed", "wrong password (1 in a row)", None),
        ("wang", "sign_in_failed", "wrong password (2 in a row)", None),
        ("wang", "sign_in_failed", "wrong password (3 in a row); locked until 2026-03-02 09:00:33", None),
        ("wang", "sign_in_locked", "locked until 2026-03-02 09:00:33", None),
        ("wang", "sign_in", "password", None),
    ]  # fmt: skip


def pd_nat() -> object:
    import pandas as pd

    return pd.NaT


def test_unknown_name_answers_like_a_wrong_password(con: db.Connection) -> None:
    auth.add_user(con, "wang", "viewer", None)  # OIDC only: no password can match
    con.execute("DELETE FROM audit_log")
    assert auth.sign_in(con, "nobody", "whatever", T0) == auth.SignIn(None, "bad")
    assert auth.sign_in(con, "wang", "", T0 + dt.timedelta(seconds=1)).reason == "bad"
    assert _log(con) == [
        ("nobody", "sign_in_failed", "unknown user", None),
        ("wang", "sign_in_failed", "wrong password (1 in a row)", None),
    ]


def test_roles_are_data_and_each_adds_to_the_one_below() -> None:
    assert auth.ROLE_CAN["viewer"] == {"read", "export", "freeze"}
    assert auth.ROLE_CAN["analyst"] == auth.ROLE_CAN["viewer"] | {"load"}
    assert auth.ROLE_CAN["admin"] - auth.ROLE_CAN["analyst"] == {
        "replace", "rollback", "manage_users", "manage_snapshots", "audit",
    }  # fmt: skip
    viewer, analyst = auth.Account("v", "viewer"), auth.Account("a", "analyst")
    assert not viewer.can("load") and analyst.can("load") and not analyst.can("replace")
    assert auth.require(analyst, "load") is analyst
    with pytest.raises(auth.PermissionDenied, match="a may not replace"):
        auth.require(analyst, "replace")
    with pytest.raises(auth.PermissionDenied, match="nobody may not read"):
        auth.require(None, "read")
    with pytest.raises(ValueError, match="unknown permission"):
        auth.can("admin", "fly")


def test_oidc_claims_give_role_and_scope_and_the_table_wins(con: db.Connection) -> None:
    auth.add_user(con, "zhao@example.com", "analyst", None, owners=["赵六"])
    # The users table decides for an account it knows, whatever the claims say.
    known = auth.account_from_claims(
        con, {"sub": "1", "email": "zhao@example.com", "roles": ["crm-lens-admin"]}
    )
    assert known == auth.Account("zhao@example.com", "analyst", (), ("赵六",), "oidc")
    # Otherwise the highest role among the groups, and the scope from the claims.
    claims = {
        "sub": "2",
        "email": "qian@example.com",
        "groups": ["crm-lens-viewer", "crm-lens-analyst"],
        "region": "华南, 华东",
    }
    assert auth.account_from_claims(con, claims) == auth.Account(
        "qian@example.com", "analyst", ("华东", "华南"), (), "oidc"
    )
    assert auth.account_from_claims(
        con, {"sub": "3", "crm_role": "viewer", "owners": ["孙七"]}
    ) == (auth.Account("3", "viewer", (), ("孙七",), "oidc"))
    assert auth.account_from_claims(con, {"sub": "4", "groups": ["sales"]}) is None  # no role


def test_audit_log_is_newest_first_and_limited(con: db.Connection) -> None:
    for i, action in enumerate(["load", "export", "rollback"]):
        auth.record(con, "li", action, f"#{i}", rows=10 * i, at=T0 + dt.timedelta(minutes=i))
    log = auth.audit_log(con, limit=2)
    assert log["action"].tolist() == ["rollback", "export"]
    assert log.iloc[0]["rows"] == 20 and log.iloc[0]["actor"] == "li"
    with pytest.raises(ValueError, match="unknown audit action"):
        auth.record(con, "li", "delete_everything")


def test_region_scope_gives_the_region_filters_figures(demo_con: db.Connection) -> None:
    # A region-scoped account sees exactly what the region filter shows (only the echo of what
    # was asked names the scope instead of the filter).
    from crm_core.metrics.figures import metrics

    scoped = metrics(demo_con, Filters().within_scope(("华东",), ()))
    filtered = metrics(demo_con, Filters(region="华东"))
    for echo in ("filters", "filters_not_applied"):  # what was asked, not what was counted
        scoped.pop(echo, None), filtered.pop(echo, None)
    assert scoped == filtered
    everything = metrics(demo_con, Filters())
    assert scoped["revenue"] < everything["revenue"]


def test_accounts_sign_in_and_audit_on_postgres(pg_url: str) -> None:
    # The same tables and statements on a server database (README, Backends).
    con = db.connect(pg_url)
    try:
        auth.add_user(con, "华东经理", "viewer", "pw-viewer-1", regions=["华东"], actor="cli:root")
        assert auth.user_scope(con, "华东经理") == (("华东",), ())
        assert auth.sign_in(con, "华东经理", "wrong", T0).reason == "bad"
        ok = auth.sign_in(con, "华东经理", "pw-viewer-1", T0 + dt.timedelta(seconds=1))
        assert ok.account == auth.Account("华东经理", "viewer", ("华东",))
        log = auth.audit_log(con, limit=10)
        # Newest first: the account was added at the real clock, after the sign-ins' T0.
        assert log[["actor", "action", "detail"]].values.tolist() == [
            ["cli:root", "user_add", "华东经理 role=viewer regions=['华东'] owners=[]"],
            ["华东经理", "sign_in", "password"],
            ["华东经理", "sign_in_failed", "wrong password (1 in a row)"],
        ]
    finally:
        con.close()


def test_an_older_users_table_gains_the_digest_columns(tmp_path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute(
        "CREATE TABLE users (name VARCHAR, password_hash VARCHAR, role VARCHAR, regions VARCHAR, "
        "owners VARCHAR, created_at TIMESTAMP, changed_at TIMESTAMP, failed_logins BIGINT, "
        "locked_until TIMESTAMP)"
    )
    old.execute(
        "INSERT INTO users VALUES ('wang', NULL, 'viewer', '[]', '[]', now(), now(), 0, NULL)"
    )
    old.close()
    con = db.connect(path)  # ensure_schema adds email, webhook, webhook_format, lang
    ((account, delivery),) = auth.deliveries(con)
    assert account.name == "wang" and delivery == auth.Delivery(lang="zh")
    auth.set_delivery(con, "wang", auth.Delivery("wang@example.com", "east", "feishu", "en"))
    assert auth.deliveries(con)[0][1] == auth.Delivery("wang@example.com", "east", "feishu", "en")
    with pytest.raises(auth.AuthError, match="webhook format"):
        auth.set_delivery(con, "wang", auth.Delivery(webhook="east", webhook_format="slack"))
    con.close()
