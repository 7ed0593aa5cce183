"""Fault matrix: every transient fault Spotify or the network can throw at a run, one case
each, on the Bulk API (tap as a real subprocess) and the Ads API (in-process, frozen clock).

Each case: exit 0 (no exception), exactly the sandbox's ground truth (`Tally`: count,
key checksum, metric sums; 0 records lost, none extra), 0 duplicate primary keys, the
fault really was injected, STATE never ahead of the records, and no secret in any output.
"""

from __future__ import annotations

import collections
import datetime as dt
import typing as t

import pytest
from _tap import (
    assert_matches_truth,
    duplicate_keys,
    run_cli,
    run_in_process,
    unique_credentials,
    upsert,
)
from helpers import assert_state_follows_data
from spotify_sandbox import FaultOptions
from spotify_sandbox.tally import (
    ADS_KEYS_INSIGHT,
    ADS_KEYS_LIFETIME,
    ADS_KEYS_TIMESERIES,
    Tally,
)

from tap_spotify_bulk.ads import windows

D = dt.date
START, END = D(2024, 3, 1), D(2024, 3, 4)
COUNTRIES = ("SE", "NO", "DE", "US")
ALL_BULK = None  # every Bulk stream (the default catalog)


class Case(t.NamedTuple):
    sandbox: dict[str, t.Any]
    faults_seen: tuple[str, ...] = ()  # fault kinds that must have been injected
    streams: tuple[str, ...] | None = ALL_BULK
    end: dt.date = END


BULK_CASES: dict[str, Case] = {
    "429_with_and_without_retry_after": Case(
        {"faults": FaultOptions(rate_429=0.35)}, ("429",)),
    "429_storm": Case(
        {"faults": FaultOptions(rate_429=0.9, fault_attempts=3)}, ("429",),
        ("streams", "users"), D(2024, 3, 1)),
    "5xx_burst": Case({"faults": FaultOptions(rate_5xx=0.35, fault_attempts=2)}, ("5xx",)),
    "token_endpoint_503": Case(
        {"faults": FaultOptions(token_503=True, fault_attempts=3)}, ("token_503",)),
    "token_expiry_between_files": Case(
        {"token_lifetime": 1, "latency_ms": 150}, (), ("streams", "tracks"), D(2024, 3, 3)),
    "token_expiry_mid_file_401": Case(
        {"faults": FaultOptions(rate_401=0.4), "token_lifetime": 1, "latency_ms": 20,
         "direct_files": True}, ("401",)),
    "truncated_gzip_first_download": Case(
        {"faults": FaultOptions(rate_truncated_gzip=1.0)}, ("truncated_gzip",)),
    "truncated_gzip_direct_file": Case(
        {"faults": FaultOptions(rate_truncated_gzip=1.0), "direct_files": True},
        ("truncated_gzip",)),
    "connection_resets": Case({"faults": FaultOptions(rate_reset=0.4)}, ("reset",)),
    "signed_url_expired_before_download": Case(
        {"faults": FaultOptions(rate_signed_url_expired=1.0, fault_attempts=2)},
        ("signed_url_expired",)),
    "slow_responses": Case({"latency_ms": 60}, (), ("streams", "aggregated_streams_count")),
    "hostile_everything_at_once": Case(
        {"faults": FaultOptions.profile("hostile")}, ("429", "5xx", "truncated_gzip")),
}


def make_sandbox(sandbox_factory, **options):
    base = {"start": START, "end": END, "scale": 300, "countries": COUNTRIES,
            **unique_credentials()}
    return sandbox_factory(**{**base, **options})


@pytest.mark.parametrize("case", BULK_CASES.values(), ids=BULK_CASES.keys())
def test_bulk_fault(case: Case, sandbox_factory, tmp_path, request):
    sb = make_sandbox(sandbox_factory, end=case.end, **case.sandbox)
    config = sb.tap_config(lookback_days=1, max_workers=4)
    run = run_cli(tmp_path, config, streams=case.streams, sandbox=sb)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    output = run.output
    truth = sb.bulk_truth(START, case.end, streams=case.streams)
    assert any(s["count"] for s in truth.values())
    assert_matches_truth(output, truth)
    assert_state_follows_data(output.messages, resumed=False)
    selected = set(case.streams or truth)
    assert output.bookmarks() == dict.fromkeys(selected, case.end.isoformat())
    faults = sb.stats["faults"]
    print(f"bulk {request.node.callspec.id}: {sum(faults.values())} faults injected {faults}, "
          f"{sum(s['count'] for s in truth.values())} records exact")
    for kind in case.faults_seen:
        assert faults.get(kind, 0) > 0, (kind, faults)
    if "token_expiry" in request.node.callspec.id:
        assert sb.stats["tokens_issued"] >= 2


