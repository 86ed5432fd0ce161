"""Shared fixtures: a fresh DuckDB file per test, the fixture folder, the shared datasets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_core import db

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data_dir() -> Path:
    """../shared/data next to the project, or $CRM_LENS_SHARED_DATA."""
    env = os.environ.get("CRM_LENS_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.is_dir():
        pytest.skip(f"public datasets not found at {d} (set CRM_LENS_SHARED_DATA)")
    return d


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "crm.duckdb"


@pytest.fixture
def con(db_file: Path) -> Iterator[db.Connection]:
    c = db.connect(db_file)
    yield c
    c.close()


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per test session (tests must not modify it)."""
    from crm_core import ingest

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    c = db.connect(path)
    ingest.load_demo(c)
    c.close()
    return path


@pytest.fixture
def demo_con(demo_db_file: Path) -> Iterator[db.Connection]:
    c = db.connect(demo_db_file)
    yield c
    c.close()
