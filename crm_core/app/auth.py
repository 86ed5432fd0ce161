"""Accounts, roles, scope and the audit log: who may see and change what, and who did."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm_core.engine import db

# What each role may do. viewer: read every page and export within scope (and freeze the view
# for a meeting); analyst: also append loads; admin: also replace, roll back, manage users and
# snapshots, read the audit log. Pages and the CLI ask `can(role, permission)`, never the role.
ROLES = ("viewer", "analyst", "admin")
_VIEWER = frozenset({"read", "export", "freeze"})
_ANALYST = _VIEWER | {"load"}
_ADMIN = _ANALYST | {"replace", "rollback", "manage_users", "manage_snapshots", "audit"}
ROLE_CAN: dict[str, frozenset[str]] = {"viewer": _VIEWER, "analyst": _ANALYST, "admin": _ADMIN}
PERMISSIONS = tuple(sorted(_ADMIN))

# Sign-in throttling: FREE_FAILURES wrong passwords in a row cost nothing; each further one locks
# the account for twice as long as the one before (30 s, 60 s, 120 s, …), at most MAX_LOCK.
FREE_FAILURES = 3
FIRST_LOCK = dt.timedelta(seconds=30)
MAX_LOCK = dt.timedelta(minutes=15)
MIN_PASSWORD = 8  # characters
NAME_MAX = 64

# Argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile): ~50 ms and 64 MiB a hash.
_hasher = PasswordHasher()
# Verified against when a name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("crm-lens: no such account")


class AuthError(ValueError):
    """A refused account change: bad name, role, password; unknown or duplicate account.
    `key` names its message in the catalogue (auth.err.<key>), `params` fill it in."""

    def __init__(self, text: str, key: str, **params: Any) -> None:
        super().__init__(text)
        self.key, self.params = key, params


class PermissionDenied(PermissionError):
    """The signed-in account's role does not allow this action."""


@dataclass(frozen=True)
class Account:
    """A signed-in person: role and scope (empty regions/owners = every region/owner)."""

    name: str
    role: str
    regions: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    via: str = "password"  # password | oidc | local (sign-in off) | cli

    def can(self, permission: str) -> bool:
        return can(self.role, permission)

    @property
    def scoped(self) -> bool:
        """Whether this account sees only some regions or owners."""
        return bool(self.regions or self.owners)


def can(role: str, permission: str) -> bool:
    """Whether `role` may do `permission` (one of PERMISSIONS)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission in ROLE_CAN.get(role, frozenset())


def require(account: Account | None, permission: str) -> Account:
    """The account, if it may do `permission`; else PermissionDenied."""
    if account is None or not account.can(permission):
        who = account.name if account else "nobody"
        raise PermissionDenied(f"{who} may not {permission}")
    return account


# --------------------------------------------------------------------------- users table


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() or not c.isprintable() for c in name):
        raise AuthError(
            f"user name {name!r}: 1–{NAME_MAX} printable characters, no spaces",
            "bad_name",
            max=NAME_MAX,
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(
            f"role {role!r}: one of {', '.join(ROLES)}", "bad_role", roles=", ".join(ROLES)
        )
    return role


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"password: at least {MIN_PASSWORD} characters", "short", n=MIN_PASSWORD)
    return password


def hash_password(password: str) -> str:
    """A salted Argon2id hash of the password (the salt and parameters are in the string)."""
    return _hasher.hash(_check_password(password))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches a stored hash (False for an account with no password)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _scope_json(values: tuple[str, ...] | list[str]) -> str:
    return json.dumps(sorted({v.strip() for v in values if v.strip()}), ensure_ascii=False)


def _scope_of(raw: str | None) -> tuple[str, ...]:
    return tuple(json.loads(raw)) if raw else ()


def user_count(con: db.Connection) -> int:
    """How many accounts the users table holds."""
    return int(db.scalar(con, "user_count") or 0)


def list_users(con: db.Connection) -> pd.DataFrame:
    """One row per account: name, role, regions, owners (lists), has_password, created_at,
    changed_at, failed_logins, locked_until; sorted by name. Never the hashes."""
    df = db.query(con, "users")
    for col in ("regions", "owners"):
        df[col] = df[col].map(lambda raw: list(_scope_of(raw)))
    return df


def _row(con: db.Connection, name: str) -> tuple | None:
    rows = db.query_rows(con, "user_row", user=name)
    return rows[0] if rows else None


def get_account(con: db.Connection, name: str, via: str = "password") -> Account | None:
    """The account named `name` (role and scope), or None."""
    row = _row(con, name)
    if row is None:
        return None
    _, _, role, regions, owners, *_ = row
    return Account(name, role, _scope_of(regions), _scope_of(owners), via)


def user_scope(con: db.Connection, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(regions, owners) the account may see; empty = all. Unknown name: AuthError."""
    account = get_account(con, name)
    if account is None:
        raise AuthError(f"no such user: {name!r}", "no_user", name=name)
    return account.regions, account.owners


