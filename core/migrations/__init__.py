"""Alembic migrations of the store, packaged with ``core`` (no ``alembic.ini`` needed).

``upgrade(connection)`` brings a database to the newest revision inside the caller's
transaction; ``head_revision()`` names that revision; ``alembic_config()`` is the programmatic
configuration (``script_location`` is this package's directory). ``core.store`` runs
``upgrade`` on first use and ``sessiond db upgrade`` runs it on demand, so both agree.

Adding a migration: write ``versions/NNNN_<what>.py`` with ``down_revision`` set to the current
head, using plain ``sqlalchemy`` types (never import ``core.tables`` in a migration);
``tests/core/test_migrations.py`` checks that head creates exactly ``core.tables.metadata``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at this package; ``connection`` is used by ``env.py``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision id shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships at least the initial revision
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database at ``connection`` is at (None when never migrated)."""
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Migrate the database at ``connection`` to ``revision`` in the caller's transaction."""
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Migrate the database at ``connection`` back to ``revision`` (``"base"`` drops all)."""
    command.downgrade(alembic_config(connection), revision)
