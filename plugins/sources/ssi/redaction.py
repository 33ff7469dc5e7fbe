"""Keeping SSI secrets (consumer secret, access token) out of logs, errors and output.

``Redactor`` remembers the secret values seen at run time and scrubs them (and any
``Bearer <token>``) from text; ``RedactingFilter`` applies it to every record of the SSI
loggers, including the websocket library's, whatever their level.
"""

from __future__ import annotations

import logging
import re
import threading

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
MASK = "***"


class Redactor:
    """A set of secret strings to mask in any text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        if not text:
            return text
        for secret in tuple(self._secrets):
            if secret in text:
                text = text.replace(secret, MASK)
        return _BEARER.sub(r"\g<1>" + MASK, text)


REDACTOR = Redactor()
"""Process-wide: every SSI client registers its secrets here."""


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets masked (never drops the record)."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw msg, scrubbed
            message = str(record.msg)
        scrubbed = self._redactor.scrub(message)
        if record.exc_info and record.exc_info[1] is not None:
            # format the traceback now so that the secrets in it are masked too
            formatted = logging.Formatter().formatException(record.exc_info)
            scrubbed = f"{scrubbed}\n{self._redactor.scrub(formatted)}"
            record.exc_info = None
            record.exc_text = None
        record.msg = scrubbed
        record.args = None
        return True


def redacted_logger(name: str) -> logging.Logger:
    """A logger whose records always pass through the redacting filter."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger
