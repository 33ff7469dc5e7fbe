"""Explicit state tables for a session run and for each trading day it streams.

A *session run* is one ``sessiond run`` of a session config: it walks every trading day of the
backtest range (or, live, every day until stopped). The run's state changes only through
:class:`SessionRunLifecycle`, whose table ``RUN_TRANSITIONS`` maps ``(state, trigger) -> state``.
Anything not in the table raises :class:`core.errors.InvalidTransition` naming the run, the
trigger and the state it was in, e.g. ``cannot stop session 12: state was finished``.

Per trading day the run goes::

    created ─initialize─▶ initializing ─load_history─▶ historical ─compute_indicators─▶
    indicators ─assess_quality─▶ quality ─load_queues─▶ loading ─activate─▶ active
    ─stream─▶ streaming ─end_day─▶ ending ─next_day─▶ initializing   (another trading day)
                                          ─finish───▶ finished        (backtest end date reached)
                                          ─stop─────▶ stopped         (stop requested)
    any non-terminal state ─fail─▶ failed;   created/any working state ─stop─▶ stopped

The same module holds the trading-session table used by ``daemon.risk`` (pending -> active ->
completed | stopped | expired); both share :class:`StateMachine`.

A stop request while streaming does not jump straight to ``stopped``: the coordinator ends the
day first (``end_day`` persists the day's results) and then applies ``stop`` from ``ending``.
Only the coordinator applies triggers; readers look at ``state`` and ``history``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import InvalidTransition

logger = logging.getLogger(__name__)


class RunState(StrEnum):
    """Where a session run is."""

    CREATED = "created"
    INITIALIZING = "initializing"
    HISTORICAL = "historical"
    INDICATORS = "indicators"
    QUALITY = "quality"
    LOADING = "loading"
    ACTIVE = "active"
    STREAMING = "streaming"
    ENDING = "ending"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


class RunTrigger(StrEnum):
    """What moves a session run; the values read as verbs in error messages."""

    INITIALIZE = "initialize"
    LOAD_HISTORY = "load_history"
    COMPUTE_INDICATORS = "compute_indicators"
    ASSESS_QUALITY = "assess_quality"
    LOAD_QUEUES = "load_queues"
    ACTIVATE = "activate"
    STREAM = "stream"
    END_DAY = "end_day"
    NEXT_DAY = "next_day"
    FINISH = "finish"
    STOP = "stop"
    FAIL = "fail"


TERMINAL_STATES: frozenset[RunState] = frozenset(
    {RunState.FINISHED, RunState.STOPPED, RunState.FAILED}
)
"""States a run never leaves."""

_S, _T = RunState, RunTrigger

RUN_TRANSITIONS: dict[tuple[RunState, RunTrigger], RunState] = {
    (_S.CREATED, _T.INITIALIZE): _S.INITIALIZING,
    (_S.INITIALIZING, _T.LOAD_HISTORY): _S.HISTORICAL,
    (_S.HISTORICAL, _T.COMPUTE_INDICATORS): _S.INDICATORS,
    (_S.INDICATORS, _T.ASSESS_QUALITY): _S.QUALITY,
    (_S.QUALITY, _T.LOAD_QUEUES): _S.LOADING,
    (_S.LOADING, _T.ACTIVATE): _S.ACTIVE,
    (_S.ACTIVE, _T.STREAM): _S.STREAMING,
    (_S.STREAMING, _T.END_DAY): _S.ENDING,
    (_S.ENDING, _T.NEXT_DAY): _S.INITIALIZING,
    (_S.ENDING, _T.FINISH): _S.FINISHED,
    # A stop before anything streamed ends the run at once; while streaming it goes through
    # ENDING (the day is persisted) and is then applied from there.
    (_S.CREATED, _T.STOP): _S.STOPPED,
    (_S.INITIALIZING, _T.STOP): _S.STOPPED,
    (_S.HISTORICAL, _T.STOP): _S.STOPPED,
    (_S.INDICATORS, _T.STOP): _S.STOPPED,
    (_S.QUALITY, _T.STOP): _S.STOPPED,
    (_S.LOADING, _T.STOP): _S.STOPPED,
    (_S.ACTIVE, _T.STOP): _S.STOPPED,
    (_S.ENDING, _T.STOP): _S.STOPPED,
}
for _state in RunState:
    if _state not in TERMINAL_STATES:
        RUN_TRANSITIONS[(_state, _T.FAIL)] = _S.FAILED
del _state


@dataclass(frozen=True, slots=True)
class Transition:
    """One applied move: ``source --trigger--> target`` (``detail`` e.g. the trading date)."""

    source: Any
    trigger: Any
    target: Any
    detail: str = ""


class StateMachine:
    """A state changed only through a ``(state, trigger) -> state`` table.

    ``label`` names the machine in messages (``"session 12"``). :meth:`apply` validates, logs
    (INFO) and records the move, then returns the new state; an illegal move raises
    ``InvalidTransition("cannot <trigger> <label>: state was <state>")`` and changes nothing.
    """

    table: dict[tuple[Any, Any], Any] = {}
    terminal: frozenset[Any] = frozenset()

    def __init__(self, label: str, state: Any) -> None:
        self.label = label
        self._state = state
        self.history: list[Transition] = []

    @property
    def state(self) -> Any:
        return self._state

    @property
    def is_terminal(self) -> bool:
        return self._state in self.terminal

    def can(self, trigger: Any) -> bool:
        """True when ``trigger`` is legal from the current state."""
        return (self._state, trigger) in self.table

    def apply(self, trigger: Any, detail: str = "") -> Any:
        """Move by ``trigger`` or raise ``InvalidTransition`` without changing anything."""
        target = self.table.get((self._state, trigger))
        if target is None:
            raise InvalidTransition(
                f"cannot {trigger.value.replace('_', ' ')} {self.label}: "
                f"state was {self._state.value}"
            )
        source = self._state
        self._state = target
        self.history.append(Transition(source, trigger, target, detail))
        logger.info(
            "%s: %s -> %s (%s)%s",
            self.label,
            source.value,
            target.value,
            trigger.value,
            f" {detail}" if detail else "",
        )
        return target

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, state={self._state.value!r})"


class SessionRunLifecycle(StateMachine):
    """The state of one session run, changed only through ``RUN_TRANSITIONS``.

    ``label`` names the run in messages (``"session 12"`` once the store gave it an id).
    """

    table = RUN_TRANSITIONS
    terminal = TERMINAL_STATES

    def __init__(self, label: str = "session", state: RunState = RunState.CREATED) -> None:
        super().__init__(label, state)

    # Named triggers: what the coordinator calls.
    def initialize(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.INITIALIZE, detail)

    def load_history(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.LOAD_HISTORY, detail)

    def compute_indicators(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.COMPUTE_INDICATORS, detail)

    def assess_quality(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.ASSESS_QUALITY, detail)

    def load_queues(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.LOAD_QUEUES, detail)

    def activate(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.ACTIVATE, detail)

    def stream(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.STREAM, detail)

    def end_day(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.END_DAY, detail)

    def next_day(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.NEXT_DAY, detail)

    def finish(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.FINISH, detail)

    def stop(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.STOP, detail)

    def fail(self, detail: str = "") -> RunState:
        return self.apply(RunTrigger.FAIL, detail)


# --------------------------------------------------------------------------------------------
# Trading sessions (daemon.risk): a user's bounded period of trading inside a session run
# --------------------------------------------------------------------------------------------


class TradingSessionState(StrEnum):
    """Where a trading session is."""

    PENDING = "pending"
    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"
    EXPIRED = "expired"


class TradingSessionTrigger(StrEnum):
    """What moves a trading session."""

    START = "start"
    COMPLETE = "complete"
    STOP = "stop"
    EXPIRE = "expire"
    CANCEL = "cancel"


_TS, _TT = TradingSessionState, TradingSessionTrigger

TRADING_SESSION_TRANSITIONS: dict[
    tuple[TradingSessionState, TradingSessionTrigger], TradingSessionState
] = {
    (_TS.PENDING, _TT.START): _TS.ACTIVE,
    (_TS.PENDING, _TT.CANCEL): _TS.STOPPED,  # never started: cancelled, not stopped
    (_TS.ACTIVE, _TT.COMPLETE): _TS.COMPLETED,
    (_TS.ACTIVE, _TT.STOP): _TS.STOPPED,  # manual stop or a breached guard
    (_TS.ACTIVE, _TT.EXPIRE): _TS.EXPIRED,  # max duration reached
}
"""pending -> active -> completed | stopped | expired; a pending session can only be cancelled
(so ``stop`` on it reads "cannot stop session 12: state was pending")."""

TRADING_SESSION_TERMINAL: frozenset[TradingSessionState] = frozenset(
    {_TS.COMPLETED, _TS.STOPPED, _TS.EXPIRED}
)


class TradingSessionLifecycle(StateMachine):
    """The state of one trading session (see ``TRADING_SESSION_TRANSITIONS``)."""

    table = TRADING_SESSION_TRANSITIONS
    terminal = TRADING_SESSION_TERMINAL

    def __init__(
        self, label: str, state: TradingSessionState = TradingSessionState.PENDING
    ) -> None:
        super().__init__(label, state)

    def start(self, detail: str = "") -> TradingSessionState:
        return self.apply(TradingSessionTrigger.START, detail)

    def complete(self, detail: str = "") -> TradingSessionState:
        return self.apply(TradingSessionTrigger.COMPLETE, detail)

    def stop(self, detail: str = "") -> TradingSessionState:
        return self.apply(TradingSessionTrigger.STOP, detail)

    def expire(self, detail: str = "") -> TradingSessionState:
        return self.apply(TradingSessionTrigger.EXPIRE, detail)

    def cancel(self, detail: str = "") -> TradingSessionState:
        return self.apply(TradingSessionTrigger.CANCEL, detail)
