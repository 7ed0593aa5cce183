"""Ads report streams against the sandbox's Ads API: exact ground-truth comparisons.

The tap runs in-process (so both the tap and the sandbox can share one frozen clock);
its Singer output is captured and tallied with the same `Tally` the sandbox uses.
"""

from __future__ import annotations

import collections
import datetime as dt
import io
import json
from contextlib import redirect_stdout

import pytest
from spotify_sandbox import FaultOptions
from spotify_sandbox.tally import (
    ADS_KEYS_INSIGHT,
    ADS_KEYS_LIFETIME,
    ADS_KEYS_TIMESERIES,
    Tally,
)

from tap_spotify_bulk.ads import windows
from tap_spotify_bulk.ads.streams import AdsReportStream
from tap_spotify_bulk.errors import AccessError, ConfigError
from tap_spotify_bulk.tap import TapSpotifyBulk

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)
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
    monkeypatch.setattr(windows, "utc_now", lambda: NOW)


def ads_sandbox(sandbox_factory, **ads):
    return sandbox_factory(ads={"now": NOW, **ads})


def run_tap(config: dict, state: dict | None = None) -> tuple[dict[str, list], dict | None]:
    """Sync the Ads streams only; ({stream: [records]}, last STATE value)."""
    records: dict[str, list] = collections.defaultdict(list)
    last_state = None
    for message in tap_messages(config, state):
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            last_state = message["value"]
    return records, last_state


