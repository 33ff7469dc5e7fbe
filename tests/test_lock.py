"""requirements.lock (what `make install` installs) pins every dependency pyproject.toml declares,
inside its declared range, so a fresh clone installs what the suite passed with."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent


def locked_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (spec,) = requirement.specifier
        assert spec.operator == "==", line
        pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def declared_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in ("dev", "postgres"):
        declared += project["optional-dependencies"][extra]
    return [Requirement(text) for text in declared]


def test_every_declared_dependency_is_pinned_inside_its_range() -> None:
    pins = locked_versions()
    environment = default_environment()
    for requirement in declared_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared in pyproject.toml but not locked: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} in requirements.lock is outside {requirement.specifier}: "
            "run make lock"
        )


def test_the_lock_pins_transitive_dependencies_too() -> None:
    pins = locked_versions()
    # a few packages nobody declares directly but every install needs
    for name in ("starlette", "grpcio", "click", "pydantic-core"):
        assert name in pins, name
    assert len(pins) > len(declared_requirements())
