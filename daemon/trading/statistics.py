"""What a run's trading came to: trades, win rate, P&L, fees, return, drawdown, Sharpe.

A *trade* is a round trip: a position opened from flat and closed back to flat (a fill that
crosses zero closes one and opens the next). Its P&L is the realized P&L of its fills less
their commission and tax; the win rate is the share of closed trades with a positive P&L.

Return, maximum drawdown and the Sharpe ratio come from ``empyrical`` (empyrical-reloaded, the
maintained fork of Quantopian's library) on the **daily** returns of the equity at each day's
end, starting from the starting equity: ``max_drawdown`` as a negative fraction, ``sharpe``
annualised with 252 trading days and a zero risk-free rate. With fewer than two days, or a
flat curve, Sharpe is None (reported as null / "-").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass(slots=True)
class RoundTrip:
    """One trade from flat to flat (``side`` long or short)."""

    symbol: str
    opened_at: datetime
    side: str
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    closed_at: datetime | None = None

    @property
    def pnl(self) -> Decimal:
        return self.realized - self.fees


@dataclass(frozen=True, slots=True)
class TradingResults:
    """A run's trading summary (``to_dict`` is JSON-able: amounts as strings)."""

    strategy: str
    broker: str
    currency: str
    orders: int
    rejected: int
    fills: int
    trades: int
    win_rate: float | None
    starting_equity: Decimal
    final_equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    total_return: float
    max_drawdown: float
    sharpe: float | None
    open_positions: int
    stopped: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TradingResults:
        """The inverse of ``to_dict`` (run summaries keep the dict)."""
        money = ("starting_equity", "final_equity", "realized_pnl", "unrealized_pnl", "fees")
        values = {k: Decimal(v) if k in money else v for k, v in data.items()}
        values["stopped"] = values.pop("trading_stopped", None)
        return cls(**values)

    def rows(self) -> list[tuple[str, str]]:
        """``(measure, value)`` lines for the run summary table."""
        money = (lambda a: f"{a:,.2f}") if self.currency == "USD" else (lambda a: f"{a:,.0f}")
        percent = lambda x: f"{x * 100:+.2f} %"  # noqa: E731
        return [
            ("strategy", f"{self.strategy} via {self.broker}"),
            ("orders (rejected)", f"{self.orders} ({self.rejected})"),
            ("fills", str(self.fills)),
            ("trades (round trips)", str(self.trades)),
            ("win rate", "-" if self.win_rate is None else f"{self.win_rate * 100:.1f} %"),
            (f"realized P&L {self.currency}", money(self.realized_pnl)),
            (f"unrealized P&L {self.currency}", money(self.unrealized_pnl)),
            (f"fees and taxes {self.currency}", money(self.fees)),
            (
                f"equity {self.currency}",
                f"{money(self.starting_equity)} -> {money(self.final_equity)}",
            ),
            ("return", percent(self.total_return)),
            ("max drawdown", percent(self.max_drawdown)),
            ("Sharpe (daily, annualised)", "-" if self.sharpe is None else f"{self.sharpe:.2f}"),
            *((("trading stopped", self.stopped),) if self.stopped else ()),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "broker": self.broker,
            "currency": self.currency,
            "orders": self.orders,
            "rejected": self.rejected,
            "fills": self.fills,
            "trades": self.trades,
            "win_rate": self.win_rate,
            "starting_equity": str(self.starting_equity),
            "final_equity": str(self.final_equity),
            "realized_pnl": str(self.realized_pnl),
            "unrealized_pnl": str(self.unrealized_pnl),
            "fees": str(self.fees),
            "total_return": self.total_return,
            "max_drawdown": self.max_drawdown,
            "sharpe": self.sharpe,
            "open_positions": self.open_positions,
            "trading_stopped": self.stopped,
        }


def daily_returns(starting_equity: Decimal, daily_equity: dict[date, Decimal]) -> Any:
    """``pandas.Series`` of day-over-day returns of the end-of-day equity (UTC-dated)."""
    import pandas as pd

    days = sorted(daily_equity)
    values = [float(starting_equity)] + [float(daily_equity[d]) for d in days]
    index = pd.DatetimeIndex([pd.Timestamp(d, tz="UTC") for d in days])
    returns = [b / a - 1.0 if a else 0.0 for a, b in zip(values, values[1:], strict=False)]
    return pd.Series(returns, index=index, dtype=float)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def summarize(engine: Any) -> TradingResults:
    """The results of a ``TradingEngine`` so far."""
    import empyrical

    portfolio = engine.portfolio
    starting = portfolio.starting_equity
    final = portfolio.equity
    returns = daily_returns(starting, engine.daily_equity)
    if len(returns):
        max_drawdown = _finite(empyrical.max_drawdown(returns)) or 0.0
        sharpe = _finite(empyrical.sharpe_ratio(returns)) if len(returns) >= 2 else None
    else:
        max_drawdown, sharpe = 0.0, None
    trips = engine.round_trips
    wins = sum(1 for trip in trips if trip.pnl > 0)
    orders = list(engine.book)
    return TradingResults(
        strategy=engine.strategy_name,
        broker=str(getattr(engine.broker, "name", type(engine.broker).__name__)),
        currency=portfolio.currency,
        orders=len(orders),
        rejected=sum(1 for m in orders if m.status.value == "rejected"),
        fills=engine.fill_count,
        trades=len(trips),
        win_rate=(wins / len(trips)) if trips else None,
        starting_equity=starting,
        final_equity=final,
        realized_pnl=portfolio.realized_pnl,
        unrealized_pnl=portfolio.unrealized_pnl,
        fees=portfolio.fees,
        total_return=float((final - starting) / starting) if starting else 0.0,
        max_drawdown=max_drawdown,
        sharpe=sharpe,
        open_positions=len(portfolio.open_positions()),
        stopped=engine.trading_stopped,
    )
