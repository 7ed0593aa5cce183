"""The Ads models for teams with several ad platforms (`spotify_ads__*_report`), built by dbt
from what `meltano run tap-spotify-bulk target-duckdb` landed from the sandbox: one row per
day and entity, the entity's names and parents, its account's currency, and metric sums
equal to the sandbox's truth."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import duckdb
import pytest
from helpers.dbt import dbt_build, dbt_env
from helpers.meltano import plugin_env

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.e2e

FIELDS = ["IMPRESSIONS", "CLICKS", "SPEND", "PURCHASES", "REVENUE"]
LEVELS = {  # model level: (report table, dimension, key column of the level)
    "account": ("account_day", "AD_ACCOUNT", "account_id"),
    "campaign": ("campaign_day", "CAMPAIGN", "campaign_id"),
    "ad_group": ("ad_set_day", "AD_SET", "ad_group_id"),
    "ad": ("ad_day", "AD", "ad_id"),
}
REPORTS = [{"table": table, "dimension": dimension, "granularity": "DAY", "fields": FIELDS}
           for table, dimension, _ in LEVELS.values()]
ENTITIES = ["ad_accounts", "campaigns", "ad_sets", "ads"]
WORLD = {"n_businesses": 1, "accounts_per_business": 2, "shared_account": False,
         "campaigns_per_account": 2, "ad_sets_per_campaign": 2, "ads_per_ad_set": 1,
         "flight_days": 20}
SUMMED = ("impressions", "clicks", "spend", "revenue")  # model columns: revenue is the value


def test_ads_models_match_the_sandbox(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    state_suffix: str, tmp_path: Path,
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    start, end = today - dt.timedelta(days=3), today - dt.timedelta(days=1)
    sb = sandbox_factory(seed=11, ads=WORLD)
    config = sb.tap_config(ads_report_list=REPORTS, ads_start_date=start.isoformat())
    path = tmp_path / "warehouse.duckdb"
    target = plugin_env("TARGET_DUCKDB_", {"path": str(path), "default_target_schema": "raw"})
    selected = [*(r["table"] for r in REPORTS), *ENTITIES]
    env = {**plugin_env("TAP_SPOTIFY_BULK_", config), **target,
           "TAP_SPOTIFY_BULK__SELECT": json.dumps([f"{s}.*" for s in selected])}
    meltano_project.run("target-duckdb", state_suffix, env)
    if dt.datetime.now(dt.UTC).date() != today:
        pytest.skip("UTC midnight passed during the run: the Ads DAY truth is ambiguous")
    log = dbt_build(meltano_project, "dbt-duckdb", {
        **target, **dbt_env(tmp_path), "DBT_DUCKDB_BULK_STREAMS": "[]"})
    assert "ERROR=0" in log and "WARN=0" in log, log[-3000:]

    world = sb.ads_api.world
    currency = {a: world.account(a)["currency_code"] for a in world.account_ids}
    assert len(set(currency.values())) == 2
    truth = sb.ads_truth(REPORTS, start=start, end=end)
    with duckdb.connect(str(path), read_only=True) as conn:
        for level, (table, dimension, key) in LEVELS.items():
            model = f"raw.spotify_ads__{level}_report"
            count, *sums = conn.execute(
                f"SELECT count(*), {', '.join(f'sum({c})' for c in SUMMED)} "
                f"FROM (SELECT *, conversions_value AS revenue FROM {model})").fetchone()
            expected = truth[table]
            assert count == expected["count"] > 0, level
            for column, total in zip(SUMMED, sums, strict=True):
                assert round(total, 4) == pytest.approx(expected["sums"][column]), (level, column)
            # Each row: its account's currency, the platform, the entity's own names and
            # parents as the sandbox has them.
            rows = conn.execute(f"SELECT * FROM {model}").fetchall()
            names = [d[0] for d in conn.description]
            for row in map(lambda values: dict(zip(names, values, strict=True)), rows):
                assert row["platform"] == "spotify_ads"
                assert row["currency_code"] == currency[row["account_id"]]
                assert row["account_name"] == world.account(row["account_id"])["name"]
                entity = world.find(row["account_id"], dimension, row[key])
                assert entity is not None, (level, row)
                chain = {"AD": "ad", "AD_SET": "ad_group", "CAMPAIGN": "campaign"}
                while entity is not None and entity.kind in chain:
                    prefix = chain[entity.kind]
                    assert (row[f"{prefix}_id"], row[f"{prefix}_name"]) == (
                        entity.id, entity.name), (level, prefix)
                    entity = entity.parent
                conversions = row["conversions"]
                assert conversions is None or conversions >= 0  # -5 (one to four) is null
            per_currency = conn.execute(
                f"SELECT currency_code, count(DISTINCT account_id) FROM {model} "
                "GROUP BY 1").fetchall()
            assert sorted(per_currency) == sorted((c, 1) for c in currency.values())
