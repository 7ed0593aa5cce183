"""Async CSV reports (`kind: async`): long DAY history in reports of up to 365 days, LIFETIME
reports through FAILED, EXPIRED and expired download URLs, and a report still PROCESSING
when a run stops picked up by the next run; every table exactly the sandbox's truth."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.ads import landed, repeated_keys, sync_ads
from helpers.run import run_tap

from tap_spotify_bulk.ads import async_reports, times
from tap_spotify_bulk.errors import ApiError

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
YESTERDAY = dt.date(2026, 6, 14)
WORLD = {"n_businesses": 1, "shared_account": False, "campaigns_per_account": 3,
         "ad_sets_per_campaign": 2, "ads_per_ad_set": 1, "history_days": 500}
METRICS = ["IMPRESSIONS_ON_SPOTIFY", "SPEND", "CLICKS", "REACH", "CTR", "STREAMS"]
DAY = {"table": "ad_set_async_day", "kind": "async", "dimension": "AD_SET",
       "granularity": "DAY", "fields": METRICS}
LIFETIME = {"table": "ad_async_lifetime", "kind": "async", "dimension": "AD",
            "granularity": "LIFETIME", "fields": METRICS}


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)
    monkeypatch.setattr(async_reports, "POLL_FIRST", 0.01)


def exact(report: dict, rows: list[dict], truth: dict) -> None:
    assert rows and repeated_keys(report, rows) == [], report["table"]
    assert landed(report, rows) == truth[report["table"]], report["table"]


def test_day_history_over_365_days_in_two_reports(sandbox_factory):
    start = YESTERDAY - dt.timedelta(days=399)
    sb = sandbox_factory(ads={"now": NOW, **WORLD, "async_polls": 2})
    records, state = sync_ads(sb.tap_config(ads_report_list=[DAY],
                                            ads_start_date=start.isoformat()))
    exact(DAY, records[DAY["table"]], sb.ads_truth([DAY], start=start, end=YESTERDAY))
    assert sb.ads_api.async_reports.created == 2  # 400 days: 365 + 35
    rows = records[DAY["table"]]
    assert all(r["parent_entity_id"] and r["entity_name"] for r in rows)
    assert {r["currency_code"] for r in rows} == {"USD"}
    partition = state["bookmarks"][DAY["table"]]["partitions"][0]
    assert async_reports.PENDING_KEY not in partition  # nothing pending once read


def test_failed_expired_and_an_expired_url_then_exact(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, **WORLD,
                              "async_fates": ["FAILED", "EXPIRED", "URL_EXPIRED"]})
    output = run_tap(sb.tap_config(ads_report_list=[LIFETIME]), streams=[LIFETIME["table"]])
    exact(LIFETIME, output.records[LIFETIME["table"]], sb.ads_truth([LIFETIME]))
    api = sb.ads_api.async_reports
    assert api.created == 3 and api.downloads == 1
    # The CSV's other columns are kept: here the campaign of each ad.
    world = sb.ads_api.world
    for row in output.records[LIFETIME["table"]]:
        ad = world.find(row["ad_account_id"], "AD", row["entity_id"])
        assert row["extra"] == {"CAMPAIGN_ID": ad.parent.parent.id}
    assert "the report is FAILED" in output.logs and "the report is EXPIRED" in output.logs
    assert "the report URL has expired" in output.logs


def test_a_report_still_processing_is_picked_up_by_the_next_run(sandbox_factory, monkeypatch):
    sb = sandbox_factory(ads={"now": NOW, **WORLD, "async_polls": 1000})
    monkeypatch.setattr(async_reports, "POLL_BUDGET", 0.05)
    config = sb.tap_config(ads_report_list=[LIFETIME])
    first = run_tap(config, streams=[LIFETIME["table"]], expect_error=True)
    assert isinstance(first.error, ApiError) and "\n" not in str(first.error)
    assert "the report is kept in the state" in str(first.error)
    pending = first.states[-1]["bookmarks"][LIFETIME["table"]]["partitions"][0][
        async_reports.PENDING_KEY]
    job = sb.ads_api.async_reports.jobs[pending["id"]]
    job.polls_left = 1  # Spotify finishes it meanwhile
    second = run_tap(config, state=first.states[-1], streams=[LIFETIME["table"]])
    assert sb.ads_api.async_reports.created == 1  # the same report, not a new one
    exact(LIFETIME, second.records[LIFETIME["table"]], sb.ads_truth([LIFETIME]))
