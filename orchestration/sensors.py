"""Sensors: a run-failure sensor that names the exchange, trading day and cause of a failed load.

A history run fails when a data source keeps failing after the ``gap_filler`` retries, or when
a blocking check (gaps, OHLC consistency) stops the indicators. The sensor turns that into one
log line (``us_equity_history_job 2024-07-05 failed: data source 'alpaca' failed ...``) in the
daemon's sensor log, the place to hook an alert (Slack, e-mail) in a deployment.
"""

from collections.abc import Sequence

from dagster import (
    RunFailureSensorContext,
    SensorDefinition,
    run_failure_sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def failure_summary(job_name: str, partition: str | None, messages: Sequence[str]) -> str:
    """One line: job, partition and the first failure message."""
    cause = messages[0] if messages else "no step failure recorded"
    return f"{job_name} {partition or '(unpartitioned)'} failed: {cause}"


def build_history_failure_sensor(jobs: Sequence[UnresolvedAssetJobDefinition]) -> SensorDefinition:
    """``history_run_failure_sensor`` watching the exchange history jobs."""

    @run_failure_sensor(
        name="history_run_failure_sensor",
        monitored_jobs=list(jobs),
        description="Logs the exchange, trading day and cause of each failed history run.",
    )
    def history_run_failure_sensor(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        messages = [
            event.event_specific_data.error.message.strip()  # type: ignore[union-attr]
            for event in context.get_step_failure_events()
            if getattr(event.event_specific_data, "error", None) is not None
        ]
        context.log.error(
            failure_summary(run.job_name, run.tags.get("dagster/partition"), messages)
        )

    return history_run_failure_sensor
