"""Inspecting what runs stored: ``sessiond runs list|show``, ``indicators``, ``flow``, ``report``.

Times on screen are in the exchange's local time unless ``--tz`` says otherwise; ``--json``
prints ISO 8601 with offsets. ``runs show`` prints the sections of :data:`SHOW_SECTIONS` in
order (the run, its days, order flow, trading, metrics): to add one, write
``def <name>_rows(view: RunView) -> Table | None`` and append it; the HTML report has the same
list in ``daemon.report.REPORT_SECTIONS``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from core import calendars
from core.errors import CalendarError, SessionError
from daemon.display import TZ_HELP, display_zone, iso_time, show_time, zone_label
from daemon.metrics import format_duration

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported by the commands that open it
    from core.store import Store
    from daemon.run_results import RunResults

DB_HELP = "Store URL (default: SESSIOND_DB_URL, else sqlite:///var/sessiond.db)."
PHASES = ("ato", "continuous", "atc")

runs_app = typer.Typer(
    help="Stored session runs: list them, show one run's days, metrics and order flow.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def zone_for(tz: str, calendar: str | None) -> tzinfo:
    """``--tz`` -> a zone; a bad value is a usage error (one line, exit 2)."""
    try:
        return display_zone(tz, calendar)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--tz'") from None


def _print(table: Any) -> None:
    """Print a table at its natural width (never cropped or wrapped by a narrow terminal)."""
    for column in getattr(table, "columns", []):
        column.no_wrap = True
    wide = console.options.update_width(1000)
    width = max(console.width, console.measure(table, options=wide).maximum)
    Console(width=width, file=console.file).print(table)


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


# --- runs list ---------------------------------------------------------------------------------


@runs_app.command("list")
def runs_list(
    session: str | None = typer.Option(None, "--session", help="Only runs of this session."),
    limit: int = typer.Option(20, "--limit", min=1, help="Newest runs shown at most."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tz: str = typer.Option("exchange", "--tz", help=TZ_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List stored runs, newest first: id, session, dates, status, events, wall time."""
    zone_for(tz, None)  # a bad --tz fails before the store is opened
    from core.store import Store

    with Store.from_url(db) as store:
        runs = store.read_session_runs(session_name=session, limit=limit)
        url = store.url
    if as_json:
        typer.echo(json.dumps([_run_dict(r) for r in runs], indent=2))
        return
    if not runs:
        err_console.print(
            f"no session run stored in {url}: run 'sessiond run CONFIG'", highlight=False
        )
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"session runs in {url}", title_justify="left")
    for name in (
        "id",
        "session",
        "mode",
        "exchange",
        "days",
        "status",
        "started",
        "took",
        "events",
    ):
        table.add_column(name, justify="right" if name in ("id", "events", "took") else "left")
    for run in runs:
        zone = zone_for(tz, run.exchange)
        summary = run.metrics.get("summary", {})
        took = (
            f"{(run.finished_at - run.started_at).total_seconds():,.1f} s"
            if run.finished_at is not None
            else ""
        )
        table.add_row(
            str(run.id),
            run.session_name,
            run.mode,
            run.exchange,
            f"{run.start_date or '-'} .. {run.end_date or '-'}",
            run.status,
            show_time(run.started_at, zone, seconds=False),
            took,
            _number(summary.get("events")),
        )
    _print(table)


def _run_dict(run: Any) -> dict[str, Any]:
    summary = run.metrics.get("summary", {})
    return {
        "id": run.id,
        "session_name": run.session_name,
        "mode": run.mode,
        "exchange": run.exchange,
        "config_path": run.config_path,
        "start_date": run.start_date.isoformat() if run.start_date else None,
        "end_date": run.end_date.isoformat() if run.end_date else None,
        "status": run.status,
        "started_at": iso_time(run.started_at),
        "finished_at": iso_time(run.finished_at),
        "events": summary.get("events"),
        "trading_days": summary.get("trading_days"),
    }


