"""Dagster resources: the sessiond store and the data-source plugins.

- :class:`StoreResource` opens the same store the daemon uses (``core.store.Store``). Its URL
  comes from ``SESSIOND_DB_URL`` through ``EnvVar`` in ``definitions.py`` (so a password in the
  URL never lands in Dagster's run config); ``url=None`` means the settings default
  (``sqlite:///var/sessiond.db``).
- :class:`DataSourceResource` names a data-source plugin and its options; ``create_source``
  builds it through the plugin manager, like the daemon does. Credentials are never options:
  each plugin reads its own from the environment.

Only ``definitions.py`` decides which implementation a deployment gets (for example the
synthetic plugin standing in for a vendor in a local deployment); assets only see the
interfaces below. Constructing a resource opens nothing: the store is opened on first use in a
run and disposed at its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from core.store import Store
from plugins.interfaces import DataSource


class StoreResource(ConfigurableResource):
    """The sessiond store (bars, indicator values, quality) at ``url``."""

    url: str | None = None
    """SQLAlchemy URL (``sqlite:///var/sessiond.db``, ``postgresql+psycopg://...``); ``None``
    uses ``SESSIOND_DB_URL`` / the settings default."""

    _store: Store | None = PrivateAttr(default=None)

    def open(self) -> Store:
        """The store, opened once per run (tables are created / migrated on first use)."""
        if self._store is None:
            self._store = Store.from_url(self.url)
        return self._store

    def close(self) -> None:
        """Dispose of the store's connections (it reopens on the next ``open``)."""
        if self._store is not None:
            self._store.dispose()
            self._store = None

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.open().dialect


class DataSourceResource(ConfigurableResource):
    """A data-source plugin (``plugin`` is its registered name) with its ``options``.

    ``options`` override the ``data_api_options`` of the session configs; both are passed to
    the plugin's constructor together with the exchange calendar name.
    """

    plugin: str
    options: dict[str, Any] = {}

    def create_source(
        self, *, exchange: str, defaults: Mapping[str, Any] | None = None
    ) -> DataSource:
        """A new source instance for ``exchange`` (a calendar name such as ``XNYS``)."""
        from plugins.manager import load_plugins

        merged = {**(defaults or {}), **self.options}
        return load_plugins().create_source(self.plugin, exchange=exchange, **merged)

    def takes_option(self, option: str) -> bool:
        """Whether the plugin's constructor names ``option`` (e.g. ``extended_hours``, which
        the Alpaca source takes and the synthetic one does not)."""
        import inspect

        from plugins.manager import load_plugins

        cls = load_plugins().data_sources.get(self.plugin)
        if cls is None:
            return False
        try:
            return option in inspect.signature(cls).parameters
        except (TypeError, ValueError):  # pragma: no cover - classes without a signature
            return False


def source_resource_key(source_name: str) -> str:
    """Resource key of the data source a config names: ``synthetic`` -> ``synthetic_source``."""
    return f"{source_name}_source"
