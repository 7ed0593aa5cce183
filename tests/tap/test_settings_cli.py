"""The command line and the settings: typos are named (and the run goes on), secrets are
never echoed, and `--check` tries the credentials and the first listings in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tap_spotify_bulk.errors import closest, did_you_mean
from tap_spotify_bulk.tap import TapSpotifyBulk

COMMAND = str(Path(sys.executable).parent / "tap-spotify-bulk")


def run(tmp_path: Path, config: dict, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run([COMMAND, "--config", str(path), *args], capture_output=True,
                          text=True, timeout=180, check=False)


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "unknown setting" in line]


def test_typos_are_named_with_the_closest_setting_and_the_run_goes_on(sandbox, tmp_path):
    config = {**sandbox.tap_config(start_date="2024-03-09", end_date="2024-03-10"),
              "lookback_day": 7, "client_secert": "do-not-print-me", "stream_maps": {},
              "flattening_enabled": False, "zzz_no_such_thing": 1}
    done = run(tmp_path, config)
    assert done.returncode == 0, done.stderr[-3000:]
    warnings = warnings_of(done.stderr)
    assert len(warnings) == 3, done.stderr[-3000:]
    assert any("unknown setting `lookback_day`; did you mean `lookback_days`?" in w
               for w in warnings)
    assert any("unknown setting `client_secert`; did you mean `client_secret`?" in w
               for w in warnings)
    assert any("unknown setting `zzz_no_such_thing`; it is ignored." in w for w in warnings)
    assert "do-not-print-me" not in done.stderr + done.stdout
    assert sandbox.options.client_secret not in done.stderr
    records = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert any(message["type"] == "RECORD" for message in records)


def test_settings_meltano_and_the_sdk_pass_are_known(sandbox, tmp_path):
    """A sync with the SDK's built-in settings (stream maps, flattening, BATCH messages) and
    every setting the tap declares: no warning."""
    batches = tmp_path / "batches"
    batches.mkdir()
    config = {**sandbox.tap_config(start_date="2024-03-10", end_date="2024-03-10"),
              "stream_maps": {"users": {"user_id": "__NULL__"}}, "stream_map_config": {},
              "flattening_enabled": True, "flattening_max_depth": 1,
              "batch_config": {"encoding": {"format": "jsonl", "compression": "gzip"},
                               "storage": {"root": f"file://{batches}"}},
              "time_period": "MONTH_TO_DATE", "lookback_days": 0, "countries": ["SE"],
              "max_workers": 2, "end_days_back": 1, "ads_sync_mode": "ALL_ACCOUNTS",
              "ads_timeframe_months": "SIX", "ads_lookback_days": 1, "ads_accounts": []}
    config.pop("start_date")  # with time_period and end_date both set, one must go
    done = run(tmp_path, config)
    assert done.returncode == 0, done.stderr[-3000:]
    assert warnings_of(done.stderr) == []
    users = [m["record"] for m in map(orjson.loads, done.stdout.splitlines())
             if m["type"] == "RECORD" and m["stream"] == "users"]
    assert users and all("user_id" not in r for r in users)  # the stream map applied


def test_check_succeeds_with_good_credentials(sandbox, tmp_path):
    done = run(tmp_path, sandbox.tap_config(), "--check")
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = done.stdout.splitlines()
    assert line.startswith("tap-spotify-bulk: check: Bulk API ok (licensor gyrostream: 1 ")
    assert "Ads API ok (" in line
    # two tokens and the two first listings, nothing extracted
    log = sandbox.request_log
    assert [entry["kind"] for entry in log] == ["token", "bulk_listing", "token", "ads"], log
    assert log[1]["path"].endswith("/gyrostream/enhanced/streams")
    assert log[3]["path"].endswith("/businesses")


@pytest.mark.parametrize(("change", "named"), [
    ({"client_secret": "wrong-secret"}, "Bulk API credentials were rejected"),
    ({"ads_refresh_token": "wrong-token"}, "refresh token was rejected"),
    ({"licensor": "someone-else"}, "licensor `someone-else`"),
])
def test_check_fails_in_one_line_with_bad_credentials(sandbox, tmp_path, change, named):
    done = run(tmp_path, sandbox.tap_config(**change), "--check")
    assert done.returncode == 1, done.stderr[-3000:]
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if "tap-spotify-bulk: error:" in line]
    assert len(errors) == 1 and named in errors[0], done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for value in change.values():
        assert value not in done.stderr or value == change.get("licensor")


def test_check_without_credentials_says_what_to_set(tmp_path):
    done = run(tmp_path, {}, "--check")
    assert done.returncode == 1
    assert "nothing to check: set `client_id`" in done.stderr


REPORT = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
          "fields": ["IMPRESSIONS"]}


def catalog_selecting(tmp_path: Path, config: dict, streams: set[str]) -> str:
    """The tap's discovered catalog with only `streams` selected."""
    discovered = run(tmp_path, config, "--discover")
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return str(path)