# --- runs show ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunView:
    """What a ``runs show`` section gets: the run, its store, the display zone."""

    results: RunResults
    store: Store
    zone: tzinfo


def run_rows(view: RunView) -> Table:
    run, results = view.results.run, view.results
    summary = results.summary
    table = Table(box=box.SIMPLE, show_header=False, title=f"run {run.id}", title_justify="left")
    table.add_column("measure", style="bold")
    table.add_column("value")
    table.add_row("session", f"{run.session_name} ({run.mode}, {run.status})")
    table.add_row("exchange", f"{run.exchange}, times in {zone_label(view.zone)}")
    table.add_row("config", run.config_path)
    table.add_row("days", f"{run.start_date or '-'} .. {run.end_date or '-'}")
    table.add_row(
        "started / finished",
        f"{show_time(run.started_at, view.zone)} / {show_time(run.finished_at, view.zone)}",
    )
    if results.symbols:
        table.add_row("symbols", ", ".join(results.symbols))
    if results.data_source:
        table.add_row("data source", results.data_source)
    table.add_row(
        "events",
        f"{_number(summary.get('events'))} ({_number(summary.get('events_per_second'))}/s)",
    )
    for interval, count in summary.get("generated_bars", {}).items():
        table.add_row(f"bars generated {interval}", f"{count:,}")
    for interval, pct in summary.get("quality", {}).items():
        table.add_row(f"quality {interval}", f"{pct:.2f} %")
    table.add_row(
        "indicator values",
        f"{_number(summary.get('indicator_values'))} computed, {_number(summary.get('indicators_read'))} read",
    )
    if "error" in run.metrics:
        table.add_row("error", str(run.metrics["error"]))
    return table


def day_rows(view: RunView) -> Table | None:
    if not view.results.days:
        return None
    table = Table(box=box.SIMPLE_HEAD, title="trading days", title_justify="left")
    for name in (
        "day",
        "events",
        "dropped",
        "bars generated",
        "quality",
        "indicators",
        "phases",
        "clock end",
    ):
        table.add_column(
            name, justify="right" if name in ("events", "dropped", "indicators") else "left"
        )
    for day in view.results.days:
        clock_end = day.get("clock_end")
        table.add_row(
            day["trading_date"],
            f"{day['events']:,}",
            f"{day.get('dropped', 0):,}",
            " ".join(f"{k}:{v:,}" for k, v in day.get("generated", {}).items()),
            " ".join(f"{k}:{v:.1f}%" for k, v in day.get("quality", {}).items()),
            f"{day.get('indicator_values', 0):,}",
            " ".join(day.get("phases", [])),
            show_time(datetime.fromisoformat(clock_end), view.zone) if clock_end else "",
        )
    return table


