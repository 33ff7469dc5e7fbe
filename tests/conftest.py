"""Fixtures shared by the whole suite.

- ``sqlite_url``: a fresh SQLite file store URL under the test's tmp_path.
- ``pg_url``: a PostgreSQL URL at ``SESSIOND_TEST_PG_URL`` isolated in its own schema (created
  for the test, dropped after), so parallel workers and reruns never see each other's rows.
  Skips only when ``SESSIOND_TEST_PG_URL`` is unset.
- ``store_url``: parametrised over both (``sqlite`` and ``postgres``).
- ``market_data_dir``: ``../shared/market_data`` (skips when absent).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKET_DATA_DIR = REPO_ROOT.parent / "shared" / "market_data"
PG_ENV = "SESSIOND_TEST_PG_URL"


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessiond.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = _pg_base_url()
    if base is None:
        pytest.skip(f"{PG_ENV} is not set")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def market_data_dir() -> Path:
    if not MARKET_DATA_DIR.is_dir():
        pytest.skip(f"{MARKET_DATA_DIR} is absent")
    return MARKET_DATA_DIR
