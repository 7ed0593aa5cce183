"""What the Dagster end-to-end tests share: the code location built for one sandbox, one
PostgreSQL schema and the Meltano-installed target-postgres; runs of partitions; what
landed compared with the sandbox's truth."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import typing as t
from pathlib import Path

import dagster as dg
import psutil
import psycopg
from tap_spotify_bulk_dagster.location import build_definitions, daily_partitions
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse
from tap_spotify_bulk_dagster.streams import BULK_STREAMS, BULK_TABLES

from helpers.meltano import compare_bulk, pg_connect_kwargs, postgres_rows

if t.TYPE_CHECKING:
    from helpers.meltano import MeltanoProject

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def target_postgres(project: MeltanoProject) -> str:
    """The target-postgres that `meltano install` put into the project's plugin venv."""
    path = project.sys_dir / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"
    assert path.exists(), path
    return str(path)


class Location:
    """The code location wired to a sandbox and a PostgreSQL schema."""

    def __init__(self, sandbox: t.Any, postgres: dict[str, str], schema: str,
                 target: str, workdir: Path, *, ads_report_list: list | None = None,
                 ads_timeframe_months: str = "SIX", loader: str = "copy",
                 **tap_options: t.Any) -> None:
        self.sandbox, self.postgres, self.schema = sandbox, postgres, schema
        self.target, self.workdir, self.loader = target, workdir, loader
        self.config_path = workdir / "tap-config.json"
        ads = {"ads_report_list": ads_report_list,
               "ads_timeframe_months": ads_timeframe_months} if ads_report_list else {}
        self.config_path.write_text(json.dumps(sandbox.tap_config(max_workers=4, **ads)))
        kwargs = pg_connect_kwargs(postgres)
        self.tap = SpotifyTap(config_file=str(self.config_path), **tap_options)
        self.warehouse = PostgresWarehouse(
            host=kwargs["host"], port=int(kwargs["port"]), user=kwargs["user"],
            password=kwargs["password"], database=kwargs["dbname"], schema_name=schema,
            target_executable=target, bulk_loader=loader)
        options = sandbox.options
        self.partitions = daily_partitions(options.start.isoformat(), options.end.isoformat())
        self.defs = build_definitions(self.partitions, self.tap, self.warehouse)
        self.job = self.defs.resolve_job_def("spotify_bulk_job")

    def selection(self, models: bool) -> list[dg.AssetKey] | None:
        """The whole Bulk job (the reports, then the dbt models), or the reports alone."""
        return None if models else [dg.AssetKey(["spotify", s]) for s in BULK_STREAMS]

    def run_range(self, instance: dg.DagsterInstance, first: str, last: str, *,
                  models: bool = False) -> dg.ExecuteInProcessResult:
        """One run over [first, last], as a backfill with `BackfillPolicy.multi_run` asks;
        the dbt models after the reports with `models`."""
        return self.job.execute_in_process(instance=instance, raise_on_error=False,
                                           tags={RANGE_START: first, RANGE_END: last},
                                           asset_selection=self.selection(models))

    def run_partition(self, instance: dg.DagsterInstance, day: str, *,
                      models: bool = False) -> dg.ExecuteInProcessResult:
        return self.job.execute_in_process(instance=instance, partition_key=day,
                                           raise_on_error=False,
                                           asset_selection=self.selection(models))

    def start_partition_process(self, day: str, **env: str) -> subprocess.Popen[bytes]:
        """`dagster asset materialize` of the Bulk reports of `day` in processes of its own,
        as on a worker, configured through the environment as a deployment is (`env` adds
        to it); the loader is the location's, `copy` by leaving SPOTIFY_LOADER unset."""
        day_env = {**os.environ, **self.postgres, "DAGSTER_HOME": str(self.workdir),
                   "SPOTIFY_TAP_CONFIG": str(self.config_path), "SPOTIFY_SCHEMA": self.schema,
                   "SPOTIFY_START_DATE": day, "SPOTIFY_END_DATE": day,
                   "SPOTIFY_TODAY": self.tap.today, "TARGET_POSTGRES_EXECUTABLE": self.target,
                   "SPOTIFY_LOADER": self.loader, **env}
        if self.loader == "copy":
            day_env.pop("SPOTIFY_LOADER")  # the default: the COPY lane
        (self.workdir / "dagster.yaml").write_text("")
        dagster = str(Path(sys.executable).with_name("dagster"))
        return subprocess.Popen(
            [dagster, "asset", "materialize", "-m", "tap_spotify_bulk_dagster.definitions",
             "--select", ",".join(f"spotify/{s}" for s in BULK_STREAMS), "--partition", day],
            env=day_env, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def problems(self, first: str, last: str) -> dict[str, t.Any]:
        """compare_bulk of the schema against the sandbox's truth for [first, last]."""
        truth = self.sandbox.bulk_truth(first, last)
        assert all(summary["count"] > 0 for summary in truth.values())
        with psycopg.connect(**pg_connect_kwargs(self.postgres)) as conn:
            return compare_bulk(truth, lambda stream: postgres_rows(conn, self.schema, stream))

    def row_counts(self) -> dict[str, int]:
        with psycopg.connect(**pg_connect_kwargs(self.postgres)) as conn:
            return {stream: conn.execute(
                f'SELECT count(*) FROM "{self.schema}"."{stream}"').fetchone()[0]
                for stream in BULK_TABLES}


def materialized_days(instance: dg.DagsterInstance) -> dict[str, set[str]]:
    return {stream: instance.get_materialized_partitions(dg.AssetKey(["spotify", stream]))
            for stream in BULK_STREAMS}


def recorded_counts(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Records per stream as the run's materialization metadata reports them."""
    counts = dict.fromkeys(BULK_STREAMS, 0)
    for event in result.get_asset_materialization_events():
        if event.asset_key.path[-1] not in counts:
            continue  # a dbt model
        by_day = event.materialization.metadata["records_by_day"].value
        counts[event.asset_key.path[-1]] += by_day[event.partition]
    return counts


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants, any of which may exit meanwhile."""
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
