"""Fault matrix: every transient fault Spotify or the network can throw at a run, one case
each, on the Bulk API (tap as a real subprocess) and the Ads API (in-process, frozen clock).

Every case (12 Bulk, 7 Ads): exit 0 (no exception), exactly the sandbox's ground truth
(`Tally`: count, checksum of every field, metric sums; 0 records lost, none extra), 0
duplicate primary keys, STATE never ahead of the records (Bulk: no record at or before a
committed date follows its STATE; Ads DAY: no record before a committed bookmark follows
it), the fault it names really was injected (each case lists the kinds it checks), and no
secret in any output. Each case adds its figures to the session's `fault suite figures`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

import pytest
from helpers.ads import landed, repeated_keys, run_ads
from helpers.run import run_cli
from helpers.secrets import unique_credentials
from helpers.singer import (
    assert_matches_truth,
    assert_state_follows_data,
    duplicate_keys,
    tally,
    upsert,
)
from spotify_sandbox import FaultOptions

from tap_spotify_bulk.ads import times

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
    "hostile_everything_at_once": Case(  # the hostile profile; with seed 7 its 15 % of
        # expired signed URLs hits no file of this window, so that rate is doubled
        {"faults": dataclasses.replace(FaultOptions.profile("hostile"),
                                       rate_signed_url_expired=0.3)},
        ("429", "5xx", "401", "truncated_gzip", "reset", "signed_url_expired", "token_503")),
}


def make_sandbox(sandbox_factory, **options):
    base = {"start": START, "end": END, "scale": 300, "countries": COUNTRIES,
            **unique_credentials()}
    return sandbox_factory(**{**base, **options})


@pytest.mark.parametrize("case", BULK_CASES.values(), ids=BULK_CASES.keys())
def test_bulk_fault(case: Case, sandbox_factory, tmp_path, request, figures):
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
    records = sum(s["count"] for s in truth.values())
    print(f"bulk {request.node.callspec.id}: {sum(faults.values())} faults injected {faults}, "
          f"{records} records exact")
    figures("fault matrix, Bulk", faults_injected=sum(faults.values()), records_exact=records)
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
    union = upsert([first.output, second.output])
    truth = sb.bulk_truth(START, end)
    assert {name: tally(name, rows.values()) for name, rows in union.items()} == {
        k: v for k, v in truth.items() if v["count"]}
    assert any(r["report_date"] == "2024-03-06" for r in second.output.records["users"])


# -- Ads API ---------------------------------------------------------------------------

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
FIRST_DAY, YESTERDAY = dt.date(2026, 3, 15), dt.date(2026, 6, 14)  # THREE months back
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
    "ads_rate_limit": {"ads": {"now": NOW, "rate_limit": 5, "rate_window": 1.0,
                               "rate_headers": "on_429"}},
}
ADS_FAULT_SEEN = {"429_from_the_edge": "429", "5xx_burst": "5xx",
                  "connection_resets": "reset", "token_endpoint_503": "token_503",
                  "token_expiry_and_401": "401"}


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def assert_ads_state_follows_data(messages: list[dict], table: str) -> None:
    """Once a STATE committed an ad account's DAY bookmark, no record of that account from
    before the bookmark follows (a resumed run re-reads from the bookmark day on)."""
    committed: dict[str, str] = {}
    for message in messages:
        if message["type"] == "STATE":
            stream = message["value"].get("bookmarks", {}).get(table, {})
            for part in stream.get("partitions", []):
                if part.get("replication_key_value"):
                    committed[part["context"]["ad_account_id"]] = windows_day(
                        part["replication_key_value"])
        elif message["type"] == "RECORD" and message["stream"] == table:
            record = message["record"]
            bookmark = committed.get(record["ad_account_id"])
            assert bookmark is None or windows_day(record["start_time"]) >= bookmark, (
                f"{table}: a record of {record['start_time']} after STATE moved "
                f"{record['ad_account_id']} to {bookmark}")


def windows_day(value: str) -> str:
    return value[:10]


@pytest.mark.usefixtures("frozen_clock")
@pytest.mark.parametrize("options", ADS_CASES.values(), ids=ADS_CASES.keys())
def test_ads_fault(options: dict, sandbox_factory, request, figures):
    case = request.node.callspec.id
    sb = sandbox_factory(**{"ads": {"now": NOW}, **unique_credentials(), **options})
    config = sb.tap_config(ads_report_list=ADS_REPORTS, ads_timeframe_months="THREE")
    run = run_ads(config, sandbox=sb)
    truth = sb.ads_truth(ADS_REPORTS, start=FIRST_DAY, end=YESTERDAY)
    for report in ADS_REPORTS:
        rows = run.records[report["table"]]
        assert repeated_keys(report, rows) == [], report["table"]
        assert landed(report, rows) == truth[report["table"]], report["table"]
    assert_ads_state_follows_data(run.messages, DAY_CAMPAIGN["table"])
    injected = sb.stats["faults_total"]
    rate_limited = sb.ads_api.stats.get("sent_429", 0)
    records = sum(len(run.records[r["table"]]) for r in ADS_REPORTS)
    print(f"ads {case}: {injected} faults injected {sb.stats['faults']}, "
          f"{rate_limited} rate-limit 429s, {records} records exact")
    figures("fault matrix, Ads", faults_injected=injected, rate_limit_429s=rate_limited,
            records_exact=records)
    if case in ADS_FAULT_SEEN:
        assert sb.stats["faults"].get(ADS_FAULT_SEEN[case], 0) > 0, sb.stats["faults"]
    if case == "refresh_token_rotation":
        assert len(sb.app.tokens.refresh_tokens) >= 3  # rotated at least twice, and kept
    if case == "ads_rate_limit":
        assert rate_limited >= 1
