"""The HTML report of one stored run (``sessiond report RUN``): one self-contained file that
opens offline, charts drawn by plotly (its JavaScript embedded once).

Sections, in order, are the functions of :data:`REPORT_SECTIONS`. Each takes the
:class:`ReportContext` and returns a :class:`Section` (a title, a note, figures and HTML
tables) or None when the run has nothing for it:

- ``summary_section``     the run, its totals and one row per trading day
- ``price_section``       per symbol: the generated bars as candles over the streamed close,
                          price indicators on it, volume and volume indicators below
- ``order_flow_section``  per day and phase (ATO, continuous, ATC): active buy / active sell /
                          neutral volume by symbol
- ``trading_section``     equity and drawdown over the run, the trading results, positions at
                          the end, the fills (``daemon.trading.ledger``)
- ``quality_section``     bar completeness per day and interval, and per symbol and day

**Adding a section**: write ``def <name>_section(context: ReportContext) -> Section | None``
reading what it needs through ``context.store`` for ``context.results`` (the run, its config and days)
and append it to :data:`REPORT_SECTIONS`; ``sessiond runs show`` has the same list
(``daemon.commands.results.SHOW_SECTIONS``) for the terminal. Times on the charts are shown in
``context.zone`` (the exchange's by default).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from core import calendars
from core.store import Store
from daemon.display import show_time, zone_label
from daemon.run_results import GENERATED_SOURCE, RunResults

MAX_POINTS_PER_SYMBOL = 4000
"""Streamed bars drawn per symbol at most; beyond it the smallest generated interval that fits
is drawn instead (a year of 1m bars would make a report of hundreds of MB)."""
MAX_SYMBOLS = 12
"""Price charts drawn at most (the first symbols of the config); the report says so."""
MAX_FLOW_DAYS = 10
"""Order-flow days drawn at most (the last ones of the run)."""
PHASES = ("ato", "continuous", "atc")
PRICE_FIELDS = {"open", "high", "low", "close", "vwap"}
COLORS = {"buy": "#16a34a", "sell": "#dc2626", "neutral": "#9ca3af"}


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What every section reads from: the run, the store it is in, the display zone."""

    results: RunResults
    store: Store
    zone: tzinfo


@dataclass(slots=True)
class Section:
    """One titled part of the report: a note, then figures (plotly), then HTML tables."""

    title: str
    note: str = ""
    figures: list[Any] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)


# --- helpers ----------------------------------------------------------------------------------


def _local(ts: Any, zone: tzinfo) -> Any:
    """UTC pandas timestamps / series -> naive wall times in ``zone`` (what plotly draws)."""
    return ts.dt.tz_convert(zone).dt.tz_localize(None)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rangebreaks(calendar: str, dates: list[date], zone: tzinfo) -> list[dict[str, Any]]:
    """Plotly x-axis breaks hiding nights, weekends, holidays and the lunch break."""
    if not dates:
        return []
    bounds = calendars.session_bounds(calendar, dates[0])

    def hour(ts: datetime) -> float:
        local = ts.astimezone(zone)
        return local.hour + local.minute / 60

    breaks: list[dict[str, Any]] = [dict(bounds=["sat", "mon"])]
    open_hour, close_hour = hour(bounds.open), hour(bounds.close)
    if close_hour > open_hour:  # a session inside one local day: hide the night
        breaks.append(dict(bounds=[close_hour, open_hour], pattern="hour"))
    if bounds.break_start is not None and bounds.break_end is not None:
        breaks.append(
            dict(bounds=[hour(bounds.break_start), hour(bounds.break_end)], pattern="hour")
        )
    # weekday holidays: their would-be session hours (a whole-day break overlapping the
    # night's makes plotly.js draw -Infinity coordinates)
    sessions = set(dates)
    open_local = bounds.open.astimezone(zone)
    holidays = [
        f"{day.isoformat()} {open_local:%H:%M}"
        for day in (dates[0] + timedelta(days=i) for i in range((dates[-1] - dates[0]).days))
        if day not in sessions and day.weekday() < 5
    ]
    if holidays:
        span_ms = (bounds.close - bounds.open).total_seconds() * 1000
        breaks.append(dict(values=holidays, dvalue=span_ms))
    return breaks


