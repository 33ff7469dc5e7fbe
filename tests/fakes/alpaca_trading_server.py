"""Loopback fake of Alpaca's trading API, driven by alpaca-py's ``TradingClient`` and
``TradingStream`` (``plugins.brokers.alpaca``).

REST on ``127.0.0.1:<ephemeral>`` (``url`` is the base for ``url_override`` /
``ALPACA_TRADING_URL``; alpaca-py appends ``/v2``), checking the ``APCA-API-KEY-ID`` /
``APCA-API-SECRET-KEY`` headers (401 otherwise):

- ``GET /v2/account``; ``GET /v2/positions``;
- ``GET /v2/orders?status=open|closed|all``; ``GET /v2/orders/{id}``;
  ``GET /v2/orders:by_client_order_id?client_order_id=...``;
- ``POST /v2/orders`` (422 ``client_order_id must be unique`` for a repeated client id, 403
  ``insufficient buying power`` when a buy costs more than the cash); ``PATCH /v2/orders/{id}``
  (replace: the old order ends ``replaced``, a new one with a new id takes its place);
  ``DELETE /v2/orders/{id}`` (204; 422 when the order is no longer open).

The ``trade_updates`` stream on its own port (``stream_url``), JSON text frames as Alpaca's
paper stream: ``{"action": "authenticate", "data": {"key_id", "secret_key"}}`` ->
``{"stream": "authorization", "data": {"status": "authorized", ...}}``; ``{"action": "listen",
"data": {"streams": ["trade_updates"]}}`` -> ``{"stream": "listening", ...}``; then
``{"stream": "trade_updates", "data": {"event", "execution_id", "order", "timestamp",
"position_qty", "price", "qty"}}`` for every order event while a client listens. Events that
happen while no client listens are lost, as on the real stream.

Fills: market orders fill at once at ``prices[symbol]`` when ``fill_market_orders`` (default);
anything else fills when the test calls ``fill(order, quantity, price)``. Fills move the
account's cash and positions. ``drop_streams()`` closes every stream connection (the client
reconnects); ``pause_stream = True`` makes the fake deliver nothing (events are lost).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

from tests.fakes.alpaca_server import KEY, SECRET, rfc3339

_OPEN = ("new", "accepted", "pending_new", "partially_filled", "pending_cancel")


class FakeAlpacaTrading:
    """Alpaca's trading REST API and trade-updates stream (see the module docstring)."""

    def __init__(
        self,
        *,
        cash: str = "100000",
        positions: Mapping[str, tuple[int, str]] | None = None,
        prices: Mapping[str, float] | None = None,
        fill_market_orders: bool = True,
        key: str = KEY,
        secret: str = SECRET,
        clock: Any = None,
    ) -> None:
        self.cash = Decimal(cash)
        self.positions: dict[str, tuple[int, Decimal]] = {
            s: (q, Decimal(p)) for s, (q, p) in (positions or {}).items()
        }
        self.prices = dict(prices or {})
        self.fill_market_orders = fill_market_orders
        self.key = key
        self.secret = secret
        self.clock = clock or (lambda: datetime(2024, 7, 1, 14, 30, tzinfo=UTC))
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.pause_stream = False
        self.stream_connections = 0
        self._lock = threading.RLock()
        self._http: ThreadingHTTPServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._port = 0
        self._clients: set[ServerConnection] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._http is not None, "start the fake first"
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/stream"

    def start(self) -> FakeAlpacaTrading:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:  # noqa: N802
                fake._handle(self, "PATCH")

            def do_DELETE(self) -> None:  # noqa: N802
                fake._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self._thread = threading.Thread(target=self._run_stream, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake alpaca trading stream did not start")
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        loop, future = self._loop, self._stop
        if loop is not None and future is not None and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: None if future.done() else future.set_result(None))
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> FakeAlpacaTrading:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests drive --------------------------------------------------------------------

    def order(self, client_order_id: str) -> dict[str, Any]:
        with self._lock:
            for order in self.orders.values():
                if order["client_order_id"] == client_order_id:
                    return order
        raise KeyError(client_order_id)

    def fill(self, client_order_id: str, quantity: int, price: float) -> None:
        """Execute ``quantity`` of an open order at ``price`` (partial or complete)."""
        with self._lock:
            order = self.order(client_order_id)
            self._execute(order, quantity, Decimal(str(price)))

    def cancel_by_venue(self, client_order_id: str) -> None:
        """Alpaca cancels an order by itself (e.g. a day order at the close)."""
        with self._lock:
            order = self.order(client_order_id)
            self._set_status(order, "canceled", "canceled")

    def drop_streams(self) -> None:
        """Close every stream connection; clients reconnect."""
        loop = self._loop
        assert loop is not None

        async def close_all() -> None:
            for ws in list(self._clients):
                await ws.close(1011, "fake drop")

        asyncio.run_coroutine_threadsafe(close_all(), loop).result(5)

    def listening(self) -> int:
        """How many stream clients currently listen to trade updates."""
        return sum(1 for ws in self._clients if getattr(ws, "listening", False))

    # -- orders ------------------------------------------------------------------------------

    def _now(self) -> str:
        return rfc3339(self.clock())

    def _new_order(self, body: dict[str, Any]) -> tuple[int, Any]:
        client_id = body.get("client_order_id") or str(uuid.uuid4())
        if any(o["client_order_id"] == client_id for o in self.orders.values()):
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        qty = int(Decimal(str(body["qty"])))
        symbol = body["symbol"]
        kind = body["type"]
        if body["side"] == "buy":
            price = Decimal(str(body.get("limit_price") or self.prices.get(symbol, 0)))
            if price * qty > self.cash:
                return 403, {"code": 40310000, "message": "insufficient buying power"}
        now = self._now()
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": client_id,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": body.get("replaces"),
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "symbol": symbol,
            "asset_class": "us_equity",
            "notional": None,
            "qty": str(qty),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "simple",
            "order_type": kind,
            "type": kind,
            "side": body["side"],
            "time_in_force": body["time_in_force"],
            "limit_price": _text(body.get("limit_price")),
            "stop_price": _text(body.get("stop_price")),
            "status": "new",
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }
        self.orders[order["id"]] = order
        self._event("new", order)
        if kind == "market" and self.fill_market_orders and symbol in self.prices:
            self._execute(order, qty, Decimal(str(self.prices[symbol])))
        return 200, order

    def _execute(self, order: dict[str, Any], quantity: int, price: Decimal) -> None:
        filled = int(order["filled_qty"])
        total = int(order["qty"])
        quantity = min(quantity, total - filled)
        average = Decimal(order["filled_avg_price"] or 0)
        new_filled = filled + quantity
        order["filled_avg_price"] = str((average * filled + price * quantity) / new_filled)
        order["filled_qty"] = str(new_filled)
        order["updated_at"] = self._now()
        sign = 1 if order["side"] == "buy" else -1
        held, cost = self.positions.get(order["symbol"], (0, Decimal(0)))
        new_held = held + sign * quantity
        if new_held == 0:
            self.positions.pop(order["symbol"], None)
        else:
            if held == 0 or (held > 0) != (new_held > 0):
                average_price = price  # opened, or flipped through zero
            elif abs(new_held) > abs(held):
                average_price = (cost * abs(held) + price * quantity) / abs(new_held)
            else:
                average_price = cost  # reduced: the average entry price stays
            self.positions[order["symbol"]] = (new_held, average_price)
        self.cash -= sign * price * quantity
        done = new_filled == total
        order["status"] = "filled" if done else "partially_filled"
        if done:
            order["filled_at"] = order["updated_at"]
        self._event(
            "fill" if done else "partial_fill",
            order,
            execution_id=str(uuid.uuid4()),
            price=str(price),
            qty=str(quantity),
            position_qty=str(new_held),
        )

    def _set_status(self, order: dict[str, Any], status: str, event: str) -> None:
        order["status"] = status
        order["updated_at"] = self._now()
        order[f"{status}_at"] = order["updated_at"] if f"{status}_at" in order else None
        self._event(event, order)

    def _event(self, event: str, order: dict[str, Any], **extra: Any) -> None:
        message = {
            "stream": "trade_updates",
            "data": {"event": event, "order": dict(order), "timestamp": self._now(), **extra},
        }
        self.events.append(message)
        loop = self._loop
        if self.pause_stream or loop is None:
            return
        text = json.dumps(message)
        for ws in list(self._clients):
            if getattr(ws, "listening", False):
                asyncio.run_coroutine_threadsafe(_send(ws, text), loop)

    # -- REST --------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length)) if length else None
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.requests.append((method, parts.path, body if body is not None else query))
        if (
            request.headers.get("APCA-API-KEY-ID") != self.key
            or request.headers.get("APCA-API-SECRET-KEY") != self.secret
        ):
            return _reply(request, 401, {"code": 40110000, "message": "unauthorized"})
        with self._lock:
            status, payload = self._route(method, parts.path, query, body)
        _reply(request, status, payload)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/v2/account":
            return 200, self._account()
        if method == "GET" and path == "/v2/positions":
            return 200, [self._position(s, q, p) for s, (q, p) in sorted(self.positions.items())]
        if method == "GET" and path == "/v2/orders":
            wanted = query.get("status", "open")
            orders = [
                o
                for o in self.orders.values()
                if wanted == "all" or (o["status"] in _OPEN) == (wanted == "open")
            ]
            return 200, orders[: int(query.get("limit", 500))]
        if method == "POST" and path == "/v2/orders":
            return self._new_order(body)
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            try:
                return 200, self.order(query.get("client_order_id", ""))
            except KeyError:
                return 404, {"code": 40410000, "message": "order not found"}
        if path.startswith("/v2/orders/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                return 404, {"code": 40410000, "message": "order not found"}
            if method == "GET":
                return 200, order
            if order["status"] not in _OPEN:
                return 422, {"code": 42210000, "message": f"order is {order['status']}"}
            if method == "DELETE":
                self._set_status(order, "canceled", "canceled")
                return 204, None
            if method == "PATCH":
                new_body = {
                    "symbol": order["symbol"],
                    "qty": body.get("qty") or order["qty"],
                    "side": order["side"],
                    "type": order["type"],
                    "time_in_force": body.get("time_in_force") or order["time_in_force"],
                    "limit_price": body.get("limit_price") or order["limit_price"],
                    "stop_price": body.get("stop_price") or order["stop_price"],
                    "client_order_id": body.get("client_order_id"),
                    "replaces": order["id"],
                }
                status, new_order = self._new_order(new_body)
                if status != 200:
                    return status, new_order
                order["replaced_by"] = new_order["id"]
                self._set_status(order, "replaced", "replaced")
                return 200, new_order
        return 404, {"code": 40400000, "message": f"no route {method} {path}"}

    def _account(self) -> dict[str, Any]:
        value = self.cash + sum(q * p for q, p in self.positions.values())
        return {
            "id": "e6fe16f3-64a4-4921-8928-cadf02f92f98",
            "account_number": "PA1FAKE",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": str(self.cash),
            "buying_power": str(self.cash),
            "portfolio_value": str(value),
            "equity": str(value),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "shorting_enabled": True,
            "multiplier": "1",
        }

    @staticmethod
    def _position(symbol: str, quantity: int, price: Decimal) -> dict[str, Any]:
        return {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "symbol": symbol,
            "exchange": "NASDAQ",
            "asset_class": "us_equity",
            "avg_entry_price": str(price),
            "qty": str(abs(quantity)),
            "side": "long" if quantity > 0 else "short",
            "cost_basis": str(price * abs(quantity)),
        }

    # -- stream ------------------------------------------------------------------------------

    def _run_stream(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.get_running_loop().create_future()
        async with serve(self._stream_handler, "127.0.0.1", 0) as server:
            self._port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    async def _stream_handler(self, ws: ServerConnection) -> None:
        self.stream_connections += 1
        self._clients.add(ws)
        try:
            async for raw in ws:
                message = json.loads(raw)
                action, data = message.get("action"), message.get("data") or {}
                if action == "authenticate":
                    ok = data.get("key_id") == self.key and data.get("secret_key") == self.secret
                    status = "authorized" if ok else "unauthorized"
                    await ws.send(
                        json.dumps(
                            {
                                "stream": "authorization",
                                "data": {"status": status, "action": "authenticate"},
                            }
                        )
                    )
                    if not ok:
                        await ws.close(1008, "unauthorized")
                elif action == "listen":
                    ws.listening = True  # type: ignore[attr-defined]
                    await ws.send(
                        json.dumps(
                            {"stream": "listening", "data": {"streams": data.get("streams", [])}}
                        )
                    )
        except Exception:
            return
        finally:
            self._clients.discard(ws)


async def _send(ws: ServerConnection, text: str) -> None:
    try:
        await ws.send(text)
    except Exception:
        return


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _reply(request: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    data = b"" if payload is None else json.dumps(payload).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    if data:
        request.wfile.write(data)
