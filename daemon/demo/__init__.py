"""``sessiond demo vn-live``: a realistic Vietnamese trading day through the live path, with the
live API and dashboard, without credentials or network.

- ``ssi_server``  a loopback fake of SSI FastConnect (REST + SignalR), also used by the tests
- ``messages``    SSI streaming message builders
- ``vn_day``      the generated day: VN30 trades and quotes, indices, futures, foreign room
- ``vn30_demo.json`` the session config: ``session_configs/vn30_live.json`` as ``vn30_demo``

:func:`run_vn_live_demo` starts the fake on 127.0.0.1, points the SSI settings of this process
at it (``SSI_URL``, ``SSI_STREAM_URL`` and throwaway credentials the fake issues), and runs the
real ``LiveSession`` (SSI source, classifier chain, market state, recorder, store, API) on a
live clock that starts just before the ATO and runs ``speed`` times faster than real time; the
fake sends each message when that clock reaches its time. The run stops after the ATC (before
the 15:00 roll of the statistics day), so the stored run and its per-phase volumes can be
inspected (``sessiond runs show``, ``flow``, ``report``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib import resources
from typing import Any

DEMO_DAY = date(2026, 2, 3)
"""The default day (a Tuesday, HOSE session)."""
DEMO_CONFIG = "vn30_demo.json"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``sessiond demo vn-live`` takes (see its --help)."""

    day: date = DEMO_DAY
    speed: float = 60.0
    seed: int = 7
    db: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8765
    start: time = time(9, 13)
    """Exchange-local time the clock starts at (before the 09:15 ATO match)."""
    stop: time = time(14, 50)
    """Exchange-local time the demo stops at (after the 14:45 ATC match)."""


def config_path() -> str:
    """The packaged demo session config."""
    return str(resources.files("daemon.demo").joinpath(DEMO_CONFIG))


def run_vn_live_demo(
    options: DemoOptions, *, announce: Callable[[str], None] = print
) -> tuple[Any, str, Any]:
    """Play the day; returns (run summary, store URL, the session). ``announce`` gets the
    dashboard URL once the API is up."""
    from core import calendars
    from core.config import load_session_config
    from core.errors import SessionError
    from core.store import Store
    from daemon.api import ApiSettings
    from daemon.demo.ssi_server import FakeSsiServer
    from daemon.demo.vn_day import day_messages, fake_scripts
    from daemon.live_session import LiveSession
    from plugins.manager import load_plugins

    calendar = "XSTC"
    if not calendars.is_session(calendar, options.day):
        raise SessionError(
            f"--date {options.day.isoformat()} is not a HOSE trading day: pick a weekday that is "
            f"not a holiday, e.g. {DEMO_DAY.isoformat()}"
        )
    host = load_plugins()
    config = load_session_config(
        config_path(),
        data_sources=set(host.data_sources),
        classifiers=set(host.classifiers),
        indicator_types=host.indicator_kinds,
    )
    zone = calendars.exchange_timezone(calendar)
    clock_start = datetime.combine(options.day, options.start, zone)
    stop_at = datetime.combine(options.day, options.stop, zone)
    fake = FakeSsiServer(keepalive_interval=1.0).start()
    saved = {k: v for k, v in os.environ.items() if k.startswith("SSI_")}
    os.environ.update(
        SSI_URL=fake.url,
        SSI_STREAM_URL=fake.url,
        SSI_CONSUMER_ID=fake.consumer_id,
        SSI_CONSUMER_SECRET=fake.consumer_secret,
        SSI_CONNECT_TIMEOUT_SECONDS="5",
    )
    store = Store.from_url(options.db)
    try:
        session = LiveSession(
            config,
            store=store,
            host=host,
            config_path=config_path(),
            api=ApiSettings().options(options.api_host, options.api_port),
            clock_start=clock_start,
            clock_speed=options.speed,
        )
        messages = day_messages(
            options.day, session.symbols, session.futures_contract, options.seed
        )
        fake.scripts.update(fake_scripts(messages, session.clock.seconds_until))
        summary = asyncio.run(
            session.run_announced(
                announce, should_stop=lambda: session.clock.seconds_until(stop_at) <= 0
            )
        )
        return summary, store.url, session
    finally:
        store.dispose()
        fake.stop()
        for key in (
            "SSI_URL",
            "SSI_STREAM_URL",
            "SSI_CONSUMER_ID",
            "SSI_CONSUMER_SECRET",
            "SSI_CONNECT_TIMEOUT_SECONDS",
        ):
            os.environ.pop(key, None)
        os.environ.update(saved)


__all__ = ["DEMO_DAY", "DemoOptions", "config_path", "run_vn_live_demo"]
