"""Ads entity streams through Meltano into PostgreSQL: exact truth, twice, with an edit."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import psycopg
from helpers.meltano import pg_connect_kwargs, plugin_env, postgres_rows, target_postgres_env
from spotify_sandbox.ads_entities import TALLY_FIELDS
from spotify_sandbox.tally import Tally

if t.TYPE_CHECKING:
    from helpers.meltano import MeltanoProject

ENTITIES = ("businesses", "ad_accounts", "campaigns", "ad_sets", "ads")
# Two ad accounts, each with 120 ads: three list pages per account.
WORLD = {"n_businesses": 1, "accounts_per_business": 2, "shared_account": False,
         "campaigns_per_account": 2, "ad_sets_per_campaign": 2, "ads_per_ad_set": 30}


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
                rows = postgres_rows(conn, pg_schema, stream, list(TALLY_FIELDS[stream]))
                assert rows is not None, stream
                landed = Tally(TALLY_FIELDS[stream]).add_all(rows).summary()
                assert landed == truth[stream], (run, stream)
            currencies = conn.execute(
                f'SELECT DISTINCT ad_account_id, budget->>\'currency\' '
                f'FROM "{pg_schema}".ad_sets').fetchall()
            assert sorted(currencies) == sorted(
                (a, api.world.account(a)["currency_code"]) for a in api.world.account_ids)
            derived = conn.execute(
                f'SELECT DISTINCT extra->>\'derived_status\' FROM "{pg_schema}".campaigns'
            ).fetchall()
            assert derived == [("RUNNING",)]
    # The second run read only the newest page of each account's lists.
    assert api.stats["requests_ads"] == 2
