"""The Ads re-read window (`ads_lookback_days`, default 90) against the sandbox's Ads API:
what a later run asks for, and that HOUR reports resumed from a state with a lookback land
exactly the truth (late conversions included).

The tap runs in this process with its Ads clock frozen at the sandbox's.
"""

from __future__ import annotations

import datetime as dt

from helpers.ads import (
    aggregate_windows,
    credit_late_conversions,
    landed,
    repeated_keys,
    run_ads,
    sync_ads,
)

from tap_spotify_bulk.ads import windows
from tap_spotify_bulk.ads.streams import AdsReportStream

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
RESUMED = NOW + dt.timedelta(hours=3)  # when the cut HOUR run is resumed
CAMPAIGN_DAY = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "PURCHASES", "REVENUE"]}
AD_SET_HOUR = {"table": "ad_set_hour", "dimension": "AD_SET", "granularity": "HOUR",
               "fields": ["IMPRESSIONS", "PURCHASES", "REVENUE"]}



def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_default_rereads_90_days_and_14_days_in_one_request_each(sandbox_factory, clock):
    """A daily run with the default settings asks each DAY report once per ad account for
    exactly the last 90 days (2026-03-18..06-15) and each HOUR report once for every hour
    the API serves (13 days 23 hours back to the last complete hour), and logs no warning
    about the 14-day limit (it is the window asked for, not data left behind)."""
    sb = sandbox_factory(ads={"now": NOW})
    config = sb.tap_config(ads_report_list=[CAMPAIGN_DAY, AD_SET_HOUR])
    clock(sb, NOW)
    _, state = sync_ads(config)
    later = dt.datetime(2026, 6, 16, 9, 5, tzinfo=dt.UTC)
    clock(sb, later)
    sb.ads_api.report_log.clear()
    output = run_ads(config, state)

    accounts = sb.ads_api.world.account_ids
    for account in accounts:
        assert aggregate_windows(sb, account) == [("2026-03-18T00:00:00Z",
                                                   "2026-06-15T00:00:00Z")]
        assert aggregate_windows(sb, account, "HOUR") == [("2026-06-02T10:00:00Z",
                                                           "2026-06-16T08:00:00Z")]
    assert "reach back 14 days only" not in output.logs
    assert sb.ads_api.stats.get("sent_400", 0) == 0


def test_an_hour_report_resumed_with_a_lookback_is_exact(sandbox_factory, clock, monkeypatch):
    """HOUR reports with `ads_lookback_days` 2: a run cut right after a STATE in the middle
    of its hours, resumed from that STATE three hours later, asks again from the bookmark's
    hour (half emitted when the run stopped) and lands exactly the truth; late conversions
    then credited to yesterday land too in the next run, which re-reads the last 2 days.
    Upserted on the key, both rounds equal the truth of every hour read."""
    monkeypatch.setattr(AdsReportStream, "STATE_MSG_FREQUENCY", 100)
    sb = sandbox_factory(ads={"now": NOW})
    config = sb.tap_config(ads_report_list=[AD_SET_HOUR], ads_lookback_days=2)
    clock(sb, NOW)
    messages = run_ads(config).messages
    cut = [i for i, m in enumerate(messages) if m["type"] == "STATE"][3]
    before = [m["record"] for m in messages[:cut] if m["type"] == "RECORD"]
    state = messages[cut]["value"]
    marks = {p["context"]["ad_account_id"]: p["replication_key_value"]
             for p in state["bookmarks"]["ad_set_hour"]["partitions"]}
    assert marks and all(mark < iso(NOW - dt.timedelta(days=3)) for mark in marks.values())

    clock(sb, RESUMED)
    sb.ads_api.report_log.clear()
    after, state = sync_ads(config, state)
    for account, mark in marks.items():  # from the bookmark's hour: it may be half emitted
        assert aggregate_windows(sb, account, "HOUR")[0][0] == mark
    assert repeated_keys(AD_SET_HOUR, after["ad_set_hour"]) == []
    rows = before + after["ad_set_hour"]
    assert not_exact(sb, rows, marks, RESUMED) == []

    yesterday = RESUMED.date() - dt.timedelta(days=1)
    assert credit_late_conversions(sb, yesterday)["ads_credited"] > 0
    # The credit moved hours the target already holds, in every account.
    assert not_exact(sb, rows, marks, RESUMED) == sb.ads_api.world.account_ids
    next_run = RESUMED + dt.timedelta(hours=5)
    clock(sb, next_run)
    sb.ads_api.report_log.clear()
    again, _ = sync_ads(config, state)
    assert {start for start, _ in aggregate_windows(sb, granularity="HOUR")} == {
        iso(windows.floor_hour(next_run) - dt.timedelta(days=2))}
    assert not_exact(sb, rows + again["ad_set_hour"], marks, next_run) == []


def not_exact(sb, rows: list[dict], marks: dict[str, str], now: dt.datetime) -> list[str]:
    """The ad accounts whose `rows`, upserted, differ from the truth of the hours up to the
    last complete one at `now`, from the first hour the API served when the account was
    first read: at `NOW` for the accounts the cut run had reached (`marks`), at `RESUMED`
    for the others (the hours that left the API's 14 days in between were never served)."""
    _, last_hour = sb.ads_api.default_hour_range(now)
    wrong = []
    for account in sb.ads_api.world.account_ids:
        first_hour, _ = sb.ads_api.default_hour_range(NOW if account in marks else RESUMED)
        truth = sb.ads_truth([AD_SET_HOUR], accounts=[account], start=first_hour,
                             end=last_hour, now=now)["ad_set_hour"]
        assert truth["count"] > 0
        if landed(AD_SET_HOUR, [r for r in rows if r["ad_account_id"] == account]) != truth:
            wrong.append(account)
    return wrong
