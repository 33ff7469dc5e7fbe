"""The plugin manager: built-ins and entry-point plugins on one pluggy ``PluginManager``.

``load_plugins()`` builds a :class:`PluginHost`:

1. a ``pluggy.PluginManager("sessiond")`` with the specs of ``plugins.hookspecs``;
2. the built-in plugin modules (:data:`BUILTIN_PLUGINS`) registered with ``pm.register`` —
   exactly the call a third party's plugin goes through;
3. every entry point of the group ``sessiond`` (``pm.load_setuptools_entrypoints``), after
   checking ourselves that no two distributions declare the same entry-point name (pluggy
   would silently keep the first);
4. ``extra`` plugin objects (tests, embedding applications);
5. ``pm.check_pending()``: a ``@hookimpl`` whose name matches no hook (a misspelling) fails;
6. the registration hooks, called plugin by plugin so that every contribution is attributed:
   two plugins registering the same data-source, classifier, indicator, calendar, strategy,
   broker or fee-model name fail.

Every failure is a one-line :class:`~core.errors.StartupError` naming the plugin and its
distribution, e.g. ``duplicate data source 'ssi' (from packages sessiond, vendor-ssi)``.

Loading imports plugin modules but never opens connections or reads secrets (plugin classes
are only instantiated by the ``create_*`` factories: source, classifier, indicator, strategy,
broker, fee model).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as metadata
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from core.errors import PluginError, StartupError, UnknownPluginError
from plugins import hookspecs
from plugins.interfaces import indicator_kind

PROJECT_NAME = "sessiond"
"""pluggy project name (the ``hookimpl`` marker) and entry-point group."""

ENTRY_POINT_GROUP = "sessiond"

BUILTIN_PLUGINS: tuple[str, ...] = (
    "plugins.sources.synthetic",
    "plugins.sources.files",
    "plugins.sources.ssi",
    "plugins.sources.alpaca",
    "plugins.classifiers",
    "plugins.indicators",
    "plugins.strategies",
    "plugins.brokers",
)
"""Modules sessiond registers itself, in this order, before the entry-point plugins."""

_UNMARKED_PREFIXES = ("register_", "sessiond_")
"""Module-level functions with these prefixes count as hook implementations even without
``@hookimpl``, so that a misspelled ``register_data_source`` fails instead of being ignored."""

_KINDS: dict[str, tuple[str, str]] = {
    # hook name -> (kind used in messages, required method(s) separated by "|")
    "register_data_sources": ("data source", "request_bars"),
    "register_trade_classifiers": ("trade classifier", "classify"),
    "register_indicators": ("indicator", "compute|update"),
    "register_strategies": ("strategy", "on_bar"),
    "register_brokers": ("broker", "submit"),
    "register_fee_models": ("fee model", "fees"),
}


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One loaded plugin as ``sessiond plugins`` shows it.

    ``name`` is the pluggy plugin name (the module name for built-ins, the entry-point name for
    third-party plugins); ``distribution``/``version`` the installed package that provides it
    (``sessiond`` for built-ins, ``None`` for objects registered in code); ``hooks`` the hooks it
    implements; the tuples the names it registers.
    """

    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: tuple[str, ...]
    data_sources: tuple[str, ...] = ()
    classifiers: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    calendars: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    brokers: tuple[str, ...] = ()
    fee_models: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "hooks": list(self.hooks),
            "data_sources": list(self.data_sources),
            "classifiers": list(self.classifiers),
            "indicators": list(self.indicators),
            "calendars": list(self.calendars),
            "strategies": list(self.strategies),
            "brokers": list(self.brokers),
            "fee_models": list(self.fee_models),
        }


@dataclass(slots=True)
class _Origin:
    """Where a registered plugin object came from (for messages and ``describe``)."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    registered: dict[str, list[str]] = field(default_factory=dict)

    @property
    def package(self) -> str:
        """How messages name the plugin: its distribution, else its plugin name."""
        return self.distribution or self.name


class _SessiondPluginManager(pluggy.PluginManager):
    """pluggy's manager, plus: unmarked ``register_*``/``sessiond_*`` functions defined in a
    plugin module are hook implementations too (pytest treats ``pytest_*`` the same way)."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None or not name.startswith(_UNMARKED_PREFIXES):
            return opts
        if not isinstance(plugin, ModuleType):
            return None
        function = getattr(plugin, name, None)
        if inspect.isfunction(function) and function.__module__ == plugin.__name__:
            return {}
        return None


