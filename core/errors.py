"""The exception tree of sessiond.

Every error sessiond raises on purpose derives from :class:`SessiondError`. The CLI turns a
``SessiondError`` into one line on stderr and exit code 1 (no traceback); anything else is a
bug and keeps its traceback.

    SessiondError
    ├── ConfigError            a session config file is invalid (names file, JSON path, value)
    ├── SettingsError          an environment setting is missing or invalid (names the variable)
    ├── CalendarError          unknown exchange, or a date outside the calendar's known years
    ├── StoreError             the store cannot be opened, migrated or written
    ├── LeaseError             a session is held by another running daemon (core.leases)
    ├── PluginError
    │   ├── StartupError       plugins cannot be loaded: duplicate names, misspelled hooks
    │   └── UnknownPluginError a config or command names a plugin that is not registered
    ├── SourceError            a data source failed: network, auth, malformed reply
    │   └── SourceAuthError    credentials rejected
    ├── InvalidTransition      a lifecycle state machine was asked for an illegal move
    ├── SessionError           a session cannot run or continue (e.g. no trading day in range)
    │   └── StrategyError      a strategy raised (the session stops, the daemon does not)
    ├── BrokerError            a broker failed: connection, auth, a refused request
    └── RiskLimitError         a trading-session guard was breached

Messages say what failed, the offending value, and what to do next, e.g.
``unknown exchange_group 'NYSEX' (expected one of HNX, HOSE, UPCOM, US_EQUITY, VN_DERIVATIVES)``.
"""

from __future__ import annotations


class SessiondError(Exception):
    """Base of every error sessiond raises deliberately."""


class ConfigError(SessiondError):
    """A session config is invalid.

    ``str(error)`` is one or more lines ``<file>: <json.path>: <problem>``.
    """

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


class SettingsError(SessiondError):
    """An environment setting (or ``.env`` entry) is missing or invalid."""


class CalendarError(SessiondError):
    """Unknown calendar, or a date the calendar does not cover."""


class StoreError(SessiondError):
    """The store cannot be opened, migrated, read or written."""


class LeaseError(SessiondError):
    """A session's lease is held by another live daemon, or was lost to one."""


class PluginError(SessiondError):
    """Base of plugin loading and lookup errors."""


class StartupError(PluginError):
    """Plugins cannot be loaded (duplicate names, misspelled hooks, broken entry points)."""


class UnknownPluginError(PluginError):
    """A plugin name that no loaded plugin registers."""


class SourceError(SessiondError):
    """A data source failed (network, protocol, malformed reply). Never carries secrets."""


class SourceAuthError(SourceError):
    """A data source rejected the credentials."""


class InvalidTransition(SessiondError):
    """A lifecycle state machine was asked for a move its table does not allow."""


class SessionError(SessiondError):
    """A session cannot start or continue."""


class StrategyError(SessionError):
    """A strategy raised inside a callback; its session stops and its run is marked failed."""


class BrokerError(SessiondError):
    """A broker failed (network, auth, a refused request). Never carries secrets."""


class RiskLimitError(SessiondError):
    """A trading-session guard (loss limit, duration, single active session) was breached."""
