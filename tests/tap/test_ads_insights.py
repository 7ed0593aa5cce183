"""Insight reports: every dimension of the v3 specification, per ad set or per campaign,
exactly the sandbox's truth; and the "not enough data" rule across runs (asked again at
most once a day, no longer two weeks after the entity's end)."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.ads import landed, repeated_keys, sync_ads
from helpers.run import run_tap
from spotify_sandbox.ads_data import INSIGHT_VALUES

from tap_spotify_bulk.ads import times
from tap_spotify_bulk.errors import ConfigError

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
WORLD = {"n_businesses": 1, "shared_account": False, "campaigns_per_account": 2,
         "ad_sets_per_campaign": 2, "ads_per_ad_set": 1}
# Every dimension of InsightDimensionType in Spotify's v3 specification, written out here.
FIFTEEN = ("AGE", "COUNTRY", "GENDER", "GENRE", "PLATFORM", "ACT_AND_SET", "AUDIENCE", "CITY",
           "FORMAT", "INTERESTS", "METRO", "PLACEMENT", "PODCAST_EPISODE_TOPIC", "REGION",
           "TONE")


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def insight(dimension: str, entity_ids_type: str | None = None) -> dict:
    report = {"table": f"{dimension.lower()}_insights", "dimension": dimension,
              "granularity": "LIFETIME", "fields": ["IMPRESSIONS", "REACH", "CLICKS"]}
    if entity_ids_type:
        report |= {"table": f"{dimension.lower()}_{entity_ids_type.lower()}",
                   "entity_ids_type": entity_ids_type}
    return report


def test_the_sandbox_serves_the_fifteen_dimensions_of_the_specification():
    assert set(INSIGHT_VALUES) == set(FIFTEEN)


def test_all_fifteen_dimensions_per_ad_set_and_per_campaign_match_the_truth(sandbox_factory):
    reports = [insight(d) for d in FIFTEEN] + [insight("CITY", "CAMPAIGN"),
                                               insight("TONE", "AD_SET")]
    sb = sandbox_factory(ads={"now": NOW, **WORLD, "insufficient_rate": 0.0})
    records, _ = sync_ads(sb.tap_config(ads_report_list=reports))
    truth = sb.ads_truth(reports)
    for report in reports:
        rows = records[report["table"]]
        assert rows, report["table"]
        assert repeated_keys(report, rows) == []
        assert landed(report, rows) == truth[report["table"]], report["table"]
    by_campaign = records["city_campaign"]
    assert {r["entity_type"] for r in by_campaign} == {"CAMPAIGN"}
    assert {r["parent_entity_id"] for r in by_campaign} == {None}
    assert {r["entity_type"] for r in records["age_insights"]} == {"AD_SET"}
    asked = [e for e in sb.ads_api.report_log if e["kind"] == "insight"]
    campaigns = [e for e in asked if e["entity_type"] == "CAMPAIGN"]
    assert len(campaigns) == WORLD["campaigns_per_account"]  # one call per campaign
    assert len(asked) - len(campaigns) == 16 * 4  # 16 ad set tables, 4 ad sets each


@pytest.mark.parametrize(("change", "words"), [
    ({"entity_ids_type": "AD"}, "unknown entity_ids_type 'AD'"),
    ({"dimension": "AD_SET", "entity_ids_type": "CAMPAIGN"}, "insight dimensions only"),
])
def test_a_bad_entity_ids_type_is_one_clear_line(sandbox, change, words):
    report = {**insight("CITY"), **change}
    output = run_tap(sandbox.tap_config(ads_report_list=[report]), expect_error=True)
    assert isinstance(output.error, ConfigError)
    message = str(output.error)
    assert words in message and "city_insights" in message and "\n" not in message


def test_not_enough_data_is_asked_again_once_a_day_until_two_weeks_after_the_end(
        sandbox_factory, monkeypatch):
    world = {**WORLD, "campaigns_per_account": 6, "ad_sets_per_campaign": 3,
             "insufficient_rate": 0.5, "history_days": 60}
    sb = sandbox_factory(ads={"now": NOW, **world})
    report = insight("GENDER")
    config = sb.tap_config(ads_report_list=[report])
    api = sb.ads_api
    account = api.world.account_ids[0]
    ad_sets = api.world.entities(account, "AD_SET")
    lacking = {e.id for e in ad_sets if api.world.insufficient_code(e)}

    def asked() -> set[str]:
        found = {e["entity"] for e in api.report_log if e["kind"] == "insight"}
        api.report_log.clear()
        return found

    records, state = sync_ads(config)
    assert asked() == {e.id for e in ad_sets}
    assert landed(report, records[report["table"]]) == sb.ads_truth([report])[report["table"]]

    # The same day again: the entities without data are not asked; the others are.
    records, state = sync_ads(config, state)
    assert asked() == {e.id for e in ad_sets} - lacking
    assert landed(report, records[report["table"]]) == sb.ads_truth([report])[report["table"]]

    # The next day: asked again, unless their flight ended (end_time, exclusive, is the day
    # after the last day) more than 14 days before.
    later = NOW + dt.timedelta(days=1)
    monkeypatch.setattr(times, "utc_now", lambda: later)
    api.fixed_now = later
    ended = {e.id for e in ad_sets
             if later.date() > e.last_day + dt.timedelta(days=1) + dt.timedelta(days=14)}
    assert lacking & ended and lacking - ended  # the world holds both kinds
    records, state = sync_ads(config, state)
    assert asked() == {e.id for e in ad_sets} - (lacking & ended)
    assert landed(report, records[report["table"]]) == sb.ads_truth(
        [report], now=later)[report["table"]]
    # Once more that day: none of them (the days asked are kept in the state).
    records, _ = sync_ads(config, state)
    assert asked() == {e.id for e in ad_sets} - lacking
