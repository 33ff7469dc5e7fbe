"""The plugin manager: built-ins registered like third parties, registries, factories, errors."""

from __future__ import annotations

import types

import pytest

from core.errors import PluginError, StartupError, UnknownPluginError
from plugins import hookimpl
from plugins.manager import BUILTIN_PLUGINS, load_plugins


def _module(name: str, **functions: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for attr, value in functions.items():
        if callable(value):
            value.__module__ = name  # type: ignore[union-attr]
        setattr(module, attr, value)
    return module


class EchoSource:
    name = "echo"
    description = "A source used by the manager tests"

    def __init__(self, exchange: str, depth: int = 1) -> None:
        self.exchange = exchange
        self.depth = depth

    def request_bars(self, symbols, start, end, interval):  # pragma: no cover - not called
        return iter(())


def test_builtin_modules_are_registered_by_name_in_order() -> None:
    host = load_plugins(entry_points=False)
    names = [name for name, _ in host.pm.list_name_plugin()]
    assert names[: len(BUILTIN_PLUGINS)] == list(BUILTIN_PLUGINS)
    infos = {info.name: info for info in host.describe()}
    assert infos["plugins.sources.synthetic"].data_sources == ("synthetic",)
    assert infos["plugins.sources.synthetic"].distribution == "sessiond"
    assert infos["plugins.sources.synthetic"].builtin is True
    assert infos["plugins.sources.files"].hooks == ("register_data_sources",)
    assert host.data_sources["synthetic"].__name__ == "SyntheticSource"
    assert host.data_sources["files"].__name__ == "FilesSource"


def test_extra_plugin_object_contributes_to_the_registries() -> None:
    @hookimpl
    def register_data_sources():
        return [EchoSource]

    plugin = _module("echo_plugin", register_data_sources=register_data_sources)
    host = load_plugins(entry_points=False, extra=[plugin])
    assert host.data_sources["echo"] is EchoSource
    assert host.distribution_of("data_sources", "echo") == "echo_plugin"
    source = host.create_source("echo", exchange="XNYS", depth=3)
    assert (source.exchange, source.depth) == ("XNYS", 3)


def test_unknown_source_lists_the_known_names_and_suggests_the_closest() -> None:
    host = load_plugins(entry_points=False)
    with pytest.raises(UnknownPluginError) as error:
        host.create_source("synthetc", exchange="XNYS")
    message = str(error.value)
    assert message.startswith("unknown data source 'synthetc' (known: ")
    assert "files" in message and "synthetic" in message
    assert message.endswith("did you mean 'synthetic'?")


def test_unknown_classifier_and_indicator_raise_unknown_plugin_error() -> None:
    host = load_plugins(entry_points=False)
    with pytest.raises(UnknownPluginError, match=r"unknown trade classifier 'coin_flip'"):
        host.create_classifier("coin_flip")
    with pytest.raises(UnknownPluginError, match=r"unknown indicator 'astrology'"):
        host.create_indicator("astrology", name="x")


def test_option_the_constructor_does_not_take_is_named_with_the_accepted_ones() -> None:
    host = load_plugins(entry_points=False)
    with pytest.raises(PluginError) as error:
        host.create_source("synthetic", exchange="XNYS", sed=1)
    assert str(error.value) == (
        "data source 'synthetic' does not accept option(s) 'sed' (accepted: exchange, seed); "
        "did you mean 'seed'?"
    )


def test_misspelled_hook_fails_at_start_naming_the_plugin_and_the_right_hook() -> None:
    @hookimpl
    def register_data_source():  # missing "s"
        return [EchoSource]

    plugin = _module("typo_plugin", register_data_source=register_data_source)
    with pytest.raises(StartupError) as error:
        load_plugins(entry_points=False, extra=[plugin])
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        "plugin 'typo_plugin' (package typo_plugin) implements unknown hook "
        "'register_data_source'; did you mean 'register_data_sources'?"
    )


def test_unmarked_register_function_with_a_typo_also_fails_at_start() -> None:
    def register_indicator():  # no @hookimpl, name close to register_indicators
        return []

    plugin = _module("unmarked_plugin", register_indicator=register_indicator)
    with pytest.raises(StartupError, match=r"unknown hook 'register_indicator'; did you mean"):
        load_plugins(entry_points=False, extra=[plugin])


def test_imported_register_function_is_not_taken_for_a_hook() -> None:
    from core.calendars import register_calendar

    plugin = types.ModuleType("imports_helper")
    plugin.register_calendar = register_calendar  # defined in core.calendars, not here
    host = load_plugins(entry_points=False, extra=[plugin])
    assert "imports_helper" in [name for name, _ in host.pm.list_name_plugin()]


def test_duplicate_data_source_name_names_both_packages() -> None:
    class FakeSynthetic(EchoSource):
        name = "synthetic"

    @hookimpl
    def register_data_sources():
        return [FakeSynthetic]

    plugin = _module("impostor", register_data_sources=register_data_sources)
    with pytest.raises(StartupError) as error:
        load_plugins(entry_points=False, extra=[plugin])
    assert (
        str(error.value) == "duplicate data source 'synthetic' (from packages sessiond, impostor)"
    )


def test_registration_hook_returning_a_non_class_fails_with_the_plugin_name() -> None:
    @hookimpl
    def register_trade_classifiers():
        return ["tick_rule"]

    plugin = _module("strings_plugin", register_trade_classifiers=register_trade_classifiers)
    with pytest.raises(StartupError, match=r"plugin 'strings_plugin' .* must return classes"):
        load_plugins(entry_points=False, extra=[plugin])


def test_class_without_a_name_is_rejected() -> None:
    class Nameless:
        description = "no name"

        def classify(self, trade):  # pragma: no cover - not called
            return None

    @hookimpl
    def register_trade_classifiers():
        return [Nameless]

    plugin = _module("nameless_plugin", register_trade_classifiers=register_trade_classifiers)
    with pytest.raises(StartupError, match=r"class .*Nameless has no 'name' string"):
        load_plugins(entry_points=False, extra=[plugin])


def test_registration_hook_that_raises_becomes_a_one_line_startup_error() -> None:
    @hookimpl
    def register_indicators():
        raise RuntimeError("vendor library missing\nsecond line")

    plugin = _module("broken_plugin", register_indicators=register_indicators)
    with pytest.raises(StartupError) as error:
        load_plugins(entry_points=False, extra=[plugin])
    assert str(error.value) == (
        "plugin 'broken_plugin' (package broken_plugin): register_indicators() raised "
        "RuntimeError: vendor library missing second line"
    )


def test_hookimpl_with_a_wrong_argument_fails_at_registration() -> None:
    @hookimpl
    def session_started(session_name, exchange, trading_day):  # trading_day is no argument
        return None

    plugin = _module("wrong_args", session_started=session_started)
    with pytest.raises(
        StartupError, match=r"plugin 'wrong_args' \(package wrong_args\) is invalid"
    ):
        load_plugins(entry_points=False, extra=[plugin])
