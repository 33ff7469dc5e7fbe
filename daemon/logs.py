"""Log records of the daemon: one line per event, text or JSON, with the session they concern.

:func:`configure_logging` installs one stderr handler on the root logger:

- ``text``: ``2026-02-03T03:00:01.123Z WARNING [vn30_live run 12] plugins.sources.ssi.stream:
  SSI stream X-TRADE:...: connection lost ...``;
- ``json`` (``--log-format json``; python-json-logger): one object per line with ``time``
  (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``session``, ``exchange``, ``run_id``
  (null outside a session) and ``exc_info`` when there is a traceback — what log collectors
  (journald, Loki, Elasticsearch) index.

The session fields come from a context variable: :func:`bind_session` sets it at the start of
a session's asyncio task, and every task, callback and ``asyncio.to_thread`` call started from
there inherits it, so a reconnect logged deep inside a data source still names its session.
The run id is read when a record is made (it is known only once the run has started).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class LogContext:
    """The session a log record concerns; ``run_id`` is called when a record is made."""

    session: str
    exchange: str
    run_id: Callable[[], int | None] = lambda: None


_CONTEXT: ContextVar[LogContext | None] = ContextVar("sessiond_log_context", default=None)


def bind_session(context: LogContext) -> Token[LogContext | None]:
    """Tag the log records of this task (and of what it starts) with ``context``."""
    return _CONTEXT.set(context)


def unbind_session(token: Token[LogContext | None]) -> None:
    """Undo the :func:`bind_session` that returned ``token``."""
    _CONTEXT.reset(token)


def current_context() -> LogContext | None:
    return _CONTEXT.get()


class SessionContextFilter(logging.Filter):
    """Adds ``session``, ``exchange`` and ``run_id`` to every record (None outside a session)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _CONTEXT.get()
        if context is None:
            record.session = record.exchange = record.run_id = None
        else:
            record.session = context.session
            record.exchange = context.exchange
            try:
                record.run_id = context.run_id()
            except Exception:  # a log line never fails
                record.run_id = None
        return True


def _utc(record: logging.LogRecord) -> str:
    instant = datetime.fromtimestamp(record.created, UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> [<session> run <id>] <logger>: <message>``."""

    def format(self, record: logging.LogRecord) -> str:
        scope = ""
        session = getattr(record, "session", None)
        if session is not None:
            run_id = getattr(record, "run_id", None)
            scope = f"[{session}{'' if run_id is None else f' run {run_id}'}] "
        line = f"{_utc(record)} {record.levelname} {scope}{record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def json_formatter() -> logging.Formatter:
    """python-json-logger's formatter with the fields of the module doc."""
    from pythonjsonlogger.json import JsonFormatter

    class SessiondJsonFormatter(JsonFormatter):
        def add_fields(
            self, log_data: dict[str, Any], record: logging.LogRecord, message: dict[str, Any]
        ) -> None:
            super().add_fields(log_data, record, message)
            log_data["time"] = _utc(record)
            log_data["level"] = record.levelname
            log_data["logger"] = record.name
            for name in ("session", "exchange", "run_id"):
                log_data[name] = getattr(record, name, None)

    return SessiondJsonFormatter(
        "%(message)s",
        reserved_attrs=[*_RESERVED, "session", "exchange", "run_id"],
        json_ensure_ascii=False,
    )


_RESERVED = [
    "args",
    "asctime",
    "created",
    "exc_text",
    "filename",
    "funcName",
    "levelname",
    "levelno",
    "lineno",
    "module",
    "msecs",
    "msg",
    "name",
    "pathname",
    "process",
    "processName",
    "relativeCreated",
    "stack_info",
    "thread",
    "threadName",
    "taskName",
]


def configure_logging(
    log_format: str = "text", level: str | int = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Route every log record to ``stream`` (stderr) as ``text`` or ``json`` lines; returns
    the handler (replacing one installed by an earlier call)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name("sessiond")
    handler.addFilter(SessionContextFilter())
    handler.setFormatter(json_formatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "sessiond"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("websockets", "httpx", "httpcore", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler


__all__ = [
    "LOG_FORMATS",
    "LogContext",
    "SessionContextFilter",
    "TextFormatter",
    "bind_session",
    "configure_logging",
    "current_context",
    "unbind_session",
    "json_formatter",
]
