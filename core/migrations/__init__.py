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

import ast
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

if TYPE_CHECKING:  # alembic is imported when a migration runs (start-up stays light)
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at this package; ``connection`` is used by ``env.py``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision id shipped with this package: the one no other revision names as
    its ``down_revision`` (read from the version files' assignments, without Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if node.value is None:
                    continue
                value: Any = ast.literal_eval(node.value) if names & {
                    "revision", "down_revision"} else None  # fmt: skip
                if "revision" in names:
                    revisions.add(value)
                elif "down_revision" in names and value is not None:
                    parents.update(value if isinstance(value, tuple | list) else (value,))
    heads = revisions - parents
    assert len(heads) == 1, heads  # one head: the versions form a chain
    return heads.pop()


def current_revision(connection: Connection) -> str | None:
    """The revision the database at ``connection`` is at (None when never migrated)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return rows[0][0] if len(rows) == 1 else None


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Migrate the database at ``connection`` to ``revision`` in the caller's transaction."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Migrate the database at ``connection`` back to ``revision`` (``"base"`` drops all)."""
    from alembic import command

    command.downgrade(alembic_config(connection), revision)
