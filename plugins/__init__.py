"""The sessiond plugin SDK: what a plugin author imports.

    from plugins import hookimpl
    from plugins.interfaces import DataSource
    from core.models import Bar

    class MySource:
        name = "mysource"
        description = "Bars from my vendor"
        def __init__(self, exchange: str, **options): ...
        def request_bars(self, symbols, start, end, interval): ...

    @hookimpl
    def register_data_sources():
        return [MySource]

Expose the module in your package's entry points, group ``sessiond``. See ``docs/plugins.md``.
"""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("sessiond")
"""Marker for hook implementations (``@hookimpl`` or ``@hookimpl(trylast=True)``)."""

__all__ = ["hookimpl"]
