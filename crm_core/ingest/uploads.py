"""Uploaded files on disk: one private folder per process and per session, bounded, swept.

Layout: <temp>/crm_lens-<uid>/<pid>-<token>/ is this process's root (mode 0700); under it one
`session-<token>/` per browser session holding that session's uploads, each written once, and
`work-*` folders for a load's or validation's decoded copies. A session's folder is removed when
its `SessionUploads` object is garbage-collected (the session ended) or cleared (after a load);
folders of sessions idle for STALE_HOURS, and the roots of processes that are gone, are removed
by `sweep`, which the app runs at start-up.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, BinaryIO

from crm_core.engine import config

CHUNK = 1 << 20
_lock = threading.Lock()
_root: Path | None = None


class UploadRefused(Exception):
    """An upload that is not staged: `key` names the message (security.upload_<key>) and
    `facts` fill it."""

    def __init__(self, key: str, **facts: Any) -> None:
        super().__init__(f"{key}: {facts}")
        self.key = key
        self.facts = facts


def is_disk_full(e: BaseException) -> bool:
    """Whether an error (an OSError, or a database error quoting one) means the disk is full."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(seen) or "Disk quota exceeded" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def base_dir() -> Path:
    """The folder holding every process's upload root (one per user of the machine)."""
    return Path(config.UPLOAD_DIR or tempfile.gettempdir()) / f"crm_lens-{os.getuid()}"


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; refusing to stage uploads there")
    os.chmod(path, 0o700)
    return path


def process_root() -> Path:
    """This process's private upload root, created on first use."""
    global _root
    with _lock:
        if _root is None or not _root.is_dir():
            _private_dir(base_dir())
            _root = _private_dir(base_dir() / f"{os.getpid()}-{secrets.token_hex(4)}")
        return _root


def work_dir(prefix: str = "work-") -> Path:
    """A fresh private folder for one load's or validation's scratch files (decoded copies)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=process_root()))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(stale_hours: float | None = None) -> list[Path]:
    """Remove upload folders nobody will use again: the roots of processes that are no longer
    running, and session folders of this or any running process idle for more than
    `stale_hours` (default config.UPLOAD_STALE_HOURS). Returns what was removed."""
    base = base_dir()
    if not base.is_dir():
        return []
    limit = time.time() - 3600 * (config.UPLOAD_STALE_HOURS if stale_hours is None else stale_hours)
    removed = []
    for proc in base.iterdir():
        pid = proc.name.split("-", 1)[0]
        if not proc.is_dir() or not pid.isdigit():
            continue
        # A root of a process that is gone, or of an earlier process with this pid (containers
        # restart with the same pid), is no one's.
        earlier = int(pid) == os.getpid() and proc != _root
        if earlier or (int(pid) != os.getpid() and not _pid_alive(int(pid))):
            shutil.rmtree(proc, ignore_errors=True)
            removed.append(proc)
            continue
        for child in proc.iterdir():
            if child.is_dir() and _last_used(child) < limit:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed


def _last_used(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    times += [p.stat().st_mtime for p in folder.iterdir() if p.exists()]
    return max(times)


def _safe_name(name: str) -> str:
    import re

    return re.sub(r"[^\w.\-]+", "_", os.path.basename(name))[:80].lstrip(".") or "upload.csv"


class SessionUploads:
    """One browser session's staged uploads, within config.MAX_SESSION_FILES files and
    config.MAX_SESSION_UPLOAD_MB megabytes; the folder goes when the object is collected."""

    def __init__(self) -> None:
        self.dir = _private_dir(process_root() / f"session-{secrets.token_hex(8)}")
        self.files: dict[str, tuple[Path, int]] = {}  # upload id -> (staged path, bytes)
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.dir), True)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files.values())

    def stage(self, upload_id: str, name: str, data: BinaryIO, size: int) -> Path:
        """The staged copy of an upload: written on first sight (streamed, not copied in
        memory), the same path afterwards. Refuses (UploadRefused) a file over the session's
        bounds, and a disk that is full, leaving nothing half-written behind."""
        if upload_id in self.files:
            path, _ = self.files[upload_id]
            if path.exists():
                os.utime(self.dir)  # still in use: not stale
                return path
            del self.files[upload_id]  # swept while the session slept: stage it again
        if len(self.files) >= config.MAX_SESSION_FILES:
            raise UploadRefused("too_many", n=config.MAX_SESSION_FILES)
        limit = config.MAX_SESSION_UPLOAD_MB * 1_000_000
        if self.total_bytes + size > limit:
            raise UploadRefused(
                "too_large",
                mb=config.MAX_SESSION_UPLOAD_MB,
                used=round(self.total_bytes / 1e6, 1),
                size=round(size / 1e6, 1),
            )
        if not self.dir.is_dir():  # swept while the session slept
            _private_dir(self.dir)
        path = self.dir / f"{len(self.files) + 1:02d}-{secrets.token_hex(4)}-{_safe_name(name)}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                data.seek(0)
                shutil.copyfileobj(data, out, CHUNK)
        except OSError as e:
            path.unlink(missing_ok=True)
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise UploadRefused("disk_full") from e
            raise
        self.files[upload_id] = (path, size)
        return path

    def keep(self, upload_ids: set[str]) -> None:
        """Drop the staged copies of uploads no longer in the uploader (frees their quota)."""
        for upload_id in set(self.files) - upload_ids:
            path, _ = self.files.pop(upload_id)
            path.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove every staged copy (after a load); the folder stays for the next uploads."""
        self.keep(set())
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self) -> None:
        """Remove the folder now (what garbage collection of the session does)."""
        self.files.clear()
        self._finalizer()
