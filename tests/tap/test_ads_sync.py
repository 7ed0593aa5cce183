"""Ads report streams against the sandbox's Ads API: exact ground-truth comparisons.

The tap runs in-process (so both the tap and the sandbox can share one frozen clock);
its Singer output is captured and tallied with the same `Tally` the sandbox uses.
"""

from __future__ import annotations

import collections
import datetime as dt

import pytest
from helpers.ads import (
    aggregate_windows,
    landed,
    repeated_keys,
    run_ads,
    sync_ads,
)
from helpers.run import run_tap
from spotify_sandbox import FaultOptions

from tap_spotify_bulk.ads import times
from tap_spotify_bulk.ads.streams import AdsReportStream
from tap_spotify_bulk.errors import AccessError, ConfigError

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 15)
YESTERDAY = dt.date(2026, 6, 14)
# First DAY-report day of a first sync, written down (not computed by the tap's own code).
SIX_MONTHS_BACK = dt.date(2025, 12, 15)
THREE_MONTHS_BACK = dt.date(2026, 3, 15)
ALL_TIME_START = dt.date(2017, 1, 1)


def iso(when: dt.date | dt.datetime) -> str:
    """The API's form of a day (midnight UTC) or an hour."""
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{when.isoformat()}T00:00:00Z"
DAY_AD = {"table": "ad_day", "dimension": "AD", "granularity": "DAY",
          "fields": ["IMPRESSIONS", "CLICKS", "E_CPM", "LEADS"]}
HOUR_CAMPAIGN = {"table": "campaign_hour", "dimension": "CAMPAIGN", "granularity": "HOUR",
                 "fields": ["IMPRESSIONS", "SPEND"]}
LIFETIME_AD_SET = {"table": "ad_set_lifetime", "dimension": "AD_SET",
                   "granularity": "LIFETIME", "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}
INSIGHT_AGE = {"table": "age_insights", "dimension": "AGE", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "REACH", "CLICKS"]}
DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND"]}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def ads_sandbox(sandbox_factory, **ads):
    return sandbox_factory(ads={"now": NOW, **ads})


def test_day_hour_lifetime_and_insight_reports_match_the_truth(sandbox_factory):
    reports = [DAY_AD, HOUR_CAMPAIGN, LIFETIME_AD_SET, INSIGHT_AGE]
    # Row paging makes every report follow continuation tokens ("+/=" inside).
    sb = ads_sandbox(sandbox_factory, page_unit="row")
    records, state = sync_ads(sb.tap_config(ads_report_list=reports))

    start = SIX_MONTHS_BACK
    hour_first, hour_last = sb.ads_api.default_hour_range(NOW)
    truth = {
        **sb.ads_truth([DAY_AD], start=start, end=YESTERDAY),
        **sb.ads_truth([HOUR_CAMPAIGN], start=hour_first, end=hour_last),
        **sb.ads_truth([LIFETIME_AD_SET, INSIGHT_AGE]),
    }
    for report in reports:
        rows = records[report["table"]]
        assert rows, report["table"]
        assert repeated_keys(report, rows) == []
        assert landed(report, rows) == truth[report["table"]], report["table"]
    # The sandbox paged: continuation tokens were followed, sent alone.
    continued = [e for e in sb.ads_api.report_log if e.get("continued")]
    assert continued
    assert sb.ads_api.stats.get("sent_400", 0) == 0
    # Parents are filled for AD and AD_SET, E_CPM is spend / impressions * 1000.
    assert all(r["parent_entity_id"] for r in records["ad_day"])
    assert all(r["parent_entity_id"] for r in records["ad_set_lifetime"])
    for r in records["ad_set_lifetime"]:
        assert set(r) >= {"impressions", "spend", "e_cpm"}
        if r["impressions"] and r["spend"] is not None:
            assert r["e_cpm"] == pytest.approx(r["spend"] / r["impressions"] * 1000)
        else:
            assert r["e_cpm"] is None
    assert "spend" not in records["ad_day"][0]  # requested for E_CPM, not emitted
    assert any(r["leads"] == -5 for r in records["ad_day"])  # privacy value kept
    assert any(r["impressions"] is None for r in records["ad_day"])  # absent field: null
    # Insight: ad sets answering 422 INSUFFICIENT_* simply have no rows.
    assert sb.ads_api.stats["sent_422"] > 0
    # HOUR was clamped to the last 14 days and ends at the last complete hour.
    hours = aggregate_windows(sb, granularity="HOUR")
    assert set(hours) == {(iso(hour_first), iso(hour_last))}
    # State: one bookmark per ad account for the incremental tables.
    partitions = state["bookmarks"]["ad_day"]["partitions"]
    assert {p["replication_key_value"] for p in partitions} == {iso(YESTERDAY)}
    assert {p["context"]["ad_account_id"] for p in partitions} == set(
        sb.ads_api.world.account_ids)


