"""The Dagster code location when a day is not published yet and when a partition's
processes are killed mid-run: both end in the sandbox's truth."""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from pathlib import Path

import pytest

dg = pytest.importorskip("dagster", reason="the orchestrate extra is not installed")

import psutil  # noqa: E402
import psycopg  # noqa: E402
from helpers.dagster import Location, kill_tree, materialized_days, target_postgres  # noqa: E402
from helpers.meltano import pg_connect_kwargs  # noqa: E402
from tap_spotify_bulk_dagster.automation.days import missing_recent_days  # noqa: E402

if t.TYPE_CHECKING:
    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

START = dt.date(2024, 3, 1)
COUNTRIES = ("SE", "NO", "DE")


def test_unpublished_day_is_reported_and_loaded_by_a_later_attempt(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    end = START + dt.timedelta(days=2)
    today = end + dt.timedelta(days=1)
    # The newest day answers 404 until the sandbox publishes it.
    sb = sandbox_factory(seed=4, start=START, end=end, scale=200, countries=COUNTRIES,
                         empty_day_rate=0.0, today=today, unpublished_days=2)
    where = Location(sb, postgres, pg_schema, target_postgres(meltano_project), tmp_path,
                     today=today.isoformat(), publish_lag_days=3)
    days = [(START + dt.timedelta(days=n)).isoformat() for n in range(3)]
    sensor = where.defs.resolve_sensor_def("spotify_bulk_unpublished")

    with dg.instance_for_test() as instance:
        result = where.run_range(instance, days[0], days[2])
        assert result.success  # the unpublished day does not fail the run
        assert materialized_days(instance)["streams"] == {days[0], days[1]}
        observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
        assert {e.event_specific_data.asset_observation.partition for e in observed} == {days[2]}
        assert all(e.event_specific_data.asset_observation.metadata["status"].value
                   == "not published yet" for e in observed)
        assert missing_recent_days(instance, where.partitions, where.tap) == [days[2]]

        # The sensor asks for the day again; Spotify has published it meanwhile.
        context = dg.build_sensor_context(instance=instance, resources={"tap": where.tap})
        requests = sensor(context).run_requests
        assert [r.partition_key for r in requests] == [days[2]]
        sb.options.unpublished_days = 0
        retry = where.run_partition(instance, requests[0].partition_key)
        assert retry.success
        assert all(materialized == set(days) for materialized in
                   materialized_days(instance).values())
        assert where.problems(days[0], days[2]) == {}
        assert sensor(dg.build_sensor_context(instance=instance,
                                              resources={"tap": where.tap})).run_requests == []


def _rows_of_day(postgres: dict[str, str], schema: str, day: str) -> int:
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."streams"',)).fetchone()[0]
        if found is None:
            return 0
        return conn.execute(f'SELECT count(*) FROM "{schema}"."streams" '
                            "WHERE report_date = %s", (day,)).fetchone()[0]


def test_partition_killed_mid_run_then_retried_alone_lands_the_truth(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    day = START.isoformat()
    # Large enough and slow enough (50 ms per request) to be caught mid-run; small batches
    # so that part of the day is committed before the kill.
    sb = sandbox_factory(seed=8, start=START, end=START, scale=20000, countries=COUNTRIES,
                         empty_day_rate=0.0, latency_ms=50)
    target = target_postgres(meltano_project)
    # target-postgres commits batch by batch: part of the day lands before the kill (the COPY
    # lane commits a day at once: tests/e2e/test_dagster_copy_lane.py).
    where = Location(sb, postgres, pg_schema, target, tmp_path, loader="target-postgres",
                     today=(START + dt.timedelta(days=1)).isoformat())
    run = where.start_partition_process(day, SPOTIFY_BATCH_SIZE_ROWS="1000")
    try:
        deadline = time.monotonic() + 180
        while _rows_of_day(postgres, pg_schema, day) == 0:
            assert run.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no row landed within 180 s"
            time.sleep(0.1)
        tree = psutil.Process(run.pid).children(recursive=True)
        assert any("tap-spotify-bulk" in " ".join(p.cmdline()) for p in tree)
    finally:
        kill_tree(run.pid)  # the run's processes may be ending on their own meanwhile
        run.wait()
    partial = _rows_of_day(postgres, pg_schema, day)
    truth = sb.bulk_truth(day, day, streams=["streams"])["streams"]
    assert 0 < partial < truth["count"]  # killed mid-run, part of the day committed

    with dg.instance_for_test() as instance:
        assert where.run_partition(instance, day).success
    assert where.problems(day, day) == {}
