"""Fill models of the simulated broker: how a resting order meets the market.

The default :class:`BarFillModel` (``trade_api_options.fill_model: "bars"``) is what most
backtesters do with bar data (NautilusTrader's bar execution, backtrader's default broker):

=============  ==================================================================================
order          fills on a bar of the streamed interval that opens after the order was submitted
=============  ==================================================================================
market / MP    at the bar's **open** (plus ``slippage_ticks`` against the order)
limit          buy: at the open when the bar opens at or below the limit (gap through), else at
               the limit when the bar's low reaches it; sell mirrored (open at/above, high)
stop           buy: triggered when the high reaches the stop; fills at the stop, or at the open
               when the bar gaps through it (plus slippage); sell mirrored on the low
stop-limit     triggered as a stop; fills on that bar at the trigger price only when it is
               within the limit, else rests as a limit order from the next bar
=============  ==================================================================================

On streamed **trades** (``fill_on: "trades"``, or ``"auto"`` when the session streams trades)
the same rules apply to each trade's price: market orders fill at the trade price (plus
slippage), a resting limit at its limit price once a trade prints at or through it, stops
trigger on the trade price. Auction orders fill at the auction print (``SimulatedBroker``).

``volume_participation`` (e.g. 0.1) caps each fill at that share of the bar's (or trade's)
volume, rounded down to the board's lot: the rest stays working (partial fills) or, for IOC
orders, is cancelled. A bar too thin for one lot gives no fill. ``slippage_ticks`` moves market
and stop fills that many ticks of the board's grid (``core.boards``) against the order; limit
fills never get worse than the limit.

A custom model implements ``plugins.interfaces.FillModel`` and is used by a broker class that
sets ``fill_model_class`` (``docs/strategies.md``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.models import Bar, Trade
from core.orders import OrderSide, OrderType, to_decimal


class BarFillModel:
    """Fills by the rules in the module docstring. ``exchange`` picks the tick grid and lot."""

    name = "bars"

    def __init__(
        self,
        exchange: str,
        *,
        slippage_ticks: int = 0,
        volume_participation: float | None = None,
    ) -> None:
        if not isinstance(slippage_ticks, int) or slippage_ticks < 0:
            raise ValueError(f"slippage_ticks must be a whole number >= 0, was {slippage_ticks!r}")
        if volume_participation is not None and not 0 < volume_participation <= 1:
            raise ValueError(
                f"volume_participation must be in (0, 1] or null, was {volume_participation!r}"
            )
        from core import boards  # numpy: imported when a broker is built, not when listed

        self.exchange = exchange
        self._tick_size = boards.tick_size
        self.rules = boards.board_rules(exchange)
        self.lot = self.rules.lot if self.rules.limit_pct is not None else 1
        self.slippage_ticks = slippage_ticks
        self.volume_participation = volume_participation

    # -- helpers -----------------------------------------------------------------------------

    def _slipped(self, price: Decimal, side: OrderSide) -> Decimal:
        if not self.slippage_ticks:
            return price
        tick = to_decimal(self._tick_size(self.exchange, float(price)))
        step = tick * self.slippage_ticks
        return price + step if side is OrderSide.BUY else max(price - step, tick)

    def capacity(self, volume: float, remaining: int) -> int:
        """How much of ``remaining`` one bar/trade of ``volume`` can fill."""
        if self.volume_participation is None:
            return remaining
        cap = int(volume * self.volume_participation) // self.lot * self.lot
        return min(cap, remaining)

    # -- the model ---------------------------------------------------------------------------

    def on_bar(self, order: Any, bar: Bar, remaining: int) -> tuple[Decimal, int] | None:
        price = self.bar_price(order, bar)
        if price is None:
            return None
        quantity = self.capacity(bar.volume, remaining)
        return (price, quantity) if quantity > 0 else None

    def bar_price(self, order: Any, bar: Bar) -> Decimal | None:
        """The fill price of ``order`` on ``bar`` ignoring volume, or None."""
        kind = order.order_type
        buy = order.side is OrderSide.BUY
        if kind in (OrderType.MARKET, OrderType.MP):
            return self._slipped(to_decimal(bar.open), order.side)
        if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and order.triggered):
            limit = order.limit_price
            open_ = to_decimal(bar.open)
            if buy:
                if open_ <= limit:
                    return open_
                return limit if to_decimal(bar.low) <= limit else None
            if open_ >= limit:
                return open_
            return limit if to_decimal(bar.high) >= limit else None
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            stop = order.stop_price
            open_ = to_decimal(bar.open)
            if buy:
                if open_ >= stop:
                    trigger = open_
                elif to_decimal(bar.high) >= stop:
                    trigger = stop
                else:
                    return None
            else:
                if open_ <= stop:
                    trigger = open_
                elif to_decimal(bar.low) <= stop:
                    trigger = stop
                else:
                    return None
            if kind is OrderType.STOP:
                return self._slipped(trigger, order.side)
            order.triggered = True
            within = trigger <= order.limit_price if buy else trigger >= order.limit_price
            return trigger if within else None
        return None  # auction orders: the broker fills them at the print

    def on_trade(self, order: Any, trade: Trade, remaining: int) -> tuple[Decimal, int] | None:
        price = self.trade_price(order, to_decimal(trade.price))
        if price is None:
            return None
        quantity = self.capacity(trade.volume, remaining)
        return (price, quantity) if quantity > 0 else None

    def trade_price(self, order: Any, traded: Decimal) -> Decimal | None:
        kind = order.order_type
        buy = order.side is OrderSide.BUY
        if kind in (OrderType.MARKET, OrderType.MP):
            return self._slipped(traded, order.side)
        if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and order.triggered):
            limit = order.limit_price
            reached = traded <= limit if buy else traded >= limit
            return limit if reached else None
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            stop = order.stop_price
            if not (traded >= stop if buy else traded <= stop):
                return None
            if kind is OrderType.STOP:
                return self._slipped(traded, order.side)
            order.triggered = True
            within = traded <= order.limit_price if buy else traded >= order.limit_price
            return traded if within else None
        return None