def test_credentials_are_required_only_for_the_selected_api(sandbox, tmp_path):
    """Ads reports configured without a refresh token are fine while only a Bulk stream is
    selected; selecting the Ads stream makes the same config a one-line error."""
    config = {**sandbox.tap_config(start_date="2024-03-09", end_date="2024-03-10",
                                   ads_report_list=[REPORT])}
    config.pop("ads_refresh_token")
    only_bulk = catalog_selecting(tmp_path, config, {"users"})
    done = run(tmp_path, config, "--catalog", only_bulk)
    assert done.returncode == 0, done.stderr[-3000:]
    streams = {orjson.loads(line).get("stream") for line in done.stdout.splitlines()}
    assert "users" in streams and "campaign_day" not in streams

    with_ads = catalog_selecting(tmp_path, config, {"users", "campaign_day"})
    done = run(tmp_path, config, "--catalog", with_ads)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()  # checked before the SDK logs anything
    assert "`ads_refresh_token` is required when Ads API reports are selected" in line


@pytest.mark.parametrize(("change", "named"), [
    ({"time_period": "LAST_YEAR"}, "`time_period` must be one of LAST_7_DAYS"),
    ({"time_period": "LAST_MONTH"}, "`time_period` has no effect when both"),
    ({"ads_lookback_days": "5"}, "`ads_lookback_days` must be an integer >= 0, got '5'."),
    ({"lookback_days": "5"}, "`lookback_days` must be an integer >= 0, got '5'."),
    ({"max_workers": 0}, "`max_workers` must be an integer >= 1, got 0."),
])
def test_new_and_unified_checks_are_one_line_before_any_request(sandbox, tmp_path, change,
                                                                  named):
    done = run(tmp_path, sandbox.tap_config(**change))
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("tap-spotify-bulk: error: ") and named in line, line
    assert sandbox.request_log == []


@pytest.mark.parametrize(("typo", "value", "missing"), [
    ("client_secrett", "do-not-print-me", "client_secret"),
    ("licenser", "gyrostream", "licensor"),
])
def test_a_misspelt_required_setting_is_named_in_the_one_line(sandbox, tmp_path, typo, value,
                                                              missing):
    config = sandbox.tap_config()
    config.pop(missing)
    config[typo] = value
    done = run(tmp_path, config)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line == (f"tap-spotify-bulk: error: `{missing}` is required when a Bulk API stream "
                    f"is selected; `{typo}` is set: did you mean `{missing}`?")
    assert "do-not-print-me" not in done.stderr
    checked = run(tmp_path, config, "--check")
    assert checked.returncode == 1
    [line] = checked.stderr.splitlines()
    assert f"`{typo}` is set: did you mean `{missing}`?" in line
    assert sandbox.request_log == []


def test_a_misspelt_ads_token_is_named_when_ads_streams_are_selected(sandbox, tmp_path):
    config = sandbox.tap_config(ads_report_list=[REPORT])
    config["ads_refresh_tokn"] = config.pop("ads_refresh_token")
    catalog = catalog_selecting(tmp_path, config, {"campaign_day"})
    done = run(tmp_path, config, "--catalog", catalog)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "`ads_refresh_token` is required" in line
    assert line.endswith("`ads_refresh_tokn` is set: did you mean `ads_refresh_token`?")
    assert "sandbox-refresh-token" not in done.stderr


def test_check_names_unknown_settings_in_its_one_line(sandbox, tmp_path):
    done = run(tmp_path, {**sandbox.tap_config(), "lookback_day": 2}, "--check")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    [line] = done.stdout.splitlines()
    assert line.endswith("; unknown setting `lookback_day`; did you mean `lookback_days`?")


def test_an_unknown_selected_stream_is_named_in_one_warning(sandbox, tmp_path):
    config = sandbox.tap_config(start_date="2024-03-09", end_date="2024-03-09")
    path = Path(catalog_selecting(tmp_path, config, set()))
    catalog = json.loads(path.read_text())
    for name in ("trackz", "qqqqqqqq"):
        catalog["streams"].append({"tap_stream_id": name, "stream": name, "schema": {},
                                   "metadata": [{"breadcrumb": [],
                                                 "metadata": {"selected": True}}]})
    path.write_text(json.dumps(catalog))
    done = run(tmp_path, config, "--catalog", str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    named = [line for line in done.stderr.splitlines() if "does not offer" in line]
    assert len(named) == 2, done.stderr[-3000:]
    assert named[0].endswith("the catalog selects stream `trackz`, which the tap does not "
                             "offer; did you mean `tracks`?")
    assert named[1].endswith("stream `qqqqqqqq`, which the tap does not offer; it is skipped.")
    assert not any(orjson.loads(line)["type"] == "RECORD" for line in done.stdout.splitlines())


@pytest.mark.parametrize(("report", "named"), [
    ({**REPORT, "dimension": "CAMPANG"}, "unknown dimension 'CAMPANG' (did you mean `CAMPAIGN`?)"),
    ({**REPORT, "granularity": "DAYS"}, "unknown granularity 'DAYS' (did you mean `DAY`?)"),
    ({**REPORT, "field": ["CLICKS"]}, "unknown key(s) field (did you mean `fields`?)"),
])
def test_ads_report_names_get_the_closest_known_one(tmp_path, report, named):
    done = run(tmp_path, {"ads_report_list": [report]})
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("tap-spotify-bulk: error: `ads_report_list`") and named in line, line


def test_the_closest_name_of_every_setting_typo_is_that_setting():
    """Property over every known setting (the tap's and the SDK's): a name missing its last
    letter, with one letter too many or in upper case is answered with the setting itself;
    and a name far from all of them with none."""
    known = TapSpotifyBulk.known_settings()
    for name in known:
        for typo in (name[:-1], f"{name}s", name.upper(), name):
            assert closest(typo, known) == name, typo
    assert closest("zzz_no_such_thing", known) is None
    assert did_you_mean("zzz_no_such_thing", known) == ""


def test_help_lists_check_and_ads_login():
    done = subprocess.run([COMMAND, "--help"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    options = {line.split()[0] for line in done.stdout.splitlines()
               if line.startswith("  --")}
    assert {"--check", "--test", "--discover", "--config"} <= options, done.stdout
    assert "tap-spotify-bulk --config FILE ads-login" in done.stdout
    assert "--check" in done.stdout.split("--test", 1)[1]  # --test points at --check


def test_ads_login_and_specific_accounts_name_a_misspelt_key(tmp_path):
    done = run(tmp_path, {"ads_client_id": "x", "ads_client_secrt": "do-not-print-me"},
               "ads-login", "--no-browser", "--output", "stdout")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("tap-spotify-bulk: error: `ads_client_secret` is needed for "
                           "ads-login") and line.endswith(
        "`ads_client_secrt` is set: did you mean `ads_client_secret`?"), line
    assert "do-not-print-me" not in done.stderr + done.stdout
    config = {"ads_sync_mode": "SPECIFIC_ACCOUNTS", "ads_acounts": ["a"],
              "ads_refresh_token": "t"}
    done = run(tmp_path, config, "--check")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.endswith("`ads_accounts` must list at least one ad account id with "
                         "SPECIFIC_ACCOUNTS; `ads_acounts` is set: did you mean "
                         "`ads_accounts`?"), line