def test_unpublished_recent_days_appear_on_the_next_run(sandbox_factory, tmp_path):
    end = D(2024, 3, 6)
    sb = make_sandbox(sandbox_factory, end=end, today=D(2024, 3, 7), unpublished_days=2,
                      empty_day_rate=0.0)
    config = sb.tap_config(lookback_days=3, max_workers=4)
    first = run_cli(tmp_path, config, sandbox=sb)
    assert first.returncode == 0, first.stderr[-3000:]
    # Published up to 2024-03-05; 03-06 answers 404 inside the lookback tail: held.
    assert_matches_truth(first.output, sb.bulk_truth(START, D(2024, 3, 5)))
    assert set(first.output.bookmarks().values()) == {"2024-03-05"}
    assert not any(r["report_date"] == "2024-03-06"
                   for rows in first.output.records.values() for r in rows)

    sb.options.unpublished_days = 0
    second = run_cli(tmp_path, config, state=first.output.state, sandbox=sb)
    assert second.returncode == 0, second.stderr[-3000:]
    assert set(second.output.bookmarks().values()) == {end.isoformat()}
    for stream, rows in second.output.records.items():
        assert not duplicate_keys(stream, rows)
    landed = upsert([first.output, second.output])
    truth = sb.bulk_truth(START, end)
    assert {name: Tally.for_bulk_stream(name).add_all(rows.values()).summary()
            for name, rows in landed.items()} == {k: v for k, v in truth.items() if v["count"]}
    assert any(r["report_date"] == "2024-03-06" for r in second.output.records["users"])


# -- Ads API ---------------------------------------------------------------------------

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)
DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}
LIFETIME_AD = {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "CLICKS", "LEADS"]}
INSIGHT_COUNTRY = {"table": "country_insights", "dimension": "COUNTRY",
                   "granularity": "LIFETIME", "fields": ["IMPRESSIONS", "REACH"]}
ADS_REPORTS = [DAY_CAMPAIGN, LIFETIME_AD, INSIGHT_COUNTRY]

ADS_CASES: dict[str, dict[str, t.Any]] = {
    "429_from_the_edge": {"faults": FaultOptions(rate_429=0.35)},
    "5xx_burst": {"faults": FaultOptions(rate_5xx=0.2, fault_attempts=2)},
    "connection_resets": {"faults": FaultOptions(rate_reset=0.3)},
    "token_endpoint_503": {"faults": FaultOptions(token_503=True, fault_attempts=2)},
    "token_expiry_and_401": {"faults": FaultOptions(rate_401=0.3), "token_lifetime": 1,
                             "latency_ms": 20},
    "refresh_token_rotation": {"rotate_refresh_token": True, "token_lifetime": 1,
                               "latency_ms": 40, "faults": FaultOptions(rate_401=0.3)},
    "ads_rate_limit": {"ads": {"now": NOW, "rate_limit": 5, "rate_window": 1.0}},
}
ADS_FAULT_SEEN = {"429_from_the_edge": "429", "5xx_burst": "5xx",
                  "connection_resets": "reset", "token_endpoint_503": "token_503",
                  "token_expiry_and_401": "401"}


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(windows, "utc_now", lambda: NOW)


def ads_keys(report: dict) -> tuple[str, ...]:
    if report["dimension"] in {"AGE", "COUNTRY", "GENDER", "GENRE", "PLATFORM"}:
        return ADS_KEYS_INSIGHT
    return ADS_KEYS_LIFETIME if report["granularity"] == "LIFETIME" else ADS_KEYS_TIMESERIES


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("options", ADS_CASES.values(), ids=ADS_CASES.keys())
def test_ads_fault(options: dict, sandbox_factory, request):
    case = request.node.callspec.id
    sb = sandbox_factory(**{"ads": {"now": NOW}, **unique_credentials(), **options})
    config = sb.tap_config(ads_report_list=ADS_REPORTS, ads_timeframe_months="THREE")
    run = run_in_process(config, streams=[r["table"] for r in ADS_REPORTS], sandbox=sb)
    truth = sb.ads_truth(ADS_REPORTS, start=windows.months_back(TODAY, 3), end=YESTERDAY)
    for report in ADS_REPORTS:
        rows = run.output.records[report["table"]]
        keys = ads_keys(report)
        counts = collections.Counter(tuple(r[k] for k in keys) for r in rows)
        assert [k for k, n in counts.items() if n > 1] == [], report["table"]
        columns = [f.lower() for f in report["fields"]]
        landed = Tally.for_ads_report(keys, columns).add_all(rows).summary()
        assert landed == truth[report["table"]], report["table"]
    print(f"ads {case}: {sb.stats['faults_total']} faults injected {sb.stats['faults']}, "
          f"{sb.ads_api.stats.get('sent_429', 0)} rate-limit 429s, "
          f"{sum(len(run.output.records[r['table']]) for r in ADS_REPORTS)} records exact")
    if case in ADS_FAULT_SEEN:
        assert sb.stats["faults"].get(ADS_FAULT_SEEN[case], 0) > 0, sb.stats["faults"]
    if case == "refresh_token_rotation":
        assert len(sb.app.tokens.refresh_tokens) >= 3  # rotated at least twice, and kept
    if case == "ads_rate_limit":
        assert sb.ads_api.stats["sent_429"] >= 1
