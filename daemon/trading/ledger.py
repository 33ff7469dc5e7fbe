"""The trading ledger: a run's orders, fills, end-of-day positions and equity curve in the store.

Writes go through the Store's engine (``core.store.Store.engine``) into the trading tables of
``core.tables`` and are **idempotent**: orders and positions are upserted by their keys, order
events (every status an order went through) and fills are inserted once per key and never
rewritten, equity points are upserted by ``(run_id, ts)``. So a resumed run that replays a day,
or a live broker that re-sends a fill after a reconnect, never duplicates an order or a fill.

The engine hands rows over as they happen (``record_*``); they are buffered and written in one
transaction per ``flush()`` (the engine flushes at every day's end and at stop). ``load(run_id)``
reads a run back for resuming (orders with their status history, fills) and for the tests'
independent recomputations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import tables
from core.errors import StoreError
from core.orders import Fill, Order, OrderRequest, OrderSide, OrderStatus, RejectReason
from daemon.trading.orders import ManagedOrder
from daemon.trading.portfolio import Portfolio, PositionSnapshot

log = logging.getLogger(__name__)


def _table(model: type[tables.SQLModel]) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


ORDERS = _table(tables.TradingOrderRow)
ORDER_EVENTS = _table(tables.TradingOrderEventRow)
FILLS = _table(tables.TradingFillRow)
POSITIONS = _table(tables.TradingPositionRow)
EQUITY = _table(tables.TradingEquityRow)


@dataclass(slots=True)
class StoredRun:
    """A run read back: its orders (status, fills so far, history) and fills in order."""

    orders: list[ManagedOrder] = field(default_factory=list)
    fills: list[tuple[Fill, Decimal, Decimal, date | None]] = field(default_factory=list)

    def last_sequence(self, prefix: str) -> int:
        """The highest ``<prefix><n>`` order number of the run (0 when none)."""
        numbers = [
            int(m.order_id[len(prefix) :])
            for m in self.orders
            if m.order_id.startswith(prefix) and m.order_id[len(prefix) :].isdigit()
        ]
        return max(numbers, default=0)


class TradingLedger:
    """Buffered, idempotent writes of one store's trading tables (see the module docstring)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._orders: dict[tuple[int, str], ManagedOrder] = {}
        self._fills: list[dict[str, Any]] = []
        self._positions: list[dict[str, Any]] = []
        self._equity: dict[tuple[int, Any], dict[str, Any]] = {}
        self._statements: dict[tuple[str, bool, str], Any] = {}
        self._events_stored: dict[tuple[int, str], int] = {}

    # -- buffering ---------------------------------------------------------------------------

    def record_order(self, run_id: int, managed: ManagedOrder) -> None:
        self._orders[(run_id, managed.order_id)] = managed

    def record_fill(
        self,
        run_id: int,
        fill: Fill,
        commission: Decimal,
        tax: Decimal,
        realized: Decimal,
        trading_date: date | None,
    ) -> None:
        self._fills.append(
            {
                "run_id": run_id,
                "fill_id": fill.fill_id,
                "order_id": fill.order_id,
                "symbol": fill.symbol,
                "side": fill.side.value,
                "quantity": fill.quantity,
                "price": fill.price,
                "commission": commission,
                "tax": tax,
                "realized_pnl": realized,
                "ts_event": fill.ts_event,
                "trading_date": trading_date,
            }
        )

    def record_positions(
        self,
        run_id: int,
        trading_date: date,
        snapshots: list[PositionSnapshot],
        portfolio: Portfolio,
    ) -> None:
        for snap in snapshots:
            self._positions.append(
                {
                    "run_id": run_id,
                    "trading_date": trading_date,
                    "symbol": snap.symbol,
                    "quantity": snap.quantity,
                    "sellable": snap.sellable,
                    "average_price": snap.average_price,
                    "cost_basis": snap.cost_basis,
                    "mark": snap.mark,
                    "market_value": snap.market_value,
                    "unrealized_pnl": snap.unrealized_pnl,
                    "realized_pnl": snap.realized_pnl,
                }
            )

    def record_equity(self, run_id: int, point: Any) -> None:
        self._equity[(run_id, point.ts)] = {
            "run_id": run_id,
            "ts": point.ts,
            "trading_date": point.trading_date,
            "cash": point.cash,
            "equity": point.equity,
            "realized_pnl": point.realized_pnl,
            "fees": point.fees,
        }

    # -- writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything buffered in one transaction (idempotent; see the module docstring)."""
        if not (self._orders or self._fills or self._positions or self._equity):
            return
        orders, events = [], []
        stored: list[tuple[ManagedOrder, int]] = []
        for (run_id, _), managed in self._orders.items():
            orders.append(_order_row(run_id, managed))
            first = self._events_stored.get((run_id, managed.order_id), 0)
            events.extend(
                {
                    "run_id": run_id,
                    "order_id": managed.order_id,
                    "seq": seq,
                    "status": status.value,
                    "ts": ts,
                    "reason": reason,
                }
                for seq, (status, ts, reason) in enumerate(managed.events)
                if seq >= first
            )
            stored.append((managed, run_id))
        with self._write() as conn:
            self._upsert(conn, ORDERS, orders, ("run_id", "order_id"))
            self._insert_new(conn, ORDER_EVENTS, events, ("run_id", "order_id", "seq"))
            self._insert_new(conn, FILLS, self._fills, ("run_id", "fill_id"))
            self._upsert(conn, POSITIONS, self._positions, ("run_id", "trading_date", "symbol"))
            self._upsert(conn, EQUITY, list(self._equity.values()), ("run_id", "ts"))
        for managed, run_id in stored:  # later flushes send only the statuses added since
            key = (run_id, managed.order_id)
            if managed.is_open:
                self._events_stored[key] = len(managed.events)
            else:
                self._events_stored.pop(key, None)
        self._orders.clear()
        self._fills.clear()
        self._positions.clear()
        self._equity.clear()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """The store's write connection: joins a write transaction the caller's thread holds
        open (``Store.writing``), else one of its own."""
        with self.store._connect_write() as conn:
            yield conn

    def _upsert(
        self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]], keys: tuple[str, ...]
    ) -> None:
        self._execute(conn, table, rows, keys, update=True)

    def _insert_new(
        self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]], keys: tuple[str, ...]
    ) -> None:
        self._execute(conn, table, rows, keys, update=False)

    def _execute(
        self,
        conn: Connection,
        table: sa.Table,
        rows: list[dict[str, Any]],
        keys: tuple[str, ...],
        *,
        update: bool,
    ) -> None:
        """``INSERT ... ON CONFLICT (keys) DO UPDATE`` (or ``DO NOTHING``), compiled once by
        SQLAlchemy for the dialect and run as one DBAPI ``executemany`` with the values already
        converted (Decimal text, UTC instants), which is several times faster than binding
        dict rows through the column types one value at a time."""
        if not rows:
            return
        cache_key = (table.name, update, conn.dialect.name)
        prepared = self._statements.get(cache_key)
        if prepared is None:
            prepared = self._statements[cache_key] = _prepare(table, keys, update, conn.dialect)
        sql, names, converters = prepared
        params: list[Any]
        if conn.dialect.positional:
            params = [tuple([c(row[n]) if c else row[n] for n, c in converters]) for row in rows]
        else:
            params = [{n: c(row[n]) if c else row[n] for n, c in converters} for row in rows]
        conn.exec_driver_sql(sql, params)

    # -- reading -----------------------------------------------------------------------------

    def _read(self, stmt: Any) -> list[Any]:
        with self.store._connect_read() as conn:
            return list(conn.execute(stmt))

    def orders(self, run_id: int) -> list[Any]:
        """The run's order rows, by order id."""
        return self._read(
            sa.select(ORDERS).where(ORDERS.c.run_id == run_id).order_by(ORDERS.c.order_id)
        )

    def order_events(self, run_id: int) -> list[Any]:
        return self._read(
            sa.select(ORDER_EVENTS)
            .where(ORDER_EVENTS.c.run_id == run_id)
            .order_by(ORDER_EVENTS.c.order_id, ORDER_EVENTS.c.seq)
        )

    def fills(self, run_id: int) -> list[Any]:
        """The run's fill rows in execution order."""
        return self._read(
            sa.select(FILLS)
            .where(FILLS.c.run_id == run_id)
            .order_by(FILLS.c.ts_event, FILLS.c.fill_id)
        )

    def positions(self, run_id: int) -> list[Any]:
        return self._read(
            sa.select(POSITIONS)
            .where(POSITIONS.c.run_id == run_id)
            .order_by(POSITIONS.c.trading_date, POSITIONS.c.symbol)
        )

    def equity_curve(self, run_id: int) -> list[Any]:
        return self._read(sa.select(EQUITY).where(EQUITY.c.run_id == run_id).order_by(EQUITY.c.ts))

    def totals(self, run_id: int) -> dict[str, Any] | None:
        """What a run's trading came to, from the stored rows alone (None: it never traded):
        orders by status, fills, realized P&L, fees and taxes, the last equity point and the
        positions of the last stored day."""
        orders = self.orders(run_id)
        if not orders:
            return None
        fills = self.fills(run_id)
        curve = self.equity_curve(run_id)
        positions = self.positions(run_id)
        last_day = max((p.trading_date for p in positions), default=None)
        statuses: dict[str, int] = {}
        for row in orders:
            statuses[row.status] = statuses.get(row.status, 0) + 1
        return {
            "orders": len(orders),
            "orders_by_status": statuses,
            "rejected_by_reason": _count(r.reject_reason for r in orders if r.reject_reason),
            "fills": len(fills),
            "realized_pnl": str(sum((f.realized_pnl for f in fills), Decimal(0))),
            "commissions": str(sum((f.commission for f in fills), Decimal(0))),
            "taxes": str(sum((f.tax for f in fills), Decimal(0))),
            "last_equity": str(curve[-1].equity) if curve else None,
            "last_equity_at": curve[-1].ts.isoformat() if curve else None,
            "positions": [
                {
                    "symbol": p.symbol,
                    "quantity": p.quantity,
                    "sellable": p.sellable,
                    "average_price": str(p.average_price),
                    "mark": None if p.mark is None else str(p.mark),
                    "unrealized_pnl": str(p.unrealized_pnl),
                }
                for p in positions
                if p.trading_date == last_day
            ],
        }

    def load(self, run_id: int) -> StoredRun:
        """The run's orders (with status history) and fills, to resume it."""
        history: dict[str, list[tuple[OrderStatus, Any, str]]] = {}
        for row in self.order_events(run_id):
            history.setdefault(row.order_id, []).append(
                (OrderStatus(row.status), row.ts, row.reason)
            )
        stored = StoredRun()
        for row in self.orders(run_id):
            request = OrderRequest(
                row.symbol,
                OrderSide(row.side),
                row.quantity,
                row.order_type,
                row.time_in_force,
                row.limit_price,
                row.stop_price,
                row.tag,
            )
            order = Order(row.order_id, request, row.created_at, row.trading_date, row.replaces)
            managed = ManagedOrder(
                order,
                OrderStatus(row.status),
                reason=row.reason,
                reject_reason=RejectReason(row.reject_reason) if row.reject_reason else None,
            )
            managed.filled = row.filled_quantity
            if row.average_fill_price is not None:
                managed.fill_value = row.average_fill_price * row.filled_quantity
            managed.broker_order_id = row.broker_order_id
            managed.updated_at = row.updated_at
            managed.events = history.get(row.order_id, managed.events)
            stored.orders.append(managed)
        for row in self.fills(run_id):
            fill = Fill(
                row.fill_id,
                row.order_id,
                row.symbol,
                OrderSide(row.side),
                row.quantity,
                row.price,
                row.ts_event,
                row.commission,
                row.tax,
            )
            stored.fills.append((fill, row.commission, row.tax, row.trading_date))
        return stored


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def _prepare(
    table: sa.Table, keys: tuple[str, ...], update: bool, dialect: Any
) -> tuple[str, tuple[str, ...], list[tuple[str, Any]]]:
    """The compiled statement, its parameter order and each column's value converter."""
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    if update:
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.params)
    sqlite = dialect.name == "sqlite"
    converters = []
    for name in names:
        kind = table.c[name].type
        converter: Any = None
        if isinstance(kind, tables.DecimalText):
            converter = _decimal_text
        elif isinstance(kind, tables.UTCDateTime):
            converter = _sqlite_instant if sqlite else _aware
        elif isinstance(kind, sa.Date) and sqlite:
            converter = _sqlite_date
        converters.append((name, converter))
    return compiled.string, names, converters


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise StoreError(f"naive datetime {value.isoformat()} cannot be stored (UTC only)")
    return value


def _sqlite_instant(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME writes, in UTC (what ``UTCDateTime`` reads)."""
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _order_row(run_id: int, managed: ManagedOrder) -> dict[str, Any]:
    order = managed.order
    request = order.request
    return {
        "run_id": run_id,
        "order_id": order.order_id,
        "broker_order_id": managed.broker_order_id,
        "trading_date": order.trading_date,
        "symbol": request.symbol,
        "side": request.side.value,
        "order_type": request.order_type.value,
        "time_in_force": request.time_in_force.value,
        "quantity": request.quantity,
        "limit_price": request.limit_price,
        "stop_price": request.stop_price,
        "status": managed.status.value,
        "filled_quantity": managed.filled,
        "average_fill_price": managed.average_price,
        "reject_reason": managed.reject_reason.value if managed.reject_reason else None,
        "reason": managed.reason,
        "replaces": order.replaces,
        "tag": request.tag,
        "created_at": order.created_at,
        "updated_at": managed.updated_at,
    }
