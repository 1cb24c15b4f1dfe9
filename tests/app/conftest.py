"""Fixtures for the planner's tests: a fresh database on SQLite and on PostgreSQL.

PostgreSQL comes from `MEDIAMIX_TEST_POSTGRES_URL` (scripts/test.sh starts a throw-away
server and sets it). Without it the PostgreSQL cases are skipped, except in CI
(`CI=true`), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "MEDIAMIX_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        if in_ci():
            pytest.fail(f"{POSTGRES_ENV} is not set in CI; scripts/test.sh should start PostgreSQL")
        pytest.skip(f"{POSTGRES_ENV} not set (run through scripts/test.sh to test PostgreSQL)")
    name = f"mediamix_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(tmp_path: Path):
    """A planner store on a fresh SQLite file (test_store.py tests both backends with its own)."""
    from mediamix.app.store import Store

    s = Store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "home")
    yield s
    s.close()
