"""How sessiond shows times to people (CLI tables, the HTML report) and where results went.

Times are UTC inside; on screen they are shown in the exchange's local time by default (a
Vietnamese trader reads 09:15, not 02:15Z), or UTC / any IANA zone with ``--tz``. Exports
(``--json``, csv, parquet) keep ISO 8601 with an explicit offset whatever ``--tz`` says.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import calendars

TZ_HELP = (
    "Time zone of displayed times: exchange (the exchange's local time, default), utc, or an "
    "IANA zone such as Europe/London. Exports (--json, csv) stay ISO 8601 with offsets."
)


def display_zone(tz: str, calendar: str | None) -> tzinfo:
    """The zone ``--tz`` names; ``exchange`` is ``calendar``'s zone (UTC when unknown).
    ValueError names the bad value."""
    choice = tz.strip()
    if choice.lower() == "exchange":
        return calendars.exchange_timezone(calendar) if calendar else UTC
    if choice.lower() == "utc":
        return UTC
    try:
        return ZoneInfo(choice)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{tz!r} is not exchange, utc or an IANA time zone (e.g. Asia/Ho_Chi_Minh)"
        ) from None


def zone_label(zone: tzinfo) -> str:
    """``UTC``, ``Asia/Ho_Chi_Minh`` ... for column headers."""
    return "UTC" if zone is UTC else str(getattr(zone, "key", zone))


def show_time(ts: datetime | None, zone: tzinfo, *, seconds: bool = True) -> str:
    """``2026-02-03 09:15:00`` in ``zone`` ("" for None); naive means UTC."""
    if ts is None:
        return ""
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def iso_time(ts: datetime | None) -> str | None:
    """ISO 8601 with offset for exports (UTC as ``+00:00``); None passes through."""
    if ts is None:
        return None
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return aware.isoformat()


def next_steps(store_url: str, *commands: str) -> str:
    """The line after a command that stored something: where, and what to run next."""
    return f"stored in {store_url}; next: " + ", ".join(commands)
