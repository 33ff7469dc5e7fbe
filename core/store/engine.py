"""Store URLs, SQLAlchemy engines and their pragmas, connections and migrations, helpers.

SQLite: WAL journal (readers never block the writer), ``synchronous=NORMAL``, a busy timeout,
and every write transaction starts with ``BEGIN IMMEDIATE`` (the writer takes the lock up
front, so two writers queue instead of failing with "database is locked" on lock upgrade);
reads run in ``BEGIN DEFERRED`` snapshots (``sqlite_begin`` execution option). PostgreSQL:
``postgresql+psycopg`` (a plain ``postgresql://`` URL is rewritten to that driver).
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from core.errors import StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the lock before failing (milliseconds)."""


def default_db_url() -> str:
    """The configured store URL (``SESSIOND_DB_URL``, default ``sqlite:///var/sessiond.db``)."""
    from core.settings import get_settings

    return get_settings().db_url


def normalize_url(url: str) -> URL:
    """Parse a store URL; PostgreSQL URLs get the psycopg 3 driver.

    Raises ``StoreError`` for unparsable URLs and unsupported databases.
    """
    text = url.strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    try:
        parsed = make_url(text)
    except sa.exc.ArgumentError:
        raise StoreError(
            f"database URL {redact(text)!r} cannot be parsed: use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise StoreError(
        f"database URL scheme {parsed.drivername!r} is not supported "
        "(use sqlite:///PATH or postgresql://USER@HOST:PORT/DB)"
    )


def redact(text: str) -> str:
    """A URL with its password hidden (host and path only when it cannot be parsed)."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:
        return text.split("@")[-1]


def json_safe(value: Any) -> Any:
    """``value`` made JSON-serialisable: non-finite floats -> None, dates -> ISO text, enums and
    numpy scalars -> their values, tuples and sets -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def json_dumps(value: Any) -> str:
    """Compact JSON of :func:`json_safe` ``value`` (``{}`` without work: the common case)."""
    if not value and isinstance(value, dict):
        return "{}"
    return json.dumps(json_safe(value), separators=(",", ":"))


def json_loads(value: Any) -> Any:
    """A JSON column's value as the driver returns it (SQLite text, psycopg parsed); the
    common empty object without the parser."""
    if value == "{}":
        return {}
    return json.loads(value) if isinstance(value, str | bytes) else value


def _adapt_numpy_scalars() -> None:
    """Let sqlite3 bind numpy integers and floats (sources build bars from numpy arrays)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return
    import sqlite3

    integers: tuple[type[Any], ...] = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16)
    for integer in (*integers, np.uint32):
        sqlite3.register_adapter(integer, operator.index)
    for real in (np.float16, np.float32):  # np.float64 is a float already
        sqlite3.register_adapter(real, float)


def create_engine(url: URL) -> Engine:
    """An engine for ``url`` with sessiond's pragmas (module docstring); connects lazily."""
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, json_serializer=json_dumps, pool_pre_ping=True)
    database = url.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in database
    if not memory and not database.startswith("file:"):  # file: URIs are the caller's business
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"json_serializer": json_dumps}
    if memory:
        options["poolclass"] = sa.pool.StaticPool
        options["connect_args"] = {"check_same_thread": False}
    engine = sa.create_engine(url, **options)

    _adapt_numpy_scalars()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The pysqlite recipe: stop the driver's own BEGIN handling so SQLAlchemy's "begin"
        # event below decides how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


# --- small shared helpers ---------------------------------------------------------------------


