"""``sessiond plugins new``: each kind's package installs with pip (into a folder of its own,
not the shared venv) and its generated tests pass as generated: the conformance kit, and
discovery through the installed entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli import app

runner = CliRunner()


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["source", "classifier", "indicator", "strategy"])
def test_a_scaffolded_package_installs_and_passes_its_tests_unmodified(
    kind: str, tmp_path: Path
) -> None:
    name = f"acme_{kind}"
    result = runner.invoke(
        app, ["plugins", "new", name, "--kind", kind, "--directory", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    package = tmp_path / f"sessiond-acme-{kind}"
    assert result.stdout.startswith(f"created {package}; next: pip install -e {package}")
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(package),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert install.returncode == 0, install.stderr
    assert list(site.glob(f"sessiond_acme_{kind}-0.1.0.dist-info/entry_points.txt"))
    lint = subprocess.run(
        [
            str(Path(sys.executable).parent / "ruff"),
            "check",
            "--isolated",
            "--select",
            "E,F,W,B",
            "--line-length",
            "100",
            str(package),
        ],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    env = {**os.environ, "PYTHONPATH": str(site)}
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            str(package / "tests"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "3 passed" in tests.stdout


def test_bad_names_and_existing_folders_are_one_line(tmp_path: Path) -> None:
    bad = runner.invoke(
        app, ["plugins", "new", "Acme Source", "--kind", "source", "--directory", str(tmp_path)]
    )
    assert bad.exit_code == 1 and "is not a plugin name" in bad.stderr
    assert list(tmp_path.iterdir()) == []
    runner.invoke(app, ["plugins", "new", "acme", "--kind", "source", "--directory", str(tmp_path)])
    again = runner.invoke(
        app, ["plugins", "new", "acme", "--kind", "source", "--directory", str(tmp_path)]
    )
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_plugins_without_a_command_still_lists_the_plugins() -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    assert "synthetic" in result.stdout
