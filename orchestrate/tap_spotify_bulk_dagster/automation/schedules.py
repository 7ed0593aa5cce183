"""The schedules: every morning the days of the re-read window (restated days reach the
warehouse) and the days not loaded yet, one run per day; the Ads reports once a day."""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
from typing import Any

import dagster as dg

from tap_spotify_bulk_dagster.automation.days import daily_days
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap

BULK_CRON = "0 7 * * *"  # UTC: Spotify publishes a day 1-3 days late, in its morning
ADS_CRON = "30 6 * * *"


def build_schedules(bulk_job: Any, ads_job: Any,
                    partitions: dg.PartitionsDefinition) -> list[dg.ScheduleDefinition]:
    """The daily schedules of the Bulk job (over `partitions`) and of the Ads job."""

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

    ads_daily = dg.ScheduleDefinition(job=ads_job, cron_schedule=ADS_CRON,
                                      execution_timezone="UTC", name="spotify_ads_daily")
    return [bulk_daily, ads_daily]