def order_flow_rows(view: RunView) -> Table | None:
    rows = view.results.phase_volumes(view.store)
    if not rows:
        return None
    totals: dict[tuple[date, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    symbols: dict[date, set[str]] = defaultdict(set)
    for row in rows:
        if row.phase not in PHASES:
            continue
        total = totals[(row.trading_date, row.phase)]
        total[0] += row.buy_volume
        total[1] += row.sell_volume
        total[2] += row.neutral_volume
        total[3] += row.trade_count
        symbols[row.trading_date].add(row.symbol)
    table = Table(box=box.SIMPLE_HEAD, title="order flow (all symbols)", title_justify="left")
    for name in (
        "day",
        "phase",
        "active buy",
        "active sell",
        "neutral",
        "buy %",
        "trades",
        "symbols",
    ):
        table.add_column(name, justify="left" if name in ("day", "phase") else "right")
    for (day, phase), (buy, sell, neutral, trades) in sorted(
        totals.items(), key=lambda kv: (kv[0][0], PHASES.index(kv[0][1]))
    ):
        table.add_row(
            day.isoformat(),
            phase,
            _number(buy),
            _number(sell),
            _number(neutral),
            f"{100 * buy / (buy + sell):.1f}" if buy + sell else "–",
            _number(trades),
            str(len(symbols[day])),
        )
    return table


def metric_rows(view: RunView) -> Table | None:
    metrics = view.results.run.metrics
    stats = {
        k: v for k, v in metrics.items() if isinstance(v, dict) and "count" in v and "mean" in v
    }
    if not stats:
        return None
    table = Table(box=box.SIMPLE_HEAD, title="wall-time metrics", title_justify="left")
    for name in ("metric", "count", "mean", "p50", "p99", "max"):
        table.add_column(name, justify="left" if name == "metric" else "right")

    for name, stat in stats.items():
        table.add_row(
            name.replace("_", " "),
            f"{stat.get('count', 0):,}",
            format_duration(stat.get("mean")),
            format_duration(stat.get("p50")),
            format_duration(stat.get("p99")),
            format_duration(stat.get("max")),
        )
    return table


def trading_rows(view: RunView) -> Table | None:
    """The run's trading: its results (when the run stored them) and the ledger's totals."""
    from daemon.trading.ledger import TradingLedger
    from daemon.trading.statistics import TradingResults

    totals = TradingLedger(view.store).totals(view.results.run.id)
    if totals is None:
        return None
    table = Table(box=box.SIMPLE, show_header=False, title="trading", title_justify="left")
    table.add_column("measure", style="bold")
    table.add_column("value")
    stored = view.results.summary.get("trading")
    if stored:
        for measure, value in TradingResults.from_dict(stored).rows():
            table.add_row(measure, value)
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(totals["orders_by_status"].items()))
    table.add_row("orders by status", statuses)
    if totals["rejected_by_reason"]:
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(totals["rejected_by_reason"].items()))
        table.add_row("rejected by reason", reasons)
    table.add_row("fills (stored)", f"{totals['fills']:,}")
    table.add_row("commissions / taxes", f"{totals['commissions']} / {totals['taxes']}")
    if totals["last_equity"] is not None:
        at = show_time(datetime.fromisoformat(totals["last_equity_at"]), view.zone)
        table.add_row("last equity point", f"{totals['last_equity']} at {at}")
    for position in totals["positions"]:
        table.add_row(
            f"held {position['symbol']}",
            f"{position['quantity']:,} ({position['sellable']:,} sellable) at "
            f"{position['average_price']}, marked {position['mark']}, "
            f"unrealized {position['unrealized_pnl']}",
        )
    return table


SHOW_SECTIONS: list[Callable[[RunView], Table | None]] = [
    run_rows,
    day_rows,
    order_flow_rows,
    trading_rows,
    metric_rows,
]
"""``runs show`` sections in order; append a function to add one (module docstring)."""


