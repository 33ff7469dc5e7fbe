"""The ``sessiond`` command (Typer + Rich).

Every command turns a ``core.errors.SessiondError`` into one line on stderr and exit code 1,
and every usage error (unknown command or option, missing argument, bad value type) into one
line and exit code 2 (``daemon.commands.group``); anything else is a bug and keeps its
traceback. Commands are thin: they parse arguments and call into ``core``, ``plugins`` and
``daemon``. Command groups added since live in ``daemon/commands/`` (and the service commands
in ``daemon/cli_service.py``) and are registered at the end of this module.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from core.errors import SessiondError
from daemon import cli_service as _cli_service
from daemon.commands import demo as _demo
from daemon.commands import results as _results
from daemon.commands import scaffold as _scaffold
from daemon.commands.group import SessiondGroup
from daemon.commands.results import calendar_of, zone_for
from daemon.display import TZ_HELP
from daemon.results import RunObserver

app = typer.Typer(
    name="sessiond",
    cls=SessiondGroup,
    help="Run trading sessions over market data: backtests and live sessions, one exchange "
    "trading day at a time.",
    no_args_is_help=True,
    add_completion=True,
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


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"sessiond {version('sessiond')}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the installed sessiond version and exit.",
    ),
) -> None:
    """Run trading sessions over market data: backtests and live sessions, one exchange
    trading day at a time."""


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
        names = host.config_names()
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
        f"  source    {config.api_config.data_api}",
        f"  symbols   {', '.join(data.symbols)} ({len(data.symbols)})",
        f"  streams   {', '.join(data.streams)}"
        + (f" (streamed {config.streamed_interval})" if config.streamed_interval else ""),
    ]
    if config.strategy is not None:
        params = ", ".join(f"{k}={v!r}" for k, v in config.strategy.params.items())
        lines.append(f"  strategy  {config.strategy.type}" + (f" ({params})" if params else ""))
        lines.append(
            f"  broker    {config.broker_name}, fees {config.fees.type}, starting cash "
            f"{config.starting_cash:,.0f} {config.currency}"
        )
    elif config.api_config.trade_api:
        lines.append(f"  broker    {config.api_config.trade_api} (no strategy: no orders)")
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


plugins_app = typer.Typer(
    help="The loaded plugins (without a command), or a new plugin package (plugins new).",
    invoke_without_command=True,
)
app.add_typer(plugins_app, name="plugins")


@plugins_app.callback()
def plugins_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the loaded plugins, the package that provides each and what it registers."""
    import json

    if ctx.invoked_subcommand is not None:
        return

    from plugins.manager import load_plugins

    infos = load_plugins().describe()
    if as_json:
        typer.echo(json.dumps([info.as_dict() for info in infos], indent=2))
        return
    from rich.table import Table

    table = Table(title="sessiond plugins", title_justify="left")
    table.add_column("registers", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("plugin", overflow="fold")
    table.add_column("package", no_wrap=True)
    for info in infos:
        package = f"{info.distribution or '(in code)'} {info.version or ''}".strip()
        lifecycle = tuple(h for h in info.hooks if not h.startswith("register_"))
        rows = [
            *(("data source", name) for name in info.data_sources),
            *(("classifier", name) for name in info.classifiers),
            *(("indicator", name) for name in info.indicators),
            *(("calendar", name) for name in info.calendars),
            *(("strategy", name) for name in info.strategies),
            *(("broker", name) for name in info.brokers),
            *(("fee model", name) for name in info.fee_models),
            *(("hook", name) for name in lifecycle),
        ] or [("-", "-")]
        for kind, name in rows:
            table.add_row(kind, name, info.name, package)
    console.print(table)


# --- store ----------------------------------------------------------------------------------

_BAR_FORMATS = ("table", "csv", "json", "parquet")
_DB_OPTION_HELP = "Store URL (default: SESSIOND_DB_URL, else sqlite:///var/sessiond.db)."


@db_app.command("upgrade")
def db_upgrade(db: str | None = typer.Option(None, "--db", help=_DB_OPTION_HELP)) -> None:
    """Create or migrate the store's tables to the newest schema revision (idempotent)."""
    from core.store import Store

    try:
        with Store.from_url(db) as store:
            before = store.revision()
            head = store.upgrade()
    except SessiondError as error:
        fail(str(error))
    state = "already at" if before == head else f"migrated from {before or 'empty'} to"
    console.print(f"store {store.url}: {state} revision {head}", highlight=False)


def _parse_bound(value: str, option: str, *, end: bool) -> Any:
    """A UTC instant from ``YYYY-MM-DD`` (a whole UTC day; --end inclusive) or ISO 8601
    (naive means UTC; --end exclusive)."""
    from datetime import UTC, date, datetime, timedelta

    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            instant = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return instant + timedelta(days=1) if end else instant
        parsed = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command("bars")
def bars_command(
    symbol: str = typer.Argument(..., help="Symbol, or several separated by commas."),
    interval: str = typer.Option("1m", "--interval", help="Bar interval: 1s 1m 5m ... 1d."),
    start: str = typer.Option(..., "--start", help="First UTC day YYYY-MM-DD or ISO time."),
    end: str = typer.Option(
        ..., "--end", help="Last UTC day YYYY-MM-DD (inclusive) or ISO time (exclusive)."
    ),
    source: str | None = typer.Option(None, "--source", help="Only bars of this data source."),
    output_format: str = typer.Option(
        "table", "--format", help="table, csv, json or parquet (parquet needs --output)."
    ),
    output: str | None = typer.Option(None, "--output", help="Write to this file, not stdout."),
    db: str | None = typer.Option(None, "--db", help=_DB_OPTION_HELP),
    tz: str = typer.Option("exchange", "--tz", help=TZ_HELP),
    exchange: str | None = typer.Option(
        None,
        "--exchange",
        help="Exchange of the symbols for --tz exchange (default: from the newest run listing them).",
    ),
) -> None:
    """Print or export stored bars (timestamps are bar opens; the table shows them in --tz,
    csv / json / parquet in UTC, ISO 8601)."""
    from pathlib import Path

    from core.store import Store
    from core.timeframes import parse_interval

    if output_format not in _BAR_FORMATS:
        fail(
            f"--format {output_format!r} is not supported (expected one of {', '.join(_BAR_FORMATS)})"
        )
    if output_format == "parquet" and output is None:
        fail("--format parquet writes a binary file: pass --output FILE.parquet")
    symbols = [s.strip() for s in symbol.split(",") if s.strip()]
    if not symbols:
        fail(f"SYMBOL {symbol!r} names no symbol")
    start_ts = _parse_bound(start, "--start", end=False)
    end_ts = _parse_bound(end, "--end", end=True)
    if end_ts <= start_ts:
        fail(f"--end {end} is not after --start {start}")
    zone_for(tz, None)
    try:
        parse_interval(interval)
        with Store.from_url(db) as store:
            frame = store.read_bars_frame(symbols, interval, start_ts, end_ts, source)
            zone = zone_for(tz, calendar_of(store, symbols, exchange))
    except SessiondError as error:
        fail(str(error))
    if output_format == "parquet":
        frame.to_parquet(Path(output), index=False)  # type: ignore[arg-type]
        err_console.print(f"wrote {len(frame)} bars to {output}", highlight=False)
        return
    text = _render_bars(frame, output_format)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
        err_console.print(f"wrote {len(frame)} bars to {output}", highlight=False)
    elif output_format == "table":
        if frame.empty:
            err_console.print(
                f"no {interval} bars for {', '.join(symbols)} in [{start_ts.isoformat()}, "
                f"{end_ts.isoformat()})",
                highlight=False,
            )
            return
        table = _bars_table(frame, interval, zone)
        wide = console.options.update_width(1000)
        width = max(console.width, console.measure(table, options=wide).maximum)  # no cropping
        Console(width=width, file=sys.stdout).print(table)
    else:
        sys.stdout.write(text)


def _iso_utc(frame: Any) -> list[str]:
    return [
        ts.strftime("%Y-%m-%dT%H:%M:%SZ")
        if ts.microsecond == 0
        else ts.isoformat().replace("+00:00", "Z")
        for ts in frame["ts"]
    ]


def _render_bars(frame: Any, output_format: str) -> str:
    """The frame as csv / json text (``ts`` as ISO 8601 UTC with ``Z``), or a plain table."""
    import io
    import json

    out = frame.copy()
    out["ts"] = _iso_utc(frame)
    if output_format == "csv":
        buffer = io.StringIO()
        out.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
    if output_format == "json":
        records = out.astype(object).where(out.notna(), None).to_dict(orient="records")
        return json.dumps(records, indent=1) + "\n"
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(_bars_table(frame, ""))
    return buffer.getvalue()


def _bars_table(frame: Any, interval: str, zone: Any = None) -> Any:
    """A Rich table of bars; times in ``zone`` (default UTC, ISO with ``Z``)."""
    import pandas as pd
    from rich import box
    from rich.table import Table

    from daemon.display import show_time, zone_label

    def number(value: Any) -> str:
        return "" if pd.isna(value) else f"{value:g}"

    table = Table(
        title=f"{interval} bars" if interval else None,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
    )
    time_column = "ts (UTC)" if zone is None else f"ts ({zone_label(zone)})"
    times = (
        _iso_utc(frame)
        if zone is None
        else [show_time(ts.to_pydatetime(), zone) for ts in frame["ts"]]
    )
    for name in (
        time_column,
        "symbol",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trades",
        "vwap",
        "source",
    ):
        text_column = name in (time_column, "symbol", "source")
        table.add_column(
            name, justify="left" if text_column else "right", no_wrap=True, min_width=len(name)
        )
    for ts, row in zip(times, frame.itertuples(index=False), strict=True):
        table.add_row(
            ts,
            row.symbol,
            *(number(v) for v in (row.open, row.high, row.low, row.close, row.volume)),
            "" if pd.isna(row.trade_count) else str(row.trade_count),
            number(row.vwap),
            row.source,
        )
    return table


# --- sessions -------------------------------------------------------------------------------


def _parse_date_option(value: str | None, option: str) -> Any:
    """``--start``/``--end`` text -> date (None passes through); fail() with the bad value."""
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (expected YYYY-MM-DD, e.g. 2024-07-01)")


def _load_run_config(
    config_path: str,
    start: Any = None,
    end: Any = None,
    speed: float | None = None,
) -> tuple[Any, Any]:
    """(config with overrides, plugin host) — ConfigError lines are printed, then exit 1."""
    from core.config import load_session_config
    from core.errors import ConfigError
    from plugins.manager import load_plugins

    host = load_plugins()
    names = host.config_names()
    try:
        config = load_session_config(config_path, **names)  # type: ignore[arg-type]
        if start is not None or end is not None or speed is not None:
            config = config.with_overrides(
                start_date=start,
                end_date=end,
                speed_multiplier=speed,
                source=config_path,
                data_sources=names["data_sources"],
            )
    except ConfigError as error:
        for line in error.problems:
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    return config, host


class _DayProgress(RunObserver):
    """Rich progress bar per trading day: the coordinator's ``RunObserver``."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.task: Any = None

    def day_started(self, trading_date: Any, expected_events: int | None) -> None:
        self.task = self.progress.add_task(f"{trading_date.isoformat()}", total=expected_events)

    def progressed(self, trading_date: Any, events: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=events)

    def day_ended(self, result: Any) -> None:
        if self.task is not None:
            note = " (stopped)" if result.stopped else ""
            self.progress.update(
                self.task,
                completed=result.events,
                total=max(result.events, 1),
                description=f"{result.trading_date.isoformat()}{note}",
            )
            self.task = None


def _summary_table(summary: Any) -> Any:
    from rich.table import Table

    table = Table(title=f"{summary.session_name}: {summary.status}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("run id", str(summary.run_id))
    table.add_row("trading days", str(len(summary.days)))
    table.add_row("events", f"{summary.events:,}")
    table.add_row("events/s", f"{summary.events_per_second:,.0f}")
    for interval, count in summary.generated.items():
        table.add_row(f"bars generated {interval}", f"{count:,}")
    for interval, pct in summary.quality.items():
        table.add_row(f"quality {interval}", f"{pct:.2f} %")
    for interval, pct in summary.historical_quality.items():
        table.add_row(f"history quality {interval}", f"{pct:.2f} %")
    table.add_row("indicator values computed", f"{summary.indicator_values:,}")
    table.add_row("indicator values read", f"{summary.indicators_read:,}")
    for day in summary.days:
        if day.order_flow is not None:
            _order_flow_rows(table, day.trading_date.isoformat(), day.order_flow)
    if summary.trading is not None:
        from daemon.trading.statistics import TradingResults

        for measure, value in TradingResults.from_dict(summary.trading).rows():
            table.add_row(measure, value)
    return table


def _order_flow_rows(table: Any, label: str, flow: dict[str, Any]) -> None:
    """Rows of a replayed day's market state (``DayResult.order_flow``): volumes by phase
    over all symbols, the watchlist group's foreign net, the latest basis."""
    table.add_row(
        f"{label} recorded events", f"{flow['ticks']:,} ({flow['after_close']:,} after the close)"
    )
    symbols = flow["volume_stats"].values()
    for phase in ("ato", "continuous", "atc"):
        buy, sell, neutral = (
            sum(s[phase][key] for s in symbols)
            for key in ("mua_chu_dong_volume", "ban_chu_dong_volume", "neutral_volume")
        )
        table.add_row(
            f"{label} {phase} buy / sell / neutral", f"{buy:,.0f} / {sell:,.0f} / {neutral:,.0f}"
        )
    for name, group in flow["foreign"]["groups"].items():
        table.add_row(f"{label} foreign net {name}", f"{group['net_volume']:,.0f}")
    latest = flow["basis"]["latest"]
    if latest is not None:
        table.add_row(
            f"{label} basis {flow['basis']['contract']}",
            f"{latest['basis']:+,.2f} ({latest['state']})",
        )


@app.command("run")
def run_session(
    config_path: str = typer.Argument(..., metavar="CONFIG", help="Session config JSON file."),
    start: str | None = typer.Option(
        None, "--start", help="First date (YYYY-MM-DD); overrides backtest_config.start_date."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Last date (YYYY-MM-DD); overrides backtest_config.end_date."
    ),
    speed: float | None = typer.Option(
        None,
        "--speed",
        min=0,
        help="Speed multiplier (0 = as fast as possible); overrides the config.",
    ),
    db: str | None = typer.Option(
        None, "--db", help="Store URL (default: SESSIOND_DB_URL or sqlite:///var/sessiond.db)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print the summary as JSON (no progress bar)."
    ),
    api_host: str = typer.Option(
        "127.0.0.1",
        "--api-host",
        help="Live mode: address of the live API (beyond loopback needs SESSIOND_API_TOKEN).",
    ),
    api_port: int = typer.Option(
        8765,
        "--api-port",
        min=0,
        max=65535,
        help="Live mode: port of the live API (0 = any free port).",
    ),
    clock_start: str | None = typer.Option(
        None,
        "--clock-start",
        help="Live mode: start the live clock at this ISO 8601 instant (naive = UTC) and run in real time from there (drills, tests).",
    ),
) -> None:
    """Run a session config: every trading day of the backtest range (or live until Ctrl-C).

    Live mode also starts the market state (order flow by phase, foreign flows, indices,
    basis), records what it receives into the store and serves the live API and dashboard.
    Ctrl-C ends the current day cleanly (its results are stored) and stops.
    """
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.store import Store
    from daemon.coordinator import SessionCoordinator

    start_date = _parse_date_option(start, "--start")
    end_date = _parse_date_option(end, "--end")
    clock_at = (
        None if clock_start is None else _parse_bound(clock_start, "--clock-start", end=False)
    )
    try:
        config, host = _load_run_config(config_path, start_date, end_date, speed)
        store = Store.from_url(db)
        try:
            if config.mode == "live":
                coordinator, summary = _run_live(
                    config, store, host, config_path, api_host, api_port, clock_at, json_output
                )
            elif json_output:
                coordinator = SessionCoordinator.for_config(
                    config, store=store, host=host, config_path=config_path, observer=RunObserver()
                )
                summary = coordinator.run_sync(handle_sigint=True)
            else:
                columns = (
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                )
                with Progress(*columns, console=err_console, transient=False) as progress:
                    coordinator = SessionCoordinator.for_config(
                        config,
                        store=store,
                        host=host,
                        config_path=config_path,
                        observer=_DayProgress(progress),
                    )
                    summary = coordinator.run_sync(handle_sigint=True)
        finally:
            store.dispose()
    except SessiondError as error:
        fail(str(error))
    if json_output:
        sys.stdout.write(json.dumps(summary.to_dict(), default=str) + "\n")
    else:
        console.print(_summary_table(summary))
        console.print(coordinator.metrics.table())
        if summary.run_id is not None:
            console.print(
                _stored_line(store.url, summary.run_id, db), highlight=False, soft_wrap=True
            )
    global _finished_backtest
    _finished_backtest = config.mode != "live"


def _stored_line(url: str, run: int, db: str | None) -> str:
    """``stored in sqlite:///var/sessiond.db as run 3; next: ...`` after a run."""
    from daemon.display import next_steps

    option = "" if db is None else f" --db {db}"
    return next_steps(
        f"{url} as run {run}", f"sessiond runs show {run}{option}", f"sessiond report {run}{option}"
    )


def _run_live(
    config: Any,
    store: Any,
    host: Any,
    config_path: str,
    api_host: str,
    api_port: int,
    clock_at: Any,
    quiet: bool,
) -> tuple[Any, Any]:
    """A live session with its market state, recorder and API; Ctrl-C stops it cleanly."""
    import asyncio

    from daemon.api import ApiSettings
    from daemon.live_session import LiveSession

    api = ApiSettings().options(api_host, api_port)
    session = LiveSession(
        config, store=store, host=host, config_path=config_path, api=api, clock_start=clock_at
    )

    def announce(url: str) -> None:
        err_console.print(f"live API and dashboard on {url}", highlight=False, soft_wrap=True)

    summary = asyncio.run(session.run_announced(announce))
    return session.coordinator, summary


@app.command("load")
def load_history_command(
    config_path: str = typer.Argument(..., metavar="CONFIG", help="Session config JSON file."),
    start: str = typer.Option(..., "--start", help="First trading date to cover (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--end", help="Last trading date to cover (YYYY-MM-DD)."),
    db: str | None = typer.Option(
        None, "--db", help="Store URL (default: SESSIOND_DB_URL or sqlite:///var/sessiond.db)."
    ),
) -> None:
    """Fetch and store the history a config needs from --start to --end (both included).

    Through the config's data source: streamed bars for every trading day of the range, plus
    each historical entry's trailing days and each indicator's period before it. Only what the
    store lacks is fetched.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from core.store import Store
    from plugins.history import history_plan, load_history, source_for_config

    start_date = _parse_date_option(start, "--start")
    end_date = _parse_date_option(end, "--end")
    if end_date < start_date:
        fail(f"--end {end} is before --start {start}")
    try:
        config, host = _load_run_config(config_path)
        source_name = config.api_config.data_api
        source = source_for_config(host, config)
        store = Store.from_url(db)
        totals = [0, 0, 0]
        try:
            plan = history_plan(config, start_date, end_date)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=err_console) as progress:
                for item in plan:
                    label = f"{','.join(item.intervals)} {item.start}..{item.end}"
                    task = progress.add_task(label, total=None)

                    def advance(done: int, total: int, task: Any = task) -> None:
                        progress.update(task, completed=done, total=total)

                    report = load_history(
                        store,
                        source,
                        source_name=source_name,
                        calendar=config.calendar_name,
                        symbols=item.symbols,
                        intervals=item.intervals,
                        start=item.start,
                        end=item.end,
                        progress=advance,
                        extended_hours=item.extended_hours,
                    )
                    totals[0] += report.rows_written
                    totals[1] += report.days_fetched
                    totals[2] += report.days_skipped
        finally:
            store.dispose()
    except SessiondError as error:
        fail(str(error))
    console.print(
        f"loaded {totals[0]:,} bars ({totals[1]} symbol-days fetched, {totals[2]} already stored)",
        highlight=False,
    )
    from daemon.display import next_steps

    console.print(
        next_steps(
            store.url, f"sessiond run {config_path}", "sessiond bars SYMBOL --start D --end D"
        ),
        highlight=False,
        soft_wrap=True,
    )


# --- analytics ------------------------------------------------------------------------------


@app.command("classify-eval")
def classify_eval(
    recorded_day: str = typer.Argument(
        ..., metavar="RECORDED_DAY", help="Exchange-local day a live session recorded (YYYY-MM-DD)."
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_OPTION_HELP),
    symbols: list[str] | None = typer.Option(
        None,
        "--symbols",
        help="Only these symbols (repeat the option or separate by commas; default: every recorded symbol).",
    ),  # noqa: B008
    source: str = typer.Option(
        "ssi", "--source", help="Data source whose recorded events are read."
    ),
    exchange: str = typer.Option(
        "HOSE", "--exchange", help="Exchange group or calendar of the day (HOSE, XSTC, HNX ...)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Score each trade classifier against the vendor's aggressor flag on a recorded day.

    Trades and quotes are replayed in arrival order; every registered classifier except
    vendor_side classifies each trade alone (flag hidden); vendor-flagged trades outside the
    call auctions count. Accuracy per phase and overall.
    """
    import json

    from core import calendars
    from core.store import Store
    from daemon.classifier_eval import evaluate_classifiers
    from plugins.manager import load_plugins

    day = _parse_date_option(recorded_day, "RECORDED_DAY")
    names = [n.strip().upper() for item in symbols or [] for n in item.split(",") if n.strip()]
    try:
        calendar = calendars.get_calendar(calendars.EXCHANGE_GROUPS.get(exchange, exchange)).name
        host = load_plugins()
        with Store.from_url(db) as store:
            result = evaluate_classifiers(
                store, host, calendar, day, symbols=names or None, source=source
            )
    except SessiondError as error:
        fail(str(error))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    if result.scored_trades == 0:
        fail(
            f"no vendor-flagged trade of source {source!r} recorded on {day.isoformat()} "
            f"({result.trades} trades read): pick a day a live session recorded (--db, --source)"
        )
    _print_classifier_tables(result)


def _print_classifier_tables(result: Any) -> None:
    from rich.table import Table

    def accuracy(score: Any) -> str:
        return "–" if score.accuracy is None else f"{100 * score.accuracy:.1f} %"

    console.print(
        f"{result.trading_date.isoformat()} {result.exchange} source {result.source}: "
        f"{result.trades} trades ({result.repeats_dropped} repeats dropped), {result.quotes} "
        f"quotes; truth = vendor flag on {result.scored_trades} trades",
        highlight=False,
        soft_wrap=True,
    )
    for scope in ("overall", *result.phases):
        table = Table(title=scope, title_justify="left")
        for column in ("classifier", "accuracy", "agree", "trades", "undecided"):
            table.add_column(column, justify="left" if column == "classifier" else "right")
        for score in result.scores:
            s = score.overall if scope == "overall" else score.by_phase.get(scope)
            if s is None:
                continue
            table.add_row(score.name, accuracy(s), str(s.agree), str(s.trades), str(s.undecided))
        console.print(table)


# --- the daemon as a service: `daemon`, `status` (daemon/cli_service.py) ----------------------

_cli_service.register(app)


# --- command groups in daemon/commands/ --------------------------------------------------------

_results.register(app)
_demo.register(app)
_scaffold.register(plugins_app)


def main() -> None:
    """Console-script entry point (errors are mapped to one line by ``SessiondGroup``)."""
    try:
        app(prog_name="sessiond")
    except SystemExit as done:
        if _finished_backtest and done.code in (0, None):
            _exit_without_teardown()
        raise


_finished_backtest = False
"""Set by ``run`` once a backtest is over, stored and printed."""


def _exit_without_teardown() -> None:
    """Exit 0 now: after a backtest the interpreter's teardown only frees what the run built
    (0.2-0.4 s of a run's wall time); the store is disposed and the output printed, so flush
    the streams and the logs and skip it."""
    import logging
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
