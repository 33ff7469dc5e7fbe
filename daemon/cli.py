"""The ``sessiond`` command (Typer + Rich).

Every command turns a ``core.errors.SessiondError`` into one line on stderr and exit code 1;
anything else is a bug and keeps its traceback. Commands are thin: they parse arguments and
call into ``core``, ``plugins`` and ``daemon``.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from core.errors import SessiondError

app = typer.Typer(
    name="sessiond",
    help="Run trading sessions over market data: backtests and live sessions, one exchange "
    "trading day at a time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Store maintenance (schema migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """Print one error line and exit 1 (the CLI's contract for user errors)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


# Commands are defined below, grouped by what they touch. Keep each command thin.

# --- config ---------------------------------------------------------------------------------

# --- plugins --------------------------------------------------------------------------------

# --- store ----------------------------------------------------------------------------------

# --- sessions -------------------------------------------------------------------------------

# --- analytics ------------------------------------------------------------------------------


def main() -> None:
    """Console-script entry point: run the app, mapping SessiondError to one line + exit 1."""
    try:
        app(standalone_mode=False)
    except SessiondError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as error:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise


if __name__ == "__main__":
    main()
