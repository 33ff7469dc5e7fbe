"""The CLI error walk: every command, given an unknown option, a missing argument, a value of
the wrong type or a typo'd name, prints one line and exits 2; ``--version``; completion."""

from __future__ import annotations

import enum
import os
import subprocess
import sys
import typing
from importlib.metadata import version
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from daemon.cli import app

runner = CliRunner()


def leaf_commands(
    command: Any = None, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) of every runnable command, groups' own callbacks included when they run
    without a subcommand."""
    command = command if command is not None else get_command(app)
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [(path, command)]
    found = [(path, command)] if path and getattr(command, "invoke_without_command", False) else []
    for name, sub in sorted(subcommands.items()):
        found += leaf_commands(sub, (*path, name))
    return found


def groups(command: Any = None, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    command = command if command is not None else get_command(app)
    if not getattr(command, "commands", None):
        return []
    out = [path]
    for name, sub in command.commands.items():
        out += groups(sub, (*path, name))
    return out


LEAVES = leaf_commands()
IDS = [" ".join(path) for path, _ in LEAVES]


def assert_one_usage_line(result: Any, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    text = result.stderr.strip()
    assert "\n" not in text and "Traceback" not in text, text
    assert text.startswith("error: sessiond"), text
    for word in words:
        assert word in text, (word, text)


def is_typed(param: Any) -> bool:
    """An option whose value must parse as a number or one of a set of choices."""
    if getattr(param, "is_flag", False):
        return False
    descriptor = getattr(param, "type_descriptor", None)  # typer >= 0.29
    if descriptor is None:
        return param.type.name in ("integer", "float", "integer range", "float range", "choice")
    annotation = descriptor.annotation
    candidates = typing.get_args(annotation) or (annotation,)
    return any(
        c in (int, float) or (isinstance(c, type) and issubclass(c, enum.Enum)) for c in candidates
    )


def required_arguments(command: Any) -> list[Any]:
    return [p for p in command.params if p.required]


def test_the_walk_covers_every_command() -> None:
    names = set(IDS)
    for expected in (
        "run",
        "load",
        "bars",
        "db upgrade",
        "runs list",
        "runs show",
        "report",
        "flow",
        "indicators",
        "plugins",
        "plugins new",
        "demo vn-live",
    ):
        assert expected in names, expected
    assert len(LEAVES) >= 15


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=IDS)
def test_an_unknown_option_is_one_line_and_exit_2(path: tuple[str, ...], command: Any) -> None:
    result = runner.invoke(app, [*path, "--no-such-option"])
    assert_one_usage_line(result, "No such option: --no-such-option", f"sessiond {' '.join(path)}")


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=IDS)
def test_a_missing_argument_is_one_line_and_exit_2(path: tuple[str, ...], command: Any) -> None:
    required = required_arguments(command)
    if not required:
        pytest.skip(f"sessiond {' '.join(path)} has no required parameter")
    result = runner.invoke(app, list(path))
    assert_one_usage_line(result, "Missing")


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=IDS)
def test_a_value_of_the_wrong_type_is_one_line_and_exit_2(
    path: tuple[str, ...], command: Any
) -> None:
    typed = [p for p in command.params if p.param_type_name == "option" and is_typed(p)]
    if not typed:
        pytest.skip(f"sessiond {' '.join(path)} has no typed option")
    # required arguments get a placeholder so the bad option is what fails
    placeholders = ["X"] * sum(1 for p in command.params if p.param_type_name == "argument")
    option = typed[0]
    result = runner.invoke(app, [*path, *placeholders, option.opts[0], "not-a-value"])
    assert_one_usage_line(result, option.opts[0], "not-a-value")


@pytest.mark.parametrize("path", groups(), ids=lambda p: " ".join(p) or "sessiond")
def test_a_typod_command_is_one_line_exit_2_with_a_suggestion(path: tuple[str, ...]) -> None:
    command = get_command(app)
    for name in path:
        command = command.commands[name]
    first = sorted(command.commands)[0]
    result = runner.invoke(app, [*path, first + "x"])
    assert_one_usage_line(result, f"No such command '{first}x'", f"'{first}'")


def test_the_installed_console_script_prints_one_line_for_a_typo() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "sessiond")
    done = subprocess.run([script, "runn", "x"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: sessiond: No such command 'runn'. Did you mean 'run', 'runs'?; see 'sessiond --help'"
    )
    assert done.stdout == ""


def test_version_prints_the_installed_distribution_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"sessiond {version('sessiond')}\n"


def test_bash_completion_completes_commands_and_options() -> None:
    env = {"_SESSIOND_COMPLETE": "complete_bash", "COMP_WORDS": "sessiond ru", "COMP_CWORD": "1"}
    result = runner.invoke(app, [], env=env, prog_name="sessiond")
    assert result.stdout.split() == ["run", "runs"]
    env = {
        "_SESSIOND_COMPLETE": "complete_bash",
        "COMP_WORDS": "sessiond run x --sp",
        "COMP_CWORD": "3",
    }
    result = runner.invoke(app, [], env=env, prog_name="sessiond")
    assert result.stdout.split() == ["--speed"]


def test_the_completion_script_for_a_shell_is_printed() -> None:
    # what `--install-completion` / `--show-completion` write, asked without shell detection
    # (detection looks at the parent process, which under pytest-xdist is not a shell)
    result = runner.invoke(app, [], env={"_SESSIOND_COMPLETE": "source_bash"}, prog_name="sessiond")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "_sessiond_completion()" in result.stdout
    assert "_SESSIOND_COMPLETE=complete_bash" in result.stdout
