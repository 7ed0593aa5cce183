"""Builds the code location's Definitions from its parts (partitions, tap, warehouse)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from dagster_dbt import DbtProject

from tap_spotify_bulk_dagster.assets.ads import ads_reports
from tap_spotify_bulk_dagster.assets.bulk import bulk_loads, bulk_reports, bulk_tables
from tap_spotify_bulk_dagster.assets.dbt import dbt_models, dbt_project, dbt_resource
from tap_spotify_bulk_dagster.automation.jobs import build_ads_job, build_bulk_job
from tap_spotify_bulk_dagster.automation.schedules import build_schedules
from tap_spotify_bulk_dagster.automation.sensors import build_sensors
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse


def daily_partitions(start: str, end: str | None = None) -> dg.DailyPartitionsDefinition:
    """Daily partitions from `start`; through `end` when given, else through yesterday."""
    if end:
        end_exclusive = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat()
        return dg.DailyPartitionsDefinition(start_date=start, end_date=end_exclusive)
    return dg.DailyPartitionsDefinition(start_date=start)


def build_definitions(partitions: dg.PartitionsDefinition, tap: SpotifyTap,
                      warehouse: PostgresWarehouse, partitions_per_run: int = 4,
                      max_concurrent_steps: int = 4, *,
                      project: DbtProject | None = None) -> dg.Definitions:
    """The assets (Bulk reports, Ads reports, the dbt models of `project`, default
    transform/), their jobs, schedules and sensor. The Bulk job builds the whole dbt project
    after its reports (a partial build would run tests that read marts it did not build);
    the Ads job the models downstream of the Ads reports (its mart)."""
    project = project or dbt_project()
    bulk = bulk_reports(partitions, partitions_per_run)
    models = dbt_models(project)
    bulk_job, ads_job = build_bulk_job(bulk, models), build_ads_job(ads_reports)
    return dg.Definitions(
        assets=[bulk_tables, bulk_loads, bulk, ads_reports, models], jobs=[bulk_job, ads_job],
        schedules=build_schedules(bulk_job, ads_job, partitions),
        sensors=build_sensors(bulk_job, partitions, sorted(models.keys)),
        resources={"tap": tap, "warehouse": warehouse, "dbt": dbt_resource(project)},
        executor=dg.multiprocess_executor.configured({"max_concurrent": max_concurrent_steps}))