def add_user(
    con: db.Connection,
    name: str,
    role: str,
    password: str | None,
    regions: tuple[str, ...] | list[str] = (),
    owners: tuple[str, ...] | list[str] = (),
    actor: str = "cli",
) -> Account:
    """Create an account (password None: it signs in through OIDC only); audited."""
    name, role = _check_name(name), _check_role(role)
    if _row(con, name) is not None:
        raise AuthError(
            f"user {name!r} exists already (user passwd / user remove)", "exists", name=name
        )
    hashed = hash_password(password) if password is not None else None
    now = dt.datetime.now()
    con.execute(
        "INSERT INTO users (name, password_hash, role, regions, owners, created_at, changed_at, "
        "failed_logins, locked_until) "
        "VALUES ($name, $hash, $role, $regions, $owners, $now, $now, 0, NULL)",
        {
            "name": name,
            "hash": hashed,
            "role": role,
            "regions": _scope_json(regions),
            "owners": _scope_json(owners),
            "now": now,
        },
    )
    account = get_account(con, name)
    assert account is not None
    scope = (
        f" regions={list(account.regions)} owners={list(account.owners)}" if account.scoped else ""
    )
    record(con, actor, "user_add", f"{name} role={role}{scope}")
    return account


@dataclass(frozen=True)
class Delivery:
    """Where an account's weekly digest goes: an email address and / or a group webhook (a
    name whose URL is looked up in the environment or secrets, see digest.webhook_url) in one of
    WEBHOOK_FORMATS; and the digest's language."""

    email: str | None = None
    webhook: str | None = None
    webhook_format: str | None = None
    lang: str = "zh"

    @property
    def any(self) -> bool:
        return bool(self.email or self.webhook)


WEBHOOK_FORMATS = ("wecom", "dingtalk", "feishu")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def check_delivery(d: Delivery) -> Delivery:
    if d.email is not None and not _EMAIL.match(d.email):
        raise AuthError(f"email {d.email!r}: expected name@example.com", "bad_email")
    if d.webhook is not None and (d.webhook_format or "wecom") not in WEBHOOK_FORMATS:
        formats = ", ".join(WEBHOOK_FORMATS)
        raise AuthError(
            f"webhook format {d.webhook_format!r}: one of {formats}", "bad_format", formats=formats
        )
    if d.lang not in ("zh", "en"):
        raise AuthError(f"language {d.lang!r}: zh or en", "bad_lang")
    return d


def set_delivery(con: db.Connection, name: str, delivery: Delivery, actor: str = "cli") -> None:
    """Set where `name`'s weekly digest goes (replacing what was set); audited."""
    if _row(con, name) is None:
        raise AuthError(f"no such user: {name!r}", "no_user", name=name)
    d = check_delivery(delivery)
    con.execute(
        "UPDATE users SET email = $email, webhook = $webhook, webhook_format = $fmt, "
        "lang = $lang, changed_at = $now WHERE name = $name",
        {
            "email": d.email,
            "webhook": d.webhook,
            "fmt": (d.webhook_format or "wecom") if d.webhook else None,
            "lang": d.lang,
            "now": dt.datetime.now(),
            "name": name,
        },
    )
    via = [x for x in (d.email and "email", d.webhook and f"webhook {d.webhook}") if x]
    record(con, actor, "user_delivery", f"{name}: {', '.join(via) or 'none'} lang={d.lang}")


def deliveries(con: db.Connection) -> list[tuple[Account, Delivery]]:
    """Every account with its digest delivery, by name (accounts without a channel included)."""
    out = []
    for row in db.query_rows(con, "user_deliveries"):
        name, role, regions, owners, email, webhook, fmt, lang = row
        account = Account(name, role, _scope_of(regions), _scope_of(owners), "cli")
        out.append((account, Delivery(email, webhook, fmt, lang or "zh")))
    return out


def remove_user(con: db.Connection, name: str, actor: str = "cli") -> None:
    """Delete an account; audited. Unknown name: AuthError."""
    if _row(con, name) is None:
        raise AuthError(f"no such user: {name!r}", "no_user", name=name)
    con.execute("DELETE FROM users WHERE name = $name", {"name": name})
    record(con, actor, "user_remove", name)


def set_password(con: db.Connection, name: str, password: str, actor: str = "cli") -> None:
    """Replace an account's password and lift any sign-in lock; audited."""
    if _row(con, name) is None:
        raise AuthError(f"no such user: {name!r}", "no_user", name=name)
    con.execute(
        "UPDATE users SET password_hash = $hash, changed_at = $now, failed_logins = 0, "
        "locked_until = NULL WHERE name = $name",
        {"hash": hash_password(password), "now": dt.datetime.now(), "name": name},
    )
    record(con, actor, "user_passwd", name)


# --------------------------------------------------------------------------- sign-in


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password sign-in: the account, or why not (bad | locked)."""

    account: Account | None
    reason: str = "ok"
    locked_until: dt.datetime | None = None


def lock_after(failures: int) -> dt.timedelta:
    """How long an account stays locked after `failures` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(FIRST_LOCK * 2 ** (failures - FREE_FAILURES), MAX_LOCK)


