"""Ads entity streams through Meltano into PostgreSQL (twice, with an edit) and DuckDB: every
field exactly the truth (typed columns, objects and arrays, `extra`)."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import duckdb
import psycopg
from helpers.meltano import pg_connect_kwargs, plugin_env, target_postgres_env
from psycopg import sql
from psycopg.rows import dict_row
from spotify_sandbox.tally import LOADER_PREFIX, Tally, canonical

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

ENTITIES = ("businesses", "ad_accounts", "campaigns", "ad_sets", "ads")
# Two ad accounts, each with 120 ads: three list pages per account.
WORLD = {"n_businesses": 1, "accounts_per_business": 2, "shared_account": False,
         "campaigns_per_account": 2, "ad_sets_per_campaign": 2, "ads_per_ad_set": 30}
SMALL_WORLD = {**WORLD, "campaigns_per_account": 3, "ads_per_ad_set": 4}


def every_column(conn: psycopg.Connection, schema: str, table: str) -> list[dict]:
    """Every row of schema.table with every column the loader made."""
    query = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query).fetchall()


def by_id(rows: list[dict]) -> dict[str, dict[str, str]]:
    """{id: {column: canonical value}}, loader columns left out."""
    return {str(r["id"]): {k: canonical(v) for k, v in r.items()
                           if not k.startswith(LOADER_PREFIX)} for r in rows}


def test_postgres_ads_entity_streams_then_an_edit(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, state_suffix: str,
) -> None:
    sb = sandbox_factory(seed=5, ads=WORLD)
    api = sb.ads_api
    env = {**plugin_env("TAP_SPOTIFY_BULK_", sb.tap_config()),
           "TAP_SPOTIFY_BULK__SELECT": json.dumps([f"{s}.*" for s in ENTITIES]),
           **target_postgres_env(postgres, pg_schema)}
    edited = api.world.entities(api.world.account_ids[1], "AD")[17]
    for run in range(2):
        if run == 1:  # an edit between the runs: the upsert must land the new updated_at
            api.lists.touch(edited.id, dt.datetime.now(dt.UTC).replace(microsecond=0))
            api.stats.clear()
        meltano_project.run("target-postgres", state_suffix, env)
        truth = api.entity_truth(ENTITIES)
        with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
            for stream in ENTITIES:
                rows = every_column(conn, pg_schema, stream)
                landed = Tally.for_ads_entity_stream(stream).add_all(rows).summary()
                assert landed == truth[stream], (run, stream)
                assert by_id(rows) == by_id(api.lists.records(stream)), (run, stream)
            kinds = dict(conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'ad_sets'", (pg_schema,)).fetchall())
            assert (kinds["budget"], kinds["extra"], kinds["bid_micro_amount"]) == (
                "jsonb", "jsonb", "bigint")
            odd = conn.execute(
                f'SELECT count(*) FROM "{pg_schema}".ad_sets '
                "WHERE bid_micro_amount IS NULL AND extra ? 'bid_micro_amount'").fetchone()
            assert odd[0] > 0  # a bid sent as a string: null column, raw in `extra`
    # The second run read only the newest page of each account's lists.
    assert api.stats["requests_ads"] == 2


def test_duckdb_ads_entity_streams_land_every_field(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    tmp_path: Path, state_suffix: str,
) -> None:
    """DuckDB keeps objects and arrays as JSON text: read back, every field is the truth."""
    sb = sandbox_factory(seed=6, ads=SMALL_WORLD)
    path = tmp_path / "warehouse.duckdb"
    env = {**plugin_env("TAP_SPOTIFY_BULK_", sb.tap_config()),
           "TAP_SPOTIFY_BULK__SELECT": json.dumps([f"{s}.*" for s in ENTITIES]),
           **plugin_env("TARGET_DUCKDB_", {"path": str(path),
                                          "default_target_schema": "spotify"})}
    meltano_project.run("target-duckdb", state_suffix, env)
    truth = sb.ads_api.entity_truth(ENTITIES)
    with duckdb.connect(str(path), read_only=True) as conn:
        for stream in ENTITIES:
            cursor = conn.execute(f'SELECT * FROM "spotify"."{stream}"')
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            landed = Tally.for_ads_entity_stream(stream).add_all(rows).summary()
            assert landed == truth[stream], stream
