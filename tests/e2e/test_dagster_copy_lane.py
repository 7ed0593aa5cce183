"""The COPY lane of the Dagster Bulk partitions (the default loader) against the sandbox and
a real PostgreSQL: what lands equals the truth and, value for value, what target-postgres
lands; re-runs upsert; concurrent loads of the same and of different days; a load killed
mid-COPY leaves nothing of the day, never a manifest row ahead of its rows."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

dg = pytest.importorskip("dagster", reason="the orchestrate extra is not installed")

import psutil  # noqa: E402
import psycopg  # noqa: E402
from helpers.dagster import Location, kill_tree, materialized_days, target_postgres  # noqa: E402
from helpers.meltano import pg_connect_kwargs  # noqa: E402
from tap_spotify_bulk_dagster.loading import day_slice  # noqa: E402
from tap_spotify_bulk_dagster.loading.copy_load import APPLICATION_NAME  # noqa: E402
from tap_spotify_bulk_dagster.streams import BULK_STREAMS, BULK_TABLES  # noqa: E402

if t.TYPE_CHECKING:
    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

START = dt.date(2024, 3, 1)
COUNTRIES = ("SE", "NO", "DE")
# Differ between two reads of the same data: which read, and when it ran.
PER_READ = {"load_id", "started_at", "finished_at"}


def _folder(parent: Path, name: str) -> Path:
    (parent / name).mkdir()
    return parent / name


def _days(count: int) -> list[str]:
    return [(START + dt.timedelta(days=n)).isoformat() for n in range(count)]


def _table(conn: psycopg.Connection, schema: str, table: str) -> tuple[list, list]:
    """(columns as (name, type, nullable), rows without the per-read columns, sorted)."""
    columns = conn.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table)).fetchall()
    names = [c[0] for c in columns if c[0] not in PER_READ]
    select = ", ".join(f'"{n}"::text' for n in names)
    rows = conn.execute(f'SELECT {select} FROM "{schema}"."{table}"').fetchall()
    return columns, sorted(rows, key=lambda row: tuple(str(v) for v in row))


def _manifest_ahead_of_rows(conn: psycopg.Connection, schema: str) -> list[tuple]:
    """Newest reads in the manifest (per stream and day) whose records are not the rows of
    their day that carry their load_id."""
    problems = []
    for stream, day, load_id, records in conn.execute(
            f'SELECT DISTINCT ON (stream, report_date) stream, report_date, load_id, records '
            f'FROM "{schema}".bulk_loads ORDER BY stream, report_date, load_id DESC').fetchall():
        landed = conn.execute(f'SELECT count(*) FROM "{schema}"."{stream}" WHERE report_date = '
                              "%s AND load_id = %s", (day, load_id)).fetchone()[0]
        if landed != records:
            problems.append((stream, day, load_id, records, landed))
    return problems


def test_copy_lane_lands_the_truth_and_what_target_postgres_lands(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    sb = sandbox_factory(seed=31, start=START, end=START + dt.timedelta(days=2), scale=300,
                         countries=COUNTRIES, empty_day_rate=0.0)
    target = target_postgres(meltano_project)
    days = _days(3)
    today = (START + dt.timedelta(days=3)).isoformat()
    lane = Location(sb, postgres, pg_schema, target, _folder(tmp_path, "lane"), today=today,
                    max_parallel=3)
    singer = Location(sb, postgres, f"{pg_schema}_tp", target, _folder(tmp_path, "tp"), today=today,
                      loader="target-postgres")
    try:
        with dg.instance_for_test() as instance:
            assert lane.run_range(instance, days[0], days[2]).success  # 3 days at once
            assert materialized_days(instance) == {s: set(days) for s in BULK_STREAMS}
        assert lane.problems(days[0], days[2]) == {}
        with dg.instance_for_test() as instance:
            assert singer.run_range(instance, days[0], days[2]).success
        assert singer.problems(days[0], days[2]) == {}

        # Same tables, same types, same values: a schema can change loaders without migrating.
        with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
            for table in BULK_TABLES:
                assert _table(conn, lane.schema, table) == _table(conn, singer.schema, table), \
                    table
            assert _manifest_ahead_of_rows(conn, lane.schema) == []

        # A re-run upserts onto the keys (a newer read of each stream and day) and a day
        # loaded by target-postgres into the lane's schema changes no row either.
        before = lane.row_counts()
        with dg.instance_for_test() as instance:
            assert lane.run_partition(instance, days[1]).success
        tp_into_lane = Location(sb, postgres, pg_schema, target, _folder(tmp_path, "mix"),
                                today=today,
                                loader="target-postgres")
        with dg.instance_for_test() as instance:
            assert tp_into_lane.run_partition(instance, days[2]).success
        after = lane.row_counts()
        assert {s: after[s] for s in BULK_STREAMS} == {s: before[s] for s in BULK_STREAMS}
        assert after["bulk_loads"] == before["bulk_loads"] + 2 * len(BULK_STREAMS)
        assert lane.problems(days[0], days[2]) == {}
    finally:
        with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{singer.schema}" CASCADE')


def test_concurrent_loads_of_the_same_and_of_other_days(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    sb = sandbox_factory(seed=32, start=START, end=START + dt.timedelta(days=3), scale=400,
                         countries=COUNTRIES, empty_day_rate=0.0)
    where = Location(sb, postgres, pg_schema, target_postgres(meltano_project), tmp_path,
                     today=(START + dt.timedelta(days=4)).isoformat())
    days = _days(4)
    day_slice.create_tables(where.tap, where.warehouse, list(BULK_STREAMS))
    # Six slices at once: every day, and the first two days twice (a retry racing a run).
    slices = [*days, days[0], days[1]]
    with ThreadPoolExecutor(len(slices)) as pool:
        outcomes = list(pool.map(lambda day: day_slice.run_day(where.tap, where.warehouse, day,
                                                          list(BULK_STREAMS)), slices))
    assert [o.status for o in outcomes] == [day_slice.LOADED] * len(slices)
    assert where.problems(days[0], days[3]) == {}
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        # Whichever of two reads of a day commits last, the rows carry the newer load_id.
        assert _manifest_ahead_of_rows(conn, pg_schema) == []
        reads = conn.execute(f'SELECT report_date::text, count(DISTINCT load_id) FROM '
                             f'"{pg_schema}".bulk_loads GROUP BY 1 ORDER BY 1').fetchall()
    assert reads == [(days[0], 2), (days[1], 2), (days[2], 1), (days[3], 1)]


def _copying(postgres: dict[str, str], schema: str) -> int:
    """Rows the COPY lane's statements under way have sent into the tables of `schema`."""
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        return conn.execute(
            "SELECT coalesce(sum(p.tuples_processed), 0) FROM pg_stat_progress_copy p "
            "JOIN pg_stat_activity a USING (pid) JOIN pg_class c ON c.oid = p.relid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.application_name = %s AND n.nspname = %s",
            (APPLICATION_NAME, schema)).fetchone()[0]


