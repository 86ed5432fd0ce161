"""Staged uploads: written once, bounded per session, private, removed after use and at start-up."""

from __future__ import annotations

import errno
import gc
import io
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crm_core import ingest
from crm_core.engine import config
from crm_core.ingest import uploads


@pytest.fixture(autouse=True)
def private_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own upload base folder and a fresh process root."""
    monkeypatch.setattr(config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setattr(uploads, "_root", None)
    return tmp_path / "uploads"


def test_a_file_is_staged_once_privately(fixtures: Path) -> None:
    data = (fixtures / "orders_gbk.csv").read_bytes()
    staging = uploads.SessionUploads()
    first = staging.stage("id-1", "../../etc/订单 2024.csv", io.BytesIO(data), len(data))
    again = staging.stage("id-1", "../../etc/订单 2024.csv", io.BytesIO(b"other"), 5)
    assert first == again and first.read_bytes() == data  # the second call wrote nothing
    assert first.parent == staging.dir and first.name.endswith("订单_2024.csv")
    assert list(staging.dir.iterdir()) == [first]
    # Owner-only: the root, the session folder and the file.
    assert stat.S_IMODE(uploads.process_root().stat().st_mode) == 0o700
    assert stat.S_IMODE(staging.dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_the_session_bounds_refuse_the_next_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MAX_SESSION_FILES", 2)
    monkeypatch.setattr(config, "MAX_SESSION_UPLOAD_MB", 1)
    staging = uploads.SessionUploads()
    staging.stage("a", "a.csv", io.BytesIO(b"x" * 400_000), 400_000)
    # 400,000 + 700,000 bytes > 1 MB (1,000,000 bytes): refused, nothing written.
    with pytest.raises(uploads.UploadRefused) as e:
        staging.stage("b", "b.csv", io.BytesIO(b"x" * 700_000), 700_000)
    assert (e.value.key, e.value.facts) == ("too_large", {"mb": 1, "used": 0.4, "size": 0.7})
    staging.stage("c", "c.csv", io.BytesIO(b"x" * 500_000), 500_000)
    with pytest.raises(uploads.UploadRefused) as e:  # the third file of at most 2
        staging.stage("d", "d.csv", io.BytesIO(b"x"), 1)
    assert e.value.key == "too_many"
    assert len(list(staging.dir.iterdir())) == 2
    # Taking a file out of the uploader frees its place.
    staging.keep({"c"})
    staging.stage("d", "d.csv", io.BytesIO(b"x"), 1)
    assert sorted(staging.files) == ["c", "d"]


def test_a_full_disk_is_refused_without_a_partial_file() -> None:
    class FullDisk(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise OSError(errno.ENOSPC, "No space left on device")

    staging = uploads.SessionUploads()
    with pytest.raises(uploads.UploadRefused) as e:
        staging.stage("a", "a.csv", FullDisk(), 10)
    assert e.value.key == "disk_full"
    assert list(staging.dir.iterdir()) == [] and not staging.files


def test_an_ended_session_leaves_nothing_behind() -> None:
    staging = uploads.SessionUploads()
    folder = staging.dir
    staging.stage("a", "a.csv", io.BytesIO(b"id,name\n1,x\n"), 12)
    del staging  # Streamlit drops an ended session's state
    gc.collect()
    assert not folder.exists()
    staging = uploads.SessionUploads()
    staging.stage("a", "a.csv", io.BytesIO(b"x"), 1)
    staging.clear()  # after a load
    assert not staging.files and not staging.dir.exists()
    staging.stage("b", "b.csv", io.BytesIO(b"x"), 1)  # the next upload works
    assert len(list(staging.dir.iterdir())) == 1


def test_start_up_sweep_removes_dead_and_stale_folders(private_base: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_root = private_base / f"crm_lens-{os.getuid()}" / f"{int(gone.stdout)}-abcd1234"
    (dead_root / "session-1").mkdir(parents=True)
    (dead_root / "session-1" / "orders.csv").write_text("personal data")
    earlier = private_base / f"crm_lens-{os.getuid()}" / f"{os.getpid()}-00000000"  # same pid
    earlier.mkdir()
    live = uploads.SessionUploads()
    live.stage("a", "a.csv", io.BytesIO(b"x"), 1)
    idle = uploads.SessionUploads()
    idle.stage("a", "a.csv", io.BytesIO(b"x"), 1)
    old = time.time() - 3600 * (config.UPLOAD_STALE_HOURS + 1)
    for p in (idle.dir, *idle.dir.iterdir()):
        os.utime(p, (old, old))
    removed = uploads.sweep()
    assert set(removed) == {dead_root, earlier, idle.dir}
    assert live.dir.is_dir() and not dead_root.exists()
    # The idle session comes back: its file is staged again, within its bound of files.
    again = idle.stage("a", "a.csv", io.BytesIO(b"y"), 1)
    assert again.read_bytes() == b"y" and len(idle.files) == 1


def test_loads_and_validations_leave_no_scratch_files(con, fixtures: Path, tmp_path: Path) -> None:
    ingest.validate([ingest.Source(fixtures / "orders_gbk.csv")])
    ingest.load(con, [ingest.Source(fixtures / "customers_bom.csv")])
    bad = tmp_path / "bad.csv"
    bad.write_bytes("订单编号,下单时间\nSO1,not a date\n".encode("gb18030"))
    with pytest.raises(ingest.IngestError):
        ingest.load(con, [ingest.Source(bad, "orders")])
    assert list(uploads.process_root().iterdir()) == []


def test_validation_runs_under_the_memory_cap_of_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Validation opened DuckDB without a memory limit (80 % of RAM per upload). Under a cap too
    # small for the demo orders (2.8 MB), validating now fails as a load would.
    monkeypatch.setattr(config, "MEMORY_LIMIT", "1MB")
    reports = ingest.validate([ingest.Source(config.DEMO_DIR / "orders.csv", "orders")])
    assert not reports[0].ok
    assert "Out of Memory" in reports[0].error_text()
