"""Every hook a sessiond plugin can implement.

This module is the reference for plugin authors (see ``docs/plugins.md``). A plugin is any
object or module with functions decorated by ``plugins.hookimpl`` whose names match the specs
below; it is found through the entry-point group ``sessiond`` or registered by sessiond itself
(the built-ins use the very same mechanism). A function whose name starts with ``sessiond_`` or
``register_`` but matches no spec fails at start (``check_pending``).

Registration hooks are called once when the plugin manager loads; their results are collected
from every plugin, and duplicate names across plugins fail at start naming both packages.
Lifecycle hooks are called by the daemon for every trading session; their return values are
ignored, and an exception they raise is logged and does not stop the session.

Every hook here is documented (one imperative line, when it is called, its parameters, its
return contract, who calls it) and has a ``test_hook_<name>`` test in
``tests/plugins/test_hooks.py``; a test enforces both.
"""

# mypy: disable-error-code="empty-body"
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

    Called once per ``load_plugins()`` (daemon start, each Dagster run, each CLI command),
    before any session exists; must not open connections or read secrets.

    Return a list of classes implementing ``plugins.interfaces.DataSource``; each has a unique
    ``name`` (what ``api_config.data_api`` names) and a one-line ``description``. sessiond
    constructs them later as ``cls(exchange=<calendar name>, **options)`` through
    ``PluginHost.create_source``. A name another plugin already registered fails at start.

    Called by: ``plugins.manager.load_plugins``.
    """


@hookspec
def register_trade_classifiers() -> list[type]:
    """Return the trade-classifier classes this plugin provides.

    Called once per ``load_plugins()``. Return a list of classes implementing
    ``plugins.interfaces.TradeClassifier``; each ``name`` is what
    ``session_data_config.classifiers`` lists in its chain. sessiond creates one instance per
    symbol with ``cls()`` (``PluginHost.create_classifier``). Duplicate names fail at start.

    Called by: ``plugins.manager.load_plugins``.
    """


@hookspec
def register_indicators() -> list[type]:
    """Return the indicator classes this plugin provides.

    Called once per ``load_plugins()``. Return a list of classes implementing
    ``plugins.interfaces.Indicator``; each ``name`` is the ``type`` of an entry in
    ``historical.indicators``. sessiond constructs them as ``cls(name=<config key>, **params)``
    (``PluginHost.create_indicator``). Duplicate names fail at start.

    Called by: ``plugins.manager.load_plugins``.
    """


@hookspec
def register_calendars() -> list[tuple[str, type, tuple[str, ...]]]:
    """Return extra exchange calendars as ``(name, ExchangeCalendar subclass, aliases)``.

    Called once per ``load_plugins()``. Each entry is registered with
    ``core.calendars.register_calendar(name, cls, aliases)``, after which
    ``core.calendars.get_calendar(name)`` (and each alias) finds it and session configs can
    run on it. A calendar name another plugin already registered fails at start.

    Called by: ``plugins.manager.load_plugins``.
    """


# --------------------------------------------------------------------------------------------
# Registration of trading plugins: called once at start-up by the plugin manager
# --------------------------------------------------------------------------------------------


@hookspec
def register_strategies() -> list[type]:
    """Return the strategy classes this plugin provides.

    Called once per ``load_plugins()``, before any session exists. Return a list of classes
    implementing ``plugins.interfaces.Strategy``; each ``name`` is what a session config's
    ``strategy.type`` names. sessiond constructs one per session run as ``cls(**params)``
    (``strategy.params``; ``PluginHost.create_strategy``), then calls ``on_start(ctx)`` with a
    ``plugins.interfaces.StrategyContext`` and the event callbacks documented there. Duplicate
    names fail at start.

    Called by: ``plugins.manager.load_plugins``.
    """


@hookspec
def register_brokers() -> list[type]:
    """Return the broker classes this plugin provides.

    Called once per ``load_plugins()``; must not connect or read secrets. Return a list of
    classes implementing ``plugins.interfaces.Broker``; each ``name`` is what
    ``api_config.trade_api`` names (built-ins: ``simulated``, ``alpaca_paper``). sessiond
    constructs one per session run as ``cls(exchange=<calendar name>,
    **api_config.trade_api_options)`` (``PluginHost.create_broker``) and calls ``start(ctx)``
    with a ``plugins.interfaces.BrokerContext``. Duplicate names fail at start.

    Called by: ``plugins.manager.load_plugins``.
    """


@hookspec
def register_fee_models() -> list[type]:
    """Return the fee-model classes (commission and taxes per fill) this plugin provides.

    Called once per ``load_plugins()``. Return a list of classes implementing
    ``plugins.interfaces.FeeModel``; each ``name`` is what ``trading_config.fees.type`` names
    (built-ins: ``vn_default``, ``us_default``, ``zero``). sessiond constructs one per run as
    ``cls(currency=<USD|VND>, **params)`` (``PluginHost.create_fee_model``) and calls
    ``fees(fill)`` for every fill whose broker did not report its own. Duplicate names fail at
    start.

    Called by: ``plugins.manager.load_plugins``.
    """


# --------------------------------------------------------------------------------------------
# Lifecycle notifications: called by the daemon's SessionCoordinator
# --------------------------------------------------------------------------------------------


@hookspec
def session_started(session_name: str, exchange: str, trading_date: date, mode: str) -> None:
    """Notify that a trading session is active and about to stream.

    Called once per trading day, after historical data and indicators are loaded and before
    the first event is delivered.

    ``session_name``: the config's ``session_name``; ``exchange``: the calendar name
    (``XNYS``, ``XSTC`` ...); ``trading_date``: the exchange-local trading date; ``mode``:
    ``"live"`` or ``"backtest"``. The return value is ignored.

    Called by: ``daemon.coordinator.SessionCoordinator`` via ``host.hook.session_started``.
    """


@hookspec
def phase_changed(exchange: str, trading_date: date, phase: str, previous: str | None) -> None:
    """Notify that the exchange moved to another intraday phase.

    Called at each phase boundary the session clock crosses (e.g. ``ato`` -> ``continuous``
    at 09:15 on HOSE), in backtests at simulated time.

    ``exchange``: calendar name; ``trading_date``: exchange-local date; ``phase``/``previous``:
    ``core.phases.Phase`` values (``previous`` is None for the first phase of the day). The
    return value is ignored.

    Called by: ``daemon.coordinator.SessionCoordinator`` via ``host.hook.phase_changed``.
    """


@hookspec
def session_ended(
    session_name: str, exchange: str, trading_date: date, summary: dict[str, Any]
) -> None:
    """Notify that a trading session closed and its data was persisted.

    Called once per trading day, after the close, before the next day starts.

    ``session_name``, ``exchange``, ``trading_date`` as for ``session_started``; ``summary``:
    the day's counts and quality (e.g. ``{"bars": 9750, "trades": 0, "quality_pct": 100.0}``;
    keys may grow). The return value is ignored.

    Called by: ``daemon.coordinator.SessionCoordinator`` via ``host.hook.session_ended``.
    """
