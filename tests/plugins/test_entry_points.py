"""Third-party plugins found through the ``sessiond`` entry-point group (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import StartupError
from plugins.manager import load_plugins

REPO_ROOT = Path(__file__).resolve().parents[2]


def _sessiond(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_third_party_plugin_is_discovered_through_its_entry_point(install) -> None:
    assert "flat" not in load_plugins().data_sources  # not installed: not there
    install("example")
    host = load_plugins()
    assert host.data_sources["flat"].__module__ == "sessiond_example_plugin"
    assert host.classifiers["uptick_only"].__name__ == "UptickOnlyClassifier"
    assert host.indicators["bar_range"].__name__ == "BarRangeIndicator"
    info = next(i for i in host.describe() if i.name == "example")
    assert (info.distribution, info.version, info.builtin) == (
        "sessiond-example-plugin",
        "0.3.0",
        False,
    )
    assert info.module == "sessiond_example_plugin"
    assert info.hooks == (
        "register_data_sources",
        "register_indicators",
        "register_trade_classifiers",
        "session_started",
    )
    assert host.distribution_of("data_sources", "flat") == "sessiond-example-plugin"
    names = [i.name for i in host.describe()]
    builtins = [i.name for i in host.describe() if i.builtin]
    assert names.index("example") > max(names.index(b) for b in builtins)  # built-ins first


def test_entry_points_can_be_left_out(install) -> None:
    install("example")
    assert "flat" in load_plugins().data_sources
    assert "flat" not in load_plugins(entry_points=False).data_sources


def test_third_party_source_is_created_and_its_lifecycle_hook_called(install) -> None:
    install("example")
    host = load_plugins()
    source = host.create_source("flat", exchange="XSTC", price=25_000.0)
    day_open = dt.datetime(2024, 3, 5, 2, 0, tzinfo=dt.UTC)
    bars = list(source.request_bars(["VNM"], day_open, day_open + dt.timedelta(days=1), "1m"))
    assert len(bars) == 255 and {b.close for b in bars} == {25_000.0}
    import sessiond_example_plugin

    sessiond_example_plugin.STARTED.clear()
    host.hook.session_started(
        session_name="s", exchange="XSTC", trading_date=dt.date(2024, 3, 5), mode="backtest"
    )
    started = sessiond_example_plugin.STARTED
    assert started == [("s", "XSTC", dt.date(2024, 3, 5), "backtest")]


def test_sessiond_plugins_lists_the_third_party_plugin_and_its_package(pythonpath_env) -> None:
    env = pythonpath_env("example")
    result = _sessiond(env, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["example"] == {
        "name": "example",
        "module": "sessiond_example_plugin",
        "distribution": "sessiond-example-plugin",
        "version": "0.3.0",
        "builtin": False,
        "hooks": [
            "register_data_sources",
            "register_indicators",
            "register_trade_classifiers",
            "session_started",
        ],
        "data_sources": ["flat"],
        "classifiers": ["uptick_only"],
        "indicators": ["bar_range"],
        "calendars": [],
        "strategies": [],
        "brokers": [],
        "fee_models": [],
    }
    assert rows["plugins.sources.synthetic"]["data_sources"] == ["synthetic"]
    assert rows["plugins.sources.synthetic"]["distribution"] == "sessiond"

    table = _sessiond(env, "plugins")
    assert table.returncode == 0, table.stderr
    lines = [line for line in table.stdout.splitlines() if "sessiond-example-plugin 0.3.0" in line]
    for kind, name in (
        ("data source", "flat"),
        ("classifier", "uptick_only"),
        ("indicator", "bar_range"),
        ("hook", "session_started"),
    ):
        assert any(kind in line and name in line for line in lines), (kind, name, lines)


def test_two_packages_declaring_the_same_entry_point_name_fail_naming_both(install) -> None:
    install("vendor_a", "vendor_b")
    with pytest.raises(StartupError) as error:
        load_plugins()
    assert str(error.value) == "duplicate plugin 'quotes' (from packages vendor-a, vendor-b)"


def test_two_packages_registering_the_same_source_name_fail_naming_both(install) -> None:
    install("vendor_a", "vendor_c")
    with pytest.raises(StartupError) as error:
        load_plugins()
    assert str(error.value) == "duplicate data source 'ticks' (from packages vendor-a, vendor-c)"


def test_a_package_shadowing_a_built_in_source_name_fails(install) -> None:
    install("shadow_ssi")
    with pytest.raises(StartupError) as error:
        load_plugins()
    assert str(error.value) == "duplicate data source 'ssi' (from packages sessiond, shadow-ssi)"


def test_a_misspelled_hook_in_an_installed_package_fails_at_start(install) -> None:
    install("typo")
    with pytest.raises(StartupError) as error:
        load_plugins()
    assert str(error.value) == (
        "plugin 'typo' (package vendor-typo) implements unknown hook 'register_data_source'; "
        "did you mean 'register_data_sources'?"
    )


def test_a_package_that_fails_to_import_is_named(install) -> None:
    install("broken")
    with pytest.raises(StartupError) as error:
        load_plugins()
    assert str(error.value) == (
        "plugin 'broken' (package vendor-broken) cannot be imported from 'vendor_broken_plugin': "
        "ModuleNotFoundError: No module named 'vendor_sdk_that_is_not_installed'"
    )


@pytest.mark.parametrize(
    ("packages", "message"),
    [
        (("vendor_a", "vendor_b"), "duplicate plugin 'quotes' (from packages vendor-a, vendor-b)"),
        (
            ("typo",),
            "plugin 'typo' (package vendor-typo) implements unknown hook 'register_data_source'",
        ),
    ],
)
def test_cli_reports_startup_errors_in_one_line_without_traceback(
    pythonpath_env, packages, message
) -> None:
    result = _sessiond(pythonpath_env(*packages), "plugins")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr
