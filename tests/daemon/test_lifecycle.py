"""The session-run state table: the legal path, stops, failures and the error text."""

from __future__ import annotations

import pytest

from core.errors import InvalidTransition
from daemon.lifecycle import (
    RUN_TRANSITIONS,
    TERMINAL_STATES,
    RunState,
    RunTrigger,
    SessionRunLifecycle,
)

DAY = [
    ("initialize", RunState.INITIALIZING),
    ("load_history", RunState.HISTORICAL),
    ("compute_indicators", RunState.INDICATORS),
    ("assess_quality", RunState.QUALITY),
    ("load_queues", RunState.LOADING),
    ("activate", RunState.ACTIVE),
    ("stream", RunState.STREAMING),
    ("end_day", RunState.ENDING),
]


def _walk_day(life: SessionRunLifecycle, first: bool) -> None:
    steps = DAY if first else [("next_day", RunState.INITIALIZING), *DAY[1:]]
    for method, expected in steps:
        assert getattr(life, method)() is expected
        assert life.state is expected


def test_two_day_backtest_walks_the_table_and_finishes() -> None:
    life = SessionRunLifecycle("session 3")
    _walk_day(life, first=True)
    _walk_day(life, first=False)
    assert life.finish() is RunState.FINISHED
    assert life.is_terminal
    assert [t.trigger for t in life.history][:2] == [RunTrigger.INITIALIZE, RunTrigger.LOAD_HISTORY]
    assert len(life.history) == 8 + 8 + 1


def test_stop_before_start_reads_like_the_house_example() -> None:
    life = SessionRunLifecycle("session 12")
    life.stop()
    with pytest.raises(InvalidTransition) as error:
        life.stop()
    assert str(error.value) == "cannot stop session 12: state was stopped"


def test_streaming_cannot_stop_without_ending_the_day_first() -> None:
    life = SessionRunLifecycle("session 7")
    _walk_day(life, first=True)  # now ENDING
    life2 = SessionRunLifecycle("session 8")
    for method, _ in DAY[:-1]:
        getattr(life2, method)()
    assert life2.state is RunState.STREAMING
    with pytest.raises(InvalidTransition, match="cannot stop session 8: state was streaming"):
        life2.stop()
    assert life2.state is RunState.STREAMING  # a refused move changes nothing
    life2.end_day()
    assert life2.stop() is RunState.STOPPED


def test_skipping_a_phase_is_refused_with_the_trigger_and_state() -> None:
    life = SessionRunLifecycle("session 1")
    life.initialize()
    with pytest.raises(
        InvalidTransition, match="cannot activate session 1: state was initializing"
    ):
        life.activate()


@pytest.mark.parametrize("state", [s for s in RunState if s not in TERMINAL_STATES])
def test_every_working_state_can_fail(state: RunState) -> None:
    life = SessionRunLifecycle("run", state=state)
    assert life.fail("boom") is RunState.FAILED
    assert life.history[-1].detail == "boom"


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_have_no_way_out(state: RunState) -> None:
    assert not any(source is state for source, _ in RUN_TRANSITIONS)
    life = SessionRunLifecycle("run", state=state)
    for trigger in RunTrigger:
        assert not life.can(trigger)
        with pytest.raises(InvalidTransition):
            life.apply(trigger)


def test_every_non_terminal_state_is_reachable_from_created() -> None:
    reachable = {RunState.CREATED}
    frontier = [RunState.CREATED]
    while frontier:
        state = frontier.pop()
        for (source, _), target in RUN_TRANSITIONS.items():
            if source is state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(RunState)


def test_trading_session_table_pending_active_then_one_terminal_state() -> None:
    from daemon.lifecycle import (
        TRADING_SESSION_TERMINAL,
        TRADING_SESSION_TRANSITIONS,
        TradingSessionLifecycle,
        TradingSessionState,
    )

    for end, expected in (
        ("complete", TradingSessionState.COMPLETED),
        ("stop", TradingSessionState.STOPPED),
        ("expire", TradingSessionState.EXPIRED),
    ):
        life = TradingSessionLifecycle("trading session 5")
        assert life.start() is TradingSessionState.ACTIVE
        assert getattr(life, end)() is expected and life.is_terminal
        with pytest.raises(
            InvalidTransition, match=f"cannot start trading session 5: state was {expected.value}"
        ):
            life.start()
    pending = TradingSessionLifecycle("trading session 6")
    with pytest.raises(
        InvalidTransition, match="cannot expire trading session 6: state was pending"
    ):
        pending.expire()
    assert pending.cancel() is TradingSessionState.STOPPED
    assert not any(source in TRADING_SESSION_TERMINAL for source, _ in TRADING_SESSION_TRANSITIONS)
