"""Meeting snapshots: a frozen, read-only copy of the data as of one load, shareable by link.

A snapshot is `<db>-snapshots/<id>.duckdb` plus `<id>.json` (load, creation time, scope). The id
is random (secrets.token_urlsafe), so a link cannot be guessed from a load number; a snapshot
expires after config.SNAPSHOT_DAYS; it can be opened only by a viewer whose scope covers the
scope it was made under (`can_view`), and deleted by an administrator (`delete`) or for a
right-to-erasure request (crm_core.app.purge). Files are readable by their owner only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_core.engine import config, db, summaries
from crm_core.engine.schema import TABLES

_lock = threading.RLock()  # freeze lists (and may expire) snapshots while holding it
# What a snapshot holds: every table a page reads, not the undo data.
SNAPSHOT_TABLES = (*TABLES, *summaries.SUMMARIES, "load_history")
# secrets.token_urlsafe(16): 22 characters of [A-Za-z0-9_-], 128 random bits.
ID_BYTES = 16
_ID = re.compile(r"[A-Za-z0-9_-]{22}")
# Filters fields that restrict what a signed-in user may see (set by the sign-in layer). A
# snapshot records those of its maker; a viewer must be allowed at least as much.
SCOPE_FIELDS = ("regions", "owners")


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot's facts, as stored beside its file."""

    id: str
    load_id: int
    created_at: dt.datetime  # UTC
    scope: dict[str, list[str]] = field(default_factory=dict)  # SCOPE_FIELDS -> allowed values
    created_by: str | None = None

    @property
    def expires_at(self) -> dt.datetime:
        return self.created_at + dt.timedelta(days=config.SNAPSHOT_DAYS)

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or _now()) >= self.expires_at


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def current_version(con: db.Connection) -> int:
    """The newest load whose data is live (0 for a database that was never loaded)."""
    row = con.execute(
        "SELECT coalesce(max(load_id), 0) FROM load_history WHERE status = 'loaded'"
    ).fetchone()
    return int(row[0]) if row else 0


def snapshot_dir(db_file: Path) -> Path:
    """Where the snapshots of a database file live: a folder beside it."""
    return db_file.parent / f"{db_file.stem}-snapshots"


def is_valid_id(raw: Any) -> bool:
    """Whether `raw` has the shape of a snapshot id (any other value, of any length, is not
    looked up)."""
    return isinstance(raw, str) and _ID.fullmatch(raw) is not None


def snapshot_file(db_file: Path, sid: str) -> Path:
    if not is_valid_id(sid):
        raise ValueError("not a snapshot id")
    return snapshot_dir(db_file) / f"{sid}.duckdb"


def _info_file(db_file: Path, sid: str) -> Path:
    return snapshot_file(db_file, sid).with_suffix(".json")


def scope_of(f: Any) -> dict[str, list[str]]:
    """The restricting scope fields of a Filters-like object ({} = unrestricted)."""
    out = {}
    for name in SCOPE_FIELDS:
        values = getattr(f, name, None) if f is not None else None
        if values:
            out[name] = sorted({values} if isinstance(values, str) else set(values))
    return out


def can_view(info: SnapshotInfo, viewer_scope: Any) -> bool:
    """Whether a viewer with this scope (a Filters with regions / owners, or None for an
    unrestricted viewer) may open the snapshot: it must have been made under a scope no wider
    than the viewer's, field by field."""
    viewer = scope_of(viewer_scope)
    for name, allowed in viewer.items():
        made = info.scope.get(name)
        if made is None or not set(made) <= set(allowed):
            return False
    return True


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def copy_tables(con: db.Connection, path: Path) -> None:
    """Copy the live data (SNAPSHOT_TABLES that exist) into the new DuckDB file `path`, in one
    consistent read. Table names come from SNAPSHOT_TABLES only, never from a user."""
    cur = con.cursor()
    try:
        cur.execute("ATTACH $path AS crm_lens_copy", {"path": str(path)})
        have = set(db.table_columns(cur))
        cur.execute("BEGIN TRANSACTION")  # one consistent read of every table
        for name in SNAPSHOT_TABLES:
            if name in have:
                cur.execute(f"CREATE TABLE crm_lens_copy.{name} AS SELECT * FROM main.{name}")
        cur.execute("COMMIT")
        cur.execute("DETACH crm_lens_copy")
    finally:
        cur.close()


def freeze(
    con: db.Connection, db_file: Path, scope: Any = None, created_by: str | None = None
) -> str:
    """Copy the live data into a new snapshot; returns its id. An unexpired snapshot of the same
    load made under the same scope is reused (a second click shares the same link)."""
    version = current_version(con)
    wanted = scope_of(scope)
    with _lock:
        for info in list_snapshots(db_file):
            if info.load_id == version and info.scope == wanted:
                return info.id
        sid = secrets.token_urlsafe(ID_BYTES)
        target = snapshot_file(db_file, sid)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        old_umask = os.umask(0o077)  # DuckDB creates the file: owner-only from the start
        try:
            copy_tables(con, tmp)
        finally:
            os.umask(old_umask)
        facts = {
            "id": sid,
            "load_id": version,
            "created_at": _now().isoformat(),
            "scope": wanted,
            "created_by": created_by,
        }
        _write_private(_info_file(db_file, sid), json.dumps(facts, ensure_ascii=False))
        # Only a complete file ever carries the snapshot's name.
        os.replace(tmp, target)
    return sid


def info(db_file: Path, sid: Any) -> SnapshotInfo | None:
    """The snapshot's facts, or None when the id is malformed, unknown or expired (an expired
    snapshot is deleted on sight)."""
    if not is_valid_id(sid):
        return None
    path = _info_file(db_file, sid)
    if not path.exists() or not snapshot_file(db_file, sid).exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        found = SnapshotInfo(
            id=sid,
            load_id=int(raw["load_id"]),
            created_at=dt.datetime.fromisoformat(raw["created_at"]),
            scope={k: list(v) for k, v in (raw.get("scope") or {}).items()},
            created_by=raw.get("created_by"),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if found.expired():
        delete(db_file, sid)
        return None
    return found


def list_snapshots(db_file: Path) -> list[SnapshotInfo]:
    """Unexpired snapshots, newest first (expired ones are deleted on the way)."""
    d = snapshot_dir(db_file)
    if not d.is_dir():
        return []
    found = [info(db_file, p.stem) for p in d.glob("*.json")]
    return sorted((i for i in found if i), key=lambda i: i.created_at, reverse=True)


def expire(db_file: Path, now: dt.datetime | None = None) -> list[str]:
    """Delete every snapshot past its expiry; returns their ids."""
    d = snapshot_dir(db_file)
    gone = []
    for p in d.glob("*.json") if d.is_dir() else []:
        if not is_valid_id(p.stem):
            continue
        try:
            created = dt.datetime.fromisoformat(json.loads(p.read_text("utf-8"))["created_at"])
        except (ValueError, KeyError, TypeError):
            continue
        if (now or _now()) >= created + dt.timedelta(days=config.SNAPSHOT_DAYS):
            delete(db_file, p.stem)
            gone.append(p.stem)
    return gone


def delete(db_file: Path, sid: str) -> bool:
    """Remove a snapshot (its data and its facts); False if there was none. Who may do this
    (administrators) is decided by the caller."""
    if not is_valid_id(sid):
        return False
    data, facts = snapshot_file(db_file, sid), _info_file(db_file, sid)
    existed = data.exists() or facts.exists()
    with _lock:
        data.unlink(missing_ok=True)
        facts.unlink(missing_ok=True)
        data.with_name(data.name + ".wal").unlink(missing_ok=True)
    return existed


def use(cur: db.Connection, db_file: Path, sid: str | None) -> bool:
    """Point this cursor at a snapshot (or back at live data with None); False if it is gone."""
    if sid is None:
        name = db_file.stem.replace('"', '""')  # the live file's catalog is named after it
        cur.execute("USE main" if _has_main(cur) else f'USE "{name}"')
        return True
    if not is_valid_id(sid) or not snapshot_file(db_file, sid).exists():
        return False
    path = snapshot_file(db_file, sid)
    alias = "snapshot_" + sid.replace("-", "_")  # [A-Za-z0-9_]: safe as an identifier
    with _lock:
        attached = {
            r[0] for r in cur.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        }
        if alias not in attached:
            cur.execute(f'ATTACH $path AS "{alias}" (READ_ONLY)', {"path": str(path)})
    cur.execute(f'USE "{alias}"')
    return True


def _has_main(cur: db.Connection) -> bool:
    names = {r[0] for r in cur.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    return "main" in names
