"""Alpaca data source (US equities): historical REST and live stream.

Registered by the plugin manager like any third-party plugin; see ``docs/sources-alpaca.md``.
Importing this package reads no settings and opens no connection.
"""

from __future__ import annotations

from plugins import hookimpl


@hookimpl
def register_data_sources() -> list[type]:
    """The ``alpaca`` data source."""
    from plugins.sources.alpaca.source import AlpacaSource

    return [AlpacaSource]
