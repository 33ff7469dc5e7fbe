"""Trading-session guards: state table, loss limit, duration on the engine clock, one active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.config import TradingConfig
from core.errors import InvalidTransition, RiskLimitError
from daemon.clock import SimulatedClock
from daemon.lifecycle import TradingSessionState
from daemon.risk import ActiveSessions, RiskLimits, TradingSessionGuard

T0 = datetime(2025, 7, 2, 13, 30, tzinfo=UTC)


def guard(
    label: str = "trading session 12", registry: ActiveSessions | None = None, **limits: float
) -> TradingSessionGuard:
    return TradingSessionGuard(label, RiskLimits(**limits), SimulatedClock(T0), registry=registry)


def test_stopping_a_pending_session_reads_like_the_house_example() -> None:
    g = guard()
    with pytest.raises(InvalidTransition) as error:
        g.stop()
    assert str(error.value) == "cannot stop trading session 12: state was pending"
    assert g.state is TradingSessionState.PENDING


def test_loss_limit_stops_the_session_at_the_tighter_limit() -> None:
    # 5 % of 10,000 = 500 is tighter than the 800 amount.
    g = guard(loss_limit_amount=800.0, loss_limit_percentage=5.0, max_buying_power=10_000.0)
    assert g.limits.max_loss == 500.0
    g.start()
    g.record_fill(-200.0)
    g.record_fill(+50.0)
    with pytest.raises(RiskLimitError) as error:
        g.record_fill(-350.0)
    assert str(error.value) == (
        "trading session 12 stopped: loss 500.00 reached the limit 500.00 "
        "(trading_config.loss_limit_amount / loss_limit_percentage)"
    )
    assert g.state is TradingSessionState.STOPPED and g.termination_reason == "loss_limit"
    assert g.trades == 3 and g.realized_pnl == -500.0
    with pytest.raises(
        RiskLimitError, match="trading session 12 is stopped: no trade may be recorded"
    ):
        g.record_fill(10.0)


def test_percentage_without_buying_power_is_no_limit() -> None:
    g = guard(loss_limit_percentage=5.0)
    assert g.limits.max_loss is None
    g.start()
    g.record_fill(-1e9)
    assert g.state is TradingSessionState.ACTIVE


def test_duration_expires_on_the_engine_clock() -> None:
    g = guard(max_duration_minutes=60)
    g.start()
    g.clock.advance_to(T0 + timedelta(minutes=59))
    assert g.check_time() is False and g.state is TradingSessionState.ACTIVE
    g.clock.advance_to(T0 + timedelta(minutes=60))
    assert g.check_time() is True
    assert g.state is TradingSessionState.EXPIRED and g.ended_at == T0 + timedelta(minutes=60)
    assert g.summary()["termination_reason"] == "max_duration"


def test_one_active_session_per_account() -> None:
    registry = ActiveSessions()
    first = guard("trading session 3", registry)
    second = guard("trading session 4", registry)
    first.start()
    with pytest.raises(RiskLimitError) as error:
        second.start()
    assert str(error.value) == (
        "cannot start trading session 4: trading session 3 is active for account 'default' "
        "(one active trading session at a time; stop it first)"
    )
    assert second.state is TradingSessionState.PENDING
    first.complete()
    second.start()
    assert registry.active("default") == "trading session 4"


def test_limits_come_from_the_trading_config() -> None:
    limits = RiskLimits.from_config(
        TradingConfig(
            max_buying_power=100_000.0, loss_limit_percentage=2.0, max_duration_minutes=240
        )
    )
    assert limits.max_loss == 2_000.0 and limits.max_duration == timedelta(hours=4)
