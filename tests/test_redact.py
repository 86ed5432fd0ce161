"""Redaction of secrets in database URLs and error messages."""

from __future__ import annotations

import pytest

from crm_core.engine.redact import redact


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("postgresql://crm:s3cr%40t@db:5432/crm", "postgresql://crm:***@db:5432/crm"),
        (
            "postgresql://crm@db/crm?password=pw&sslmode=require",
            "postgresql://crm@db/crm?password=***&sslmode=require",
        ),
        ("sc://spark:15002/;token=abc123;user_id=crm", "sc://spark:15002/;token=***;user_id=crm"),
        (
            "cannot start Spark (sc://h:15002/;token=zz): refused",
            "cannot start Spark (sc://h:15002/;token=***): refused",
        ),
        ("host=db password='p w' dbname=crm", "host=db password='***' dbname=crm"),
        ("/srv/crm/data/crm.duckdb", "/srv/crm/data/crm.duckdb"),
        ("spark:local[2]?warehouse=/tmp/w", "spark:local[2]?warehouse=/tmp/w"),
    ],
)
def test_redact(raw: str, shown: str) -> None:
    assert redact(raw) == shown