@runs_app.command("show")
def runs_show(
    run: str = typer.Argument(
        ..., metavar="RUN", help="Run id (see 'sessiond runs list') or 'last'."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tz: str = typer.Option("exchange", "--tz", help=TZ_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (ISO 8601 times) instead."),
) -> None:
    """Show one run: its config, totals, per-day results, order flow, trading and metrics."""
    zone_for(tz, None)
    from core.store import Store
    from daemon.run_results import load_run

    with Store.from_url(db) as store:
        results = load_run(store, run)
        view = RunView(results, store, zone_for(tz, results.calendar))
        if as_json:
            out = _run_dict(results.run)
            out["config"] = results.run.metrics.get("config")
            out["summary"] = results.summary
            out["days"] = results.days
            out["metrics"] = {
                k: v
                for k, v in results.run.metrics.items()
                if k not in ("summary", "days", "config")
            }
            out["order_flow"] = [
                {
                    "trading_date": p.trading_date.isoformat(),
                    "symbol": p.symbol,
                    "phase": p.phase,
                    "buy_volume": p.buy_volume,
                    "sell_volume": p.sell_volume,
                    "neutral_volume": p.neutral_volume,
                    "trade_count": p.trade_count,
                }
                for p in results.phase_volumes(store)
            ]
            from daemon.trading.ledger import TradingLedger

            out["trading"] = TradingLedger(store).totals(results.run.id)
            typer.echo(json.dumps(out, indent=2, default=str))
            return
        for section in SHOW_SECTIONS:
            table = section(view)
            if table is not None:
                _print(table)
    console.print(
        f"next: sessiond report {results.run.id}  (HTML charts), sessiond flow SYMBOL --date D",
        highlight=False,
    )


# --- indicators --------------------------------------------------------------------------------


def calendar_of(store: Store, symbols: list[str], exchange: str | None) -> str | None:
    """The calendar ``--exchange`` names, else that of the newest run listing a symbol."""
    if exchange is not None:
        try:
            return calendars.get_calendar(calendars.EXCHANGE_GROUPS.get(exchange, exchange)).name
        except CalendarError as error:
            raise typer.BadParameter(str(error), param_hint="'--exchange'") from None
    for run in store.read_session_runs(limit=50):
        config = run.metrics.get("config") or {}
        listed = set(config.get("session_data_config", {}).get("symbols", []))
        if listed & set(symbols):
            return run.exchange
    return None


def _day_bounds(day: date | None, end: bool) -> datetime | None:
    if day is None:
        return None
    instant = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return instant + timedelta(days=2) if end else instant - timedelta(days=1)


def _date_option(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (expected YYYY-MM-DD, e.g. 2024-07-01)",
            param_hint=f"'{option}'",
        ) from None


def indicators_command(
    name: str | None = typer.Argument(
        None, metavar="[NAME]", help="An indicator name (from the list without NAME)."
    ),
    symbol: str | None = typer.Option(
        None, "--symbol", help="Only this symbol (or several, comma separated)."
    ),
    start: str | None = typer.Option(None, "--start", help="First exchange day YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--end", help="Last exchange day YYYY-MM-DD (inclusive)."),
    source: str | None = typer.Option(
        None,
        "--source",
        help="Only values written by this source (sessiond = computed by sessiond runs and the Dagster assets).",
    ),
    limit: int = typer.Option(200, "--limit", min=1, help="Values shown at most (the latest)."),
    exchange: str | None = typer.Option(
        None,
        "--exchange",
        help="Exchange of the symbols for --tz exchange (default: from the newest run listing them).",
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tz: str = typer.Option("exchange", "--tz", help=TZ_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (ISO 8601 times) instead."),
) -> None:
    """List the stored indicators; with NAME, show its values (per minute of day or daily)."""
    first, last = _date_option(start, "--start"), _date_option(end, "--end")
    zone_for(tz, None)
    symbols = [s.strip() for s in (symbol or "").split(",") if s.strip()] or None
    from core.store import Store

    with Store.from_url(db) as store:
        if name is None:
            series = store.read_indicator_series(symbols=symbols)
            calendar = calendar_of(store, sorted({s.symbol for s in series}), exchange)
            zone = zone_for(tz, calendar)
            if as_json:
                typer.echo(
                    json.dumps(
                        [
                            {
                                "name": s.name,
                                "symbol": s.symbol,
                                "source": s.source,
                                "per_minute": s.per_minute,
                                "values": s.values,
                                "first_as_of": iso_time(s.first_as_of),
                                "last_as_of": iso_time(s.last_as_of),
                            }
                            for s in series
                        ],
                        indent=2,
                    )
                )
                return
            if not series:
                err_console.print(f"no indicator values stored in {store.url}", highlight=False)
                return
            table = Table(
                box=box.SIMPLE_HEAD,
                title=f"stored indicators (times in {zone_label(zone)})",
                title_justify="left",
            )
            for column in ("name", "symbol", "source", "kind", "values", "first", "last"):
                table.add_column(column, justify="right" if column == "values" else "left")
            for s in series:
                table.add_row(
                    s.name,
                    s.symbol,
                    s.source,
                    "per minute" if s.per_minute else "daily",
                    f"{s.values:,}",
                    show_time(s.first_as_of, zone, seconds=False),
                    show_time(s.last_as_of, zone, seconds=False),
                )
            _print(table)
            console.print("next: sessiond indicators NAME --symbol SYMBOL", highlight=False)
            return
        if symbols is None:
            symbols = sorted({s.symbol for s in store.read_indicator_series(names=name)})
            if not symbols:
                raise SessionError(
                    f"no values of indicator {name!r} in {store.url}: 'sessiond indicators' lists the stored ones"
                )
        calendar = calendar_of(store, symbols, exchange)
        zone = zone_for(tz, calendar)
        lower = _day_bounds(first, end=False) or datetime(1970, 1, 1, tzinfo=UTC)
        upper = _day_bounds(last, end=True) or datetime(2200, 1, 1, tzinfo=UTC)
        values = store.read_indicator_values(name, symbols, lower, upper, source)
    if first is not None or last is not None:
        values = [v for v in values if _in_days(v.as_of, zone, first, last)]
    shown = values[-limit:]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": v.name,
                        "symbol": v.symbol,
                        "as_of": iso_time(v.as_of),
                        "minute_of_day": v.minute_of_day,
                        "value": v.value,
                        "complete": v.complete,
                        "observations": v.observations,
                    }
                    for v in shown
                ],
                indent=2,
            )
        )
        return
    if not values:
        err_console.print(
            f"no values of {name!r} for {', '.join(symbols)} in that range", highlight=False
        )
        return
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"{name} ({len(shown)} of {len(values)} values; times in {zone_label(zone)})",
        title_justify="left",
    )
    for column in ("as of", "symbol", "minute", "value", "complete", "observations"):
        table.add_column(
            column, justify="right" if column in ("value", "observations", "minute") else "left"
        )
    for v in shown:
        table.add_row(
            show_time(v.as_of, zone, seconds=False),
            v.symbol,
            "day" if v.minute_of_day is None else str(v.minute_of_day),
            _value(v.value),
            "yes" if v.complete else "no",
            f"{v.observations:,}",
        )
    _print(table)