def _figure_layout(figure: Any, title: str, height: int) -> None:
    figure.update_layout(
        title=dict(text=title, x=0, font=dict(size=14)),
        height=height,
        margin=dict(l=60, r=20, t=50, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.06, x=1, xanchor="right"),
        template="plotly_white",
    )


def _display_interval(context: ReportContext, symbol_count: int) -> tuple[str | None, str | None]:
    """(streamed interval to draw as a line, generated interval to draw as candles)."""
    config = context.results.config
    if config is None:
        return None, None
    streamed = config.streamed_interval
    generated = config.generated_intervals
    days = max(len(context.results.trading_dates), 1)
    minutes_per_day = 600
    if streamed is not None and streamed.endswith("m"):
        per_symbol = days * minutes_per_day // max(int(streamed[:-1]), 1)
        if per_symbol > MAX_POINTS_PER_SYMBOL:
            streamed = None
    candles = None
    for interval in generated:
        if (
            interval.endswith("m")
            and days * minutes_per_day // int(interval[:-1]) > MAX_POINTS_PER_SYMBOL
        ):
            continue
        candles = interval
        break
    return streamed, candles


# --- sections ---------------------------------------------------------------------------------


def summary_section(context: ReportContext) -> Section:
    """The run, its totals, one row per day."""
    run, results = context.results.run, context.results
    summary = results.summary
    facts = [
        ["session", run.session_name],
        ["mode", run.mode],
        ["exchange", f"{run.exchange} ({calendars.exchange_timezone(run.exchange)})"],
        ["status", run.status],
        [
            "days",
            " .. ".join(
                d.isoformat()
                for d in results.trading_dates[:: max(1, len(results.trading_dates) - 1)]
            )
            or "-",
        ],
        ["started", show_time(run.started_at, context.zone)],
        ["finished", show_time(run.finished_at, context.zone)],
        ["symbols", ", ".join(results.symbols) or "-"],
        ["data source", results.data_source or "-"],
        ["events", f"{summary.get('events', 0):,}"],
        ["events/s", f"{summary.get('events_per_second', 0):,.0f}"],
        *([f"bars generated {k}", f"{v:,}"] for k, v in summary.get("generated_bars", {}).items()),
        *([f"quality {k}", f"{v:.2f} %"] for k, v in summary.get("quality", {}).items()),
        ["indicator values computed", f"{summary.get('indicator_values', 0):,}"],
    ]
    if "error" in run.metrics:
        facts.append(["error", run.metrics["error"]])
    day_rows = [
        [
            d["trading_date"],
            f"{d['events']:,}",
            ", ".join(f"{k} {v:,}" for k, v in d.get("generated", {}).items()),
            ", ".join(f"{k} {v:.1f} %" for k, v in d.get("quality", {}).items()),
            f"{d.get('indicator_values', 0):,}",
            " → ".join(d.get("phases", [])),
        ]
        for d in results.days
    ]
    section = Section(f"Run {run.id}: {run.session_name}")
    section.tables.append(_table(["", ""], facts))
    if day_rows:
        section.tables.append(
            _table(
                [
                    "trading day",
                    "events",
                    "bars generated",
                    "quality",
                    "indicator values",
                    "phases",
                ],
                day_rows,
            )
        )
    return section


