"""The sensor: every hour the reports of recent days that were not published yet when their
run came, each day's missing reports alone, then the dbt models."""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
import datetime as dt
from collections.abc import Sequence
from typing import Any

import dagster as dg

from tap_spotify_bulk_dagster.automation.days import busy_days, missing_reports, recent_window
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
from tap_spotify_bulk_dagster.streams import BULK_STREAMS


def build_sensors(bulk_job: Any, partitions: dg.PartitionsDefinition,
                  model_keys: Sequence[dg.AssetKey] = ()) -> list[dg.SensorDefinition]:
    """The sensor of the Bulk job over `partitions`; `model_keys` are the dbt models the Bulk
    job builds after the reports it loads."""

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

    return [unpublished]


def report_selection(streams: Sequence[str],
                     model_keys: Sequence[dg.AssetKey]) -> list[dg.AssetKey] | None:
    """The assets of a run that loads `streams` of a day: those streams and the dbt models;
    None (the whole job) when every stream is missing."""
    if len(streams) == len(BULK_STREAMS):
        return None
    return [*(dg.AssetKey(["spotify", s]) for s in streams), *model_keys]
