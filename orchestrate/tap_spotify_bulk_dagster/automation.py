"""Jobs, schedules and the sensor: the newest days after Spotify publishes, days that were
not published yet tried again every hour, the Ads reports once a day."""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg

from tap_spotify_bulk_dagster.resources import SpotifyTap
from tap_spotify_bulk_dagster.streams import BULK_STREAMS

BULK_CRON = "0 7 * * *"  # UTC: Spotify publishes a day 1-3 days late, in its morning
ADS_CRON = "30 6 * * *"
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
             dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def missing_recent_days(instance: dg.DagsterInstance, partitions: dg.PartitionsDefinition,
                        tap: SpotifyTap) -> list[str]:
    """Days of the publication window (the last `publish_lag_days` days up to yesterday)
    that some Bulk stream has not materialized yet and no queued or running run covers."""
    today = tap.current_day()
    window = {(today - dt.timedelta(days=n)).isoformat()
              for n in range(1, tap.publish_lag_days + 1)}
    days = sorted(window & set(partitions.get_partition_keys(
        current_time=dt.datetime.combine(today, dt.time(), dt.UTC),
        dynamic_partitions_store=instance)))
    done: set[str] | None = None
    for stream in BULK_STREAMS:
        keys = instance.get_materialized_partitions(dg.AssetKey(["spotify", stream]))
        done = keys if done is None else done & keys
    return [day for day in days if day not in (done or set()) and not _in_flight(instance, day)]


def _in_flight(instance: dg.DagsterInstance, day: str) -> bool:
    runs = instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT,
                                                  tags={"dagster/partition": day}), limit=1)
    return bool(runs)


def automation(bulk_job: Any, ads_job: Any,
               partitions: dg.PartitionsDefinition) -> tuple[list, list]:
    """(schedules, sensors) for the Bulk and Ads jobs."""

    @dg.schedule(job=bulk_job, cron_schedule=BULK_CRON, execution_timezone="UTC",
                 name="spotify_bulk_daily")
    def bulk_daily(context: dg.ScheduleEvaluationContext,
                   tap: SpotifyTap) -> Iterator[dg.RunRequest]:
        for day in missing_recent_days(context.instance, partitions, tap):
            yield dg.RunRequest(partition_key=day, run_key=f"daily:{day}")

    @dg.sensor(job=bulk_job, minimum_interval_seconds=3600, name="spotify_bulk_unpublished",
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Asks again, hourly, for recent days that were not published yet "
                           "(404) when their run came.")
    def unpublished(context: dg.SensorEvaluationContext,
                    tap: SpotifyTap) -> dg.SensorResult:
        hour = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H")
        days = missing_recent_days(context.instance, partitions, tap)
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=day, run_key=f"retry:{day}@{hour}")
                          for day in days],
            skip_reason=None if days else "every day of the publication window is loaded")

    ads_daily = dg.ScheduleDefinition(job=ads_job, cron_schedule=ADS_CRON,
                                      execution_timezone="UTC", name="spotify_ads_daily")
    return [bulk_daily, ads_daily], [unpublished]
