"""The Ads asset of the Dagster code location: Ads report tables land the sandbox's truth,
and the next run resumes from the Singer state kept in the warehouse."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest

dg = pytest.importorskip("dagster", reason="the orchestrate extra is not installed")

import psycopg  # noqa: E402
from helpers.ads import stored_refresh_token  # noqa: E402
from helpers.dagster import Location, target_postgres  # noqa: E402
from helpers.meltano import compare_ads, pg_connect_kwargs, postgres_rows  # noqa: E402
from tap_spotify_bulk_dagster.assets.ads import ADS_STATE_ID  # noqa: E402

from tap_spotify_bulk.ads import times, windows  # noqa: E402

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

REPORTS = [{"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
            "fields": ["IMPRESSIONS", "SPEND"]}]
WORLD = {"n_businesses": 1, "accounts_per_business": 1, "shared_account": False,
         "campaigns_per_account": 2, "ad_sets_per_campaign": 1, "ads_per_ad_set": 1}


def test_ads_asset_lands_the_truth_then_resumes_from_state(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path, state_home: Path,
) -> None:
    """The token endpoint rotates the refresh token at every refresh and revokes the old
    one: the second run, from the same config file, gets the rotated token from the store."""
    sb = sandbox_factory(seed=5, ads=WORLD, rotate_refresh_token=True)
    where = Location(sb, postgres, pg_schema, target_postgres(meltano_project), tmp_path,
                     ads_report_list=REPORTS, ads_timeframe_months="THREE")
    job = where.defs.resolve_job_def("spotify_ads_job")
    for run in range(2):
        day_of_run = times.utc_now().date()
        with dg.instance_for_test() as instance:
            result = job.execute_in_process(instance=instance)
        if times.utc_now().date() != day_of_run:
            pytest.skip("UTC midnight passed during the run: the Ads DAY truth is ambiguous")
        assert result.success
        meta = result.get_asset_materialization_events()[0].materialization.metadata
        assert meta["resumed_from_state"].value is (run == 1)
        truth = sb.ads_truth(REPORTS, start=windows.months_back(day_of_run, 3),
                             end=day_of_run - dt.timedelta(days=1))
        assert truth["campaign_day"]["count"] > 0
        with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
            assert compare_ads(truth, REPORTS, lambda table, cols: postgres_rows(
                conn, pg_schema, table, cols)) == {}
        if run == 0:
            assert meta["records_campaign_day"].value == truth["campaign_day"]["count"]
    state = where.warehouse.get_state(ADS_STATE_ID)
    assert "campaign_day" in state["bookmarks"]
    config = json.loads(where.config_path.read_text())
    assert config["ads_refresh_token"] != sb.refresh_token  # the configured one was revoked
    assert stored_refresh_token(state_home, config) == sb.refresh_token