def aware(value: datetime, name: str) -> datetime:
    """``value`` as aware UTC; ``StoreError`` naming ``name`` when naive or not a datetime."""
    if not isinstance(value, datetime):
        raise StoreError(f"{name}: expected an aware UTC datetime, got {value!r}")
    if value.utcoffset() is None:
        raise StoreError(
            f"{name}: naive datetime {value.isoformat()} cannot be stored or compared; pass an "
            "aware UTC datetime (tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def symbol_list(symbols: str | Sequence[str] | None) -> list[str] | None:
    """One symbol or many as a list (None stays None: no filter)."""
    if symbols is None:
        return None
    if isinstance(symbols, str):
        return [symbols]
    return list(symbols)


def one_line(error: object) -> str:
    """A driver's (possibly multi-line) message on one line, for the CLI's one-line errors."""
    return " ".join(str(error).split())


def content_key(*parts: Any) -> str:
    """A short stable hash of ``parts`` (events without a vendor id are keyed by content)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


_PG_MIGRATION_LOCK = 0x5E55_10D0
"""Advisory lock id serialising concurrent first-use migrations on PostgreSQL."""


class Database:
    """An engine with sessiond's connection rules: schema migrated on first use, read
    snapshots, write transactions, driver errors turned into one-line ``StoreError``s."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        self._ready = False
        self._lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def from_url(cls, url: str | None = None) -> Self:
        """Open the store at ``url`` (``None``: the configured ``SESSIOND_DB_URL``).

        Nothing is connected until first use; then the schema is migrated to head.
        """
        return cls(create_engine(normalize_url(url if url is not None else default_db_url())))

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # --- schema and connections -----------------------------------------------------------------

    def upgrade(self) -> str:
        """Migrate the schema to the newest revision (idempotent); returns that revision."""
        from core import migrations

        head = migrations.head_revision()
        try:
            with self.engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: one migrator
                if self.dialect == "postgresql":
                    conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
                current = migrations.current_revision(conn)
                if current != head:
                    migrations.upgrade(conn)
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot migrate the store at {self.url}: {one_line(error.orig)}; check the URL "
                "and that the database is reachable"
            ) from None
        except Exception as error:  # alembic: a revision this sessiond does not know
            if type(error).__module__.startswith("alembic"):
                raise StoreError(
                    f"cannot migrate the store at {self.url}: {one_line(error)} (the database "
                    "may have been migrated by a newer sessiond)"
                ) from None
            raise
        self._ready = True
        return head

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from core import migrations

        with self._connect_read(ensure=False) as conn:
            return migrations.current_revision(conn)

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        from core import migrations

        with self._lock:
            if self._ready:
                return
            # usually at head already: check in a read snapshot, so first use never waits
            # behind another process's long write transaction just to learn that
            if self.revision() == migrations.head_revision():
                self._ready = True
            else:
                self.upgrade()

    @contextmanager
    def _connect_read(self, *, ensure: bool = True) -> Iterator[Connection]:
        if ensure:
            self._ensure_ready()
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.execution_options(sqlite_begin="DEFERRED")
                with conn.begin():
                    yield conn
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot read the store at {self.url}: {one_line(error.orig)}"
            ) from None
        except self._driver_errors as error:  # raised on the DBAPI cursor of a fast path
            raise StoreError(f"cannot read the store at {self.url}: {one_line(error)}") from None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction for every write made in this thread inside the block (one
        commit instead of one per call); nested blocks join the outer one."""
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        with self._connect_write() as conn:
            self._local.connection = conn
            try:
                yield
            finally:
                self._local.connection = None

    @contextmanager
    def _connect_write(self) -> Iterator[Connection]:
        joined = getattr(self._local, "connection", None)
        if joined is not None:  # inside writing(): the outer block commits
            yield joined
            return
        self._ensure_ready()
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot write the store at {self.url}: {one_line(error.orig)}"
            ) from None
        except sa.exc.StatementError as error:  # a bind check of core.tables failed
            if isinstance(error.orig, StoreError):
                raise error.orig from None
            raise
        except self._driver_errors as error:  # raised on the DBAPI cursor of a fast path
            raise StoreError(f"cannot write the store at {self.url}: {one_line(error)}") from None

    @property
    def _driver_errors(self) -> type[Exception]:
        return self.engine.dialect.dbapi.Error  # type: ignore[union-attr,no-any-return]
