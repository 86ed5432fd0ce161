"""Throw-away database servers for the backend tests: a local PostgreSQL and a Spark session.

Imported by tests/conftest.py, so the README's plain `python -m pytest` starts them too. Each is
started once per test session, only when a test asks for it. Without PostgreSQL (Debian's
`postgresql` package) or Java, the tests that need them are skipped, except in CI (`CI` set),
where they fail: .ci/run installs both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: the backend tests must run)", pytrace=False)
    pytest.skip(message)


def _pg_bin() -> Path | None:
    """The bin folder of the newest PostgreSQL under /usr/lib/postgresql, else from PATH."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A PostgreSQL cluster in a temp folder on a free loopback port, trust auth, C collation."""

    def __init__(self, bindir: Path, settings: dict[str, str] | None = None) -> None:
        self.bindir = bindir
        self.settings = settings or {}
        self.root = Path(tempfile.mkdtemp(prefix="crm_lens_pg_"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            runuser = shutil.which("runuser")
            self._as = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-c"]
        else:
            import getpass

            self.user = getpass.getuser()
        os.chmod(self.root, 0o755)

    def _run(self, *args: str) -> None:
        cmd = [*self._as, *args]
        if self._as[:1] == ["su"]:
            cmd = [*self._as, " ".join(args)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        # C collation: text sorts by code point, as in DuckDB and Spark (docs/backends.md).
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One local PostgreSQL for the whole test session, stopped at its end."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -r requirements.txt)")
    bindir = _pg_bin()
    if bindir is None:
        _unavailable("PostgreSQL is not installed (apt-get install postgresql)")
        return
    server = PgServer(bindir)
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as e:
        err = getattr(e, "stderr", b"") or b""
        server.stop()
        _unavailable(f"cannot start a local PostgreSQL: {e} {err.decode(errors='replace')}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a fresh, empty PostgreSQL database."""
    return pg_server.create_database()


@pytest.fixture(scope="session")
def spark_session() -> Iterator[object]:
    """One local SparkSession (2 threads, 2 shuffle partitions, no UI) for the test session."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _unavailable("pyspark is not installed (pip install -r requirements-spark.txt)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("Java is not installed (apt-get install openjdk-17-jre-headless)")
    from crm_core.engine import config, sparkdb

    # Small shuffles for CRM-sized test data, here and in CLI subprocesses.
    old = os.environ.get("CRM_LENS_SPARK_SHUFFLE_PARTITIONS")
    os.environ["CRM_LENS_SPARK_SHUFFLE_PARTITIONS"] = "2"
    config.SPARK_SHUFFLE_PARTITIONS = 2
    spark = sparkdb.session("local[2]")
    yield spark
    spark.stop()
    if old is None:
        os.environ.pop("CRM_LENS_SPARK_SHUFFLE_PARTITIONS", None)
    else:
        os.environ["CRM_LENS_SPARK_SHUFFLE_PARTITIONS"] = old


@pytest.fixture
def spark_url(spark_session: object, tmp_path: Path) -> str:
    """A Spark target on the session's SparkSession with a fresh, empty warehouse."""
    return f"spark:local[2]?warehouse={tmp_path / 'warehouse'}"