def sign_in(con: db.Connection, name: str, password: str, now: dt.datetime | None = None) -> SignIn:
    """Check a name and password; count failures, lock the account after too many (see
    lock_after) and record the attempt in the audit log. The same answer for an unknown name as
    for a wrong password, after the same work."""
    now = now or dt.datetime.now()
    name = name.strip()[:NAME_MAX]
    row = _row(con, name)
    if row is None:
        verify_password(None, password)  # same cost as a real check
        record(con, name, "sign_in_failed", "unknown user", at=now)
        return SignIn(None, "bad")
    _, stored, _, _, _, failures, locked_until = row
    if locked_until is not None and locked_until > now:
        record(
            con, name, "sign_in_locked", f"locked until {locked_until:%Y-%m-%d %H:%M:%S}", at=now
        )
        return SignIn(None, "locked", locked_until)
    if not verify_password(stored, password):
        failures = int(failures or 0) + 1
        lock = lock_after(failures)
        until = now + lock if lock else None
        con.execute(
            "UPDATE users SET failed_logins = $n, locked_until = $until WHERE name = $name",
            {"n": failures, "until": until, "name": name},
        )
        detail = f"wrong password ({failures} in a row)"
        if until:
            detail += f"; locked until {until:%Y-%m-%d %H:%M:%S}"
        record(con, name, "sign_in_failed", detail, at=now)
        return SignIn(None, "locked" if until else "bad", until)
    if failures or locked_until is not None:
        con.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = $name",
            {"name": name},
        )
    record(con, name, "sign_in", "password", at=now)
    return SignIn(get_account(con, name))


# --------------------------------------------------------------------------- OIDC claims

# Claims read from an identity provider's ID token (docs/security.md). A role comes from
# `crm_role`, else the highest of the `roles` / `groups` entries named crm-lens-<role> (or the
# bare role name); the scope from `regions` / `region` and `owners` / `owner` (a list or a
# comma-separated text).
ROLE_CLAIMS = ("roles", "groups")
GROUP_PREFIX = "crm-lens-"


def _claim_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def oidc_name(claims: dict[str, Any]) -> str:
    """The name an OIDC user is known by here: email, else preferred_username, else sub."""
    for key in ("email", "preferred_username", "sub"):
        if claims.get(key):
            return str(claims[key])[:NAME_MAX]
    return ""


def account_from_claims(con: db.Connection, claims: dict[str, Any]) -> Account | None:
    """The account of an OIDC sign-in: the users-table row of the same name (email,
    preferred_username or sub) when there is one (role and scope from the table), else role and
    scope from the claims; None when neither gives a role (no access)."""
    for key in ("email", "preferred_username", "sub"):
        if claims.get(key):
            found = get_account(con, str(claims[key])[:NAME_MAX], via="oidc")
            if found is not None:
                return found
    role = str(claims.get("crm_role") or "")
    if role not in ROLES:
        granted = {
            g.removeprefix(GROUP_PREFIX)
            for key in ROLE_CLAIMS
            for g in _claim_list(claims.get(key))
        }
        role = next((r for r in reversed(ROLES) if r in granted), "")
    if not role:
        return None
    regions = _claim_list(claims.get("regions")) or _claim_list(claims.get("region"))
    owners = _claim_list(claims.get("owners")) or _claim_list(claims.get("owner"))
    return Account(
        oidc_name(claims), role, tuple(sorted(set(regions))), tuple(sorted(set(owners))), "oidc"
    )


# --------------------------------------------------------------------------- audit log

# Actions the audit log records (docs/security.md lists what each detail holds).
ACTIONS = (
    "sign_in", "sign_in_failed", "sign_in_locked", "sign_out", "sign_in_refused", "load",
    "replace", "rollback", "export", "snapshot", "user_add", "user_remove", "user_passwd",
    "user_delivery", "digest_sent", "digest_failed", "purge",
)  # fmt: skip
DETAIL_MAX = 500


def load_action(mode: str) -> str:
    """The audit action of a load in `mode`: "load" for an append, "replace" for a replace and
    for a replace-all (whose detail names the tables it emptied)."""
    return "load" if mode == "append" else "replace"


def record(
    con: db.Connection,
    actor: str,
    action: str,
    detail: str = "",
    rows: int | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one line to the audit log: who, when, what, how many rows."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    con.execute(
        "INSERT INTO audit_log VALUES ($at, $actor, $action, $detail, $rows)",
        {
            "at": at or dt.datetime.now(),
            "actor": actor[:NAME_MAX],
            "action": action,
            "detail": detail[:DETAIL_MAX],
            "rows": rows,
        },
    )


def audit_log(con: db.Connection, limit: int = 200) -> pd.DataFrame:
    """The newest `limit` audit lines, newest first: logged_at, actor, action, detail, rows."""
    return db.query(con, "audit_log", limit=int(limit))
