"""``sessiond demo vn-live``: a realistic HOSE day through the live path, API and dashboard
included, with no credentials and no network (``daemon.demo``)."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from daemon.display import next_steps

demo_app = typer.Typer(help="Demos that run without credentials or network.", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@demo_app.command("vn-live")
def vn_live(
    day: str = typer.Option("2026-02-03", "--date", help="HOSE trading day to play (YYYY-MM-DD)."),
    speed: float = typer.Option(
        60.0,
        "--speed",
        min=1.0,
        help="Clock speed multiplier: 60 plays the 09:13-14:50 day in about 6 minutes.",
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of the generated day (same seed, same day)."),
    db: str | None = typer.Option(
        None, "--db", help="Store URL (default: SESSIOND_DB_URL, else sqlite:///var/sessiond.db)."
    ),
    api_host: str = typer.Option("127.0.0.1", "--api-host", help="Address of the live API."),
    api_port: int = typer.Option(
        8765, "--api-port", min=0, max=65535, help="Port of the live API (0 = any free port)."
    ),
) -> None:
    """Play a generated VN30 day (trades, quotes, VN30/VNINDEX, futures, foreign room) through
    the live SSI path into the store, serving the live API and dashboard; Ctrl-C stops early."""
    from daemon.demo import DemoOptions, run_vn_live_demo

    try:
        trading_day = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(
            f"{day!r} is not a date (expected YYYY-MM-DD, e.g. 2026-02-03)", param_hint="'--date'"
        ) from None
    options = DemoOptions(
        day=trading_day, speed=speed, seed=seed, db=db, api_host=api_host, api_port=api_port
    )

    def announce(url: str) -> None:
        err_console.print(
            f"live API and dashboard on {url} — {trading_day.isoformat()} plays at {speed:g}x "
            "(Ctrl-C stops)",
            highlight=False,
        )

    summary, url, session = run_vn_live_demo(options, announce=announce)
    state = session.state
    totals = state.snapshot()["volume_stats"]
    traded = sum(1 for s in totals.values() if s.get("total_volume"))
    console.print(
        f"{summary.session_name}: {summary.status}; {traded} symbols traded on "
        f"{trading_day.isoformat()}",
        highlight=False,
    )
    if summary.run_id is not None:
        option = "" if db is None else f" --db {db}"
        console.print(
            next_steps(
                f"{url} as run {summary.run_id}",
                f"sessiond runs show {summary.run_id}{option}",
                f"sessiond flow ACB --date {trading_day.isoformat()}{option}",
                f"sessiond report {summary.run_id}{option}",
            ),
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
