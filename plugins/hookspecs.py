"""Every hook a sessiond plugin can implement.

This module is the reference for plugin authors (see ``docs/plugins.md``). A plugin is any
object or module with functions decorated by ``plugins.hookimpl`` whose names match the specs
below; it is found through the entry-point group ``sessiond`` or registered by sessiond itself
(the built-ins use the very same mechanism). A function whose name starts with ``sessiond_`` or
``register_`` but matches no spec fails at start (``check_pending``).

Registration hooks are called once when the plugin manager loads; their results are collected
from every plugin, and duplicate names across plugins fail at start naming both plugins.
Lifecycle hooks are called by the daemon for every trading session; exceptions they raise are
logged and do not stop the session.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("sessiond")

# --------------------------------------------------------------------------------------------
# Registration: called once at start-up by the plugin manager (daemon, orchestration, CLI)
# --------------------------------------------------------------------------------------------


@hookspec
def register_data_sources() -> list[type]:
    """Return the data-source classes this plugin provides.

    Each class implements ``plugins.interfaces.DataSource`` and has a unique ``name`` that
    session configs use in ``api_config.data_api``.
    """


@hookspec
def register_trade_classifiers() -> list[type]:
    """Return the trade-classifier classes this plugin provides.

    Each class implements ``plugins.interfaces.TradeClassifier``; its ``name`` is what a
    session config lists in its classifier chain.
    """


@hookspec
def register_indicators() -> list[type]:
    """Return the indicator classes this plugin provides.

    Each class implements ``plugins.interfaces.Indicator``; its ``name`` is the ``type`` a
    session config gives an indicator.
    """


@hookspec
def register_calendars() -> list[tuple[str, type, tuple[str, ...]]]:
    """Return extra exchange calendars as ``(name, ExchangeCalendar subclass, aliases)``.

    They are registered with ``exchange_calendars`` under ``name`` and each alias, so that
    ``core.calendars.get_calendar(name)`` finds them.
    """


# --------------------------------------------------------------------------------------------
# Lifecycle notifications: called by the daemon's SessionCoordinator
# --------------------------------------------------------------------------------------------


@hookspec
def session_started(session_name: str, exchange: str, trading_date: date, mode: str) -> None:
    """Notify that a trading session is active and about to stream.

    Called once per trading day after historical data and indicators are loaded.
    """


@hookspec
def phase_changed(exchange: str, trading_date: date, phase: str, previous: str | None) -> None:
    """Notify that the exchange moved to another intraday phase (``core.phases.Phase`` values)."""


@hookspec
def session_ended(
    session_name: str, exchange: str, trading_date: date, summary: dict[str, Any]
) -> None:
    """Notify that a trading session closed; ``summary`` holds its counts and quality."""
