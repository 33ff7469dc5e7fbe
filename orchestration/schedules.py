"""One schedule per exchange: after the close, in the exchange's own time zone, ask the calendar.

The schedule fires Monday to Friday at ``close + SCHEDULE_DELAY`` local time (XNYS 17:00
America/New_York, HOSE 15:45 Asia/Ho_Chi_Minh) and:

- on a session day requests the partition of *that* day (the session that just closed), with
  a run key ``<calendar>-<date>`` so a re-evaluated tick never launches twice;
- on a weekday holiday returns a ``SkipReason`` naming the holiday date and the next session;
- outside the calendar's known years (Vietnamese holiday tables end in 2026) skips with the
  calendar's error, which says what to extend.

``build_schedule_from_partitioned_job`` is deliberately not used: it derives the partition from
the tick's date arithmetic, so the tick after a holiday would target the holiday, not the
session.
"""

from datetime import date, datetime, timedelta

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

SCHEDULE_DELAY = timedelta(hours=1)
"""How long after the regular close the schedule fires (vendors publish bars with a delay)."""


def schedule_local_time(calendar_name: str, reference: date) -> tuple[int, int]:
    """Local ``(hour, minute)`` at which the schedule fires: the regular close of the first
    non-early-close session on or after ``reference`` plus :data:`SCHEDULE_DELAY`."""
    tz = calendars.exchange_timezone(calendar_name)
    day = (
        reference
        if calendars.is_session(calendar_name, reference)
        else calendars.next_session(calendar_name, reference)
    )
    for _ in range(30):
        bounds = calendars.session_bounds(calendar_name, day)
        if not bounds.is_early_close:
            break
        day = calendars.next_session(calendar_name, day)
    fire = (bounds.close + SCHEDULE_DELAY).astimezone(tz)
    return fire.hour, fire.minute


def evaluate_tick(calendar_name: str, scheduled: datetime) -> RunRequest | SkipReason:
    """What the schedule does at ``scheduled`` (an aware datetime): the run of the session that
    closed that local day, or why it skips."""
    tz = calendars.exchange_timezone(calendar_name)
    local = scheduled.astimezone(tz)
    day = local.date()
    try:
        if not calendars.is_session(calendar_name, day):
            following = calendars.next_session(calendar_name, day)
            return SkipReason(
                f"{day.isoformat()} is not a {calendar_name} session (weekend or holiday); "
                f"next session {following.isoformat()}"
            )
        bounds = calendars.session_bounds(calendar_name, day)
    except CalendarError as error:
        return SkipReason(f"{calendar_name} calendar cannot answer for {day.isoformat()}: {error}")
    if scheduled < bounds.close:
        return SkipReason(
            f"{calendar_name} session {day.isoformat()} closes at {bounds.close.isoformat()}, "
            f"after this tick ({scheduled.isoformat()})"
        )
    key = partition_key(day)
    return RunRequest(
        run_key=f"{calendar_name}-{key}", partition_key=key, tags={"calendar": calendar_name}
    )


def build_history_schedule(
    calendar_name: str, job: UnresolvedAssetJobDefinition, reference: date
) -> ScheduleDefinition:
    """``<job>_schedule`` for ``calendar_name`` (see module docstring)."""
    hour, minute = schedule_local_time(calendar_name, reference)
    tz = calendars.exchange_timezone(calendar_name)

    @schedule(
        name=f"{job.name}_schedule",
        cron_schedule=f"{minute} {hour} * * 1-5",
        execution_timezone=tz.key,
        job=job,
        description=(
            f"After each {calendar_name} close ({hour:02d}:{minute:02d} {tz.key}): materialize the "
            "session that just closed; skips holidays with a reason."
        ),
    )
    def _history_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        return evaluate_tick(calendar_name, context.scheduled_execution_time)

    return _history_schedule
