"""Jobs, schedules and the sensor: every morning the days of the re-read window (restated
days reach the warehouse) and the days not loaded yet; every hour the reports that were not
published yet when their run came; the Ads reports once a day.

No day is requested while a queued or running run covers it (its `dagster/partition` tag, or
the partition range of a backfill's run), so no two runs load the same day at once.
"""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
import datetime as dt
from collections.abc import Sequence
from typing import Any

import dagster as dg

from tap_spotify_bulk_dagster.resources import SpotifyTap
from tap_spotify_bulk_dagster.streams import BULK_STREAMS

BULK_CRON = "0 7 * * *"  # UTC: Spotify publishes a day 1-3 days late, in its morning
ADS_CRON = "30 6 * * *"
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
             dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
PARTITION_TAG = "dagster/partition"
RANGE_START, RANGE_END = ("dagster/asset_partition_range_start",
                          "dagster/asset_partition_range_end")


def partition_days(instance: dg.DagsterInstance, partitions: dg.PartitionsDefinition,
                   tap: SpotifyTap, days: Sequence[str]) -> list[str]:
    """`days` that are partitions (not before the first one, not after the last)."""
    now = dt.datetime.combine(tap.current_day(), dt.time(), dt.UTC)
    keys = set(partitions.get_partition_keys(current_time=now, dynamic_partitions_store=instance))
    return sorted(set(days) & keys)


def busy_days(instance: dg.DagsterInstance) -> set[str]:
    """Days a queued or running run covers: its partition, or its partition range."""
    days: set[str] = set()
    for record in instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT)):
        tags = record.dagster_run.tags
        if tags.get(PARTITION_TAG):
            days.add(tags[PARTITION_TAG])
        if tags.get(RANGE_START) and tags.get(RANGE_END):
            day, last = dt.date.fromisoformat(tags[RANGE_START]), dt.date.fromisoformat(
                tags[RANGE_END])
            while day <= last:
                days.add(day.isoformat())
                day += dt.timedelta(days=1)
    return days


def missing_reports(instance: dg.DagsterInstance, days: Sequence[str]) -> dict[str, list[str]]:
    """{day: the Bulk streams not materialized for it} for `days` that miss some."""
    done = {stream: instance.get_materialized_partitions(dg.AssetKey(["spotify", stream]))
            for stream in BULK_STREAMS}
    missing = {day: [s for s in BULK_STREAMS if day not in done[s]] for day in days}
    return {day: streams for day, streams in missing.items() if streams}


def recent_window(instance: dg.DagsterInstance, partitions: dg.PartitionsDefinition,
                  tap: SpotifyTap) -> list[str]:
    """The days the automation looks at: the re-read and the publication windows."""
    return partition_days(instance, partitions, tap,
                          [*tap.reread_window(), *tap.publication_window()])


def missing_recent_days(instance: dg.DagsterInstance, partitions: dg.PartitionsDefinition,
                        tap: SpotifyTap) -> list[str]:
    """Days of the recent window that some Bulk stream has not materialized yet and no queued
    or running run covers."""
    busy = busy_days(instance)
    days = recent_window(instance, partitions, tap)
    return [day for day in missing_reports(instance, days) if day not in busy]


def daily_days(instance: dg.DagsterInstance, partitions: dg.PartitionsDefinition,
               tap: SpotifyTap) -> tuple[list[str], list[str]]:
    """(days the daily tick requests, days it leaves to the runs that cover them): the whole
    re-read window and the missing days of the publication window."""
    wanted = set(partition_days(instance, partitions, tap, tap.reread_window()))
    wanted |= set(missing_reports(instance, recent_window(instance, partitions, tap)))
    busy = busy_days(instance)
    return sorted(wanted - busy), sorted(wanted & busy)


def automation(bulk_job: Any, ads_job: Any, partitions: dg.PartitionsDefinition,
               model_keys: Sequence[dg.AssetKey] = ()) -> tuple[list, list]:
    """(schedules, sensors) for the Bulk and Ads jobs; `model_keys` are the dbt models the
    Bulk job builds after the reports it loads."""

    @dg.schedule(job=bulk_job, cron_schedule=BULK_CRON, execution_timezone="UTC",
                 name="spotify_bulk_daily",
                 description="Loads the re-read window (yesterday and the `reread_days` "
                             "before it) and the days not loaded yet, one run per day, with "
                             "the dbt models after each.")
    def bulk_daily(context: dg.ScheduleEvaluationContext,
                   tap: SpotifyTap) -> list[dg.RunRequest] | dg.SkipReason:
        tick = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M")
        days, busy = daily_days(context.instance, partitions, tap)
        if busy:
            context.log.info(f"runs in progress already load {busy}")
        if not days:
            return dg.SkipReason(f"every day of the window is being loaded: {busy}" if busy
                                 else "no partition in the window")
        return [dg.RunRequest(partition_key=day, run_key=f"daily:{day}@{tick}")
                for day in days]

    @dg.sensor(job=bulk_job, minimum_interval_seconds=3600, name="spotify_bulk_unpublished",
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Asks again, hourly, for the reports of recent days that were not "
                           "published yet (404) when their run came, until they are or the "
                           "day leaves the window; then builds the dbt models.")
    def unpublished(context: dg.SensorEvaluationContext,
                    tap: SpotifyTap) -> dg.SensorResult:
        hour = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H")
        busy = busy_days(context.instance)
        missing = missing_reports(context.instance,
                                  recent_window(context.instance, partitions, tap))
        requests = [dg.RunRequest(partition_key=day, run_key=f"retry:{day}@{hour}",
                                  asset_selection=report_selection(streams, model_keys))
                    for day, streams in missing.items() if day not in busy]
        return dg.SensorResult(
            run_requests=requests,
            skip_reason=None if requests else "every report of the window is loaded"
            if not missing else f"runs in progress already load {sorted(missing)}")

    ads_daily = dg.ScheduleDefinition(job=ads_job, cron_schedule=ADS_CRON,
                                      execution_timezone="UTC", name="spotify_ads_daily")
    return [bulk_daily, ads_daily], [unpublished]


def report_selection(streams: Sequence[str],
                     model_keys: Sequence[dg.AssetKey]) -> list[dg.AssetKey] | None:
    """The assets of a run that loads `streams` of a day: those streams and the dbt models;
    None (the whole job) when every stream is missing."""
    if len(streams) == len(BULK_STREAMS):
        return None
    return [*(dg.AssetKey(["spotify", s]) for s in streams), *model_keys]
