"""Fixtures that install third-party plugin packages for entry-point discovery tests.

A package is "installed" the way ``pip install -e`` does it, minus the shared venv: setuptools
(the package's own build backend) runs ``egg_info`` on the package's ``pyproject.toml``, which
writes the real metadata (``entry_points.txt`` included) into a temporary directory; the test
puts that directory and the package's ``src`` on ``sys.path`` (``monkeypatch.syspath_prepend``,
undone after the test) or on ``PYTHONPATH`` for a subprocess. ``importlib.metadata`` then finds
the distribution and pluggy loads its entry point. Nothing is written into ``.venv``, so tests
running in parallel with other packages never see these plugins.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

THIRDPARTY_DIR = Path(__file__).parent / "thirdparty"

_EGG_INFO_SCRIPT = """
import os, sys
from setuptools import setup
for project, out in zip(sys.argv[1::2], sys.argv[2::2]):
    os.chdir(project)
    setup(script_args=["-q", "egg_info", "--egg-base", out])
"""


@dataclass(frozen=True)
class InstalledPackage:
    """A package whose metadata was built; ``paths`` go on sys.path / PYTHONPATH."""

    name: str
    metadata_dir: Path
    source_dir: Path

    @property
    def paths(self) -> list[str]:
        return [str(self.metadata_dir), str(self.source_dir)]


def _pyproject(dist: str, entry_point: str, module: str) -> str:
    return textwrap.dedent(
        f"""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "1.0.0"

        [project.entry-points.sessiond]
        {entry_point} = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
        """
    )


_SOURCE_TEMPLATE = """
from plugins import hookimpl

class {cls}:
    name = "{source_name}"
    description = "test source"

    def __init__(self, exchange):
        self.exchange = exchange

    def request_bars(self, symbols, start, end, interval):
        return iter(())

@hookimpl
def {hook}():
    return [{cls}]
"""

# name -> (distribution, entry-point name, module, registered source name, hook function name)
_PACKAGES = {
    "example": None,  # the real tests/plugins/thirdparty package
    "vendor_a": ("vendor-a", "quotes", "vendor_a_plugin", "ticks", "register_data_sources"),
    "vendor_b": ("vendor-b", "quotes", "vendor_b_plugin", "bars_b", "register_data_sources"),
    "vendor_c": ("vendor-c", "vendor_c", "vendor_c_plugin", "ticks", "register_data_sources"),
    "shadow_ssi": ("shadow-ssi", "shadow", "shadow_ssi_plugin", "ssi", "register_data_sources"),
    "typo": ("vendor-typo", "typo", "vendor_typo_plugin", "typo_source", "register_data_source"),
    "broken": (
        "vendor-broken",
        "broken",
        "vendor_broken_plugin",
        "broken_source",
        "register_data_sources",
    ),
}


@pytest.fixture(scope="session")
def plugin_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, InstalledPackage]:
    """Every test package with its metadata built (one setuptools run for all)."""
    root = tmp_path_factory.mktemp("plugin_packages")
    packages: dict[str, InstalledPackage] = {}
    args: list[str] = []
    for key, spec in _PACKAGES.items():
        metadata_dir = root / key / "metadata"
        metadata_dir.mkdir(parents=True)
        if spec is None:
            project, source_dir = THIRDPARTY_DIR, THIRDPARTY_DIR / "src"
        else:
            dist, entry_point, module, source_name, hook = spec
            project = source_dir = root / key / "project"
            project.mkdir()
            (project / "pyproject.toml").write_text(_pyproject(dist, entry_point, module))
            broken = "import vendor_sdk_that_is_not_installed\n" if key == "broken" else ""
            (project / f"{module}.py").write_text(
                broken
                + _SOURCE_TEMPLATE.format(
                    cls=f"{key.title().replace('_', '')}Source", source_name=source_name, hook=hook
                )
            )
        packages[key] = InstalledPackage(key, metadata_dir, source_dir)
        args += [str(project), str(metadata_dir)]
    subprocess.run(
        [sys.executable, "-c", _EGG_INFO_SCRIPT, *args],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return packages


@pytest.fixture
def install(plugin_packages: dict[str, InstalledPackage], monkeypatch: pytest.MonkeyPatch):
    """``install("example", ...)``: put packages on sys.path for this test only."""

    def _install(*keys: str) -> list[InstalledPackage]:
        chosen = [plugin_packages[key] for key in keys]
        for package in chosen:
            for path in reversed(package.paths):
                monkeypatch.syspath_prepend(path)
        return chosen

    return _install


@pytest.fixture
def pythonpath_env(plugin_packages: dict[str, InstalledPackage]):
    """``pythonpath_env("example")``: an environment for a subprocess that sees the packages."""

    def _env(*keys: str) -> dict[str, str]:
        paths = [p for key in keys for p in plugin_packages[key].paths]
        env = dict(os.environ)
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join(paths + ([existing] if existing else []))
        env["COLUMNS"] = "200"
        return env

    return _env
