"""Bad configuration: each malformed config is rejected before any request, with exit code 2
and one line on stderr that names the setting to fix (api-contract §2).

Every case runs the real `tap-spotify-bulk` command against a live sandbox whose request
log must stay empty.
"""

from __future__ import annotations

import typing as t

import pytest
from helpers.run import run_cli
from helpers.secrets import unique_credentials

GOOD_REPORT = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
               "fields": ["IMPRESSIONS", "SPEND"]}
INSIGHT = {"table": "age_insights", "dimension": "AGE", "granularity": "LIFETIME",
           "fields": ["IMPRESSIONS"]}
DROP = object()  # remove the setting


def report(**changes: t.Any) -> list[dict]:
    item = {**GOOD_REPORT, **changes}
    return [{k: v for k, v in item.items() if v is not DROP}]


# (case id, config changes, the setting the error line must name)
BAD_CONFIGS: list[tuple[str, dict[str, t.Any], str]] = [
    ("missing client_id", {"client_id": DROP}, "client_id"),
    ("missing client_secret", {"client_secret": DROP}, "client_secret"),
    ("empty client_secret", {"client_secret": ""}, "client_secret"),
    ("client_id not a string", {"client_id": 12345}, "client_id"),
    ("missing licensor", {"licensor": DROP}, "licensor"),
    ("licensor with spaces", {"licensor": "gyro stream"}, "licensor"),
    ("start_date month 13", {"start_date": "2024-13-01"}, "start_date"),
    ("start_date a word", {"start_date": "yesterday"}, "start_date"),
    ("end_date US format", {"end_date": "03/01/2024"}, "end_date"),
    ("start after end", {"start_date": "2024-03-09", "end_date": "2024-03-01"}, "start_date"),
    ("relative start after end", {"start_date": DROP, "end_date": DROP,
                                  "start_days_back": 1, "end_days_back": 5}, "start_days_back"),
    ("negative start_days_back", {"start_days_back": -1}, "start_days_back"),
    ("negative end_days_back", {"end_days_back": -3}, "end_days_back"),
    ("start_days_back a word", {"start_days_back": "seven"}, "start_days_back"),
    ("negative lookback_days", {"lookback_days": -2}, "lookback_days"),
    ("fractional lookback_days", {"lookback_days": 1.5}, "lookback_days"),
    ("max_workers zero", {"max_workers": 0}, "max_workers"),
    ("max_workers negative", {"max_workers": -4}, "max_workers"),
    ("max_workers a word", {"max_workers": "many"}, "max_workers"),
    ("country name", {"countries": ["Sweden"]}, "countries"),
    ("country code number", {"countries": [46]}, "countries"),
    ("countries an object", {"countries": {"SE": True}}, "countries"),
    ("country UK instead of GB", {"countries": ["SE", "UK"]}, "countries"),
    ("country code nobody has", {"countries": ["ZZ"]}, "countries"),
    ("bulk_api_url no scheme", {"bulk_api_url": "provider-api.spotify.com/v1"},
     "bulk_api_url"),
    ("bulk_api_url ftp", {"bulk_api_url": "ftp://provider-api.spotify.com"}, "bulk_api_url"),
    ("token_url not a url", {"token_url": "accounts spotify"}, "token_url"),
    ("ads_api_url not a url", {"ads_api_url": "api-partner.spotify.com"}, "ads_api_url"),
    ("unknown ads_sync_mode", {"ads_sync_mode": "SOME_ACCOUNTS"}, "ads_sync_mode"),
    ("specific accounts without ids", {"ads_sync_mode": "SPECIFIC_ACCOUNTS"}, "ads_accounts"),
    ("empty account id", {"ads_accounts": [""]}, "ads_accounts"),
    ("unknown ads_timeframe_months", {"ads_timeframe_months": "FOUR"},
     "ads_timeframe_months"),
    ("negative ads_lookback_days", {"ads_lookback_days": -1}, "ads_lookback_days"),
    ("report list a string", {"ads_report_list": "campaign_day"}, "ads_report_list"),
    ("report not an object", {"ads_report_list": ["campaign_day"]}, "ads_report_list"),
    ("report unknown key", {"ads_report_list": report(metrics=["X"])}, "ads_report_list"),
    ("report table upper case", {"ads_report_list": report(table="Campaign-Day")},
     "ads_report_list"),
    ("report table missing", {"ads_report_list": report(table=DROP)}, "ads_report_list"),
    ("report table of a Bulk stream", {"ads_report_list": report(table="streams")},
     "ads_report_list"),
    ("duplicate tables", {"ads_report_list": report() + report()}, "ads_report_list"),
    ("unknown dimension", {"ads_report_list": report(dimension="KEYWORD")},
     "ads_report_list"),
    ("unknown granularity", {"ads_report_list": report(granularity="WEEK")},
     "ads_report_list"),
    ("insight by day", {"ads_report_list": [{**INSIGHT, "granularity": "DAY"}]},
     "ads_report_list"),
    ("empty fields", {"ads_report_list": report(fields=[])}, "ads_report_list"),
    ("not a field name", {"ads_report_list": report(fields=["VIEWS/DAY"])},
     "ads_report_list"),
    ("field twice", {"ads_report_list": report(fields=["SPEND", "spend"])},
     "ads_report_list"),
    ("insight refuses SPEND", {"ads_report_list": [{**INSIGHT, "fields": ["SPEND"]}]},
     "ads_report_list"),
    ("batch_size zero", {"batch_config": {"encoding": {"format": "jsonl"},
                                          "storage": {"root": "file:///tmp"}, "batch_size": 0}},
     "batch_config"),
    ("reports without refresh token", {"ads_report_list": report(),
                                       "ads_refresh_token": DROP}, "ads_refresh_token"),
]


def bad_config(sb, changes: dict[str, t.Any]) -> dict[str, t.Any]:
    config = sb.tap_config()
    for name, value in changes.items():
        if value is DROP:
            config.pop(name, None)
        else:
            config[name] = value
    return config


@pytest.fixture
def quiet_sandbox(sandbox_factory):
    return sandbox_factory(**unique_credentials())


@pytest.mark.parametrize(("changes", "setting"), [c[1:] for c in BAD_CONFIGS],
                         ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_rejected_before_any_request(changes, setting, quiet_sandbox, tmp_path):
    sb = quiet_sandbox
    run = run_cli(tmp_path, bad_config(sb, changes), sandbox=sb)
    assert run.returncode == 2, run.stderr
    assert run.stdout == b""
    line = run.error_line()  # exactly one error line, no traceback
    assert f"`{setting}`" in line or f"config['{setting}']" in line, line
    assert sb.request_log == []


def test_enough_bad_configs_are_tried():
    assert len(BAD_CONFIGS) >= 30
    assert len({c[0] for c in BAD_CONFIGS}) == len(BAD_CONFIGS)


def test_discovery_needs_no_credentials_even_with_a_broken_config(tmp_path):
    run = run_cli(tmp_path, {"start_date": "yesterday", "max_workers": "many"},
                  args=["--discover"])
    assert run.returncode == 0, run.stderr
    assert b'"tap_stream_id":"streams"' in run.stdout.replace(b" ", b"")