class PluginHost:
    """The loaded plugins: registries by name, the hook relay and factories.

    ``data_sources``, ``classifiers`` and ``indicators`` map a registered name to its class;
    ``calendars`` maps a calendar name to ``(ExchangeCalendar subclass, aliases)``;
    ``strategies``, ``brokers`` and ``fee_models`` map trading plugin names to classes.
    ``hook`` is the pluggy relay the daemon uses for lifecycle notifications
    (``host.hook.session_started(session_name=..., exchange=..., trading_date=..., mode=...)``).
    """

    def __init__(
        self,
        pm: pluggy.PluginManager,
        origins: dict[str, _Origin],
        data_sources: dict[str, type],
        classifiers: dict[str, type],
        indicators: dict[str, type],
        calendars: dict[str, tuple[type, tuple[str, ...]]],
        strategies: dict[str, type] | None = None,
        brokers: dict[str, type] | None = None,
        fee_models: dict[str, type] | None = None,
    ) -> None:
        self.pm = pm
        self._origins = origins
        self.data_sources = data_sources
        self.classifiers = classifiers
        self.indicators = indicators
        self.calendars = calendars
        self.strategies = strategies if strategies is not None else {}
        self.brokers = brokers if brokers is not None else {}
        self.fee_models = fee_models if fee_models is not None else {}

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def describe(self) -> list[PluginInfo]:
        """Every registered plugin, built-ins first, with what it registers."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            origin = self._origins[name]
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
            infos.append(
                PluginInfo(
                    name=origin.name,
                    module=origin.module,
                    distribution=origin.distribution,
                    version=origin.version,
                    builtin=origin.builtin,
                    hooks=hooks,
                    data_sources=tuple(origin.registered.get("register_data_sources", ())),
                    classifiers=tuple(origin.registered.get("register_trade_classifiers", ())),
                    indicators=tuple(origin.registered.get("register_indicators", ())),
                    calendars=tuple(origin.registered.get("register_calendars", ())),
                    strategies=tuple(origin.registered.get("register_strategies", ())),
                    brokers=tuple(origin.registered.get("register_brokers", ())),
                    fee_models=tuple(origin.registered.get("register_fee_models", ())),
                )
            )
        order = {name: i for i, name in enumerate(BUILTIN_PLUGINS)}
        infos.sort(key=lambda info: (not info.builtin, order.get(info.name, 0), info.name))
        return infos

    def distribution_of(self, kind: str, name: str) -> str | None:
        """The package that registered ``name`` (kind: data_sources/classifiers/indicators)."""
        hook = {
            "data_sources": "register_data_sources",
            "classifiers": "register_trade_classifiers",
            "indicators": "register_indicators",
            "calendars": "register_calendars",
            "strategies": "register_strategies",
            "brokers": "register_brokers",
            "fee_models": "register_fee_models",
        }[kind]
        for origin in self._origins.values():
            if name in origin.registered.get(hook, ()):
                return origin.package
        return None

    # -- factories ---------------------------------------------------------------------------

    def create_source(self, name: str, *, exchange: str, **options: Any) -> Any:
        """Instantiate data source ``name`` as ``cls(exchange=exchange, **options)``."""
        cls = _lookup(self.data_sources, "data source", name)
        _check_options(cls, "data source", name, {"exchange": exchange, **options})
        return cls(exchange=exchange, **options)

    def create_classifier(self, name: str) -> Any:
        """Instantiate trade classifier ``name`` (one instance per symbol and day)."""
        cls = _lookup(self.classifiers, "trade classifier", name)
        return cls()

    @property
    def indicator_kinds(self) -> dict[str, str]:
        """Indicator type name -> its declared kind (``historical``, ``streaming``, ``both``)."""
        return {name: indicator_kind(cls) for name, cls in self.indicators.items()}

    def create_indicator(
        self,
        type_name: str,
        *,
        name: str,
        calendar: str | None = None,
        granularity: str | None = None,
        **params: Any,
    ) -> Any:
        """Instantiate indicator type ``type_name`` as ``cls(name=name, **params)``, adding
        ``calendar`` and ``granularity`` when the constructor declares them (the contract of
        ``plugins.interfaces.Indicator``)."""
        cls = _lookup(self.indicators, "indicator", type_name)
        engine = {"calendar": calendar, "granularity": granularity}
        declared = declared_parameters(cls)
        for key, value in engine.items():
            if value is not None and (declared is None or key in declared):
                params[key] = value
        _check_options(cls, "indicator", type_name, {"name": name, **params})
        return cls(name=name, **params)

    def create_strategy(self, type_name: str, **params: Any) -> Any:
        """Instantiate strategy ``type_name`` as ``cls(**params)``."""
        cls = _lookup(self.strategies, "strategy", type_name)
        _check_options(cls, "strategy", type_name, params)
        return cls(**params)

    def create_broker(self, name: str, *, exchange: str, **options: Any) -> Any:
        """Instantiate broker ``name`` as ``cls(exchange=exchange, **options)``."""
        cls = _lookup(self.brokers, "broker", name)
        _check_options(cls, "broker", name, {"exchange": exchange, **options})
        return cls(exchange=exchange, **options)

    def create_fee_model(self, type_name: str, *, currency: str, **params: Any) -> Any:
        """Instantiate fee model ``type_name`` as ``cls(currency=currency, **params)``."""
        cls = _lookup(self.fee_models, "fee model", type_name)
        _check_options(cls, "fee model", type_name, {"currency": currency, **params})
        return cls(currency=currency, **params)

    def config_names(self) -> dict[str, Any]:
        """The registered names a session config is validated against: the keyword arguments
        of ``core.config.load_session_config`` (strategies map to their accepted params)."""
        return {
            "data_sources": set(self.data_sources),
            "classifiers": set(self.classifiers),
            "indicator_types": self.indicator_kinds,
            "brokers": set(self.brokers),
            "strategies": {name: accepted_options(cls) for name, cls in self.strategies.items()},
            "fee_models": {name: accepted_options(cls) for name, cls in self.fee_models.items()},
        }


def _lookup(registry: dict[str, type], kind: str, name: str) -> type:
    try:
        return registry[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(registry)) or "none"
        close = difflib.get_close_matches(str(name), list(registry), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownPluginError(f"unknown {kind} {name!r} (known: {known}){hint}") from None


def declared_parameters(cls: type) -> set[str] | None:
    """The keyword parameters a constructor declares (None: it takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def accepted_options(cls: type) -> tuple[str, ...] | None:
    """The keyword arguments a plugin class's constructor takes, in order (None: any, via
    ``**kw``)."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return None
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return tuple(
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def _check_options(cls: type, kind: str, name: str, options: dict[str, Any]) -> None:
    """Reject options the constructor cannot take, naming them and the accepted ones."""
    accepted = accepted_options(cls)
    if accepted is None:
        return
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        close = difflib.get_close_matches(unknown[0], accepted, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PluginError(
            f"{kind} {name!r} does not accept option(s) {', '.join(map(repr, unknown))} "
            f"(accepted: {', '.join(accepted) or 'none'}){hint}"
        )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_plugins(*, entry_points: bool = True, extra: Sequence[object] = ()) -> PluginHost:
    """Load the built-ins, the ``sessiond`` entry points (unless ``entry_points=False``) and
    ``extra`` plugin objects; validate them and collect what they register.

    Raises ``StartupError`` (one line) on a broken import, a misspelled hook, a duplicate
    entry-point name or a duplicate registered name.
    """
    pm = _SessiondPluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    origins: dict[str, _Origin] = {}
    sessiond_version = _version_of(PROJECT_NAME)

    for module_name in BUILTIN_PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            raise StartupError(
                f"cannot import built-in plugin {module_name}: {type(error).__name__}: "
                f"{_one_line(error)}"
            ) from error
        origin = _Origin(module_name, module_name, PROJECT_NAME, sessiond_version, True)
        _register(pm, module, module_name, origin, origins)

    if entry_points:
        _load_entry_points(pm, origins)

    for plugin in extra:
        module_name = getattr(plugin, "__name__", None) or type(plugin).__module__
        base = getattr(plugin, "__name__", None) or f"{module_name}.{type(plugin).__qualname__}"
        name, copy = base, 1
        while pm.has_plugin(name):
            copy += 1
            name = f"{base}#{copy}"
        _register(pm, plugin, name, _Origin(name, module_name, None, None, False), origins)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise StartupError(_pending_message(pm, origins, error)) from None

    registries = _collect(pm, origins)
    host = PluginHost(pm, origins, *registries)
    _register_calendars(host)
    return host


def _register(
    pm: pluggy.PluginManager,
    plugin: object,
    name: str,
    origin: _Origin,
    origins: dict[str, _Origin],
) -> None:
    if pm.has_plugin(name):
        previous = origins[name]
        raise StartupError(
            f"duplicate plugin {name!r} (from packages {previous.package}, {origin.package})"
        )
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise StartupError(
            f"plugin {name!r} (package {origin.package}) is invalid: {_one_line(error)}"
        ) from None
    except ValueError as error:  # the same object registered twice under two names
        raise StartupError(f"plugin {name!r} (package {origin.package}): {error}") from None
    origins[name] = origin


def _load_entry_points(pm: pluggy.PluginManager, origins: dict[str, _Origin]) -> None:
    """Check entry-point names for duplicates, then let pluggy load them."""
    seen: dict[str, list[tuple[str, metadata.EntryPoint]]] = {}
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP:
                continue
            dist_name = dist.metadata["Name"] or "?"
            providers = seen.setdefault(ep.name, [])
            # the same distribution found twice on sys.path is not a conflict
            if all(_normalise(d) != _normalise(dist_name) for d, _ in providers):
                providers.append((dist_name, ep))
    for ep_name, providers in seen.items():
        if len(providers) > 1:
            packages = ", ".join(sorted(d for d, _ in providers))
            raise StartupError(f"duplicate plugin {ep_name!r} (from packages {packages})")
        dist_name, ep = providers[0]
        if pm.has_plugin(ep_name):
            raise StartupError(
                f"plugin {ep_name!r} of package {dist_name} has the name of a built-in "
                "plugin; rename its entry point"
            )
        try:  # import here to name the package on failure; pluggy's load reuses the module
            ep.load()
        except Exception as error:
            raise StartupError(
                f"plugin {ep_name!r} (package {dist_name}) cannot be imported from "
                f"{ep.value!r}: {type(error).__name__}: {_one_line(error)}"
            ) from error

    before = set(pm.get_plugins())
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except pluggy.PluginValidationError as error:
        package = _dist_for_plugin_name(error)
        raise StartupError(
            f"plugin {_plugin_label(error.plugin, pm)} (package {package}) is invalid: "
            f"{_one_line(error)}"
        ) from None
    except Exception as error:
        raise StartupError(
            f"cannot load a '{ENTRY_POINT_GROUP}' entry-point plugin: {type(error).__name__}: "
            f"{_one_line(error)}"
        ) from error
    for plugin, facade in pm.list_plugin_distinfo():
        if plugin in before:
            continue
        name = pm.get_name(plugin) or "?"
        module = getattr(plugin, "__name__", None) or type(plugin).__module__
        dist_name = facade.metadata["Name"] if facade is not None else None
        version = facade.version if facade is not None else None
        origins[name] = _Origin(name, module, dist_name, version, False)


def _collect(pm: pluggy.PluginManager, origins: dict[str, _Origin]) -> tuple[Any, ...]:
    """Call each registration hook plugin by plugin, attributing and validating the results."""
    registries: dict[str, dict[str, Any]] = {hook: {} for hook in (*_KINDS, "register_calendars")}
    owners: dict[tuple[str, str], str] = {}
    plugin_order = [plugin for _, plugin in pm.list_name_plugin()]
    for hook_name, registry in registries.items():
        caller = getattr(pm.hook, hook_name)
        impls = sorted(caller.get_hookimpls(), key=lambda impl: plugin_order.index(impl.plugin))
        for impl in impls:
            origin = origins[impl.plugin_name]
            try:
                result = impl.function()
            except Exception as error:
                raise StartupError(
                    f"plugin {origin.name!r} (package {origin.package}): {hook_name}() raised "
                    f"{type(error).__name__}: {_one_line(error)}"
                ) from error
            if result is None:
                continue
            if not isinstance(result, list | tuple):
                raise StartupError(
                    f"plugin {origin.name!r} (package {origin.package}): {hook_name}() must "
                    f"return a list, returned {type(result).__name__}"
                )
            for item in result:
                if hook_name == "register_calendars":
                    name, value = _calendar_entry(origin, item)
                    kind = "calendar"
                else:
                    kind, methods = _KINDS[hook_name]
                    name, value = _plugin_class(origin, hook_name, kind, methods, item), item
                key = (hook_name, name)
                if key in owners:
                    both = sorted(
                        (origins[owners[key]], origin), key=lambda o: (not o.builtin, o.package)
                    )
                    raise StartupError(
                        f"duplicate {kind} {name!r} (from packages {both[0].package}, "
                        f"{both[1].package})"
                    )
                owners[key] = impl.plugin_name
                registry[name] = value
                origin.registered.setdefault(hook_name, []).append(name)
    return (
        registries["register_data_sources"],
        registries["register_trade_classifiers"],
        registries["register_indicators"],
        registries["register_calendars"],
        registries["register_strategies"],
        registries["register_brokers"],
        registries["register_fee_models"],
    )


def _plugin_class(origin: _Origin, hook_name: str, kind: str, methods: str, item: Any) -> str:
    where = f"plugin {origin.name!r} (package {origin.package}): {hook_name}()"
    if not isinstance(item, type):
        raise StartupError(f"{where} must return classes, got {item!r}")
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise StartupError(f"{where}: {kind} class {item.__qualname__} has no 'name' string")
    if not any(callable(getattr(item, method, None)) for method in methods.split("|")):
        needed = " or ".join(methods.split("|"))
        raise StartupError(f"{where}: {kind} {name!r} lacks the method {needed}")
    if hook_name == "register_indicators":
        try:
            indicator_kind(item)
        except PluginError as error:
            raise StartupError(f"{where}: {error}") from None
    return name


def _calendar_entry(origin: _Origin, item: Any) -> tuple[str, tuple[type, tuple[str, ...]]]:
    where = f"plugin {origin.name!r} (package {origin.package}): register_calendars()"
    if not (isinstance(item, tuple | list) and len(item) in (2, 3)):
        raise StartupError(
            f"{where} must return (name, calendar class, aliases) tuples, got {item!r}"
        )
    name, cls, *rest = item
    aliases = tuple(rest[0]) if rest else ()
    if not isinstance(name, str) or not name:
        raise StartupError(f"{where}: calendar name must be a non-empty string, was {name!r}")
    return name, (cls, aliases)


def _register_calendars(host: PluginHost) -> None:
    if not host.calendars:
        return
    from core.calendars import register_calendar
    from core.errors import CalendarError

    for name, (cls, aliases) in host.calendars.items():
        try:
            register_calendar(name, cls, aliases)
        except CalendarError as error:
            raise StartupError(
                f"calendar {name!r} of package {host.distribution_of('calendars', name)}: {error}"
            ) from None


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


def _pending_message(
    pm: pluggy.PluginManager, origins: dict[str, _Origin], error: pluggy.PluginValidationError
) -> str:
    known = list(pm.hook.__dict__)
    for name, caller in pm.hook.__dict__.items():
        if caller.spec is not None:
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            origin = origins.get(impl.plugin_name)
            package = origin.package if origin else "?"
            specs = [n for n in known if getattr(pm.hook, n).spec is not None]
            close = difflib.get_close_matches(name, specs, n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f" (known hooks: {', '.join(sorted(specs))})"
            )
            return (
                f"plugin {impl.plugin_name!r} (package {package}) implements unknown hook "
                f"{name!r}{hint}"
            )
    return _one_line(error)  # pragma: no cover - check_pending only fails for unknown hooks


def _plugin_label(plugin: object, pm: pluggy.PluginManager) -> str:
    return repr(pm.get_name(plugin) or getattr(plugin, "__name__", repr(plugin)))


def _dist_for_plugin_name(error: pluggy.PluginValidationError) -> str:
    module = getattr(error.plugin, "__name__", None)
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and module and ep.value.split(":")[0] == module:
                return dist.metadata["Name"]
    return "?"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _normalise(dist_name: str) -> str:
    return dist_name.lower().replace("_", "-").replace(".", "-")


def _version_of(dist_name: str) -> str | None:
    try:
        return metadata.version(dist_name)
    except metadata.PackageNotFoundError:
        return None


__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginHost",
    "PluginInfo",
    "accepted_options",
    "load_plugins",
]
