"""What one stored session run holds, read back for people: ``sessiond runs show`` and
``sessiond report`` both start from :func:`load_run`.

A run's ``session_runs`` row keeps its summary, per-day results, metrics and (since this
module) the config as run (``metrics["config"]``); the market data, generated bars, indicator
values, quality results and per-phase volumes it wrote live in their own tables and are read
here by the run's symbols, sources and dates. Runs stored before the config snapshot existed
fall back to the config file at ``config_path`` when it is still readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core import calendars
from core.config import SessionConfig, load_session_config
from core.errors import ConfigError, SessionError
from core.store import PhaseVolume, SessionRun, Store

GENERATED_SOURCE = "sessiond"
"""Source name of the bars a session generates (``daemon.coordinator.GENERATED_SOURCE``)."""


@dataclass(frozen=True, slots=True)
class RunResults:
    """A stored run with its config, in the terms its readers need."""

    run: SessionRun
    config: SessionConfig | None
    days: list[dict[str, Any]] = field(default_factory=list)
    """Per trading day: ``DayResult.to_dict()`` (events, generated, quality, phases ...)."""

    @property
    def calendar(self) -> str:
        return self.run.exchange

    @property
    def symbols(self) -> list[str]:
        return self.config.symbols if self.config is not None else []

    @property
    def data_source(self) -> str | None:
        return self.config.api_config.data_api if self.config is not None else None

    @property
    def trading_dates(self) -> list[date]:
        """The run's trading days: those it finished, else its calendar range."""
        if self.days:
            return [date.fromisoformat(d["trading_date"]) for d in self.days]
        if self.run.start_date is None or self.run.end_date is None:
            return []
        return calendars.sessions_in_range(self.calendar, self.run.start_date, self.run.end_date)

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.run.metrics.get("summary", {}))

    def utc_range(self) -> tuple[datetime, datetime] | None:
        """[first day 00:00 UTC, day after the last 00:00 UTC + 1 day): covers every session
        window of the run's days, extended hours included, in any exchange's time zone."""
        dates = self.trading_dates
        if not dates:
            return None
        start = datetime(dates[0].year, dates[0].month, dates[0].day, tzinfo=UTC)
        last = dates[-1]
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=2)
        return start - timedelta(days=1), end

    def phase_volumes(self, store: Store) -> list[PhaseVolume]:
        """The per-phase active buy / sell / neutral volumes the run's session stored for its
        days (live sessions and backtests replaying recorded ticks write them)."""
        dates = self.trading_dates
        if not dates:
            return []
        return store.read_phase_volumes(
            session_name=self.run.session_name, start_date=dates[0], end_date=dates[-1]
        )


def parse_run_reference(text: str) -> int | None:
    """``RUN`` argument: a run id, or ``last`` (None) for the newest run."""
    value = text.strip().lower()
    if value in ("last", "latest"):
        return None
    try:
        number = int(value)
    except ValueError:
        raise SessionError(
            f"RUN {text!r} is not a run id: pass a number from 'sessiond runs list', or 'last'"
        ) from None
    if number < 1:
        raise SessionError(f"RUN {text!r} is not a run id (ids start at 1)")
    return number


def load_run(store: Store, reference: str) -> RunResults:
    """The run ``reference`` names (an id or ``last``); SessionError when there is none."""
    number = parse_run_reference(reference)
    runs = store.read_session_runs(run_id=number, limit=1)
    if not runs:
        where = store.url
        if number is None:
            raise SessionError(f"no session run is stored in {where}: run 'sessiond run CONFIG'")
        raise SessionError(
            f"no session run {number} in {where}: 'sessiond runs list' shows the stored runs"
        )
    run = runs[0]
    return RunResults(run, _run_config(run), list(run.metrics.get("days", [])))


def _run_config(run: SessionRun) -> SessionConfig | None:
    snapshot = run.metrics.get("config")
    if isinstance(snapshot, dict):
        try:
            return SessionConfig.model_validate(snapshot)
        except ValueError:
            pass
    try:
        return load_session_config(run.config_path)
    except ConfigError:
        return None
