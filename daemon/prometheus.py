"""Prometheus metrics of a running daemon (``GET /metrics``; official ``prometheus-client``).

Collected when scraped (nothing runs in the event path but the sampled timing of
``daemon.service``), one series per session (label ``session``):

==========================================  ========  ==============================================
``sessiond_session_up``                     gauge     1 while the session runs (label ``status``)
``sessiond_events_total``                   counter   events received from the live stream
                                                      (bars replayed for backtests)
``sessiond_events_per_second``              gauge     events/s over the last heartbeat interval
``sessiond_queue_depth``                    gauge     ``queue``: ``recorder`` (received, not yet
                                                      stored), ``feed`` (bars not yet streamed)
``sessiond_recorded_events_total``          counter   events written to the store
``sessiond_store_write_failures_total``     counter   failed store writes (each retried);
                                                      ``writer``: ``recorder``, ``phase_volumes``
``sessiond_rejected_events_total``          counter   events not counted; ``reason``: ``stale``
                                                      (an earlier day's), ``duplicate``
                                                      (repeated ``TotalVol``), ``out_of_order``
                                                      (``TotalVol`` went down), ``handler_error``
``sessiond_stream_reconnects_total``        counter   reconnects of the source's stream
``sessiond_stream_<counter>_total``         counter   the stream's other counters (silences,
                                                      token_refreshes, malformed, dropped ...)
``sessiond_event_handling_seconds``         summary   sampled time to apply an event (market state
                                                      + recorder), quantiles 0.5 / 0.9 / 0.99 of
                                                      the last 4,096 samples
``sessiond_log_messages_total``             counter   warnings and errors logged (labels
                                                      ``session``, ``level``, ``logger``): every
                                                      fault the logs report is counted here
``sessiond_lease_renew_failures_total``     counter   failed lease heartbeats (no label)
``sessiond_lease_takeovers_total``          counter   leases taken over from a dead daemon
``process_*``                               various   resident memory, CPU seconds, open file
                                                      descriptors (prometheus-client's
                                                      ``ProcessCollector``)
==========================================  ========  ==============================================

The counters are totals of this process (a restarted daemon starts again from 0, which
Prometheus's ``rate()`` handles).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from daemon.logs import current_context

QUANTILES = (0.5, 0.9, 0.99)
_NAME = re.compile(r"[^a-zA-Z0-9_]")


class LogCounter(logging.Handler):
    """Counts the WARNING and ERROR records of the process by (session, level, logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self._counts_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        context = current_context()
        key = (context.session if context else "", record.levelname, record.name)
        with self._counts_lock:
            self.counts[key] += 1

    def snapshot(self) -> dict[tuple[str, str, str], int]:
        with self._counts_lock:
            return dict(self.counts)


class DaemonCollector(Collector):
    """Reads a ``SessionDaemon`` (its sessions, feeds, recorders, market states) on scrape."""

    def __init__(self, daemon: Any, log_counter: LogCounter | None = None) -> None:
        self.daemon = daemon
        self.log_counter = log_counter

    def collect(self) -> Iterator[Metric]:
        sessions = list(self.daemon.sessions.values())
        up = GaugeMetricFamily(
            "sessiond_session_up", "1 while the session runs", labels=["session", "status"]
        )
        events = CounterMetricFamily(
            "sessiond_events", "Events received by the session", labels=["session"]
        )
        rate = GaugeMetricFamily(
            "sessiond_events_per_second", "Events/s over the last heartbeat", labels=["session"]
        )
        depth = GaugeMetricFamily(
            "sessiond_queue_depth", "Items waiting in a queue", labels=["session", "queue"]
        )
        recorded = CounterMetricFamily(
            "sessiond_recorded_events", "Events written to the store", labels=["session"]
        )
        write_failures = CounterMetricFamily(
            "sessiond_store_write_failures",
            "Failed store writes (retried)",
            labels=["session", "writer"],
        )
        rejected = CounterMetricFamily(
            "sessiond_rejected_events", "Events not counted", labels=["session", "reason"]
        )
        stream: dict[str, CounterMetricFamily] = {}
        handling = Metric(
            "sessiond_event_handling_seconds",
            "Sampled time to apply one event (market state and recorder)",
            "summary",
        )
        for session in sessions:
            name = session.name
            up.add_metric([name, session.status], 1.0 if session.status == "running" else 0.0)
            events.add_metric([name], float(session.events))
            rate.add_metric([name], float(session.events_per_second))
            live = session.live
            if live is None:
                continue
            depth.add_metric([name, "recorder"], float(live.recorder.pending))
            depth.add_metric([name, "feed"], float(live.feed.queued))
            recorded.add_metric([name], float(live.recorder.recorded))
            write_failures.add_metric([name, "recorder"], float(live.recorder.failed_writes))
            write_failures.add_metric([name, "phase_volumes"], float(live.persist_failures))
            state = live.state
            duplicates = out_of_order = 0
            for symbol in state.order_flow.symbols():
                flow = state.order_flow.stats(symbol)
                if flow is not None:
                    duplicates += flow.counter.duplicates
                    out_of_order += flow.counter.out_of_order
            rejected.add_metric([name, "stale"], float(state.stale_events))
            rejected.add_metric([name, "duplicate"], float(duplicates))
            rejected.add_metric([name, "out_of_order"], float(out_of_order))
            rejected.add_metric([name, "handler_error"], float(live.feed.handler_errors))
            for counter, value in live.feed.counters().items():
                metric_name = f"sessiond_stream_{_NAME.sub('_', counter)}"
                family = stream.get(metric_name)
                if family is None:
                    family = stream[metric_name] = CounterMetricFamily(
                        metric_name, f"Live stream counter {counter}", labels=["session"]
                    )
                family.add_metric([name], float(value))
            samples = sorted(session.latencies)
            if samples:
                for q in QUANTILES:
                    value = samples[min(len(samples) - 1, int(q * len(samples)))]
                    handling.add_sample(
                        "sessiond_event_handling_seconds",
                        {"session": name, "quantile": str(q)},
                        value,
                    )
                handling.add_sample(
                    "sessiond_event_handling_seconds_count", {"session": name}, len(samples)
                )
                handling.add_sample(
                    "sessiond_event_handling_seconds_sum", {"session": name}, sum(samples)
                )
        yield from (up, events, rate, depth, recorded, write_failures, rejected)
        yield from stream.values()
        yield handling
        renew = CounterMetricFamily(
            "sessiond_lease_renew_failures", "Failed lease heartbeats (retried)"
        )
        renew.add_metric([], float(self.daemon.lease_renew_failures))
        takeovers = CounterMetricFamily(
            "sessiond_lease_takeovers", "Leases taken over from a dead daemon"
        )
        takeovers.add_metric([], float(self.daemon.lease_takeovers))
        yield renew
        yield takeovers
        if self.log_counter is not None:
            logged = CounterMetricFamily(
                "sessiond_log_messages",
                "Warnings and errors logged",
                labels=["session", "level", "logger"],
            )
            for (session, level, logger_name), count in sorted(self.log_counter.snapshot().items()):
                logged.add_metric([session, level, logger_name], float(count))
            yield logged


def service_registry(daemon: Any, log_counter: LogCounter | None = None) -> CollectorRegistry:
    """A registry with the daemon's collector (and nothing process-global)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector(daemon, log_counter))
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """(body, content type) of the text exposition format."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


__all__ = ["QUANTILES", "DaemonCollector", "LogCounter", "exposition", "service_registry"]
