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


@app.command("check-config")
def check_config(
    file: str = typer.Argument(
        ..., help="Session config JSON file, e.g. session_configs/example_session.json."
    ),
) -> None:
    """Validate a session config; print a summary, or one line per problem and exit 1."""
    from core import calendars
    from core.config import load_session_config
    from core.errors import ConfigError

    names: dict[str, object] = {}
    try:
        from plugins.manager import load_plugins
    except ImportError:  # plugin manager not installed: plugin names are not checked
        note = "plugins not loaded: data_api not checked against registered sources"
    else:
        host = load_plugins()
        names = {
            "data_sources": set(host.data_sources),
            "classifiers": set(host.classifiers),
            "indicator_types": set(host.indicators),
        }
        note = ""
    try:
        config = load_session_config(file, **names)  # type: ignore[arg-type]
    except ConfigError as error:
        for line in error.problems:
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    data = config.session_data_config
    calendar = config.calendar_name
    lines = [
        f"OK {file}",
        f"  session   {config.session_name}",
        f"  exchange  {config.exchange_group} -> {calendar} ({calendars.exchange_timezone(calendar)})",
        f"  source    {config.api_config.data_api}"
        + (f", trades via {config.api_config.trade_api}" if config.api_config.trade_api else ""),
        f"  symbols   {', '.join(data.symbols)} ({len(data.symbols)})",
        f"  streams   {', '.join(data.streams)}"
        + (f" (streamed {config.streamed_interval})" if config.streamed_interval else ""),
    ]
    backtest = config.backtest_config
    if config.mode == "backtest" and backtest is not None:
        sessions = calendars.sessions_in_range(calendar, backtest.start_date, backtest.end_date)
        early = sum(calendars.session_bounds(calendar, d).is_early_close for d in sessions)
        speed = backtest.speed_multiplier
        lines.insert(
            2,
            f"  mode      backtest {backtest.start_date}..{backtest.end_date}, speed "
            + ("0 (data-driven)" if speed == 0 else f"{speed:g}x"),
        )
        lines.append(
            f"  trading days in range: {len(sessions)}"
            + (f" ({early} early close)" if early else "")
            + (f", first {sessions[0]}, last {sessions[-1]}" if sessions else "")
        )
    else:
        lines.insert(2, f"  mode      {config.mode}")
    if note:
        lines.append(f"  note: {note}")
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("schema")
def schema(
    output: str | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
) -> None:
    """Print the JSON schema of session config files (session_configs/session_config.schema.json)."""
    from pathlib import Path

    from core.config import session_config_schema_text

    text = session_config_schema_text()
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", markup=False, highlight=False)


# --- plugins --------------------------------------------------------------------------------

# --- store ----------------------------------------------------------------------------------

# --- sessions -------------------------------------------------------------------------------

# --- analytics ------------------------------------------------------------------------------


def main() -> None:
    """Console-script entry point: run the app, mapping SessiondError to one line + exit 1."""
    try:
        # non-standalone click returns (not raises) the code of a typer.Exit raised in a command
        exit_code = app(standalone_mode=False)
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
    if isinstance(exit_code, int) and exit_code != 0:
        sys.exit(exit_code)


if __name__ == "__main__":
    main()
