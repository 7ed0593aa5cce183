"""A restated day inside the lookback window, end to end: `meltano run tap-spotify-bulk
<loader> <dbt utility>:build`, the sandbox restates a day (shorter files, a country gone,
tracks removed, new values), a second run from state; every current_* model then equals the
sandbox's new truth exactly, while the raw tables keep stale rows. A run killed (kill -9)
while it re-reads the restated day never makes current_* lose a row."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
import typing as t

import duckdb
import psycopg
import pytest
from helpers.dbt import current_rows_duckdb, current_rows_postgres, dbt_build, dbt_env
from helpers.meltano import (
    BULK_KEYS,
    MELTANO,
    REPO,
    compare_bulk,
    duckdb_rows,
    pg_connect_kwargs,
    plugin_env,
    postgres_rows,
    target_postgres_env,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

START, END = dt.date(2024, 3, 1), dt.date(2024, 3, 5)
RESTATED = dt.date(2024, 3, 4)  # inside the lookback window of a second run ending on END
COUNTRIES = ("SE", "NO", "DE", "US", "BR")


def sandbox_for(factory: t.Callable[..., t.Any], seed: int) -> t.Any:
    return factory(seed=seed, start=START, end=END, scale=300, countries=COUNTRIES,
                   empty_day_rate=0.0)


def tap_env(sb: t.Any) -> dict[str, str]:
    return plugin_env("TAP_SPOTIFY_BULK_", sb.tap_config(lookback_days=3, max_workers=2))


def run_with_dbt(project: MeltanoProject, loader: str, utility: str, suffix: str,
                 env: dict[str, str], *options: str) -> str:
    done = project.meltano("run", "--refresh-catalog", "--state-id-suffix", suffix, *options,
                           "tap-spotify-bulk", loader, f"{utility}:build", env=env)
    return done.stdout + done.stderr


def check_restatement(sb: t.Any, run: t.Callable[[], str],
                      current: t.Callable[[str], list[dict[str, t.Any]]],
                      raw: t.Callable[[str], list[dict[str, t.Any]] | None]) -> None:
    """First run, restate, second run: current_* equals the truth after each run."""
    log = run()
    assert "ERROR=0" in log and "WARN=0" in log  # every dbt test passed
    old_truth = sb.bulk_truth()
    assert compare_bulk(old_truth, current) == {}

    assert sb.restate(RESTATED) == 1
    new_truth = sb.bulk_truth()
    assert all(new_truth[s]["count"] < old_truth[s]["count"] for s in BULK_KEYS)
    log = run()
    assert "ERROR=0" in log and "WARN=0" in log
    assert compare_bulk(new_truth, current) == {}
    # The raw tables keep the stale rows of the restated day: that is what current_* is for.
    stale = compare_bulk(new_truth, raw)
    assert set(stale) == set(BULK_KEYS)
    assert all(p["landed"]["count"] > p["expected"]["count"] for p in stale.values())


def test_restated_day_postgres(sandbox_factory: t.Callable[..., t.Any],
                               meltano_project: MeltanoProject, postgres: dict[str, str],
                               pg_schema: str, state_suffix: str, tmp_path: Path) -> None:
    sb = sandbox_for(sandbox_factory, seed=41)
    env = {**tap_env(sb), **target_postgres_env(postgres, pg_schema), **dbt_env(tmp_path)}

    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        check_restatement(
            sb,
            lambda: run_with_dbt(meltano_project, "target-postgres", "dbt-postgres",
                                 state_suffix, env),
            lambda stream: current_rows_postgres(conn, pg_schema, stream),
            lambda stream: postgres_rows(conn, pg_schema, stream))


def test_restated_day_duckdb(sandbox_factory: t.Callable[..., t.Any],
                             meltano_project: MeltanoProject, state_suffix: str,
                             tmp_path: Path) -> None:
    sb = sandbox_for(sandbox_factory, seed=43)
    path = tmp_path / "warehouse.duckdb"
    env = {**tap_env(sb), **dbt_env(tmp_path),
           **plugin_env("TARGET_DUCKDB_", {"path": str(path), "default_target_schema": "raw"})}

    def read(reader: t.Callable[..., t.Any]) -> t.Callable[[str], t.Any]:
        def rows(stream: str) -> t.Any:
            with duckdb.connect(str(path), read_only=True) as conn:
                return reader(conn, "raw", stream)
        return rows

    check_restatement(
        sb,
        lambda: run_with_dbt(meltano_project, "target-duckdb", "dbt-duckdb", state_suffix, env),
        read(current_rows_duckdb), read(duckdb_rows))


def current_keys(conn: psycopg.Connection, schema: str) -> dict[str, set[tuple]]:
    keys = {}
    for stream, columns in BULK_KEYS.items():
        rows = postgres_rows(conn, schema, f"current_{stream}", list(columns)) or []
        keys[stream] = {tuple(row.values()) for row in rows}
    return keys


def reread_rows(conn: psycopg.Connection, schema: str, first_load: str) -> int:
    """Rows of the restated day that a later read than the first run has written."""
    return conn.execute(f'SELECT count(*) FROM "{schema}".streams WHERE load_id > %s '
                        "AND CAST(report_date AS date) = %s", (first_load, RESTATED)).fetchone()[0]


def test_killed_reread_of_restated_day_loses_nothing(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, state_suffix: str, tmp_path: Path,
) -> None:
    sb = sandbox_for(sandbox_factory, seed=47)
    env = {**tap_env(sb), **target_postgres_env(postgres, pg_schema), **dbt_env(tmp_path),
           # small batches: the killed run has already written part of the restated day
           "TARGET_POSTGRES_BATCH_SIZE_ROWS": "100"}
    run_with_dbt(meltano_project, "target-postgres", "dbt-postgres", state_suffix, env)
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        assert compare_bulk(sb.bulk_truth(),
                            lambda s: current_rows_postgres(conn, pg_schema, s)) == {}
        before = current_keys(conn, pg_schema)

    sb.restate(RESTATED)
    sb.options.latency_ms = 100  # a slow re-read, so that the kill lands inside it
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        first_load = conn.execute(f'SELECT max(load_id) FROM "{pg_schema}".bulk_loads'
                                  ).fetchone()[0]
        killed = subprocess.Popen(
            [MELTANO, "run", "--state-id-suffix", state_suffix, "tap-spotify-bulk",
             "target-postgres"], cwd=REPO, env=meltano_project.env(env),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:  # kill -9 as soon as rows of the restated day's re-read have landed
            deadline = time.monotonic() + 300
            while not reread_rows(conn, pg_schema, first_load):
                assert killed.poll() is None, "the run ended before it was killed"
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            os.killpg(killed.pid, signal.SIGKILL)
            killed.wait()
    sb.options.latency_ms = 0

    dbt_build(meltano_project, "dbt-postgres", env)
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        assert reread_rows(conn, pg_schema, first_load) > 0
        after_kill = current_keys(conn, pg_schema)
    for stream, keys in before.items():
        assert keys <= after_kill[stream], f"current_{stream} lost rows"

    # --force: the killed run is still marked as running in Meltano's system database
    run_with_dbt(meltano_project, "target-postgres", "dbt-postgres", state_suffix, env, "--force")
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        assert compare_bulk(sb.bulk_truth(),
                            lambda s: current_rows_postgres(conn, pg_schema, s)) == {}
