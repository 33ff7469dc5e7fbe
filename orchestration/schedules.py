"""One schedule per exchange: once a trading day's partition exists, load that day.

A day's partition appears when the day is over in the exchange's time zone (local midnight;
``orchestration.partitions``). The schedule fires Tuesday to Saturday at
:data:`SCHEDULE_LOCAL_TIME` exchange time (00:30 America/New_York, 00:30 Asia/Ho_Chi_Minh) and:

- when the day before was a session, requests that session's partition, with a run key
  ``<calendar>-<date>`` so a re-evaluated tick never launches twice;
- when it was a weekday holiday, returns a ``SkipReason`` naming the holiday and the next
  session;
- outside the calendar's known years (Vietnamese holiday tables end in 2026) skips with the
  calendar's error, which says what to extend.

``build_schedule_from_partitioned_job`` is deliberately not used: it derives the partition from
the tick's date arithmetic, so the tick after a holiday would target the holiday, not the
session.
"""

from datetime import datetime, timedelta

from dagster import (
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from core import calendars
from core.errors import CalendarError
from orchestration.partitions import partition_key

SCHEDULE_LOCAL_TIME = (0, 30)
"""Local (hour, minute) of the ticks: half an hour after the finished day's partition appears
(vendors publish the day's bars well before)."""


def evaluate_tick(calendar_name: str, scheduled: datetime) -> RunRequest | SkipReason:
    """What the schedule does at ``scheduled`` (an aware datetime): the run of the session of
    the local day before, or why it skips."""
    tz = calendars.exchange_timezone(calendar_name)
    day = scheduled.astimezone(tz).date() - timedelta(days=1)
    try:
        if not calendars.is_session(calendar_name, day):
            following = calendars.next_session(calendar_name, day)
            return SkipReason(
                f"{day.isoformat()} is not a {calendar_name} session (weekend or holiday); "
                f"next session {following.isoformat()}"
            )
    except CalendarError as error:
        return SkipReason(f"{calendar_name} calendar cannot answer for {day.isoformat()}: {error}")
    key = partition_key(day)
    return RunRequest(
        run_key=f"{calendar_name}-{key}", partition_key=key, tags={"calendar": calendar_name}
    )


def build_history_schedule(
    calendar_name: str, job: UnresolvedAssetJobDefinition
) -> ScheduleDefinition:
    """``<job>_schedule`` for ``calendar_name`` (see module docstring)."""
    hour, minute = SCHEDULE_LOCAL_TIME
    tz = calendars.exchange_timezone(calendar_name)

    @schedule(
        name=f"{job.name}_schedule",
        cron_schedule=f"{minute} {hour} * * 2-6",
        execution_timezone=tz.key,
        job=job,
        description=(
            f"The morning after each {calendar_name} session ({hour:02d}:{minute:02d} {tz.key}, "
            "once its partition exists): materialize that session; skips holidays with a reason."
        ),
    )
    def _history_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        return evaluate_tick(calendar_name, context.scheduled_execution_time)

    return _history_schedule
