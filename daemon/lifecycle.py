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

A stop request while streaming does not jump straight to ``stopped``: the coordinator ends the
day first (``end_day`` persists the day's results) and then applies ``stop`` from ``ending``.
Only the coordinator applies triggers; readers look at ``state`` and ``history``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

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

    source: RunState
    trigger: RunTrigger
    target: RunState
    detail: str = ""


class SessionRunLifecycle:
    """The state of one session run, changed only through the table above.

    ``label`` names the run in messages (``"session 12"`` once the store gave it an id).
    Each public method validates, logs (INFO) and records the move, then returns the new state.
    """

    def __init__(self, label: str = "session", state: RunState = RunState.CREATED) -> None:
        self.label = label
        self._state = state
        self.history: list[Transition] = []

    @property
    def state(self) -> RunState:
        return self._state

    @property
    def is_terminal(self) -> bool:
        return self._state in TERMINAL_STATES

    def can(self, trigger: RunTrigger) -> bool:
        """True when ``trigger`` is legal from the current state."""
        return (self._state, trigger) in RUN_TRANSITIONS

    def apply(self, trigger: RunTrigger, detail: str = "") -> RunState:
        """Move by ``trigger`` or raise ``InvalidTransition`` without changing anything."""
        target = RUN_TRANSITIONS.get((self._state, trigger))
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

    def __repr__(self) -> str:
        return f"SessionRunLifecycle({self.label!r}, state={self._state.value!r})"
