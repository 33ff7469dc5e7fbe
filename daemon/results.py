"""What a session run produced: per-day results, the run summary and progress callbacks.

``SessionCoordinator`` fills a :class:`DayResult` per trading day and returns a
:class:`RunSummary` (also stored, as JSON, in the run's ``session_runs.metrics``). The CLI's
progress bar implements :class:`RunObserver`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(slots=True)
class DayResult:
    """What one trading day produced.

    ``events`` streamed bars; ``dropped`` events outside the day's window (the session plus
    included extended hours) or inside the break;
    ``generated`` generated bars per interval; ``quality`` mean quality % per interval over the
    symbols (of the streamed day); ``historical_quality`` the same for the trailing history;
    ``indicator_values`` values computed and stored (historical + streaming);
    ``indicators_read`` historical indicator values read from the store instead (written by the
    Dagster indicator assets or an earlier run); wall times: ``warmup_seconds`` (history,
    historical indicators and their quality), ``queue_seconds`` (the day's bars and ticks
    loaded, generated bars resampled), ``stream_seconds`` (the streaming loop),
    ``end_of_day_seconds`` (session quality, persistence, hooks), ``persist_seconds`` (the
    store writes inside warm-up and end of day); ``processing_seconds`` the part of the
    streaming loop spent processing events (on a paced or live clock the waits for the events'
    times are left out); ``clock_end`` where the clock stood when the day ended; ``phases`` the
    phases entered while streaming (``core.phases`` values, in order); ``order_flow`` the
    day's market state when recorded ticks were replayed (``daemon.feeds.ticks``), else None.
    """

    trading_date: date
    events: int = 0
    dropped: int = 0
    generated: dict[str, int] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)
    historical_quality: dict[str, float] = field(default_factory=dict)
    indicator_values: int = 0
    indicators_read: int = 0
    warmup_seconds: float = 0.0
    queue_seconds: float = 0.0
    stream_seconds: float = 0.0
    processing_seconds: float | None = None
    end_of_day_seconds: float = 0.0
    persist_seconds: float = 0.0
    stopped: bool = False
    clock_end: datetime | None = None
    phases: list[str] = field(default_factory=list)
    order_flow: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "trading_date": self.trading_date.isoformat(),
            "events": self.events,
            "dropped": self.dropped,
            "generated": dict(self.generated),
            "quality": dict(self.quality),
            "historical_quality": dict(self.historical_quality),
            "indicator_values": self.indicator_values,
            "indicators_read": self.indicators_read,
            "warmup_seconds": self.warmup_seconds,
            "queue_seconds": self.queue_seconds,
            "stream_seconds": self.stream_seconds,
            "processing_seconds": self.processing_seconds,
            "end_of_day_seconds": self.end_of_day_seconds,
            "persist_seconds": self.persist_seconds,
            "stopped": self.stopped,
            "clock_end": self.clock_end.isoformat() if self.clock_end else None,
            "phases": list(self.phases),
        }
        if self.order_flow is not None:
            out["order_flow"] = self.order_flow
        return out

    def summary(self) -> dict[str, Any]:
        """What the ``session_ended`` hook receives."""
        return {
            "events": self.events,
            "dropped": self.dropped,
            "generated": dict(self.generated),
            "quality": dict(self.quality),
            "stopped": self.stopped,
        }


@dataclass(slots=True)
class RunSummary:
    """A whole run: its id in the store, final state, per-day results and metrics."""

    run_id: int | None
    session_name: str
    mode: str
    status: str
    days: list[DayResult]
    metrics: dict[str, Any] = field(default_factory=dict)
    trading: dict[str, Any] | None = None
    """The trading results (``daemon.trading.statistics.TradingResults.to_dict``) of a run
    with a strategy, else None."""

    @property
    def events(self) -> int:
        return sum(d.events for d in self.days)

    @property
    def stream_seconds(self) -> float:
        return sum(d.stream_seconds for d in self.days)

    @property
    def events_per_second(self) -> float:
        seconds = self.stream_seconds
        return self.events / seconds if seconds > 0 else 0.0

    @property
    def timings(self) -> dict[str, float]:
        """Wall seconds of the run's parts, summed over the days (``DayResult``)."""
        keys = (
            "warmup_seconds",
            "queue_seconds",
            "stream_seconds",
            "end_of_day_seconds",
            "persist_seconds",
        )
        return {key: sum(getattr(day, key) for day in self.days) for key in keys}

    @property
    def generated(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for day in self.days:
            for interval, count in day.generated.items():
                out[interval] += count
        return dict(out)

    @property
    def quality(self) -> dict[str, float]:
        """Mean over days of each interval's mean quality %."""
        sums: dict[str, list[float]] = defaultdict(list)
        for day in self.days:
            for interval, pct in day.quality.items():
                sums[interval].append(pct)
        return {k: sum(v) / len(v) for k, v in sums.items()}

    @property
    def historical_quality(self) -> dict[str, float]:
        """Mean over days of each interval's mean quality % of the trailing history."""
        sums: dict[str, list[float]] = defaultdict(list)
        for day in self.days:
            for interval, pct in day.historical_quality.items():
                sums[interval].append(pct)
        return {k: sum(v) / len(v) for k, v in sums.items()}

    @property
    def indicator_values(self) -> int:
        return sum(d.indicator_values for d in self.days)

    @property
    def indicators_read(self) -> int:
        return sum(d.indicators_read for d in self.days)

    def with_metrics(
        self, metrics: dict[str, Any], error: BaseException | None = None
    ) -> RunSummary:
        """Attach the run's metrics (``SessionMetrics.to_dict``), with the summary, the days
        and the error (if any) folded in: what the session_runs row stores."""
        metrics = dict(metrics)
        metrics["summary"] = {
            k: v for k, v in self.to_dict().items() if k not in {"days", "metrics"}
        }
        metrics["days"] = [day.to_dict() for day in self.days]
        if error is not None:
            metrics["error"] = f"{type(error).__name__}: {error}"
        self.metrics = metrics
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "session_name": self.session_name,
            "mode": self.mode,
            "status": self.status,
            "trading_days": len(self.days),
            "events": self.events,
            "events_per_second": round(self.events_per_second, 1),
            "stream_seconds": self.stream_seconds,
            "timings": self.timings,
            "generated_bars": self.generated,
            "quality": self.quality,
            "historical_quality": self.historical_quality,
            "indicator_values": self.indicator_values,
            "indicators_read": self.indicators_read,
            "trading": self.trading,
            "days": [d.to_dict() for d in self.days],
            "metrics": self.metrics,
        }


class RunObserver:
    """Progress callbacks of a run: subclass and override what you need (the CLI's progress
    bar does); the base class does nothing."""

    def day_started(self, trading_date: date, expected_events: int | None) -> None: ...

    def progressed(self, trading_date: date, events: int) -> None: ...

    def day_streamed(self, trading_date: date, events: int) -> None:
        """The streaming loop of the day is over (before the end-of-session step)."""

    def day_ended(self, result: DayResult) -> None: ...
