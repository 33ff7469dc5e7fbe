"""Trading-session guards: loss limit, maximum duration, one active session at a time.

A *trading session* is a bounded period in which a strategy may trade inside a session run. Its
state moves through ``daemon.lifecycle.TRADING_SESSION_TRANSITIONS`` (pending -> active ->
completed | stopped | expired). :class:`TradingSessionGuard` enforces the limits of a session
config's ``trading_config``:

- **loss limit** — ``loss_limit_amount`` (account currency) and/or ``loss_limit_percentage`` of
  ``max_buying_power``; the tighter one applies. A realized loss reaching it stops the session
  and raises :class:`core.errors.RiskLimitError`.
- **duration** — ``max_duration_minutes`` measured on the engine's clock (simulated in a
  backtest); :meth:`TradingSessionGuard.check_time` expires the session once it is reached.
- **single active session** — :class:`ActiveSessions` admits one active trading session per
  account; starting a second raises ``RiskLimitError`` naming the active one.

Amounts are floats in the account currency; P&L is positive for gains, negative for losses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.errors import RiskLimitError
from daemon.lifecycle import TradingSessionLifecycle, TradingSessionState, TradingSessionTrigger

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits of one trading session (None = no limit)."""

    loss_limit_amount: float | None = None
    loss_limit_percentage: float | None = None
    max_buying_power: float | None = None
    max_duration_minutes: int | None = None

    @classmethod
    def from_config(cls, trading_config: Any) -> RiskLimits:
        """From a ``core.config.TradingConfig``."""
        return cls(
            loss_limit_amount=trading_config.loss_limit_amount,
            loss_limit_percentage=trading_config.loss_limit_percentage,
            max_buying_power=trading_config.max_buying_power,
            max_duration_minutes=trading_config.max_duration_minutes,
        )

    @property
    def max_loss(self) -> float | None:
        """The loss (positive amount) that stops the session: the tighter of the two limits.

        The percentage applies to ``max_buying_power``; without it the percentage is ignored.
        """
        limits = []
        if self.loss_limit_amount is not None:
            limits.append(self.loss_limit_amount)
        if self.loss_limit_percentage is not None and self.max_buying_power is not None:
            limits.append(self.max_buying_power * self.loss_limit_percentage / 100.0)
        return min(limits) if limits else None

    @property
    def max_duration(self) -> timedelta | None:
        if self.max_duration_minutes is None:
            return None
        return timedelta(minutes=self.max_duration_minutes)


class ActiveSessions:
    """One active trading session per account (the lease a single daemon holds in memory)."""

    def __init__(self) -> None:
        self._active: dict[str, str] = {}

    def acquire(self, account: str, label: str) -> None:
        holder = self._active.get(account)
        if holder is not None and holder != label:
            raise RiskLimitError(
                f"cannot start {label}: {holder} is active for account {account!r} "
                "(one active trading session at a time; stop it first)"
            )
        self._active[account] = label

    def release(self, account: str, label: str) -> None:
        if self._active.get(account) == label:
            del self._active[account]

    def active(self, account: str) -> str | None:
        return self._active.get(account)


class TradingSessionGuard:
    """Enforces one trading session's limits on the engine's clock.

    ``clock`` is the coordinator's clock (anything with ``now()``); ``registry`` the shared
    :class:`ActiveSessions`. ``label`` names the session in messages (``"trading session 3"``).
    """

    def __init__(
        self,
        label: str,
        limits: RiskLimits,
        clock: Any,
        *,
        registry: ActiveSessions | None = None,
        account: str = "default",
    ) -> None:
        self.label = label
        self.limits = limits
        self.clock = clock
        self.registry = registry if registry is not None else ActiveSessions()
        self.account = account
        self.lifecycle = TradingSessionLifecycle(label)
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.realized_pnl = 0.0
        self.trades = 0
        self.termination_reason: str | None = None

    @property
    def state(self) -> TradingSessionState:
        return self.lifecycle.state

    def start(self) -> None:
        """pending -> active, if no other session of the account is active."""
        if self.lifecycle.can(TradingSessionTrigger.START):
            self.registry.acquire(self.account, self.label)
        self.lifecycle.start()
        self.started_at = self.clock.now()

    def record_fill(self, realized_pnl: float) -> None:
        """Add one trade's realized P&L; stop the session and raise when the loss limit is hit."""
        if self.lifecycle.state is not TradingSessionState.ACTIVE:
            raise RiskLimitError(
                f"{self.label} is {self.lifecycle.state.value}: no trade may be recorded"
            )
        self.trades += 1
        self.realized_pnl += realized_pnl
        max_loss = self.limits.max_loss
        if max_loss is not None and -self.realized_pnl >= max_loss:
            self._end("stop", "loss_limit")
            raise RiskLimitError(
                f"{self.label} stopped: loss {-self.realized_pnl:,.2f} reached the limit "
                f"{max_loss:,.2f} (trading_config.loss_limit_amount / loss_limit_percentage)"
            )

    def check_time(self) -> bool:
        """Expire the session when ``max_duration_minutes`` has passed; True if it expired."""
        duration = self.limits.max_duration
        if (
            duration is None
            or self.started_at is None
            or self.lifecycle.state is not TradingSessionState.ACTIVE
        ):
            return False
        if self.clock.now() - self.started_at >= duration:
            self._end("expire", "max_duration")
            return True
        return False

    def stop(self, reason: str = "manual") -> None:
        """active -> stopped (``InvalidTransition`` from any other state)."""
        self._end("stop", reason)

    def complete(self) -> None:
        """active -> completed (the session ran its course within its limits)."""
        self._end("complete", "completed")

    def _end(self, trigger: str, reason: str) -> None:
        getattr(self.lifecycle, trigger)(reason)
        self.termination_reason = reason
        self.ended_at = self.clock.now()
        self.registry.release(self.account, self.label)
        logger.info(
            "%s ended (%s): realized P&L %.2f over %d trades",
            self.label,
            reason,
            self.realized_pnl,
            self.trades,
        )

    def summary(self) -> dict[str, Any]:
        """JSON-able state for the API and the audit log."""
        return {
            "label": self.label,
            "state": self.lifecycle.state.value,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "realized_pnl": self.realized_pnl,
            "trades": self.trades,
            "termination_reason": self.termination_reason,
            "max_loss": self.limits.max_loss,
        }
