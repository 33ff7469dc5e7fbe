"""Alembic environment: runs migrations on the connection ``core.migrations`` hands over.

Run through ``core.migrations.upgrade(connection)`` (or ``sessiond db upgrade``); the
connection and its transaction belong to the caller. ``alembic`` on the command line also
works with ``-x url=...`` for autogenerating a new revision against ``core.tables.metadata``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from core.tables import metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass the database with: alembic -x url=sqlite:///var/sessiond.db ...")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
