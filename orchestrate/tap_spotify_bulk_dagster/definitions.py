"""The code location: `dagster dev -m tap_spotify_bulk_dagster.definitions`.

Configured from the environment (see docs/scale-out.md):

* `SPOTIFY_TAP_CONFIG`: path of the tap's JSON config (credentials, licensor, URLs, Ads
  reports); dates in it are ignored, each partition is one day.
* `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`: the warehouse;
  `SPOTIFY_SCHEMA` (default `spotify`); `SPOTIFY_LOADER` (how Bulk days land: `copy`, the
  default, PostgreSQL's COPY in one transaction per day; or `target-postgres`);
  `TARGET_POSTGRES_EXECUTABLE` (default
  `target-postgres`: on PATH or installed by `meltano install`), `SPOTIFY_BATCH_SIZE_ROWS`
  (the target's batch size; default its own).
* `SPOTIFY_START_DATE` (first partition, default 2024-01-01), `SPOTIFY_END_DATE` (last
  partition, default yesterday), `SPOTIFY_TODAY` (pretend date, for sandboxes).
* `SPOTIFY_MAX_PARALLEL` (days at once in one run, default 4), `SPOTIFY_PARTITIONS_PER_RUN`
  (days per backfill run, default 4), `SPOTIFY_PUBLISH_LAG_DAYS` (default 3),
  `SPOTIFY_REREAD_DAYS` (days before yesterday that every daily tick loads again, default 3
  as the tap's `lookback_days`).
* `SPOTIFY_DBT_PROJECT_DIR`: the dbt project (default: `transform/` of the checkout this
  code location comes from). Its manifest is made when it loads if missing or stale; dbt
  reaches the warehouse with the `PG*` and `SPOTIFY_SCHEMA` values above.
"""

from __future__ import annotations

import os

import dagster as dg

from tap_spotify_bulk_dagster.location import build_definitions, daily_partitions
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def definitions_from_env() -> dg.Definitions:
    tap = SpotifyTap(
        config_file=_env("SPOTIFY_TAP_CONFIG", "tap-config.json"),
        max_parallel=int(_env("SPOTIFY_MAX_PARALLEL", "4")),
        publish_lag_days=int(_env("SPOTIFY_PUBLISH_LAG_DAYS", "3")),
        reread_days=int(_env("SPOTIFY_REREAD_DAYS", "3")),
        today=_env("SPOTIFY_TODAY", ""))
    warehouse = PostgresWarehouse(
        host=_env("PGHOST", "localhost"), port=int(_env("PGPORT", "5432")),
        user=_env("PGUSER", "postgres"), password=dg.EnvVar("PGPASSWORD"),
        database=_env("PGDATABASE", "postgres"), schema_name=_env("SPOTIFY_SCHEMA", "spotify"),
        target_executable=_env("TARGET_POSTGRES_EXECUTABLE", "target-postgres"),
        bulk_loader=_env("SPOTIFY_LOADER", "copy"),
        batch_size_rows=int(_env("SPOTIFY_BATCH_SIZE_ROWS", "0")))
    partitions = daily_partitions(_env("SPOTIFY_START_DATE", "2024-01-01"),
                                  os.environ.get("SPOTIFY_END_DATE"))
    return build_definitions(partitions, tap, warehouse,
                             partitions_per_run=int(_env("SPOTIFY_PARTITIONS_PER_RUN", "4")))


defs = definitions_from_env()
