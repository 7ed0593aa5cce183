"""The dbt project when only some Bulk streams are loaded: a Meltano `select:` of a few
streams and the dbt utility's `bulk_streams` setting give a green `dbt build` of exactly the
models of those streams, equal to the sandbox's truth; and every column of every model is
described in the schema yml."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import duckdb
import psycopg
import pytest
from helpers.dbt import (
    current_rows_duckdb,
    current_rows_postgres,
    dbt_build,
    dbt_env,
    described_columns,
)
from helpers.meltano import compare_bulk, pg_connect_kwargs, plugin_env, target_postgres_env

from tap_spotify_bulk.tap import TapSpotifyBulk

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

START, END = dt.date(2024, 3, 1), dt.date(2024, 3, 3)
COUNTRIES = ("SE", "NO", "DE")
SUBSET = ("streams", "tracks")
# Empty without their Ads tables, never disabled.
ALWAYS = {"mart_ads_campaign_daily", *(f"spotify_ads__{level}_report"
                                      for level in ("account", "campaign", "ad_group", "ad"))}
MARTS = {"mart_streams_daily", "mart_listener_demographics", "mart_top_tracks", *ALWAYS}


def tap_env(sb: t.Any, streams: tuple[str, ...]) -> dict[str, str]:
    """The sandbox's tap settings with a Meltano `select:` of `streams` only."""
    return {**plugin_env("TAP_SPOTIFY_BULK_", sb.tap_config(max_workers=2)),
            "TAP_SPOTIFY_BULK__SELECT": json.dumps([f"{s}.*" for s in streams])}


def utility_setting(utility: str, streams: tuple[str, ...]) -> dict[str, str]:
    """The dbt utility's `bulk_streams` setting in Meltano's env form (an array as JSON)."""
    return {f"{utility.upper().replace('-', '_')}_BULK_STREAMS": json.dumps(list(streams))}


def check_described(models: dict[str, list[str]]) -> None:
    """Every column of every built model has a description in the schema yml."""
    described = described_columns()
    missing = {name: sorted(set(columns) - set(described.get(name, {})))
               for name, columns in models.items()}
    assert {name: cols for name, cols in missing.items() if cols} == {}


def test_streams_tracks_and_manifest_into_postgres(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, state_suffix: str, tmp_path: Path,
) -> None:
    sb = sandbox_factory(seed=53, start=START, end=END, scale=300, countries=COUNTRIES,
                         empty_day_rate=0.0)
    loaded = (*SUBSET, "bulk_loads")
    env = {**tap_env(sb, loaded), **target_postgres_env(postgres, pg_schema),
           **utility_setting("dbt-postgres", loaded), **dbt_env(tmp_path)}
    done = meltano_project.meltano("run", "--state-id-suffix", state_suffix,
                                   "tap-spotify-bulk", "target-postgres", "dbt-postgres:build",
                                   env=env)
    log = done.stdout + done.stderr
    assert "ERROR=0" in log and "WARN=0" in log and "SKIP=0" in log

    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        tables = {name: [] for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (pg_schema,))}
        for name, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = %s ORDER BY ordinal_position", (pg_schema,)):
            tables[name].append(column)
        # Raw tables of the selected streams, their current_* models and the Ads mart: no
        # model of a stream that was not loaded, no mart that needs one.
        assert set(tables) == {*loaded, *(f"current_{s}" for s in SUBSET), *ALWAYS}
        manifest = conn.execute(f'SELECT DISTINCT stream FROM "{pg_schema}".bulk_loads'
                                ).fetchall()
        assert {stream for (stream,) in manifest} == set(SUBSET)
        truth = sb.bulk_truth(streams=SUBSET)
        assert all(truth[s]["count"] > 0 for s in SUBSET)
        assert compare_bulk(truth, lambda s: current_rows_postgres(conn, pg_schema, s)) == {}
    check_described({name: cols for name, cols in tables.items() if name not in loaded})


def test_streams_and_tracks_without_manifest_into_duckdb(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    state_suffix: str, tmp_path: Path,
) -> None:
    """The common `select: [streams.*, tracks.*]` leaves out the manifest too: current_* then
    holds every raw row. Until `bulk_streams` says so, dbt names the missing table."""
    sb = sandbox_factory(seed=59, start=START, end=END, scale=300, countries=COUNTRIES,
                         empty_day_rate=0.0)
    path = tmp_path / "warehouse.duckdb"
    target = plugin_env("TARGET_DUCKDB_", {"path": str(path), "default_target_schema": "raw"})
    meltano_project.run("target-duckdb", state_suffix, {**tap_env(sb, SUBSET), **target})

    with pytest.raises(AssertionError, match=r"raw.*users.* does not exist.*bulk_streams"):
        dbt_build(meltano_project, "dbt-duckdb", {**target, **dbt_env(tmp_path)})
    log = dbt_build(meltano_project, "dbt-duckdb", {**target, **dbt_env(tmp_path),
                                                    **utility_setting("dbt-duckdb", SUBSET)})
    assert "ERROR=0" in log and "WARN=0" in log and "SKIP=0" in log

    with duckdb.connect(str(path), read_only=True) as conn:
        built = {name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
        ).fetchall()}
        assert built == {*SUBSET, *(f"current_{s}" for s in SUBSET), *ALWAYS}
        truth = sb.bulk_truth(streams=SUBSET)
        assert compare_bulk(truth, lambda s: current_rows_duckdb(conn, "raw", s)) == {}


DUCKDB_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}


def duckdb_type(schema: dict[str, t.Any]) -> str:
    types = schema.get("type", "string")
    names = [n for n in (types if isinstance(types, list) else [types]) if n != "null"]
    if schema.get("format") == "date":
        return "DATE"
    return DUCKDB_TYPES.get(names[0] if names else "string", "VARCHAR")


def test_every_column_of_every_model_is_described(meltano_project: MeltanoProject,
                                                  tmp_path: Path) -> None:
    """Empty raw tables with every column of the tap's schemas; all models build, and each
    column of each is described in the yml (the current_* ones also match the tap's streams)."""
    path = tmp_path / "warehouse.duckdb"
    tap = TapSpotifyBulk(config={}, parse_env_config=False, validate_config=False)
    schemas = {s.name: s.schema["properties"] for s in tap.discover_streams()}
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA spotify")
        for stream, properties in schemas.items():
            columns = ", ".join(f'"{n}" {duckdb_type(p)}' for n, p in properties.items())
            conn.execute(f'CREATE TABLE spotify."{stream}" ({columns})')
    env = {**plugin_env("TARGET_DUCKDB_", {"path": str(path), "default_target_schema": "spotify"}),
           **dbt_env(tmp_path)}
    assert "ERROR=0" in dbt_build(meltano_project, "dbt-duckdb", env)

    with duckdb.connect(str(path), read_only=True) as conn:
        models: dict[str, list[str]] = {}
        for table, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE "
                "table_schema = 'spotify' ORDER BY ordinal_position").fetchall():
            if table not in schemas:
                models.setdefault(table, []).append(column)
    assert set(models) == {*(f"current_{s}" for s in schemas if s != "bulk_loads"), *MARTS}
    check_described(models)
    described = described_columns()
    for stream, properties in schemas.items():
        if stream != "bulk_loads":
            assert list(described[f"current_{stream}"]) == list(properties)
