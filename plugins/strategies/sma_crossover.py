"""``sma_crossover``: the classic moving-average crossover, long only.

On every bar of ``interval`` it updates a fast and a slow simple moving average of the close
(running sums: O(1) per bar). When the fast average crosses **above** the slow one and the
symbol is flat with no order working, it buys; when it crosses **below** and shares are held,
it sells what is sellable. Orders are market orders (filled at the next bar's open by the
simulated broker). Size: ``quantity`` shares when given, else ``allocation`` of the current
equity at the last close, rounded down to the board lot.

Parameters (``strategy.params``): ``fast`` (bars, default 10), ``slow`` (bars, default 30,
> fast), ``interval`` (default "1m"; must be one of the session's streams), ``quantity``
(shares, default none), ``allocation`` (fraction of equity per position, default 0.1).

A template: copy it, rename ``name``, keep the shape (cheap ``__init__``, state per symbol,
decisions in ``on_bar``, orders through ``ctx.submit``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from core.orders import OrderRequest


class _Averages:
    """Running fast/slow sums over the last ``slow`` closes of one symbol (a ring buffer)."""

    __slots__ = ("window", "position", "count", "fast_sum", "slow_sum", "previous")

    def __init__(self, slow: int) -> None:
        self.window = [0.0] * slow
        self.position = 0  # where the next close goes (the oldest close when full)
        self.count = 0
        self.fast_sum = 0.0
        self.slow_sum = 0.0
        self.previous: float | None = None  # fast - slow at the previous bar


class SmaCrossover:
    """Long when the fast SMA is above the slow SMA (see the module docstring)."""

    name: ClassVar[str] = "sma_crossover"
    description: ClassVar[str] = (
        "Long on a fast/slow simple-moving-average cross up, flat on cross down"
    )

    def __init__(
        self,
        fast: int = 10,
        slow: int = 30,
        interval: str = "1m",
        quantity: int | None = None,
        allocation: float = 0.1,
    ) -> None:
        if not (isinstance(fast, int) and isinstance(slow, int) and 1 <= fast < slow):
            raise ValueError(
                f"need whole numbers 1 <= fast < slow, were fast={fast!r} slow={slow!r}"
            )
        if quantity is not None and (not isinstance(quantity, int) or quantity <= 0):
            raise ValueError(f"quantity must be a whole number > 0, was {quantity!r}")
        if not 0 < allocation <= 1:
            raise ValueError(f"allocation must be in (0, 1], was {allocation!r}")
        self.fast = fast
        self.slow = slow
        self.quantity = quantity
        self.allocation = Decimal(repr(float(allocation)))
        self.intervals = (interval,)
        self.ctx: Any = None
        self._state: dict[str, _Averages] = {}

    def on_start(self, ctx: Any) -> None:
        self.ctx = ctx
        self._state = {symbol: _Averages(self.slow) for symbol in ctx.symbols}

    def on_bar(self, bar: Any) -> None:
        state = self._state[bar.symbol]
        close = bar.close
        window, position, slow, fast = state.window, state.position, self.slow, self.fast
        count = state.count
        if count >= slow:
            state.slow_sum -= window[position]
        if count >= fast:
            state.fast_sum -= window[position - fast]  # negative index wraps the ring
        window[position] = close
        state.position = position + 1 if position + 1 < slow else 0
        state.fast_sum += close
        state.slow_sum += close
        if count < slow:
            state.count = count + 1
            if count + 1 < slow:
                return
        difference = state.fast_sum / fast - state.slow_sum / slow
        previous = state.previous
        state.previous = difference
        if previous is None:
            return
        if previous <= 0 < difference:
            self._enter(bar.symbol, close)
        elif previous >= 0 > difference:
            self._exit(bar.symbol)

    def _enter(self, symbol: str, close: float) -> None:
        ctx = self.ctx
        if ctx.portfolio.quantity(symbol) != 0 or ctx.open_orders(symbol):
            return
        quantity = self.quantity
        if quantity is None:
            lot = ctx.lot_size
            budget = ctx.portfolio.equity * self.allocation
            quantity = int(budget / Decimal(repr(close))) // lot * lot
        if quantity > 0:
            ctx.submit(OrderRequest.market(symbol, "buy", quantity, tag="sma cross up"))

    def _exit(self, symbol: str) -> None:
        ctx = self.ctx
        if ctx.portfolio.quantity(symbol) <= 0:
            return
        for order in ctx.open_orders(symbol):
            ctx.cancel(order.order_id)
        sellable = ctx.portfolio.position(symbol).sellable
        if sellable > 0:
            ctx.submit(OrderRequest.market(symbol, "sell", sellable, tag="sma cross down"))
