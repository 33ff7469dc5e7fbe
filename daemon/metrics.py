"""Performance metrics of a session run: running statistics and a report.

:class:`RunningStat` keeps count, sum, min, max (exact) and quantiles (p50, p99) from a
bounded sample: every value is kept until ``max_samples`` (default 10,000), then a uniform
reservoir of that size replaces random slots (Vitter's algorithm R, seeded so reports are
reproducible). Quantiles are therefore exact up to 10,000 values and a uniform-sample estimate
beyond. ``record_batch(count, total)`` records ``count`` values of mean ``total / count`` at
once (the batch enters min/max/quantiles as one value, its mean).

Per-event processing (``event_processing``) is measured in two parts, because timing every
event would cost more than processing it (two ``perf_counter`` calls ~0.1 µs against ~2 µs of
work):

- ``count``, ``total`` and ``mean`` are exact: the streaming loop's wall time over the events
  it processed (``record_totals``); on a paced or live clock without the waits for the events'
  times (a live day is mostly waiting: counting the waits gave a "mean" of seconds per event
  beside a p99 of microseconds).
- ``min``, ``max``, ``p50`` and ``p99`` come from individually timed events: the coordinator's
  hot loop times one event in every :data:`EVENT_SAMPLE_EVERY` (the 1st, 65th, 129th ... of
  each day) from the end of the previous event to the end of this one — the merge step that
  yields it, the clock and phase checks, session data, aggregation and streaming indicators —
  and hands those samples over (``record_sample``). A sample's interval also holds rows dropped
  just before it (outside the window or in a break) and about one ``perf_counter`` call; on a
  paced or live clock the wait for the event's time is excluded (timing restarts after it).
  Because the sampled positions do not depend on the data, a slow kind of event that recurs
  shows up in p99/max in proportion to how often it occurs; a single slow event is seen only
  if it is a sampled one.

:class:`SessionMetrics` groups what a session run reports: the gap between sessions (end of
one trading day to the activation of the next), per-event processing, session duration (wall
seconds of each trading day's streaming), trading days and events. ``report()`` renders a Rich
table as text; ``to_dict()`` is JSON-able for ``Store.finish_session_run(..., metrics=...)``.
All durations are seconds (float).
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from daemon.clock import perf_seconds

EVENT_SAMPLE_EVERY = 64
"""The session loop times one event in this many individually (per-event quantiles)."""


class RunningStat:
    """Streaming statistics of one quantity (``unit`` names it, e.g. ``"s"``)."""

    __slots__ = (
        "name",
        "unit",
        "count",
        "total",
        "min",
        "max",
        "_samples",
        "_seen",
        "_cap",
        "_rng",
    )

    def __init__(self, name: str, unit: str = "s", *, max_samples: int = 10_000, seed: int = 0):
        self.name = name
        self.unit = unit
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf
        self._samples: list[float] = []
        self._seen = 0
        self._cap = max_samples
        self._rng = random.Random(seed)

    def record(self, value: float) -> None:
        """Add one value."""
        self.count += 1
        self.total += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self._sample(value)

    def record_batch(self, count: int, total: float) -> None:
        """Add ``count`` values summing to ``total`` (min/max/quantiles see their mean)."""
        if count <= 0:
            return
        mean = total / count
        self.count += count
        self.total += total
        if mean < self.min:
            self.min = mean
        if mean > self.max:
            self.max = mean
        self._sample(mean)

    def record_totals(self, count: int, total: float) -> None:
        """Add ``count`` values summing to ``total`` to count/total/mean only (their individual
        values are unknown: min/max/quantiles come from :meth:`record_sample`)."""
        if count <= 0:
            return
        self.count += count
        self.total += total

    def record_sample(self, value: float) -> None:
        """Add one individually measured value to min/max/quantiles only (it is already
        counted by :meth:`record_totals`)."""
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self._sample(value)

    @property
    def samples(self) -> int:
        """Values that entered min/max/quantiles (recorded, sampled or batch means)."""
        return self._seen

    def _sample(self, value: float) -> None:
        self._seen += 1
        if len(self._samples) < self._cap:
            self._samples.append(value)
            return
        slot = self._rng.randrange(self._seen)
        if slot < self._cap:
            self._samples[slot] = value

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1, linear interpolation) of the sample; None when empty."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    @property
    def p50(self) -> float | None:
        return self.quantile(0.5)

    @property
    def p99(self) -> float | None:
        return self.quantile(0.99)

    @property
    def exact_quantiles(self) -> bool:
        """True while every recorded value (or batch mean) is in the sample."""
        return self._seen <= self._cap

    def to_dict(self) -> dict[str, Any]:
        """``{count, total, min, max, mean, p50, p99, unit}`` (None where undefined)."""
        return {
            "count": self.count,
            "total": self.total,
            "min": self.min if self._seen else None,
            "max": self.max if self._seen else None,
            "mean": self.mean,
            "p50": self.p50,
            "p99": self.p99,
            "unit": self.unit,
        }

    def __repr__(self) -> str:
        return f"RunningStat({self.name!r}, count={self.count}, mean={self.mean})"


class SessionMetrics:
    """The metrics of one session run (all durations in seconds)."""

    def __init__(self) -> None:
        self.session_gap = RunningStat("session_gap")
        """Wall time from the end of one trading session to the activation of the next."""
        self.event_processing = RunningStat("event_processing")
        """Wall time to process one event: count/total/mean exact per streaming loop, min/max/
        quantiles from one event in :data:`EVENT_SAMPLE_EVERY` timed individually."""
        self.session_duration = RunningStat("session_duration")
        """Wall time of each trading session's streaming phase."""
        self.trading_days = 0
        self.events = 0
        self.timed_events = 0
        """Events timed individually (``record_events(..., samples)``)."""
        self._timers: dict[str, float] = {}

    # -- recording ----------------------------------------------------------------------------

    def start_timer(self, name: str) -> float:
        """Start (or restart) the named stopwatch; returns its start reading (seconds)."""
        now = perf_seconds()
        self._timers[name] = now
        return now

    def stop_timer(self, name: str) -> float | None:
        """Seconds since :meth:`start_timer` of ``name`` (None when it was not started)."""
        started = self._timers.pop(name, None)
        if started is None:
            return None
        return perf_seconds() - started

    def record_session_gap(self, seconds: float) -> None:
        self.session_gap.record(seconds)

    def record_session_duration(self, seconds: float) -> None:
        self.session_duration.record(seconds)

    def record_events(
        self, count: int, seconds: float, samples: Sequence[float] | None = None
    ) -> None:
        """``count`` events processed in ``seconds`` of wall time; ``samples`` the durations
        of the events timed individually among them (min/max/quantiles). Without samples
        (None) the batch mean stands in for them, as one value."""
        self.events += count
        stat = self.event_processing
        if samples is None:
            stat.record_batch(count, seconds)
            return
        stat.record_totals(count, seconds)
        for value in samples:
            stat.record_sample(value)
        self.timed_events += len(samples)

    def increment_trading_days(self, count: int = 1) -> None:
        self.trading_days += count

    # -- output -------------------------------------------------------------------------------

    @property
    def events_per_second(self) -> float | None:
        """Events over the wall time spent processing them."""
        total = self.event_processing.total
        return self.events / total if total > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able metrics for the session run record."""
        return {
            "trading_days": self.trading_days,
            "events": self.events,
            "events_per_second": self.events_per_second,
            "session_gap": self.session_gap.to_dict(),
            "event_processing": {
                **self.event_processing.to_dict(),
                "timed_events": self.timed_events,
                "timed_every": EVENT_SAMPLE_EVERY,
            },
            "session_duration": self.session_duration.to_dict(),
        }

    def table(self) -> Table:
        """A Rich table: one row per statistic."""
        table = Table(
            title="Session metrics", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
        )
        table.add_column("metric", no_wrap=True)
        for column in ("count", "min", "mean", "p50", "p99", "max"):
            table.add_column(column, justify="right", no_wrap=True, min_width=7)
        for stat in (self.session_gap, self.event_processing, self.session_duration):
            data = stat.to_dict()
            show = format_duration if stat.unit == "s" else _fmt
            label = stat.name.replace("_", " ")
            if stat is self.event_processing and self.timed_events:
                label += " *"
                table.caption = (
                    f"* min/p50/p99/max from 1 event in {EVENT_SAMPLE_EVERY} timed alone; "
                    "count and mean exact"
                )
            table.add_row(
                label,
                f"{stat.count:,}",
                *(show(data[key]) for key in ("min", "mean", "p50", "p99", "max")),
            )
        table.add_row("trading days", f"{self.trading_days:,}", "", "", "", "", "")
        rate = self.events_per_second
        table.add_row("events", f"{self.events:,}", "", "", "", "", "")
        table.add_row("events/s", f"{rate:,.0f}" if rate else "-", "", "", "", "", "")
        return table

    def report(self, width: int = 100) -> str:
        """The table rendered as plain text."""
        console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
        console.print(self.table())
        return console.export_text()


def format_duration(seconds: float | None) -> str:
    """Seconds in the unit that reads best: ``471 ns``, ``7.5 µs``, ``14.2 ms``, ``0.50 s``."""
    if seconds is None:
        return "-"
    magnitude = abs(seconds)
    if magnitude == 0 or magnitude >= 0.1:
        return f"{seconds:.2f} s"
    if magnitude >= 1e-4:
        return f"{seconds * 1e3:.3g} ms"
    if magnitude >= 1e-6:
        return f"{seconds * 1e6:.3g} µs"
    return f"{seconds * 1e9:.3g} ns"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.4g}"
    return f"{value:.3e}"


__all__ = ["EVENT_SAMPLE_EVERY", "RunningStat", "SessionMetrics", "format_duration"]
