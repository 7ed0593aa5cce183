"""Fatal faults end cleanly: one `tap-spotify-bulk: error:` line naming the cause and the fix,
a non-zero exit, no traceback (unless TAP_SPOTIFY_BULK_DEBUG is set), and nothing of a
failed date committed to state.

The tap runs as a real subprocess. Where the tap would retry for a minute before giving up
(a server that is down), its backoff is shortened to 10 ms (`fast_retries`), nothing else.
"""

from __future__ import annotations

import datetime as dt
import gzip
import socket

import pytest
from helpers.run import run_cli
from helpers.secrets import secrets_of, unique_credentials
from helpers.singer import bookmarks_of
from spotify_sandbox import FaultOptions

D = dt.date
START, END = D(2024, 3, 1), D(2024, 3, 4)
DAY_REPORT = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
              "fields": ["IMPRESSIONS", "SPEND"]}


@pytest.fixture
def sb(sandbox_factory):
    return sandbox_factory(start=START, end=END, scale=200, countries=("SE", "NO"),
                           empty_day_rate=0.0, **unique_credentials())


def fails_cleanly(run, *phrases: str, exit_code: int = 1) -> str:
    assert run.returncode == exit_code, run.stderr[-3000:]
    line = run.error_line()
    for phrase in phrases:
        assert phrase in line, line
    return line


def test_invalid_client_on_the_bulk_api(sb, tmp_path):
    config = sb.tap_config(client_secret="not-the-secret")
    run = run_cli(tmp_path, config, streams=["users"], sandbox=sb,
                  secrets=["not-the-secret"])
    fails_cleanly(run, "invalid_client", "`client_id`", "`client_secret`")
    assert run.output.records == {}
    assert not bookmarks_of(run.output.state)


def test_invalid_client_on_the_ads_api(sb, tmp_path):
    config = sb.tap_config(ads_client_secret="wrong-ads-secret", ads_report_list=[DAY_REPORT])
    run = run_cli(tmp_path, config, streams=["campaign_day"], sandbox=sb,
                  secrets=["wrong-ads-secret"])
    fails_cleanly(run, "invalid_client", "`ads_client_secret`")
    assert run.output.records == {}


def test_invalid_grant_on_the_ads_api(sb, tmp_path):
    config = sb.tap_config(ads_refresh_token="revoked-refresh-token",
                           ads_report_list=[DAY_REPORT])
    run = run_cli(tmp_path, config, streams=["campaign_day"], sandbox=sb,
                  secrets=["revoked-refresh-token"])
    line = fails_cleanly(run, "invalid_grant", "`ads_refresh_token`")
    assert "authoriz" in line.lower()  # the fix: re-authorize
    assert run.output.records == {}


def test_licensor_not_granted_403(sb, tmp_path):
    run = run_cli(tmp_path, sb.tap_config(licensor="someone-else"), sandbox=sb)
    fails_cleanly(run, "403", "`licensor`")
    assert run.output.records == {}
    assert not bookmarks_of(run.output.state)


def test_file_that_stays_truncated_after_all_retries(sb, tmp_path):
    sb.options.faults = FaultOptions(rate_truncated_gzip=1.0, fault_attempts=99)
    run = run_cli(tmp_path, sb.tap_config(), streams=["tracks"], sandbox=sb,
                  fast_retries=True)
    fails_cleanly(run, "tracks/2024/03/01", "corrupt")
    assert run.output.records == {}
    assert not bookmarks_of(run.output.state)
    assert sb.stats["faults"]["truncated_gzip"] >= 2  # it was downloaded again


def test_corrupt_file_mid_run_commits_only_the_dates_before_it(sb, tmp_path):
    good = gzip.compress(b'{"user_id": "u1"}\n' * 50)
    sb.options.overrides = {"/gyrostream/enhanced/users/2024/03/03": good[: len(good) // 2]}
    run = run_cli(tmp_path, sb.tap_config(lookback_days=0), streams=["users"],
                  sandbox=sb, fast_retries=True)
    line = fails_cleanly(run, "users/2024/03/03", "corrupt")
    assert "state" in line  # says nothing of that date was committed
    users = run.output.records["users"]
    assert {r["report_date"] for r in users} == {"2024-03-01", "2024-03-02"}
    assert users  # the good dates came through, complete
    truth = sb.bulk_truth(START, D(2024, 3, 2), streams=["users"])["users"]
    assert len(users) == truth["count"]
    assert bookmarks_of(run.output.state) == {"users": "2024-03-02"}
    assert max(bookmarks_of(state).get("users", "") for state in run.output.states) \
        == "2024-03-02"  # no STATE ever covered the corrupt date


def test_server_that_is_down(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    creds = unique_credentials()
    config = {"client_id": creds["client_id"], "client_secret": creds["client_secret"],
              "licensor": "gyrostream", "start_date": "2024-03-01", "end_date": "2024-03-02",
              "token_url": f"{base}/api/token", "bulk_api_url": f"{base}/v1/analytics"}
    run = run_cli(tmp_path, config, streams=["users"], secrets=[creds["client_secret"]],
                  fast_retries=True)
    fails_cleanly(run, "token request", "ConnectionError", f"127.0.0.1:{port}",
                  "check the URL settings")
    assert run.output.records == {}


def test_api_that_keeps_failing_with_5xx(sb, tmp_path):
    sb.options.faults = FaultOptions(rate_5xx=1.0, fault_attempts=99)
    run = run_cli(tmp_path, sb.tap_config(), streams=["users"], sandbox=sb,
                  fast_retries=True)
    fails_cleanly(run, "gave up", "run again later")
    assert not bookmarks_of(run.output.state)


def test_debug_setting_adds_the_traceback_but_still_no_secret(sb, tmp_path):
    config = sb.tap_config(client_secret="debug-wrong-secret")
    run = run_cli(tmp_path, config, streams=["users"], sandbox=sb,
                  secrets=["debug-wrong-secret", *secrets_of(sb)],
                  env={"TAP_SPOTIFY_BULK_DEBUG": "1"})
    assert run.returncode == 1
    assert "Traceback" in run.stderr
    assert "tap-spotify-bulk: error: " in run.stderr


def test_signed_urls_that_always_expire_before_use(sb, tmp_path):
    sb.options.signed_url_ttl = 0.0  # every signed URL has expired when it is fetched
    run = run_cli(tmp_path, sb.tap_config(), streams=["users"], sandbox=sb,
                  fast_retries=True)
    fails_cleanly(run, "users/2024/03/01", "signed download URL kept expiring")
    assert run.output.records == {}
    assert not bookmarks_of(run.output.state)
