"""What the engine shows its strategy and its broker: the two context objects.

:class:`StrategyContextImpl` implements ``plugins.interfaces.StrategyContext`` (with
:class:`PortfolioView` as ``ctx.portfolio``); :class:`BrokerContextImpl` implements
``plugins.interfaces.BrokerContext``. Both are thin views over a ``TradingEngine``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.orders import Order, OrderRequest, OrderUpdate
from daemon.trading.portfolio import Portfolio, PositionSnapshot

if TYPE_CHECKING:
    from daemon.trading.engine import TradingEngine


class PortfolioView:
    """What ``ctx.portfolio`` shows a strategy (``plugins.interfaces.PortfolioView``)."""

    def __init__(self, portfolio: Portfolio) -> None:
        self._portfolio = portfolio

    @property
    def currency(self) -> str:
        return self._portfolio.currency

    @property
    def cash(self) -> Decimal:
        return self._portfolio.cash

    @property
    def equity(self) -> Decimal:
        return self._portfolio.equity

    @property
    def buying_power(self) -> Decimal:
        return self._portfolio.buying_power

    @property
    def realized_pnl(self) -> Decimal:
        return self._portfolio.realized_pnl

    @property
    def unrealized_pnl(self) -> Decimal:
        return self._portfolio.unrealized_pnl

    @property
    def fees(self) -> Decimal:
        return self._portfolio.fees

    def quantity(self, symbol: str) -> int:
        """Signed shares held (cheap: no valuation)."""
        held = self._portfolio.positions.get(symbol)
        return held.quantity if held is not None else 0

    def position(self, symbol: str) -> PositionSnapshot:
        return self._portfolio.position(symbol)

    def positions(self) -> list[PositionSnapshot]:
        return self._portfolio.snapshots()


class StrategyContextImpl:
    """The ``StrategyContext`` the engine hands to ``Strategy.on_start``."""

    def __init__(self, engine: TradingEngine) -> None:
        self._engine = engine
        self.session_name = engine.session_name
        self.exchange = engine.rules.exchange
        self.symbols = engine.symbols
        self.currency = engine.rules.currency
        self.mode = engine.mode
        self.streams = engine.streams
        self.streamed_interval = engine.streamed_interval
        self.lot_size = engine.rules.lot_size
        self.portfolio = PortfolioView(engine.portfolio)
        self.session_data = engine.session_data
        self.log = logging.getLogger(f"sessiond.strategy.{engine.strategy_name}")

    @property
    def trading_date(self) -> date | None:
        return self._engine.trading_date

    @property
    def phase(self) -> str | None:
        return self._engine.phase

    def now(self) -> datetime:
        return self._engine.clock.now()  # type: ignore[no-any-return]

    def last_price(self, symbol: str) -> Decimal | None:
        return self._engine.portfolio.mark(symbol)

    def indicator(self, name: str, symbol: str) -> float | None:
        lookup = self._engine.indicators
        return None if lookup is None else lookup(name, symbol)

    def submit(self, request: OrderRequest) -> str:
        return self._engine.submit(request)

    def cancel(self, order_id: str) -> None:
        self._engine.cancel(order_id)

    def replace(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Any = None,
        stop_price: Any = None,
    ) -> str | None:
        return self._engine.replace(
            order_id, quantity=quantity, limit_price=limit_price, stop_price=stop_price
        )

    def flatten(self, symbol: str | None = None) -> list[str]:
        return self._engine.flatten(symbol)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [m.order for m in self._engine.book.open_orders(symbol)]


class BrokerContextImpl:
    """The ``BrokerContext`` the engine hands to ``Broker.start``."""

    def __init__(self, engine: TradingEngine) -> None:
        self._engine = engine
        self.exchange = engine.rules.exchange
        self.currency = engine.rules.currency
        self.symbols = engine.symbols
        self.mode = engine.mode
        self.session_name = engine.session_name
        self.streams = engine.streams

    def now(self) -> datetime:
        return self._engine.clock.now()  # type: ignore[no-any-return]

    def report(self, update: OrderUpdate) -> None:
        self._engine.report(update)

    def known_orders(self) -> list[Order]:
        return [m.order for m in self._engine.book]
