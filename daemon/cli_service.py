"""``sessiond daemon`` and ``sessiond status``: the daemon as a service (``daemon.service``).

Registered on the ``sessiond`` Typer app by :func:`register` (called from ``daemon.cli``);
kept apart from ``daemon/cli.py`` so each command group stays a readable size. Like every
command, user errors are one line and exit 1.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import typer

from core.errors import SessiondError

_DB_HELP = "Store URL (default: SESSIOND_DB_URL, else sqlite:///var/sessiond.db)."


def register(app: typer.Typer) -> None:
    """Add ``daemon`` and ``status`` to ``app``."""
    app.command("daemon")(daemon_command)
    app.command("status")(status_command)


def daemon_command(
    config_paths: list[str] = typer.Argument(
        ..., metavar="CONFIG...", help="Session config JSON files, one session each."
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    api_host: str = typer.Option(
        "127.0.0.1",
        "--api-host",
        help="Address of the live API (beyond loopback needs SESSIOND_API_TOKEN).",
    ),
    api_port: int = typer.Option(
        8765, "--api-port", min=0, max=65535, help="Port of the live API (0 = any free port)."
    ),
    clock_start: str | None = typer.Option(
        None,
        "--clock-start",
        help="Start the live clocks at this ISO 8601 instant (naive = UTC) and run in real time from there (drills, tests).",
    ),
    log_format: str = typer.Option(
        "text", "--log-format", help="Log lines on stderr: text, or json (one object per line)."
    ),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING, ERROR."),
    lease_ttl: float = typer.Option(
        30.0,
        "--lease-ttl",
        min=1.0,
        help="Seconds without a heartbeat after which another daemon may take a session over.",
    ),
    heartbeat: float = typer.Option(
        5.0, "--heartbeat", min=0.1, help="Seconds between two lease heartbeats."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print the final summary as JSON (one line)."
    ),
) -> None:
    """Run several session configs in one process, with one API for all of them.

    Each config is one session with its own task, lease and routes
    (/api/sessions/NAME/...); a session that fails does not stop the others. A second daemon
    on a config and store this one runs refuses to start. SIGTERM or Ctrl-C ends every
    session's day cleanly (stored), closes the streams and releases the leases.
    /healthz, /readyz and /metrics serve operations (docs/operations.md).
    """
    from core.store import Store
    from daemon.api import ApiSettings
    from daemon.cli import _load_run_config, _parse_bound, err_console, fail
    from daemon.logs import LOG_FORMATS, configure_logging
    from daemon.service import SessionDaemon, SessionSpec, run_daemon

    if log_format not in LOG_FORMATS:
        fail(f"--log-format {log_format!r} is not supported (expected text or json)")
    level = log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        fail(f"--log-level {log_level!r} is not a level (expected DEBUG, INFO, WARNING or ERROR)")
    clock_at = (
        None if clock_start is None else _parse_bound(clock_start, "--clock-start", end=False)
    )
    specs = []
    host = None
    for path in config_paths:
        config, host = _load_run_config(path)
        specs.append(SessionSpec(config, path))
    handler = configure_logging(log_format, level)
    try:
        store = Store.from_url(db)
        try:
            store.upgrade()
            daemon = SessionDaemon(
                specs,
                store=store,
                host=host,
                api=ApiSettings().options(api_host, api_port),
                clock_start=clock_at,
                lease_ttl_seconds=lease_ttl,
                heartbeat_seconds=heartbeat,
            )

            def announce(running: SessionDaemon) -> None:
                err_console.print(
                    f"sessiond daemon: live API on {running.api_url} serving "
                    f"{', '.join(running.sessions)}",
                    highlight=False,
                    soft_wrap=True,
                )

            code = run_daemon(daemon, on_started=announce)
        finally:
            store.dispose()
    except SessiondError as error:
        fail(str(error))
    finally:
        logging.getLogger().removeHandler(handler)
    summary = [
        {
            "session_name": s.name,
            "status": s.status,
            "run_id": s.run_id,
            "events": s.events,
            "error": s.error,
        }
        for s in daemon.sessions.values()
    ]
    if json_output:
        sys.stdout.write(json.dumps({"sessions": summary, "exit_code": code}) + "\n")
    else:
        for row in summary:
            note = f" ({row['error']})" if row["error"] else ""
            typer.echo(
                f"{row['session_name']}: {row['status']}, run {row['run_id']}, "
                f"{row['events']:,} events{note}"
            )
    if code:
        raise typer.Exit(code=code)


def status_command(
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    probe: bool = typer.Option(
        True, "--probe/--no-probe", help="Ask each daemon's /readyz whether it is ready."
    ),
) -> None:
    """Show what running daemons hold in the store: sessions, holders, heartbeats, API, runs."""
    from rich.table import Table

    from core.leases import read_leases
    from core.store import Store
    from daemon.cli import console, fail

    try:
        with Store.from_url(db) as store:
            now, leases = read_leases(store)
            runs = {r.id: r for r in store.read_session_runs(limit=200)}
            url = store.url
    except SessiondError as error:
        fail(str(error))
    rows: list[dict[str, Any]] = []
    readiness: dict[str, str] = {}
    for lease in leases:
        run = runs.get(lease.run_id) if lease.run_id is not None else None
        api = lease.api_url or ""
        if probe and api and api not in readiness and not lease.is_expired(now):
            readiness[api] = _probe(api)
        rows.append(
            {
                "session_name": lease.session_name,
                "lease": "expired" if lease.is_expired(now) else "held",
                "pid": lease.pid,
                "hostname": lease.hostname,
                "config_path": lease.config_path,
                "heartbeat_age_seconds": round((now - lease.heartbeat_at).total_seconds(), 1),
                "acquired_at": lease.acquired_at.isoformat(),
                "run_id": lease.run_id,
                "run_status": run.status if run is not None else None,
                "api_url": lease.api_url,
                "ready": readiness.get(api),
            }
        )
    if json_output:
        typer.echo(json.dumps({"store": url, "sessions": rows}, indent=1))
        return
    if not rows:
        console.print(f"no daemon holds a session in {url}", highlight=False)
        return
    table = Table(title=f"sessions held in {url}", title_justify="left")
    for column in ("session", "lease", "daemon", "heartbeat", "run", "api", "ready"):
        table.add_column(column, no_wrap=column != "api")
    for row in rows:
        table.add_row(
            row["session_name"],
            row["lease"],
            f"pid {row['pid']} on {row['hostname']}",
            f"{row['heartbeat_age_seconds']:.0f} s ago",
            f"{row['run_id']} {row['run_status'] or ''}".strip() if row["run_id"] else "-",
            row["api_url"] or "-",
            row["ready"] or "-",
        )
    console.print(table)


def _probe(api_url: str) -> str:
    """``ready``, ``not ready`` or ``unreachable`` from ``GET {api_url}readyz``."""
    import httpx

    try:
        reply = httpx.get(api_url.rstrip("/") + "/readyz", timeout=1.0, trust_env=False)
    except httpx.HTTPError:
        return "unreachable"
    if reply.status_code == 200:
        return "ready"
    return "not ready" if reply.status_code == 503 else f"HTTP {reply.status_code}"


__all__ = ["daemon_command", "register", "status_command"]
