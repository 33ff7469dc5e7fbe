"""SSI FastConnect data source (Vietnam): historical REST and live SignalR stream.

Registered as data source ``ssi``. Importing this package opens no connection and reads no
secret: the source class is imported lazily inside the hook. Layout: ``parse.py`` (wire
formats, units, UTC), ``client.py`` (REST through ssi-fc-data), ``stream.py`` (SignalR 1.5
stream), ``futures.py`` (VN30 contracts), ``source.py`` (core models), ``recording.py``
(record a live day into the store, replay it), ``settings.py`` (``SSI_*`` environment).
"""

from __future__ import annotations

from plugins import hookimpl


@hookimpl
def register_data_sources() -> list[type]:
    from plugins.sources.ssi.source import SsiSource

    return [SsiSource]