def price_section(context: ReportContext) -> Section | None:
    """Per symbol: generated bars as candles, the streamed close, indicators, volume."""
    import pandas as pd
    from plotly.subplots import make_subplots

    results = context.results
    span = results.utc_range()
    if results.config is None or span is None or not results.symbols:
        return None
    symbols = results.symbols[:MAX_SYMBOLS]
    streamed, candles = _display_interval(context, len(symbols))
    source = results.data_source
    start, end = span
    store, zone = context.store, context.zone
    indicators = results.config.session_data_config.historical.indicators
    breaks = _rangebreaks(results.calendar, results.trading_dates, zone)
    section = Section("Price, generated bars and indicators")
    notes = []
    if len(results.symbols) > MAX_SYMBOLS:
        notes.append(f"the first {MAX_SYMBOLS} of {len(results.symbols)} symbols")
    if streamed is None and results.config.streamed_interval is not None:
        notes.append(f"{results.config.streamed_interval} bars too many to draw: not shown")
    lines = (
        store.read_bars_frame(symbols, streamed, start, end, source) if streamed else pd.DataFrame()
    )
    candle_frame = (
        store.read_bars_frame(symbols, candles, start, end, GENERATED_SOURCE)
        if candles
        else pd.DataFrame()
    )
    volume_interval = streamed or candles
    volume_frame = lines if streamed else candle_frame
    # live runs keep the trades they received, not their bars: draw those prices instead
    trades: dict[str, list[Any]] = defaultdict(list)
    if lines.empty and candle_frame.empty:
        for trade in store.read_trades(symbols, start, end, source):
            trades[trade.symbol].append(trade)
    skipped: set[str] = set()
    for symbol in symbols:
        figure = make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.04
        )
        drawn = False
        if not lines.empty:
            own = lines[lines["symbol"] == symbol]
            if not own.empty:
                figure.add_scatter(
                    x=_local(own["ts"], zone),
                    y=own["close"],
                    mode="lines",
                    name=f"{streamed} close ({source})",
                    line=dict(width=1, color="#94a3b8"),
                    row=1,
                    col=1,
                )
                drawn = True
        if not candle_frame.empty:
            own = candle_frame[candle_frame["symbol"] == symbol]
            if not own.empty:
                figure.add_candlestick(
                    x=_local(own["ts"], zone),
                    open=own["open"],
                    high=own["high"],
                    low=own["low"],
                    close=own["close"],
                    name=f"{candles} bars (generated)",
                    increasing_line_color=COLORS["buy"],
                    decreasing_line_color=COLORS["sell"],
                    row=1,
                    col=1,
                )
                drawn = True
        if trades.get(symbol):
            own_trades = trades[symbol]
            step = max(1, len(own_trades) // MAX_POINTS_PER_SYMBOL)
            shown = own_trades[::step]
            figure.add_scatter(
                x=[t.ts_event.astimezone(zone).replace(tzinfo=None) for t in shown],
                y=[t.price for t in shown],
                mode="lines",
                line=dict(width=1.2, shape="hv", color="#2563eb"),
                name=f"trade price ({source})",
                row=1,
                col=1,
            )
            figure.add_bar(
                x=[t.ts_event.astimezone(zone).replace(tzinfo=None) for t in shown],
                y=[t.volume for t in shown],
                name="trade size",
                marker_color="#94a3b8",
                row=2,
                col=1,
            )
            drawn = True
        if not volume_frame.empty:
            own = volume_frame[volume_frame["symbol"] == symbol]
            if not own.empty:
                figure.add_bar(
                    x=_local(own["ts"], zone),
                    y=own["volume"],
                    name=f"{volume_interval} volume",
                    marker_color="#94a3b8",
                    row=2,
                    col=1,
                )
        for name, spec in indicators.items():
            default_field = "close" if spec.type in ("sma", "ema", "vwap") else "volume"
            row = 1 if spec.params.get("field", default_field) in PRICE_FIELDS else 2
            xs, ys, daily = _indicator_points(context, name, symbol, start, end)
            if daily and row == 2:
                skipped.add(name)  # a day's total beside one bar's volume: off the scale
                continue
            if xs:
                figure.add_scatter(
                    x=xs, y=ys, mode="lines", name=name, line=dict(width=1.5), row=row, col=1
                )
                drawn = True
        if not drawn:
            continue
        figure.update_xaxes(rangebreaks=breaks, rangeslider_visible=False)
        figure.update_yaxes(title_text="price", row=1, col=1)
        figure.update_yaxes(title_text="volume", row=2, col=1)
        figure.update_xaxes(title_text=f"time ({zone_label(zone)})", row=2, col=1)
        _figure_layout(figure, symbol, 460)
        section.figures.append(figure)
    if not section.figures:
        return None
    if skipped:
        notes.append(f"daily volume indicators not drawn ({', '.join(sorted(skipped))})")
    section.note = "; ".join(notes)
    return section


def _indicator_points(
    context: ReportContext, name: str, symbol: str, start: datetime, end: datetime
) -> tuple[list[datetime], list[float], bool]:
    """An indicator's stored values as (local times, values, all daily): per-minute values at
    their trading minute, daily values at the session open."""
    values = context.store.read_indicator_values(name, symbol, start, end, GENERATED_SOURCE)
    calendar = context.results.calendar
    minutes: dict[date, list[datetime]] = {}
    points: list[tuple[datetime, float]] = []
    for value in values:
        if value.value is None:
            continue
        at = value.as_of
        if value.minute_of_day is not None:
            day = at.astimezone(calendars.exchange_timezone(calendar)).date()
            if day not in minutes:
                minutes[day] = _trading_minutes(calendar, day)
            if value.minute_of_day >= len(minutes[day]):
                continue
            at = minutes[day][value.minute_of_day]
        points.append((at.astimezone(context.zone).replace(tzinfo=None), value.value))
    points.sort()
    daily = bool(values) and all(v.minute_of_day is None for v in values)
    return [p[0] for p in points], [p[1] for p in points], daily


def _trading_minutes(calendar: str, day: date) -> list[datetime]:
    try:
        bounds = calendars.session_bounds(calendar, day)
    except Exception:  # not a session of this calendar: nothing to place the values at
        return []
    out, at = [], bounds.open
    while at < bounds.close:
        if not (bounds.break_start is not None and bounds.break_start <= at < bounds.break_end):
            out.append(at)
        at += timedelta(minutes=1)
    return out


def order_flow_section(context: ReportContext) -> Section | None:
    """Active buy / active sell / neutral volume by symbol, per day (rows) and phase (columns)."""
    from plotly.subplots import make_subplots

    rows = context.results.phase_volumes(context.store)
    if not rows:
        return None
    by_day: dict[date, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.phase in PHASES:
            by_day[row.trading_date][row.phase].append(row)
    days = sorted(by_day)[-MAX_FLOW_DAYS:]
    if not days:
        return None
    figure = make_subplots(
        rows=len(days),
        cols=len(PHASES),
        subplot_titles=[f"{d.isoformat()} {p.upper()}" for d in days for p in PHASES],
        vertical_spacing=0.08 / max(len(days), 1) + 0.04,
        horizontal_spacing=0.05,
    )
    for r, day in enumerate(days, start=1):
        for c, phase in enumerate(PHASES, start=1):
            items = sorted(by_day[day][phase], key=lambda p: p.symbol)
            symbols = [p.symbol for p in items]
            for kind, attribute in (
                ("buy", "buy_volume"),
                ("sell", "sell_volume"),
                ("neutral", "neutral_volume"),
            ):
                figure.add_bar(
                    x=symbols,
                    y=[getattr(p, attribute) for p in items],
                    name=f"active {kind}" if kind != "neutral" else "neutral",
                    marker_color=COLORS[kind],
                    legendgroup=kind,
                    showlegend=(r == 1 and c == 1),
                    row=r,
                    col=c,
                )
    figure.update_layout(barmode="stack", bargap=0.25)
    figure.update_yaxes(title_text="shares", col=1)
    _figure_layout(figure, "Active buy / sell by phase", 260 * len(days) + 120)
    figure.update_layout(legend=dict(y=1.0 + 60 / (260 * len(days) + 120)))
    note = (
        "Call auctions (ATO, ATC) match at one price: their volume has no aggressor and is neutral."
    )
    if len(by_day) > MAX_FLOW_DAYS:
        note += f" The last {MAX_FLOW_DAYS} of {len(by_day)} days."
    return Section("Order flow by phase", note, [figure])


def quality_section(context: ReportContext) -> Section | None:
    """Bar completeness over the run's days: mean per interval, and per symbol."""
    import plotly.graph_objects as go

    results = context.results
    dates = results.trading_dates
    if not dates or not results.symbols:
        return None
    rows = context.store.read_quality(results.symbols, start_date=dates[0], end_date=dates[-1])
    if not rows:
        return None
    means: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        means[row.interval][row.trading_date].append(row.quality_pct)
    line = go.Figure()
    for interval, per_day in sorted(means.items()):
        days = sorted(per_day)
        line.add_scatter(
            x=[d.isoformat() for d in days],
            y=[sum(per_day[d]) / len(per_day[d]) for d in days],
            mode="lines+markers",
            name=interval,
        )
    line.update_yaxes(title_text="bars present (%)", range=[0, 102])
    line.update_xaxes(title_text="trading day", type="category")
    _figure_layout(line, "Mean quality per interval", 320)
    streamed = results.config.streamed_interval if results.config is not None else None
    figures = [line]
    per_symbol = [r for r in rows if streamed is None or r.interval == streamed]
    if per_symbol:
        symbols = sorted({r.symbol for r in per_symbol})
        days = sorted({r.trading_date for r in per_symbol})
        cell = {(r.symbol, r.trading_date): r.quality_pct for r in per_symbol}
        heat = go.Figure(
            go.Heatmap(
                x=[d.isoformat() for d in days],
                y=symbols,
                z=[[cell.get((s, d)) for d in days] for s in symbols],
                zmin=0,
                zmax=100,
                colorscale="RdYlGn",
                colorbar=dict(title="%"),
            )
        )
        heat.update_xaxes(type="category", title_text="trading day")
        _figure_layout(
            heat, f"Quality of {streamed or 'all'} bars per symbol", 140 + 24 * len(symbols)
        )
        figures.append(heat)
    missing = sum(len(r.missing) for r in rows)
    note = f"{len(rows)} results, {missing:,} missing bars in all (history included)."
    return Section("Data quality", note, figures)


MAX_FILL_ROWS = 200
"""Fills listed in the report's trading section at most (the first ones; all are stored)."""


def trading_section(context: ReportContext) -> Section | None:
    """The account over the run (equity and drawdown), the results, positions and fills."""
    import pandas as pd
    from plotly.subplots import make_subplots

    from daemon.trading.ledger import TradingLedger
    from daemon.trading.statistics import TradingResults

    ledger = TradingLedger(context.store)
    run_id = context.results.run.id
    totals = ledger.totals(run_id)
    if totals is None:
        return None
    curve = ledger.equity_curve(run_id)
    figures = []
    if curve:
        ts = pd.Series(pd.to_datetime([p.ts for p in curve], utc=True))
        equity = pd.Series([float(p.equity) for p in curve])
        drawdown = equity / equity.cummax() - 1.0  # the chart's series; statistics: empyrical
        x = _local(ts, context.zone)
        figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3])
        figure.add_scatter(x=x, y=equity, mode="lines", name="equity", row=1, col=1)
        figure.add_scatter(
            x=x, y=drawdown * 100, mode="lines", name="drawdown %", fill="tozeroy", row=2, col=1
        )
        figure.update_yaxes(title_text="equity", row=1, col=1)
        figure.update_yaxes(title_text="drawdown (%)", row=2, col=1)
        breaks = _rangebreaks(context.results.calendar, context.results.trading_dates, context.zone)
        figure.update_xaxes(rangebreaks=breaks)
        _figure_layout(figure, "Equity at each bar's close, and drawdown", 460)
        figures.append(figure)
    tables = []
    stored = context.results.summary.get("trading")
    if stored:
        tables.append(
            _table(["measure", "value"], [list(r) for r in TradingResults.from_dict(stored).rows()])
        )
    if totals["positions"]:
        tables.append(
            _table(
                ["symbol", "quantity", "sellable", "average price", "mark", "unrealized P&L"],
                [
                    [
                        p["symbol"],
                        p["quantity"],
                        p["sellable"],
                        p["average_price"],
                        p["mark"],
                        p["unrealized_pnl"],
                    ]
                    for p in totals["positions"]
                ],
            )
        )
    fills = ledger.fills(run_id)
    tables.append(
        _table(
            ["time", "symbol", "side", "quantity", "price", "commission", "tax", "realized P&L"],
            [
                [
                    show_time(f.ts_event, context.zone),
                    f.symbol,
                    f.side,
                    f.quantity,
                    f.price,
                    f.commission,
                    f.tax,
                    f.realized_pnl,
                ]
                for f in fills[:MAX_FILL_ROWS]
            ],
        )
    )
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(totals["orders_by_status"].items()))
    note = (
        f"{totals['orders']:,} orders ({statuses}); {totals['fills']:,} fills"
        + (f", the first {MAX_FILL_ROWS} listed" if len(fills) > MAX_FILL_ROWS else "")
        + f"; commissions {totals['commissions']}, taxes {totals['taxes']}."
    )
    return Section("Trading", note, figures, tables)