def tap_messages(config: dict, state: dict | None = None) -> list[dict]:
    """The Singer messages of a sync of the Ads streams only."""
    tables = {r["table"] for r in config.get("ads_report_list", [])}
    catalog = TapSpotifyBulk(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in tables
    tap = TapSpotifyBulk(config=config, catalog=catalog, state=state, parse_env_config=False)
    out = io.StringIO()
    with redirect_stdout(out):
        tap.sync_all()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def keys_of(report: dict) -> tuple[str, ...]:
    if report["dimension"] in {"AGE", "COUNTRY", "GENDER", "GENRE", "PLATFORM"}:
        return ADS_KEYS_INSIGHT
    return ADS_KEYS_LIFETIME if report["granularity"] == "LIFETIME" else ADS_KEYS_TIMESERIES


def landed(report: dict, records: list[dict]) -> dict:
    """Tally of what landed, upserted on the primary key like a target would."""
    keys = keys_of(report)
    latest = {tuple(r[k] for k in keys): r for r in records}
    columns = [f.lower() for f in report["fields"]]
    return Tally.for_ads_report(keys, columns).add_all(latest.values()).summary()


def assert_unique_keys(report: dict, records: list[dict]) -> None:
    keys = keys_of(report)
    counts = collections.Counter(tuple(r[k] for k in keys) for r in records)
    assert [k for k, n in counts.items() if n > 1] == []


def aggregate_windows(sandbox, account: str | None = None, granularity: str = "DAY"):
    return [(e["report_start"], e["report_end"]) for e in sandbox.ads_api.report_log
            if e["kind"] == "aggregate" and not e["continued"]
            and e["granularity"] == granularity and (account is None or e["account"] == account)]


def test_day_hour_lifetime_and_insight_reports_match_the_truth(sandbox_factory):
    reports = [DAY_AD, HOUR_CAMPAIGN, LIFETIME_AD_SET, INSIGHT_AGE]
    # Row paging makes every report follow continuation tokens ("+/=" inside).
    sb = ads_sandbox(sandbox_factory, page_unit="row")
    records, state = run_tap(sb.tap_config(ads_report_list=reports))

    start = windows.months_back(TODAY, 6)
    hour_first, hour_last = sb.ads_api.default_hour_range(NOW)
    truth = {
        **sb.ads_truth([DAY_AD], start=start, end=YESTERDAY),
        **sb.ads_truth([HOUR_CAMPAIGN], start=hour_first, end=hour_last),
        **sb.ads_truth([LIFETIME_AD_SET, INSIGHT_AGE]),
    }
    for report in reports:
        rows = records[report["table"]]
        assert rows, report["table"]
        assert_unique_keys(report, rows)
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
    assert set(hours) == {(windows.iso(hour_first), windows.iso(hour_last))}
    # State: one bookmark per ad account for the incremental tables.
    partitions = state["bookmarks"]["ad_day"]["partitions"]
    assert {p["replication_key_value"] for p in partitions} == {windows.iso(YESTERDAY)}
    assert {p["context"]["ad_account_id"] for p in partitions} == set(
        sb.ads_api.world.account_ids)


def test_six_month_day_report_is_read_in_90_day_windows(sandbox_factory):
    sb = ads_sandbox(sandbox_factory)
    run_tap(sb.tap_config(ads_report_list=[DAY_CAMPAIGN], ads_timeframe_months="SIX"))
    first_day = windows.months_back(TODAY, 6)
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
    records, _ = run_tap(sb.tap_config(ads_report_list=[DAY_CAMPAIGN],
                                       ads_timeframe_months="ALL_TIME"))
    for account in sb.ads_api.world.account_ids:
        spans = aggregate_windows(sb, account)
        assert spans[0][0] == windows.iso(windows.ALL_TIME_START)
        assert spans[-1][1] == windows.iso(YESTERDAY)
    truth = sb.ads_truth([DAY_CAMPAIGN], start=windows.ALL_TIME_START, end=YESTERDAY)
    assert landed(DAY_CAMPAIGN, records["campaign_day"]) == truth["campaign_day"]


def test_all_time_asks_even_an_account_without_campaigns(sandbox_factory):
    # The campaign list is no reliable bound: archived campaigns may not be listed, and an
    # AD_ACCOUNT report has rows of its own.
    sb = ads_sandbox(sandbox_factory, campaigns_per_account=0)
    records, _ = run_tap(sb.tap_config(ads_report_list=[DAY_CAMPAIGN],
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
    first, state = run_tap(config)
    later = NOW + dt.timedelta(days=2)
    monkeypatch.setattr(windows, "utc_now", lambda: later)
    sb.ads_api.fixed_now = later
    sb.ads_api.report_log.clear()
    second, state2 = run_tap(config, state=state)

    assert_unique_keys(DAY_AD, second["ad_day"])
    # The second run starts 3 days before the bookmark (yesterday of the first run).
    starts = {s for s, _ in aggregate_windows(sb)}
    assert starts == {windows.iso(YESTERDAY - dt.timedelta(days=3))}
    truth = sb.ads_truth([DAY_AD], start=windows.months_back(TODAY, 3),
                         end=later.date() - dt.timedelta(days=1), now=later)
    assert landed(DAY_AD, first["ad_day"] + second["ad_day"]) == truth["ad_day"]
    bookmarks = {p["replication_key_value"] for p in state2["bookmarks"]["ad_day"]["partitions"]}
    assert bookmarks == {windows.iso(later.date() - dt.timedelta(days=1))}


@pytest.mark.parametrize(("lookback", "catches_up"), [(14, True), (3, False)])
def test_restated_days_need_a_lookback_as_long_as_attribution(sandbox_factory, monkeypatch,
                                                              lookback, catches_up):
    """Spotify restates the last 14 days: a 14-day lookback lands the restated values,
    the default 3 days leaves older restatements behind (why the setting is documented)."""
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN], ads_timeframe_months="THREE",
                           ads_lookback_days=lookback)
    first, state = run_tap(config)
    later = NOW + dt.timedelta(days=1)
    monkeypatch.setattr(windows, "utc_now", lambda: later)
    sb.ads_api.fixed_now = later
    sb.ads_api.world.version = 1
    second, _ = run_tap(config, state=state)
    truth = sb.ads_truth([DAY_CAMPAIGN], start=windows.months_back(TODAY, 3),
                         end=later.date() - dt.timedelta(days=1), now=later)
    matches = landed(DAY_CAMPAIGN, first["campaign_day"] + second["campaign_day"]) == truth[
        "campaign_day"]
    assert matches is catches_up


def test_an_interrupted_run_resumes_from_its_last_state(sandbox_factory, monkeypatch):
    monkeypatch.setattr(AdsReportStream, "STATE_MSG_FREQUENCY", 100)
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[DAY_AD], ads_timeframe_months="THREE",
                           ads_lookback_days=2)
    messages = tap_messages(config)
    # Pretend the run died right after its first STATE (mid-way through an account).
    cut = next(i for i, m in enumerate(messages) if m["type"] == "STATE")
    before = [m["record"] for m in messages[:cut] if m["type"] == "RECORD"]
    state = messages[cut]["value"]
    (partition,) = state["bookmarks"]["ad_day"]["partitions"]
    bookmark = dt.date.fromisoformat(partition["replication_key_value"][:10])
    assert windows.months_back(TODAY, 3) < bookmark < YESTERDAY
    sb.ads_api.report_log.clear()

    after, _ = run_tap(config, state=state)
    resumed = aggregate_windows(sb, partition["context"]["ad_account_id"])
    assert resumed[0][0] == windows.iso(bookmark - dt.timedelta(days=2))
    assert_unique_keys(DAY_AD, after["ad_day"])
    truth = sb.ads_truth([DAY_AD], start=windows.months_back(TODAY, 3), end=YESTERDAY)
    assert landed(DAY_AD, before + after["ad_day"]) == truth["ad_day"]


