"""Server limits of the live API: header size, header read time, keep-alive, connections.

uvicorn's defaults leave the API open to slow or oversized clients: the ``httptools`` parser
it picks when installed has no bound on header size, and no parser has a time limit on
*reading* a request's headers, so half-open connections (a request line and nothing else, or
nothing at all) are held for ever. :class:`ServerLimits` says what the API accepts and
:func:`limited_protocol` builds uvicorn's ``h11`` protocol class that enforces it:

- ``max_header_bytes``: a request line + headers larger than this gets ``400`` and the
  connection is closed (h11's ``max_incomplete_event_size``);
- ``header_read_timeout_seconds``: a connection must deliver a complete request head this
  soon after it opens (or after its previous response); otherwise it is closed;
- ``keep_alive_seconds``: an idle keep-alive connection is closed after this (uvicorn);
- ``max_connections``: connections beyond this many open ones (HTTP and websockets) are
  closed as soon as they are accepted, before anything is read;
- ``max_websocket_message_bytes``: a larger message from a websocket client closes it
  (clients have nothing to send but pings).

``uvicorn_options(limits)`` is the keyword set ``uvicorn.Config`` takes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What the live API's HTTP server accepts (see the module doc for each limit)."""

    max_header_bytes: int = 16 * 1024
    """Largest request line + headers, bytes (default 16 KiB)."""
    header_read_timeout_seconds: float = 5.0
    """Time allowed to send a complete request head, seconds (default 5)."""
    keep_alive_seconds: float = 5.0
    """Idle keep-alive connections are closed after this, seconds (default 5)."""
    max_connections: int = 200
    """Open connections (HTTP + websockets) at most (default 200)."""
    max_websocket_message_bytes: int = 64 * 1024
    """Largest websocket message a client may send, bytes (default 64 KiB)."""


class _LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header read deadline and a connection cap."""

    header_read_timeout_seconds: float = 5.0
    max_connections: int = 200

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.abort()  # over the cap: nothing is read from it
            return
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            if self._head_deadline is None:  # a new request head has started: time it
                self._arm_head_deadline()
        else:
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._cancel_head_deadline()  # uvicorn's keep-alive timer takes over until data comes

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self.loop.call_later(
            self.header_read_timeout_seconds, self._head_timed_out
        )

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def limited_protocol(limits: ServerLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol class enforcing ``limits`` (pass it as ``http=``)."""
    return type(
        "LimitedH11Protocol",
        (_LimitedH11Protocol,),
        {
            "header_read_timeout_seconds": limits.header_read_timeout_seconds,
            "max_connections": limits.max_connections,
        },
    )


def uvicorn_options(limits: ServerLimits) -> dict[str, Any]:
    """The ``uvicorn.Config`` keywords that enforce ``limits``."""
    return {
        "http": limited_protocol(limits),
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "timeout_keep_alive": limits.keep_alive_seconds,
        "ws_max_size": limits.max_websocket_message_bytes,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "server_header": False,
    }


__all__ = ["ServerLimits", "limited_protocol", "uvicorn_options"]
