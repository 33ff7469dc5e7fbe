"""Session leases: at most one running daemon per session config and store.

A daemon that runs a session holds that session's row of ``session_leases`` (keyed by
``session_name``, the key its results are stored under). The row names the holder (host, pid
and a random token of the process), the config file, the daemon's API URL and its current
run id, and carries a heartbeat:

- :meth:`LeaseStore.acquire` takes the lease when there is no row, when the row is this
  holder's, when it has expired (``expires_at`` passed on the database clock: the holder
  stopped renewing, e.g. it was killed or its host died), or when the caller names the holder
  it knows to be dead (``take_over``; see :func:`holder_is_dead_here`). Otherwise it raises
  :class:`core.errors.LeaseError` naming the holder, its host and pid.
- :meth:`LeaseStore.renew` (the heartbeat, every few seconds) pushes ``expires_at`` to
  ``now + ttl_seconds``; a lease another daemon took over in the meantime is reported lost, so
  the caller stops that session instead of running it twice.
- :meth:`LeaseStore.release` deletes this holder's rows (on a clean exit).

Time is the **database's** clock (``now()`` on PostgreSQL, ``strftime('%f', 'now')`` on
SQLite): daemons on several hosts then agree on expiry without trusting each other's clocks,
and nothing here reads the wall clock. Every check-and-write happens in one transaction
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), so two daemons
starting at once cannot both win.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from core import tables
from core.errors import LeaseError, StoreError

DEFAULT_TTL_SECONDS = 30.0
"""A lease not renewed for this long (seconds) is free to take over."""

_TABLE: sa.Table = tables.SessionLeaseRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds a lease: the host, the process id and a token unique to this process."""

    holder: str
    hostname: str
    pid: int

    @classmethod
    def this_process(cls) -> LeaseHolder:
        hostname = socket.gethostname()
        pid = os.getpid()
        return cls(f"{hostname}:{pid}:{secrets.token_hex(4)}", hostname, pid)


@dataclass(frozen=True, slots=True)
class SessionLease:
    """One ``session_leases`` row (times are aware UTC, on the database's clock)."""

    session_name: str
    holder: str
    hostname: str
    pid: int
    config_path: str
    api_url: str | None
    run_id: int | None
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def describe(self) -> str:
        return f"pid {self.pid} on {self.hostname} (holder {self.holder})"


def holder_is_dead_here(lease: SessionLease, me: LeaseHolder) -> bool:
    """True when ``lease`` was taken by a process of this host that no longer runs: its pid
    is gone, or it is this process's own pid under another token (a restarted container)."""
    if lease.hostname != me.hostname or lease.holder == me.holder:
        return False
    if lease.pid == me.pid:
        return True
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a process of another user has that pid: alive
        return False
    return False


def database_now(conn: sa.Connection) -> datetime:
    """The database's current time as aware UTC (sub-second on both dialects)."""
    if conn.dialect.name == "sqlite":
        text = conn.execute(sa.select(sa.func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
        return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
    value = conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def read_leases(store: Any) -> tuple[datetime, list[SessionLease]]:
    """(database now, every lease row ordered by session name) — for ``sessiond status``."""
    store.upgrade()
    try:
        with store.engine.connect() as conn, conn.begin():
            now = database_now(conn)
            rows = conn.execute(sa.select(_TABLE).order_by(_TABLE.c.session_name)).all()
    except sa.exc.DBAPIError as error:
        raise StoreError(
            f"cannot read the leases of {store.url}: {_one_line(error.orig)}"
        ) from None
    return now, [_lease(row) for row in rows]


class LeaseStore:
    """The leases ``holder`` takes, renews and releases in ``store`` (a ``core.store.Store``)."""

    def __init__(
        self, store: Any, holder: LeaseHolder, *, ttl_seconds: float = DEFAULT_TTL_SECONDS
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be > 0, was {ttl_seconds}")
        self.store = store
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_seconds)
        self._ready = False

    def _begin(self) -> Any:
        if not self._ready:
            self.store.upgrade()
            self._ready = True
        return self.store.engine.begin()

    def acquire(
        self,
        session_name: str,
        config_path: str,
        *,
        api_url: str | None = None,
        take_over: str | None = None,
    ) -> SessionLease:
        """Take the lease of ``session_name`` (see the module doc); ``LeaseError`` when a live
        holder has it. ``take_over``: the ``holder`` of a row known to be dead."""
        for attempt in (1, 2):
            try:
                return self._acquire(session_name, config_path, api_url, take_over)
            except sa.exc.IntegrityError:  # another daemon inserted the row meanwhile: re-check
                if attempt == 2:
                    raise
            except sa.exc.DBAPIError as error:
                raise StoreError(
                    f"cannot take the lease of session {session_name!r} in {self.store.url}: "
                    f"{_one_line(error.orig)}"
                ) from None
        raise AssertionError("unreachable")

    def _acquire(
        self, session_name: str, config_path: str, api_url: str | None, take_over: str | None
    ) -> SessionLease:
        me = self.holder
        with self._begin() as conn:
            now = database_now(conn)
            select = sa.select(_TABLE).where(_TABLE.c.session_name == session_name)
            if conn.dialect.name == "postgresql":
                select = select.with_for_update()
            row = conn.execute(select).first()
            values = {
                "holder": me.holder,
                "hostname": me.hostname,
                "pid": me.pid,
                "config_path": str(config_path),
                "api_url": api_url,
                "run_id": None,
                "acquired_at": now,
                "heartbeat_at": now,
                "expires_at": now + self.ttl,
            }
            if row is None:
                conn.execute(sa.insert(_TABLE).values(session_name=session_name, **values))
            else:
                current = _lease(row)
                free = (
                    current.holder == me.holder
                    or current.is_expired(now)
                    or (take_over is not None and current.holder == take_over)
                )
                if not free:
                    left = (current.expires_at - now).total_seconds()
                    raise LeaseError(
                        f"session {session_name!r} is already running in another daemon "
                        f"({current.describe()}, config {current.config_path}, last heartbeat "
                        f"{(now - current.heartbeat_at).total_seconds():.0f} s ago): stop that "
                        f"daemon, or wait {left:.0f} s for its lease to expire if it is dead"
                    )
                if current.holder == me.holder:
                    values["acquired_at"] = current.acquired_at
                conn.execute(
                    sa.update(_TABLE).where(_TABLE.c.session_name == session_name).values(**values)
                )
        return SessionLease(session_name=session_name, **values)  # type: ignore[arg-type]

    def renew(
        self, session_names: Iterable[str], *, run_ids: dict[str, int | None] | None = None
    ) -> list[str]:
        """Heartbeat: extend this holder's leases of ``session_names`` (and record their run
        ids); returns the names whose lease is no longer this holder's (lost)."""
        names = list(session_names)
        if not names:
            return []
        lost: list[str] = []
        try:
            with self._begin() as conn:
                now = database_now(conn)
                for name in names:
                    values: dict[str, Any] = {"heartbeat_at": now, "expires_at": now + self.ttl}
                    run_id = (run_ids or {}).get(name)
                    if run_id is not None:
                        values["run_id"] = run_id
                    result = conn.execute(
                        sa.update(_TABLE)
                        .where(_TABLE.c.session_name == name, _TABLE.c.holder == self.holder.holder)
                        .values(**values)
                    )
                    if result.rowcount == 0:
                        lost.append(name)
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot renew the session leases in {self.store.url}: {_one_line(error.orig)}"
            ) from None
        return lost

    def release(self, session_names: Sequence[str] | None = None) -> int:
        """Delete this holder's leases (all of them, or those of ``session_names``)."""
        stmt = sa.delete(_TABLE).where(_TABLE.c.holder == self.holder.holder)
        if session_names is not None:
            stmt = stmt.where(_TABLE.c.session_name.in_(list(session_names)))
        try:
            with self._begin() as conn:
                return int(conn.execute(stmt).rowcount)
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot release the session leases in {self.store.url}: {_one_line(error.orig)}"
            ) from None


def _lease(row: Any) -> SessionLease:
    return SessionLease(
        session_name=row.session_name,
        holder=row.holder,
        hostname=row.hostname,
        pid=row.pid,
        config_path=row.config_path,
        api_url=row.api_url,
        run_id=row.run_id,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
    )


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


__all__ = [
    "DEFAULT_TTL_SECONDS",
    "LeaseHolder",
    "LeaseStore",
    "SessionLease",
    "database_now",
    "holder_is_dead_here",
    "read_leases",
]