def test_rotated_refresh_tokens_are_kept_across_several_refreshes(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "page_unit": "row"}, rotate_refresh_token=True,
                         token_lifetime=1, latency_ms=40, faults=FaultOptions(rate_401=0.2))
    reports = [DAY_AD, HOUR_CAMPAIGN, LIFETIME_AD_SET]
    records, _ = run_tap(sb.tap_config(ads_report_list=reports))
    assert sb.stats["tokens_by_grant"].get("refresh_token", 0) >= 3
    assert sb.stats["faults"].get("401", 0) >= 1  # a 401 mid-run: refreshed and retried
    truth = {
        **sb.ads_truth([DAY_AD, LIFETIME_AD_SET], start=windows.months_back(TODAY, 6),
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
    records, _ = run_tap(sb.tap_config(ads_report_list=[LIFETIME_AD_SET]))
    assert_unique_keys(LIFETIME_AD_SET, records["ad_set_lifetime"])
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
    records, _ = run_tap(config)
    truth = sb.ads_truth([LIFETIME_AD_SET], accounts=[wanted])
    assert landed(LIFETIME_AD_SET, records["ad_set_lifetime"]) == truth["ad_set_lifetime"]
    assert sb.ads_api.stats.get("requests_businesses", 0) == 0

    config["ads_accounts"] = [wanted, "no-such-account"]
    with pytest.raises(AccessError) as err:
        run_tap(config)
    message = str(err.value)
    assert "`ads_accounts`" in message
    assert "'no-such-account'" in message
    assert "404" in message
    assert "\n" not in message


def test_insight_reports_page_through_more_than_50_ad_sets(sandbox_factory):
    sb = ads_sandbox(sandbox_factory, n_businesses=1, shared_account=False,
                     campaigns_per_account=30, ad_sets_per_campaign=2, ads_per_ad_set=1)
    report = {**INSIGHT_AGE, "dimension": "PLATFORM", "table": "platform_insights"}
    records, _ = run_tap(sb.tap_config(ads_report_list=[report]))
    assert sb.ads_api.stats["requests_ad_sets"] == 2  # 60 ad sets: offsets 0 and 50
    assert sb.ads_api.stats["requests_insight_reports"] == 60
    assert landed(report, records["platform_insights"]) == sb.ads_truth([report])[
        "platform_insights"]


def test_unselected_ads_streams_send_no_ads_request(sandbox_factory):
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[DAY_AD], ads_refresh_token=None)
    catalog = TapSpotifyBulk(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "tracks"
    tap = TapSpotifyBulk(config=config, catalog=catalog, parse_env_config=False)
    with redirect_stdout(io.StringIO()):
        tap.sync_all()
    assert sb.ads_api.stats["requests"] == 0
    assert "refresh_token" not in sb.stats["tokens_by_grant"]


def test_bad_report_object_stops_the_tap_before_any_request(sandbox_factory):
    sb = ads_sandbox(sandbox_factory)
    bad = {**INSIGHT_AGE, "fields": ["IMPRESSIONS", "SPEND"]}
    with pytest.raises(ConfigError, match="field SPEND is not available"):
        run_tap(sb.tap_config(ads_report_list=[bad]))
    assert sb.stats["requests_total"] == 0


def test_a_429_storm_slows_the_run_but_the_data_is_exact(sandbox_factory):
    sb = ads_sandbox(sandbox_factory, rate_limit=4, rate_window=1.0, page_unit="row")
    reports = [DAY_CAMPAIGN, INSIGHT_AGE]
    records, _ = run_tap(sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE"))
    assert sb.ads_api.stats["sent_429"] >= 3
    truth = sb.ads_truth(reports, start=windows.months_back(TODAY, 3), end=YESTERDAY)
    for report in reports:
        assert landed(report, records[report["table"]]) == truth[report["table"]]
