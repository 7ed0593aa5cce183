"""`ads_start_date`: where DAY and HOUR report history starts, first and later syncs.

Expectations are literal dates for a clock frozen at 2026-06-15 10:30 UTC.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.ads import aggregate_windows, landed
from helpers.ads import sync_ads as run_tap

from tap_spotify_bulk.ads import settings, times
from tap_spotify_bulk.errors import ConfigError

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND"]}
HOUR_CAMPAIGN = {"table": "campaign_hour", "dimension": "CAMPAIGN", "granularity": "HOUR",
                 "fields": ["IMPRESSIONS", "SPEND"]}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def test_first_sync_starts_at_ads_start_date_over_the_timeframe(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW})
    # Both set: ads_start_date wins over ads_timeframe_months (THREE would be 2026-03-15).
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN], ads_start_date="2025-11-02",
                           ads_timeframe_months="THREE")
    records, state = run_tap(config)
    for account in sb.ads_api.world.account_ids:
        assert aggregate_windows(sb, account) == [
            ("2025-11-02T00:00:00Z", "2026-01-30T00:00:00Z"),
            ("2026-01-31T00:00:00Z", "2026-04-30T00:00:00Z"),
            ("2026-05-01T00:00:00Z", "2026-06-14T00:00:00Z"),
        ]
    truth = sb.ads_truth([DAY_CAMPAIGN], start=dt.date(2025, 11, 2), end=dt.date(2026, 6, 14))
    assert landed(DAY_CAMPAIGN, records["campaign_day"]) == truth["campaign_day"]
    assert min(r["start_time"] for r in records["campaign_day"]) >= "2025-11-02T00:00:00Z"

    # A later sync reads the last 3 days and from its bookmark's day on, not from
    # ads_start_date: bookmark 2026-06-14 is before 06-15, the first of the last 3 days.
    sb.ads_api.report_log.clear()
    later = dt.datetime(2026, 6, 18, 7, 0, tzinfo=dt.UTC)
    sb.ads_api.fixed_now = later
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(times, "utc_now", lambda: later)
        run_tap({**config, "ads_lookback_days": 3}, state)
    assert set(aggregate_windows(sb)) == {("2026-06-14T00:00:00Z", "2026-06-17T00:00:00Z")}


def test_a_start_date_after_the_resume_point_still_bounds_later_syncs(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW})
    account = sb.ads_api.world.account_ids[0]
    state = {"bookmarks": {"campaign_day": {"partitions": [
        {"context": {"ad_account_id": account},
         "replication_key": "start_time", "replication_key_value": "2026-06-10T00:00:00Z"}]}}}
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN], ads_start_date="2026-06-09",
                           ads_lookback_days=7, ads_sync_mode="SPECIFIC_ACCOUNTS",
                           ads_accounts=[account])
    run_tap(config, state)  # the last 7 days start 2026-06-08: the start date bounds it
    assert aggregate_windows(sb) == [("2026-06-09T00:00:00Z", "2026-06-14T00:00:00Z")]


@pytest.mark.parametrize(("start_date", "first_hour"), [
    ("2025-01-01", "2026-06-01T11:00:00Z"),  # the API's 14 days still bound HOUR reports
    ("2026-06-10", "2026-06-10T00:00:00Z"),
])
def test_hour_reports_start_at_the_later_of_start_date_and_14_days(sandbox_factory,
                                                                   start_date, first_hour):
    sb = sandbox_factory(ads={"now": NOW})
    run_tap(sb.tap_config(ads_report_list=[HOUR_CAMPAIGN], ads_start_date=start_date))
    assert set(aggregate_windows(sb, granularity="HOUR")) == {
        (first_hour, "2026-06-15T09:00:00Z")}
    assert sb.ads_api.stats.get("sent_400", 0) == 0


@pytest.mark.parametrize(("value", "needle"), [
    ("2026-06-16", "`ads_start_date` (2026-06-16) is in the future"),
    ("16/06/2025", "`ads_start_date` must be a date like"),
])
def test_bad_start_dates_are_one_line_config_errors(value, needle):
    config = {"ads_refresh_token": "r", "ads_client_id": "i", "ads_client_secret": "s",
              "ads_start_date": value}
    with pytest.raises(ConfigError) as err:
        settings.validate(config, ads_selected=True)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_the_bulk_start_date_does_not_move_ads_history(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW})
    run_tap(sb.tap_config(ads_report_list=[DAY_CAMPAIGN], start_date="2026-06-01", end_date=None,
                          ads_timeframe_months="THREE"))
    assert aggregate_windows(sb)[0][0] == "2026-03-15T00:00:00Z"
