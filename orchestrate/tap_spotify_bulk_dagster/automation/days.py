"""The days the schedule and the sensor ask for: the re-read and publication windows, the
days some Bulk report misses, and the days a queued or running run covers.

No day is requested while a queued or running run covers it (its `dagster/partition` tag, or
the partition range of a backfill's run), so no two runs load the same day at once.
"""

import datetime as dt
from collections.abc import Sequence

import dagster as dg

from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
from tap_spotify_bulk_dagster.streams import BULK_STREAMS

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
