"""The root command class of ``sessiond``: one line per user error, never a traceback.

Typer 0.29 bundles its own copy of click (``typer._click``); earlier releases use ``click``.
Both raise ``ClickException`` subclasses for usage errors (unknown command or option, missing
argument, a value of the wrong type), which this class catches whichever copy raised them:

    error: sessiond run: No such option: --bogus; see 'sessiond run --help'     exit 2
    error: <SessiondError message>                                               exit 1

Exit codes: 0 success, 1 a ``SessiondError`` (bad config, store, source ...), 2 a usage error,
130 interrupted. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from typer.core import TyperGroup

from core.errors import SessiondError


def _click_exception_types() -> tuple[type[Exception], ...]:
    types: list[type[Exception]] = []
    try:
        from typer._click.exceptions import ClickException  # typer >= 0.29
    except ImportError:
        pass
    else:
        types.append(ClickException)
    try:
        import click
    except ImportError:  # typer >= 0.29 does not need click
        pass
    else:
        types.append(click.ClickException)
    return tuple(types)


def _abort_types() -> tuple[type[BaseException], ...]:
    import typer

    types: list[type[BaseException]] = [typer.Abort]
    try:
        import click
    except ImportError:
        pass
    else:
        types.append(click.Abort)
    return tuple(types)


CLICK_EXCEPTIONS = _click_exception_types()
"""Usage-error base classes of every click copy typer may raise from."""


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(str(text).split())


def _given_value(args: Sequence[str], param: Any) -> str | None:
    """The text given on the command line for option ``param`` (``--opt V`` or ``--opt=V``)."""
    opts = tuple(getattr(param, "opts", ()) or ())
    for index, arg in enumerate(args):
        for opt in opts:
            if arg == opt and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1 :]
    return None


def usage_error_line(error: Any, args: Sequence[str] = ()) -> str:
    """``sessiond run: No such option: --bogus; see 'sessiond run --help'``; a bad value is
    quoted (truncated) when the message does not already show it."""
    message = one_line(error.format_message()).rstrip(".")
    param = getattr(error, "param", None)
    value = _given_value(args, param) if param is not None else None
    if value is not None and value not in message:
        shown = value if len(value) <= 40 else value[:39] + "…"
        message += f", was {shown!r}"
    ctx = getattr(error, "ctx", None)
    if ctx is None:
        return message
    return f"{ctx.command_path}: {message}; see '{ctx.command_path} --help'"


class SessiondGroup(TyperGroup):
    """Typer's root group, run in non-standalone mode so errors are ours to print."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        err = Console(stderr=True)
        try:
            code = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except SessiondError as error:
            err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            code = 1
        except CLICK_EXCEPTIONS as error:
            err.print("[bold red]error:[/] ", end="", highlight=False)
            given = list(sys.argv[1:] if args is None else args)
            err.print(usage_error_line(error, given), markup=False, highlight=False, soft_wrap=True)
            code = getattr(error, "exit_code", 2)
        except _abort_types():
            err.print("aborted", highlight=False)
            code = 130
        except KeyboardInterrupt:
            err.print("interrupted", highlight=False)
            code = 130
        code = code if isinstance(code, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)