def _value(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.6g}"


def _in_days(ts: datetime, zone: tzinfo, first: date | None, last: date | None) -> bool:
    day = ts.astimezone(zone).date()
    return (first is None or day >= first) and (last is None or day <= last)


# --- flow --------------------------------------------------------------------------------------


def flow_command(
    symbol: str = typer.Argument(..., help="Symbol, e.g. ACB."),
    day: str = typer.Option(..., "--date", help="Trading day YYYY-MM-DD (exchange-local)."),
    session: str | None = typer.Option(None, "--session", help="Only this session's volumes."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tz: str = typer.Option("exchange", "--tz", help=TZ_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """A symbol's order flow on one day: active buy / sell / neutral by phase, foreign flows."""
    trading_date = _date_option(day, "--date")
    assert trading_date is not None
    name = symbol.strip().upper()
    zone_for(tz, None)
    from core.store import Store

    with Store.from_url(db) as store:
        rows = store.read_phase_volumes(
            session_name=session, symbols=name, start_date=trading_date, end_date=trading_date
        )
        calendar = calendar_of(store, [name], None)
        zone = zone_for(tz, calendar)
        local = calendars.exchange_timezone(calendar) if calendar else UTC
        day_start = datetime(
            trading_date.year, trading_date.month, trading_date.day, tzinfo=local
        ).astimezone(UTC)
        foreign = store.read_foreign(name, day_start, day_start + timedelta(days=1))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "symbol": name,
                    "trading_date": trading_date.isoformat(),
                    "phases": [
                        {
                            "session_name": r.session_name,
                            "phase": r.phase,
                            "buy_volume": r.buy_volume,
                            "sell_volume": r.sell_volume,
                            "neutral_volume": r.neutral_volume,
                            "buy_value": r.buy_value,
                            "sell_value": r.sell_value,
                            "neutral_value": r.neutral_value,
                            "trade_count": r.trade_count,
                        }
                        for r in rows
                    ],
                    "foreign": None
                    if not foreign
                    else {
                        "as_of": iso_time(foreign[-1].ts_event),
                        "buy_volume": foreign[-1].buy_volume,
                        "sell_volume": foreign[-1].sell_volume,
                        "net_volume": foreign[-1].buy_volume - foreign[-1].sell_volume,
                        "current_room": foreign[-1].current_room,
                    },
                },
                indent=2,
            )
        )
        return
    if not rows and not foreign:
        raise SessionError(
            f"no order flow of {name} stored for {trading_date.isoformat()}: live sessions and "
            "backtests replaying recorded ticks store it ('sessiond runs list' shows the runs)"
        )
    for session_name in sorted({r.session_name for r in rows}):
        table = Table(
            box=box.SIMPLE_HEAD,
            title=f"{name} {trading_date.isoformat()} ({session_name})",
            title_justify="left",
        )
        for column in (
            "phase",
            "active buy",
            "active sell",
            "neutral",
            "buy %",
            "buy value",
            "sell value",
            "trades",
        ):
            table.add_column(column, justify="left" if column == "phase" else "right")
        own = sorted(
            (r for r in rows if r.session_name == session_name),
            key=lambda r: (
                r.phase not in PHASES,
                PHASES.index(r.phase) if r.phase in PHASES else 0,
                r.phase,
            ),
        )
        for r in own:
            decided = r.buy_volume + r.sell_volume
            table.add_row(
                r.phase,
                _number(r.buy_volume),
                _number(r.sell_volume),
                _number(r.neutral_volume),
                f"{100 * r.buy_volume / decided:.1f}" if decided else "–",
                _number(r.buy_value),
                _number(r.sell_value),
                _number(r.trade_count),
            )
        _print(table)
    if foreign:
        last_room = foreign[-1]
        console.print(
            f"foreign investors (cumulative at {show_time(last_room.ts_event, zone)} {zone_label(zone)}): "
            f"buy {_number(last_room.buy_volume)}, sell {_number(last_room.sell_volume)}, "
            f"net {last_room.buy_volume - last_room.sell_volume:+,.0f}"
            + (
                f", room left {_number(last_room.current_room)}"
                if last_room.current_room is not None
                else ""
            ),
            highlight=False,
        )