def test_load_killed_mid_copy_leaves_nothing_and_a_rerun_lands_the_truth(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    day = START.isoformat()
    # Slow enough (50 ms per request) for the load to be caught while it copies.
    sb = sandbox_factory(seed=33, start=START, end=START, scale=20000, countries=COUNTRIES,
                         empty_day_rate=0.0, latency_ms=50)
    target = target_postgres(meltano_project)
    where = Location(sb, postgres, pg_schema, target, tmp_path,
                     today=(START + dt.timedelta(days=1)).isoformat())
    run = where.start_partition_process(day)  # the default loader: the COPY lane
    try:
        deadline = time.monotonic() + 180
        while _copying(postgres, pg_schema) < 1000:
            assert run.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no COPY under way within 180 s"
            time.sleep(0.05)
        tree = psutil.Process(run.pid).children(recursive=True)
        loader = [p for p in tree if "tap_spotify_bulk_dagster.loading.copy_load" in p.cmdline()]
        assert len(loader) == 1, [p.cmdline() for p in tree]
        loader[0].send_signal(signal.SIGKILL)  # the process doing the load, mid-COPY
    finally:
        kill_tree(run.pid)  # the run's processes may be ending on their own meanwhile
        run.wait()
    # The day's transaction rolled back: no row of it, no manifest row.
    assert where.row_counts() == dict.fromkeys(BULK_TABLES, 0)

    with dg.instance_for_test() as instance:
        assert where.run_partition(instance, day).success
    assert where.problems(day, day) == {}
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        assert _manifest_ahead_of_rows(conn, pg_schema) == []
        assert conn.execute(f'SELECT count(*) FROM "{pg_schema}".bulk_loads').fetchone()[0] \
            == len(BULK_STREAMS)


def _lane(postgres: dict[str, str], schema: str, day: str, messages: list[dict],
          workdir: Path) -> subprocess.CompletedProcess[str]:
    kwargs = pg_connect_kwargs(postgres)
    config = workdir / "lane.json"
    config.write_text(json.dumps({"host": kwargs["host"], "port": int(kwargs["port"]),
                                  "user": kwargs["user"], "password": kwargs["password"],
                                  "database": kwargs["dbname"], "schema": schema}))
    return subprocess.run(
        [sys.executable, "-m", "tap_spotify_bulk_dagster.loading.copy_load",
         "--config", str(config), "--day", day],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True, text=True, timeout=60, check=False)


def test_bad_input_stops_the_lane_with_one_line_and_commits_nothing(
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    schema = {"type": "SCHEMA", "stream": "users", "key_properties": ["report_date", "row_number"],
              "schema": {"properties": {"report_date": {"type": ["string"], "format": "date"},
                                        "row_number": {"type": ["integer"]},
                                        "user_id": {"type": ["string", "null"]}}}}
    record = {"type": "RECORD", "stream": "users",
              "record": {"report_date": "2024-03-01", "row_number": 1, "user_id": "u1"}}

    missing = _lane(postgres, pg_schema, "2024-03-01", [schema, record], tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"copy lane: LoadError: table {pg_schema}.users does not exist: materialize "
        "spotify/bulk_tables first (target-postgres creates the tables)")

    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        conn.execute(f'CREATE TABLE "{pg_schema}".users (report_date date NOT NULL, '
                     "row_number bigint NOT NULL, user_id text, "
                     "PRIMARY KEY (report_date, row_number))")
    other_day = {**record, "record": {**record["record"], "report_date": "2024-03-02",
                                      "row_number": 2}}
    wrong = _lane(postgres, pg_schema, "2024-03-01", [schema, record, other_day], tmp_path)
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == ("copy lane: LoadError: users: 2 records loaded but 1 rows "
                                    "dated 2024-03-01: the input holds records of another day")
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{pg_schema}".users').fetchone()[0] == 0

    done = _lane(postgres, pg_schema, "2024-03-01", [schema, record], tmp_path)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        assert conn.execute(f'SELECT user_id FROM "{pg_schema}".users').fetchall() == [("u1",)]