REPORT_SECTIONS: list[Callable[[ReportContext], Section | None]] = [
    summary_section,
    price_section,
    order_flow_section,
    trading_section,
    quality_section,
]
"""The report's sections in order; append a section function to add one (module docstring)."""


# --- page -------------------------------------------------------------------------------------

_STYLE = """
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; background: #f9fafb; }
header { padding: 14px 24px; background: #111827; color: #f9fafb; }
header h1 { margin: 0; font-size: 20px; } header p { margin: 4px 0 0; color: #d1d5db; }
main { padding: 8px 24px 32px; max-width: 1400px; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 16px; margin-top: 16px; }
h2 { font-size: 16px; margin: 0 0 6px; } .note { color: #6b7280; margin: 0 0 8px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #f3f4f6; text-align: left; }
th { color: #6b7280; font-size: 12px; }
"""


def render_report(context: ReportContext) -> str:
    """The whole HTML page (plotly.js embedded, no network access needed to open it)."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    parts: list[str] = []
    for build in REPORT_SECTIONS:
        section = build(context)
        if section is None:
            continue
        body = [f'<section data-section="{build.__name__}"><h2>{html.escape(section.title)}</h2>']
        if section.note:
            body.append(f'<p class="note">{html.escape(section.note)}</p>')
        body.extend(section.tables)
        for figure in section.figures:
            body.append(
                pio.to_html(
                    figure,
                    full_html=False,
                    include_plotlyjs=False,
                    config={"displaylogo": False, "responsive": True},
                )
            )
        body.append("</section>")
        parts.append("".join(body))
    run, results = context.results.run, context.results
    title = f"sessiond run {run.id}: {run.session_name}"
    subtitle = (
        f"{run.mode} on {run.exchange}, {results.trading_dates[0] if results.trading_dates else '-'}"
        f" .. {results.trading_dates[-1] if results.trading_dates else '-'}, {run.status}; "
        f"times in {zone_label(context.zone)}"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{''.join(parts)}</main></body></html>\n"
    )


def write_report(context: ReportContext, path: Path) -> Path:
    """Render the report into ``path`` (parent folders created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(context), encoding="utf-8")
    return path


__all__ = [
    "REPORT_SECTIONS",
    "ReportContext",
    "Section",
    "render_report",
    "write_report",
]