# --- report ------------------------------------------------------------------------------------


def report_command(
    run: str = typer.Argument(
        ..., metavar="RUN", help="Run id (see 'sessiond runs list') or 'last'."
    ),
    output: str | None = typer.Option(
        None, "--output", "-o", help="HTML file to write (default: var/reports/run-<id>.html)."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    tz: str = typer.Option("exchange", "--tz", help=TZ_HELP),
) -> None:
    """Write a self-contained HTML report of a run (opens offline): price with generated bars
    and indicators, active buy / sell by phase, data quality."""
    from daemon.report import ReportContext, write_report

    zone_for(tz, None)
    from core.store import Store
    from daemon.run_results import load_run

    with Store.from_url(db) as store:
        results = load_run(store, run)
        context = ReportContext(results, store, zone_for(tz, results.calendar))
        path = Path(output) if output else Path("var") / "reports" / f"run-{results.run.id}.html"
        try:
            write_report(context, path)
        except OSError as error:
            raise SessionError(
                f"cannot write the report to {str(path)!r}: {error.strerror}; pass --output FILE"
            ) from None
    size = path.stat().st_size / 1e6
    console.print(f"wrote {path} ({size:.1f} MB, opens offline in a browser)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add these commands to the ``sessiond`` app."""
    app.add_typer(runs_app, name="runs")
    app.command("indicators")(indicators_command)
    app.command("flow")(flow_command)
    app.command("report")(report_command)


__all__ = ["SHOW_SECTIONS", "RunView", "register"]