def test_six_month_day_report_is_read_in_90_day_windows(sandbox_factory):
    sb = ads_sandbox(sandbox_factory)
    sync_ads(sb.tap_config(ads_report_list=[DAY_CAMPAIGN], ads_timeframe_months="SIX"))
    first_day = SIX_MONTHS_BACK
    for account in sb.ads_api.world.account_ids:
        spans = [(dt.date.fromisoformat(a[:10]), dt.date.fromisoformat(b[:10]))
                 for a, b in aggregate_windows(sb, account)]
        assert spans[0][0] == first_day
        assert spans[-1][1] == YESTERDAY
        for (first, last), following in zip(spans, [*spans[1:], None], strict=True):
            assert 0 <= (last - first).days <= 90
            if following:
                assert following[0] == last + dt.timedelta(days=1)
        assert len(spans) == 3  # 182 days: 90 + 90 + 2


def test_all_time_reads_day_reports_from_2017(sandbox_factory):
    # api-contract §5.3: ALL_TIME reads DAY reports from 2017-01-01, in windows of at most 90 days.
    sb = ads_sandbox(sandbox_factory)
    records, _ = sync_ads(sb.tap_config(ads_report_list=[DAY_CAMPAIGN],
                                       ads_timeframe_months="ALL_TIME"))
    for account in sb.ads_api.world.account_ids:
        spans = aggregate_windows(sb, account)
        assert spans[0][0] == iso(ALL_TIME_START)
        assert spans[-1][1] == iso(YESTERDAY)
    truth = sb.ads_truth([DAY_CAMPAIGN], start=ALL_TIME_START, end=YESTERDAY)
    assert landed(DAY_CAMPAIGN, records["campaign_day"]) == truth["campaign_day"]


def test_all_time_asks_even_an_account_without_campaigns(sandbox_factory):
    # The campaign list is no reliable bound: archived campaigns may not be listed, and an
    # AD_ACCOUNT report has rows of its own.
    sb = ads_sandbox(sandbox_factory, campaigns_per_account=0)
    records, _ = sync_ads(sb.tap_config(ads_report_list=[DAY_CAMPAIGN],
                                       ads_timeframe_months="ALL_TIME"))
    assert records["campaign_day"] == []
    assert sb.ads_api.stats.get("requests_campaigns", 0) == 0
    asked = {account for account in sb.ads_api.world.account_ids
             if aggregate_windows(sb, account)}
    assert asked == set(sb.ads_api.world.account_ids)


def test_second_run_rereads_lookback_days_and_matches_the_truth(sandbox_factory, monkeypatch):
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[DAY_AD], ads_timeframe_months="THREE",
                           ads_lookback_days=3)
    first, state = sync_ads(config)
    later = NOW + dt.timedelta(days=2)
    monkeypatch.setattr(times, "utc_now", lambda: later)
    sb.ads_api.fixed_now = later
    sb.ads_api.report_log.clear()
    second, state2 = sync_ads(config, state=state)

    assert repeated_keys(DAY_AD, second["ad_day"]) == []
    # The second run reads the last 3 days again (06-14..06-16), which start on the bookmark
    # day (the first run's yesterday).
    starts = {s for s, _ in aggregate_windows(sb)}
    assert starts == {iso(later.date() - dt.timedelta(days=3))} == {iso(YESTERDAY)}
    truth = sb.ads_truth([DAY_AD], start=THREE_MONTHS_BACK,
                         end=later.date() - dt.timedelta(days=1), now=later)
    assert landed(DAY_AD, first["ad_day"] + second["ad_day"]) == truth["ad_day"]
    bookmarks = {p["replication_key_value"] for p in state2["bookmarks"]["ad_day"]["partitions"]}
    assert bookmarks == {iso(later.date() - dt.timedelta(days=1))}


@pytest.mark.parametrize(("lookback", "older_days_stale"), [(14, False), (3, True)],
                         ids=["lookback_14_lands_every_restated_day",
                              "lookback_3_leaves_older_restated_days_stale"])
def test_restated_days_need_a_lookback_as_long_as_attribution(sandbox_factory, monkeypatch,
                                                              lookback, older_days_stale):
    """Spotify restates the last 14 days. Checked day by day against the restated truth:
    every day the second run read again lands its restated values; with a 14-day lookback
    that is every restated day, with 3 days the days before its window stay stale (why the
    default re-reads 90 days)."""
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN], ads_timeframe_months="THREE",
                           ads_lookback_days=lookback)
    first, state = sync_ads(config)
    later = dt.datetime(2026, 6, 16, 10, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(times, "utc_now", lambda: later)
    sb.ads_api.fixed_now = later
    sb.ads_api.world.version = 1
    second, _ = sync_ads(config, state=state)
    merged = first["campaign_day"] + second["campaign_day"]

    def matches(day: dt.date) -> bool:
        rows = [r for r in merged if r["start_time"].startswith(day.isoformat())]
        truth = sb.ads_truth([DAY_CAMPAIGN], start=day, end=day, now=later)
        return landed(DAY_CAMPAIGN, rows) == truth["campaign_day"]

    reread_from = later.date() - dt.timedelta(days=lookback)  # the last `lookback` days
    days = [dt.date(2026, 6, 1) + dt.timedelta(days=n) for n in range(15)]  # 06-01..06-15
    assert all(matches(day) for day in days if day >= reread_from)
    stale = [day for day in days if day < reread_from and not matches(day)]
    assert bool(stale) is older_days_stale, stale


def test_an_interrupted_run_resumes_from_its_last_state(sandbox_factory, monkeypatch):
    monkeypatch.setattr(AdsReportStream, "STATE_MSG_FREQUENCY", 100)
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[DAY_AD], ads_timeframe_months="THREE",
                           ads_lookback_days=2)
    messages = run_ads(config).messages
    # Pretend the run died right after its first STATE (mid-way through an account).
    cut = next(i for i, m in enumerate(messages) if m["type"] == "STATE")
    before = [m["record"] for m in messages[:cut] if m["type"] == "RECORD"]
    state = messages[cut]["value"]
    (partition,) = state["bookmarks"]["ad_day"]["partitions"]
    bookmark = dt.date.fromisoformat(partition["replication_key_value"][:10])
    assert THREE_MONTHS_BACK < bookmark < YESTERDAY
    sb.ads_api.report_log.clear()

    after, _ = sync_ads(config, state=state)
    resumed = aggregate_windows(sb, partition["context"]["ad_account_id"])
    assert resumed[0][0] == iso(bookmark)  # the bookmark's day is before the last 2 days
    assert repeated_keys(DAY_AD, after["ad_day"]) == []
    truth = sb.ads_truth([DAY_AD], start=THREE_MONTHS_BACK, end=YESTERDAY)
    assert landed(DAY_AD, before + after["ad_day"]) == truth["ad_day"]


def test_rotated_refresh_tokens_are_kept_across_several_refreshes(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "page_unit": "row"}, rotate_refresh_token=True,
                         token_lifetime=1, latency_ms=40, faults=FaultOptions(rate_401=0.2))
    reports = [DAY_AD, HOUR_CAMPAIGN, LIFETIME_AD_SET]
    records, _ = sync_ads(sb.tap_config(ads_report_list=reports))
    assert sb.stats["tokens_by_grant"].get("refresh_token", 0) >= 3
    assert sb.stats["faults"].get("401", 0) >= 1  # a 401 mid-run: refreshed and retried
    truth = {
        **sb.ads_truth([DAY_AD, LIFETIME_AD_SET], start=SIX_MONTHS_BACK,
                       end=YESTERDAY),
        **sb.ads_truth([HOUR_CAMPAIGN]),
    }
    for report in reports:
        assert landed(report, records[report["table"]]) == truth[report["table"]]


def test_all_accounts_are_deduplicated_across_businesses(sandbox_factory):
    sb = ads_sandbox(sandbox_factory, n_businesses=3, accounts_per_business=1,
                     shared_account=True)
    world = sb.ads_api.world
    listed = [a["id"] for b in world.businesses for a in world.business_accounts(b["id"])]
    assert len(listed) > len(set(listed))  # the sandbox lists one account twice
    records, _ = sync_ads(sb.tap_config(ads_report_list=[LIFETIME_AD_SET]))
    assert repeated_keys(LIFETIME_AD_SET, records["ad_set_lifetime"]) == []
    assert {r["ad_account_id"] for r in records["ad_set_lifetime"]} == set(listed)
    per_account = collections.Counter(e["account"] for e in sb.ads_api.report_log)
    assert set(per_account.values()) == {1}
    truth = sb.ads_truth([LIFETIME_AD_SET])
    assert landed(LIFETIME_AD_SET, records["ad_set_lifetime"]) == truth["ad_set_lifetime"]


def test_specific_accounts_extracts_only_those_and_rejects_unknown_ids(sandbox_factory):
    sb = ads_sandbox(sandbox_factory)
    wanted = sb.ads_api.world.account_ids[1]
    config = sb.tap_config(ads_report_list=[LIFETIME_AD_SET], ads_sync_mode="SPECIFIC_ACCOUNTS",
                           ads_accounts=[wanted])
    records, _ = sync_ads(config)
    truth = sb.ads_truth([LIFETIME_AD_SET], accounts=[wanted])
    assert landed(LIFETIME_AD_SET, records["ad_set_lifetime"]) == truth["ad_set_lifetime"]
    assert sb.ads_api.stats.get("requests_businesses", 0) == 0

    config["ads_accounts"] = [wanted, "no-such-account"]
    with pytest.raises(AccessError) as err:
        sync_ads(config)
    message = str(err.value)
    assert "`ads_accounts`" in message
    assert "'no-such-account'" in message
    assert "404" in message
    assert "\n" not in message


def test_insight_reports_page_through_more_than_50_ad_sets(sandbox_factory):
    sb = ads_sandbox(sandbox_factory, n_businesses=1, shared_account=False,
                     campaigns_per_account=30, ad_sets_per_campaign=2, ads_per_ad_set=1)
    report = {**INSIGHT_AGE, "dimension": "PLATFORM", "table": "platform_insights"}
    records, _ = sync_ads(sb.tap_config(ads_report_list=[report]))
    assert sb.ads_api.stats["requests_ad_sets"] == 2  # 60 ad sets: offsets 0 and 50
    assert sb.ads_api.stats["requests_insight_reports"] == 60
    assert landed(report, records["platform_insights"]) == sb.ads_truth([report])[
        "platform_insights"]


def test_unselected_ads_streams_send_no_ads_request(sandbox_factory):
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[DAY_AD], ads_refresh_token=None)
    run_tap(config, streams=["tracks"], sandbox=sb)
    assert sb.ads_api.stats["requests"] == 0
    assert "refresh_token" not in sb.stats["tokens_by_grant"]


def test_bad_report_object_stops_the_tap_before_any_request(sandbox_factory):
    sb = ads_sandbox(sandbox_factory)
    bad = {**INSIGHT_AGE, "fields": ["IMPRESSIONS", "SPEND"]}
    with pytest.raises(ConfigError, match="field SPEND is not available"):
        sync_ads(sb.tap_config(ads_report_list=[bad]))
    assert sb.stats["requests_total"] == 0


def test_a_429_storm_slows_the_run_but_the_data_is_exact(sandbox_factory):
    sb = ads_sandbox(sandbox_factory, rate_limit=4, rate_window=1.0, page_unit="row",
                     rate_headers="on_429")  # no warning before the 429s
    reports = [DAY_CAMPAIGN, INSIGHT_AGE]
    records, _ = sync_ads(sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE"))
    assert sb.ads_api.stats["sent_429"] >= 3
    truth = sb.ads_truth(reports, start=THREE_MONTHS_BACK, end=YESTERDAY)
    for report in reports:
        assert landed(report, records[report["table"]]) == truth[report["table"]]
