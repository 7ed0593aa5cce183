"""Late attribution on the Ads API, with the default settings: Spotify credits conversions
and revenue to a day well after it (up to about 30 days). The sandbox credits more of them
to a day 20 and a day 60 days back (its admin call), and the next daily run, from the
first run's state and with no Ads setting but the report list, lands them:

* what a target that upserts on the streams' primary keys holds (built from the Singer
  output of both runs, the last record of a key winning) equals the sandbox's new truth,
  every metric of every row (DAY, HOUR and LIFETIME tables);
* the first run's rows of the credited days were stale: the test would see a miss;
* the second run costs no more Ads report requests (every page and retry, counted from
  the sandbox's request log) than the first: the 90-day re-read is one window per report
  and ad account.

The tap runs in this process (its Ads clock frozen with the sandbox's) over HTTP.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.ads import (
    credit_late_conversions,
    landed,
    months_before,
    repeated_keys,
    report_requests,
    sync_ads,
)

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)  # the next daily run
FIRST_DAY = months_before(NOW.date(), 6)  # the default ads_timeframe_months, SIX
CREDITED = (NOW.date() - dt.timedelta(days=20), NOW.date() - dt.timedelta(days=60))
CONVERSIONS = ["PURCHASES", "REVENUE", "LEADS", "ADD_TO_CART", "RETURN_ON_AD_SPEND"]
AD_DAY = {"table": "ad_day", "dimension": "AD", "granularity": "DAY",
          "fields": ["IMPRESSIONS", "SPEND", *CONVERSIONS]}
CAMPAIGN_DAY = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "PURCHASES", "REVENUE"]}
AD_SET_HOUR = {"table": "ad_set_hour", "dimension": "AD_SET", "granularity": "HOUR",
               "fields": ["IMPRESSIONS", "PURCHASES", "REVENUE"]}
AD_LIFETIME = {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "PURCHASES", "REVENUE"]}
REPORTS = [AD_DAY, CAMPAIGN_DAY, AD_SET_HOUR, AD_LIFETIME]
DAY_REPORTS = [AD_DAY, CAMPAIGN_DAY]
# Two ad accounts; every campaign flies from 75 days back, so both credited days had ads.
WORLD = {"now": NOW, "campaigns_per_account": 2, "ad_sets_per_campaign": 2,
         "ads_per_ad_set": 3, "flight_days": 75}



def truth(sb, now: dt.datetime) -> dict:
    """Every table as a target holding both runs should hold it at `now`."""
    hour_first, _ = sb.ads_api.default_hour_range(NOW)  # the first run's first hour
    _, hour_last = sb.ads_api.default_hour_range(now)
    return {**sb.ads_truth(DAY_REPORTS, start=FIRST_DAY, end=now.date() - dt.timedelta(days=1),
                           now=now),
            **sb.ads_truth([AD_SET_HOUR], start=hour_first, end=hour_last, now=now),
            **sb.ads_truth([AD_LIFETIME], now=now)}


def rows_of_day(records: list[dict], day: dt.date) -> list[dict]:
    return [r for r in records if r["start_time"].startswith(day.isoformat())]


@pytest.mark.slow
def test_late_conversions_land_with_the_default_settings(sandbox_factory, clock, figures):
    sb = sandbox_factory(ads=WORLD)
    config = sb.tap_config(ads_report_list=REPORTS)  # every other Ads setting at its default
    clock(sb, NOW)
    sb.reset_counters()
    first, state = sync_ads(config)
    first_requests = report_requests(sb)
    assert landed(AD_DAY, first["ad_day"]) == truth(sb, NOW)["ad_day"]  # the first run exact

    before = {day: sb.ads_truth(DAY_REPORTS, start=day, end=day) for day in CREDITED}
    answers = [credit_late_conversions(sb, day) for day in CREDITED]
    assert all(a["ads_credited"] > 0 for a in answers), answers
    for day in CREDITED:  # the credit moved those days, and the first run holds the old ones
        after = sb.ads_truth(DAY_REPORTS, start=day, end=day)
        for report in DAY_REPORTS:
            table = report["table"]
            assert after[table]["checksum"] != before[day][table]["checksum"], (table, day)
            assert landed(report, rows_of_day(first[table], day)) != after[table], (table, day)

    clock(sb, LATER)
    sb.reset_counters()
    second, _ = sync_ads(config, state=state)
    second_requests = report_requests(sb)

    expected = truth(sb, LATER)
    for report in REPORTS:
        table = report["table"]
        assert repeated_keys(report, second[table]) == [], table
        assert expected[table]["count"] > 0, table
        assert landed(report, first[table] + second[table]) == expected[table], table
    assert second_requests <= first_requests
    figures("late attribution, Ads", days_credited=len(CREDITED),
            ads_credited=sum(a["ads_credited"] for a in answers),
            first_run_report_requests=first_requests,
            second_run_report_requests=second_requests)
    print(f"Ads report requests: first run {first_requests}, second run (90-day DAY and "
          f"14-day HOUR re-read) {second_requests}")
