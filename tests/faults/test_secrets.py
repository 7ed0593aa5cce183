"""Secrets never leak: client secrets, refresh tokens (original and rotated), access tokens
and the Basic credentials never appear in stdout (records, STATE), stderr (logs, errors,
tracebacks), at any log level.

Every run helper scans its own output already (see `helpers.run` and `helpers.secrets`:
the secrets each test passes in, the Basic credentials of every id:secret pair, right or
wrong, and every Authorization header the sandbox received); the tests here push the
worst case: both APIs at once (every stream, the Ads entity lists included), a hostile
server, rotating refresh tokens, debug logging and debug tracebacks.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.run import catalog, run_cli
from helpers.secrets import (
    assert_no_secrets,
    basic,
    credential_secrets,
    secrets_of,
    unique_credentials,
)
from spotify_sandbox import FaultOptions

D = dt.date
DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND"]}
LIFETIME_AD = {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "CLICKS"]}


def test_the_scanner_finds_a_planted_secret():
    with pytest.raises(AssertionError):
        assert_no_secrets(["s3cr3t"], b'{"type": "STATE", "value": {"x": "..s3cr3t.."}}')
    assert assert_no_secrets(["s3cr3t"], "clean", b"clean") == 10


def test_both_apis_hostile_server_rotation_and_debug_logging(sandbox_factory, tmp_path):
    faults = FaultOptions(rate_429=0.1, rate_5xx=0.1, rate_401=0.2, rate_reset=0.05,
                          rate_truncated_gzip=0.2, rate_signed_url_expired=0.2)
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 2), scale=200,
                         countries=("SE", "NO"), rotate_refresh_token=True, token_lifetime=2,
                         latency_ms=5, faults=faults, **unique_credentials())
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN, LIFETIME_AD],
                           ads_timeframe_months="THREE", lookback_days=1)
    every_stream = [entry["tap_stream_id"] for entry in catalog(config, ())["streams"]]
    run = run_cli(tmp_path, config, streams=every_stream, sandbox=sb, timeout=300,
                  env={"LOGLEVEL": "DEBUG", "TAP_SPOTIFY_BULK_DEBUG": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    output = run.output
    assert output.records["streams"]
    assert output.records["campaign_day"]
    assert output.records["ad_lifetime"]
    for entity in ("businesses", "ad_accounts", "campaigns", "ad_sets", "ads"):
        assert output.records[entity], entity  # not selected by default: selected here
    assert "DEBUG" in run.stderr  # debug logging really was on
    assert len(sb.app.tokens.refresh_tokens) >= 2  # the refresh token rotated
    assert sb.stats["faults_total"] > 0
    # run_cli scanned already; say it again with the full list, read after the run.
    secrets = secrets_of(sb)
    assert len(secrets) >= 6
    assert_no_secrets(secrets, run.stdout, run.stderr)


def test_discover_and_about_with_a_full_config(sandbox_factory, tmp_path):
    sb = sandbox_factory(**unique_credentials())
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN])
    for args in (["--discover"], ["--about"], ["--about", "--format", "json"]):
        run = run_cli(tmp_path, config, sandbox=sb, args=args)
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout
    assert sb.request_log == []


def test_a_failing_run_with_debug_traceback_leaks_nothing(sandbox_factory, tmp_path):
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 1), **unique_credentials())
    config = sb.tap_config(ads_report_list=[DAY_CAMPAIGN])
    sb.app.tokens.refresh_token = "rotated-elsewhere"  # ours is refused: invalid_grant
    run = run_cli(tmp_path, config, streams=["campaign_day"], sandbox=sb,
                  secrets=["rotated-elsewhere"],
                  env={"TAP_SPOTIFY_BULK_DEBUG": "1", "LOGLEVEL": "DEBUG"})
    assert run.returncode == 1
    assert "Traceback" in run.stderr
    assert "invalid_grant" in run.stderr
    assert config["ads_refresh_token"] in secrets_of(sb)  # scanned for, and absent


def test_wrong_credentials_are_scanned_for_as_sent(sandbox_factory, tmp_path):
    """A run with a wrong secret: the Basic credentials it sent (wrong ones) are among what
    the scan looks for, both from the config passed in and from the header the sandbox
    received, so an error message echoing its own header would fail the run's scan."""
    creds = unique_credentials()
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 1), **creds)
    wrong = f"wrong-{creds['client_secret']}"
    config = sb.tap_config(client_secret=wrong)
    run = run_cli(tmp_path, config, streams=["users"], sandbox=sb)
    assert run.returncode == 1
    assert "invalid_client" in run.error_line()
    sent = basic(creds["client_id"], wrong)
    assert f"Basic {sent}" in sb.authorizations  # what went over the wire
    assert sent in secrets_of(sb)
    assert sent in credential_secrets(config)
    with pytest.raises(AssertionError):
        assert_no_secrets(secrets_of(sb), f"tap-spotify-bulk: error: header Basic {sent}")
