"""Totals (`kind: totals`, aggregate_reports/totals): reach deduplicated across entities,
one record per account (LIFETIME) or per account and day (DAY), exactly the truth."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.ads import landed, repeated_keys, sync_ads
from helpers.run import run_tap

from tap_spotify_bulk.ads import times
from tap_spotify_bulk.errors import ConfigError

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
YESTERDAY = dt.date(2026, 6, 14)
THREE_MONTHS_BACK = dt.date(2026, 3, 15)
WORLD = {"n_businesses": 2, "shared_account": False, "campaigns_per_account": 3,
         "ad_sets_per_campaign": 2, "ads_per_ad_set": 1, "flight_days": 120}
FIELDS = ["IMPRESSIONS", "CLICKS", "CTR", "REACH", "FREQUENCY"]
LIFETIME = {"table": "campaign_totals", "kind": "totals", "dimension": "CAMPAIGN",
            "granularity": "LIFETIME", "fields": FIELDS}
DAY = {"table": "ad_set_totals_day", "kind": "totals", "dimension": "AD_SET",
       "granularity": "DAY", "fields": FIELDS}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def test_lifetime_and_day_totals_match_the_truth(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, **WORLD})
    world = sb.ads_api.world
    first = world.account_ids[0]
    picked = [e.id for e in world.entities(first, "AD_SET")[:3]]
    chosen = {**DAY, "table": "chosen_totals", "entity_ids": picked}
    per_entity = {"table": "campaign_lifetime", "dimension": "CAMPAIGN",
                  "granularity": "LIFETIME", "fields": ["REACH"]}
    reports = [LIFETIME, DAY, chosen, per_entity]
    records, state = sync_ads(sb.tap_config(ads_report_list=reports,
                                            ads_timeframe_months="THREE"))
    truth = {**sb.ads_truth([LIFETIME, per_entity]),
             **sb.ads_truth([DAY, chosen], start=THREE_MONTHS_BACK, end=YESTERDAY)}
    for report in (LIFETIME, DAY, chosen):
        rows = records[report["table"]]
        assert rows and repeated_keys(report, rows) == [], report["table"]
        assert landed(report, rows) == truth[report["table"]], report["table"]
    # One LIFETIME record per account; its reach is deduplicated: below the per-entity sum.
    lifetime = {r["ad_account_id"]: r for r in records["campaign_totals"]}
    assert set(lifetime) == set(world.account_ids)
    for account, record in lifetime.items():
        summed = sum(r["reach"] or 0 for r in records["campaign_lifetime"]
                     if r["ad_account_id"] == account)
        assert 0 < record["reach"] < summed
        assert record["entity_count"] == WORLD["campaigns_per_account"]
        assert record["currency_code"] == world.account(account)["currency_code"]
    # Listed ids total only those, in the account that holds them.
    assert {r["ad_account_id"] for r in records["chosen_totals"]} == {first}
    assert {r["entity_count"] for r in records["chosen_totals"]} == {3}
    # DAY totals are incremental per account: with a short re-read window the next run
    # starts near the bookmark, not at the timeframe's start.
    sb.ads_api.report_log.clear()
    again, _ = sync_ads(sb.tap_config(ads_report_list=[DAY], ads_timeframe_months="THREE",
                                      ads_lookback_days=3), state)
    assert min(r["start_time"] for r in again["ad_set_totals_day"]) >= "2026-06-11"


@pytest.mark.parametrize(("change", "words"), [
    ({"dimension": "AD_ACCOUNT"}, "totals take dimension CAMPAIGN, AD_SET or AD"),
    ({"granularity": "HOUR"}, "totals take granularity DAY or LIFETIME"),
    ({"fields": ["IMPRESSIONS", "SPEND"]}, "not SPEND"),
    ({"entity_ids": [f"id{i}" for i in range(51)]}, "at most 50 `entity_ids`"),
    ({"kind": "sum"}, "unknown kind 'sum'"),
    ({"kind": "aggregate", "entity_ids": ["a"]}, "`entity_ids` applies to totals"),
])
def test_a_bad_totals_object_is_one_line_before_any_request(sandbox_factory, change, words):
    sb = sandbox_factory(ads={"now": NOW, **WORLD})
    output = run_tap(sb.tap_config(ads_report_list=[{**LIFETIME, **change}]),
                     expect_error=True)
    assert isinstance(output.error, ConfigError)
    assert words in str(output.error) and "\n" not in str(output.error)
    assert sb.ads_api.stats["requests"] == 0


def test_an_account_with_more_than_50_entities_needs_entity_ids(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, **WORLD, "ad_sets_per_campaign": 17})
    output = run_tap(sb.tap_config(ads_report_list=[DAY]), streams=["ad_set_totals_day"],
                     expect_error=True)
    assert isinstance(output.error, ConfigError)
    assert "has 51 ad_sets; totals take at most 50: list `entity_ids`" in str(output.error)
