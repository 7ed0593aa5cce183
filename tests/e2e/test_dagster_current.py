"""The Dagster path keeps `current_*` current by itself, against the sandbox and a real
PostgreSQL: a backfill builds the dbt models; a day restated inside the re-read window is
requested by the next daily tick, and the runs it asked for leave every `current_*` table
equal to the new truth with every dbt test (asset check) passing; a report published a day
after the others is completed by the retry sensor, exactly. No dbt runs outside Dagster."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import typing as t

import pytest

dg = pytest.importorskip("dagster", reason="the orchestrate extra is not installed")

import psycopg  # noqa: E402
from helpers.dagster import Location, materialized_days, target_postgres  # noqa: E402
from helpers.dbt import current_rows_postgres  # noqa: E402
from helpers.meltano import (  # noqa: E402
    BULK_KEYS,
    REPO,
    compare_bulk,
    pg_connect_kwargs,
    postgres_rows,
)
from tap_spotify_bulk_dagster.assets.dbt import DBT_GROUP, dbt_project  # noqa: E402
from tap_spotify_bulk_dagster.automation.days import RANGE_END, RANGE_START, busy_days  # noqa: E402
from tap_spotify_bulk_dagster.loading.day_slice import day_tap_command  # noqa: E402
from tap_spotify_bulk_dagster.loading.tap_log import TapLog  # noqa: E402
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap  # noqa: E402
from tap_spotify_bulk_dagster.streams import BULK_STREAMS  # noqa: E402

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

START = dt.date(2024, 3, 1)
COUNTRIES = ("SE", "NO", "DE")


def days_from(first: dt.date, count: int) -> list[str]:
    return [(first + dt.timedelta(days=n)).isoformat() for n in range(count)]


def model_keys(where: Location) -> set[dg.AssetKey]:
    """The dbt models the Bulk job builds (every model of the project)."""
    graph = where.defs.resolve_asset_graph()
    return {key for key in where.job.asset_layer.selected_asset_keys
            if graph.get(key).group_name == DBT_GROUP}


def check_models_built(where: Location, result: dg.ExecuteInProcessResult) -> None:
    """The run built every dbt model and every dbt test passed as an asset check."""
    assert result.success
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert model_keys(where) <= built
    checks = result.get_asset_check_evaluations()
    assert len(checks) >= 20
    assert [c.check_key for c in checks if not c.passed] == []
    assert {c.asset_key for c in checks} >= {k for k in model_keys(where)
                                            if k.path[-1].startswith("mart_")} - {
        dg.AssetKey(["spotify", "mart_ads_campaign_daily"])}


def current_problems(where: Location, truth: dict[str, t.Any]) -> dict[str, t.Any]:
    with psycopg.connect(**pg_connect_kwargs(where.postgres)) as conn:
        return compare_bulk(truth, lambda s: current_rows_postgres(conn, where.schema, s))


def test_restated_day_is_reread_by_the_next_tick_and_current_models_follow(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    days = days_from(START, 4)
    end = dt.date.fromisoformat(days[-1])
    today = end + dt.timedelta(days=1)
    restated = days[2]  # inside the re-read window of the next tick: yesterday and the day before
    sb = sandbox_factory(seed=61, start=START, end=end, scale=200, countries=COUNTRIES,
                         empty_day_rate=0.0)
    where = Location(sb, postgres, pg_schema, target_postgres(meltano_project), tmp_path,
                     today=today.isoformat(), reread_days=1)
    schedule = where.defs.resolve_schedule_def("spotify_bulk_daily")

    with dg.instance_for_test() as instance:
        backfill = where.run_range(instance, days[0], days[-1], models=True)
        check_models_built(where, backfill)
        assert current_problems(where, sb.bulk_truth()) == {}

        assert sb.restate(restated) == 1
        new_truth = sb.bulk_truth()
        context = dg.build_schedule_context(
            instance=instance, resources={"tap": where.tap},
            repository_def=where.defs.get_repository_def(),
            scheduled_execution_time=dt.datetime.combine(today, dt.time(7), dt.UTC))
        requests = schedule.evaluate_tick(context).run_requests or []
        assert [r.partition_key for r in requests] == days[2:]  # the re-read window

        for request in requests:
            check_models_built(where, where.job.execute_in_process(
                instance=instance, partition_key=request.partition_key, tags=request.tags,
                asset_selection=request.asset_selection, raise_on_error=False))
        assert current_problems(where, new_truth) == {}
        with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
            # The raw tables keep the restated day's stale rows: current_* is what is exact.
            stale = compare_bulk(new_truth, lambda s: postgres_rows(conn, pg_schema, s))
        assert set(stale) == set(BULK_KEYS)


def test_report_published_late_is_completed_by_the_sensor(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    days = days_from(START, 3)
    end = dt.date.fromisoformat(days[-1])
    today = end + dt.timedelta(days=1)
    # The `users` report of the newest day answers 404 while the other reports are served.
    sb = sandbox_factory(seed=62, start=START, end=end, scale=200, countries=COUNTRIES,
                         empty_day_rate=0.0, today=today, unpublished_reports={"users": 2})
    where = Location(sb, postgres, pg_schema, target_postgres(meltano_project), tmp_path,
                     today=today.isoformat(), publish_lag_days=3, reread_days=1)
    sensor = where.defs.resolve_sensor_def("spotify_bulk_unpublished")

    def ask() -> list[dg.RunRequest]:
        context = dg.build_sensor_context(instance=instance, resources={"tap": where.tap})
        return list(sensor(context).run_requests or [])

    with dg.instance_for_test() as instance:
        first = where.run_range(instance, days[0], days[-1], models=True)
        assert first.success
        landed = materialized_days(instance)
        assert landed == {s: set(days) if s != "users" else set(days[:2]) for s in BULK_STREAMS}
        manifest = instance.get_latest_materialization_event(dg.AssetKey(["spotify", "bulk_loads"]))
        assert manifest is not None and manifest.run_id == first.run_id
        assert manifest.asset_materialization.metadata["days"].value == days
        observed = [e.event_specific_data.asset_observation for e in first.all_events
                    if e.event_type_value == "ASSET_OBSERVATION"]
        assert [(o.asset_key.path[-1], o.partition, o.metadata["status"].value)
                for o in observed] == [("users", days[2], "not published yet")]
        # The models wait for a run whose reports are all there (the step had no output
        # for `users`); the sensor asks for that report alone, then the models.
        assert not model_keys(where) & {e.asset_key for e
                                        in first.get_asset_materialization_events()}
        requests = ask()
        assert [r.partition_key for r in requests] == [days[2]]
        assert set(requests[0].asset_selection) == {dg.AssetKey(["spotify", "users"]),
                                                    *model_keys(where)}

        sb.options.unpublished_reports = {}  # Spotify publishes the report
        retry = where.job.execute_in_process(
            instance=instance, partition_key=days[2], tags=requests[0].tags,
            asset_selection=requests[0].asset_selection, raise_on_error=False)
        check_models_built(where, retry)
        loaded = {e.asset_key.path[-1] for e in retry.get_asset_materialization_events()
                  if e.asset_key.path[-1] in BULK_STREAMS}
        assert loaded == {"users"}
        assert materialized_days(instance) == {s: set(days) for s in BULK_STREAMS}
        assert where.problems(days[0], days[-1]) == {}
        assert current_problems(where, sb.bulk_truth()) == {}
        assert ask() == []


def test_no_day_is_requested_while_a_run_covers_it(
    sandbox_factory: t.Callable[..., t.Any], postgres: dict[str, str], pg_schema: str,
    tmp_path: Path,
) -> None:
    days = days_from(START, 4)
    end = dt.date.fromisoformat(days[-1])
    today = end + dt.timedelta(days=1)
    sb = sandbox_factory(seed=63, start=START, end=end, scale=50, countries=COUNTRIES,
                         empty_day_rate=0.0)
    where = Location(sb, postgres, pg_schema, "target-postgres", tmp_path,
                     today=today.isoformat(), reread_days=3)
    schedule = where.defs.resolve_schedule_def("spotify_bulk_daily")
    sensor = where.defs.resolve_sensor_def("spotify_bulk_unpublished")
    with dg.instance_for_test() as instance:
        def requested() -> tuple[list[str], list[str]]:
            tick = dg.build_schedule_context(
                instance=instance, resources={"tap": where.tap},
                repository_def=where.defs.get_repository_def(),
                scheduled_execution_time=dt.datetime.combine(today, dt.time(7), dt.UTC))
            retry = dg.build_sensor_context(instance=instance, resources={"tap": where.tap})
            return ([r.partition_key for r in schedule.evaluate_tick(tick).run_requests or []],
                    [r.partition_key for r in sensor(retry).run_requests or []])

        assert requested() == (days, days)
        # A backfill's run over a range and a single day's run, both queued.
        backfill_run = instance.create_run_for_job(where.job, tags={RANGE_START: days[0],
                                                                     RANGE_END: days[1]})
        instance.create_run_for_job(where.job, tags={"dagster/partition": days[3]})
        assert busy_days(instance) == {days[0], days[1], days[3]}
        assert requested() == ([days[2]], [days[2]])
        instance.report_run_canceled(backfill_run)
        assert requested() == (days[:3], days[:3])


def test_every_asset_is_in_a_project_group_with_a_description(
    sandbox_factory: t.Callable[..., t.Any], postgres: dict[str, str], pg_schema: str,
    tmp_path: Path,
) -> None:
    """The lineage a user sees has no stray asset: every key the code location knows (the
    dbt sources included) belongs to one of its groups and says what it is."""
    sb = sandbox_factory(seed=65, start=START, end=START, scale=10, countries=COUNTRIES)
    where = Location(sb, postgres, pg_schema, "target-postgres", tmp_path)
    graph = where.defs.resolve_asset_graph()
    groups = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert set(groups.values()) == {"spotify_bulk", "spotify_ads", DBT_GROUP}, groups
    assert [k for k in groups if not graph.get(k).description] == []
    assert graph.get(dg.AssetKey(["spotify", "bulk_loads"])).parent_keys == {
        dg.AssetKey(["spotify", "bulk_tables"])}


def test_tap_log_names_the_streams_of_a_report_that_is_not_published(
    sandbox_factory: t.Callable[..., t.Any], tmp_path: Path,
) -> None:
    """The tap's log, as a day's slice writes it, names every stream of a 404 report: the
    four aggregated streams share one report."""
    day = START.isoformat()
    sb = sandbox_factory(seed=64, start=START, end=START, scale=50, countries=COUNTRIES,
                         empty_day_rate=0.0, unpublished_reports={"aggregatedstreams": 2})
    tap = SpotifyTap(config_json=json.dumps(sb.tap_config()),
                     today=(START + dt.timedelta(days=1)).isoformat())
    command = day_tap_command(tap, day, list(BULK_STREAMS), tmp_path)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    log = TapLog.parse(done.stderr)
    assert log.missing == {s: {day} for s in BULK_STREAMS if s.startswith("aggregated_")}
    assert all(log.records[s] > 0 for s in ("streams", "users", "tracks"))


def test_dbt_manifest_is_made_at_load_when_missing_or_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The code location needs no preparation step: loading it parses the dbt project when
    the manifest is missing, and again when a file of the project is newer."""
    project = tmp_path / "transform"
    shutil.copytree(REPO / "transform", project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setenv("SPOTIFY_DBT_PROJECT_DIR", str(project))
    manifest = dbt_project().manifest_path
    assert manifest.is_relative_to(project) and manifest.exists()
    made = manifest.stat().st_mtime
    assert dbt_project().manifest_path.stat().st_mtime == made  # current: found, not made

    model = project / "models" / "current" / "current_users.sql"
    os.utime(model, (made + 10, made + 10))
    assert dbt_project().manifest_path.stat().st_mtime > made
