"""The Ads token store against a sandbox that rotates the refresh token on every refresh and
revokes the old one: scheduled runs with an unchanged configuration keep working, a newly
configured token wins, concurrent taps share the store, and an old token is warned about.

The tap runs as the real `tap-spotify-bulk` command (the Ads clock frozen at the sandbox's);
every run's stdout (records and STATE) and stderr are scanned for every secret the sandbox
handled, rotated refresh tokens included. The store lives in this test's own state
directory (`XDG_STATE_HOME`, see `tests/conftest.py`) or in `ads_token_store`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
import subprocess
import typing as t

import pytest
from helpers.ads import landed
from helpers.run import clean_env, command, run_cli, write_inputs
from helpers.secrets import assert_no_secrets, scan_tree, secrets_of, unique_credentials
from spotify_sandbox import FaultOptions

from tap_spotify_bulk.ads import token_store
from tap_spotify_bulk.ads.token_store import STORE_FILE, Entry, TokenStore
from tap_spotify_bulk.errors import ConfigError

if t.TYPE_CHECKING:
    from pathlib import Path

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
START, YESTERDAY = dt.date(2026, 6, 6), dt.date(2026, 6, 14)
DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND"]}
WARNING = "Spotify refresh tokens expire"


@pytest.fixture
def sb(sandbox_factory):
    """Ads sandbox that rotates the refresh token on every refresh (the old one is then
    rejected), with two-second access tokens so a run refreshes more than once."""
    return sandbox_factory(ads={"now": NOW, "n_businesses": 1, "accounts_per_business": 2},
                           rotate_refresh_token=True, token_lifetime=2, latency_ms=20,
                           **unique_credentials())


def ads_config(sb, **overrides: t.Any) -> dict:
    return sb.tap_config(**{"ads_report_list": [DAY_CAMPAIGN],
                            "ads_start_date": START.isoformat(), "ads_lookback_days": 2,
                            **overrides})


def sync(sb, directory: Path, config: dict, state: dict | None = None):
    return run_cli(directory, config, state=state, streams=["campaign_day"], sandbox=sb,
                   frozen_now=NOW)


def stored(root: Path, client_id: str) -> Entry | None:
    store = TokenStore(root, client_id)
    with store.locked():
        return store.read()


@pytest.mark.slow
def test_ten_scheduled_runs_with_one_configuration_survive_every_rotation(
        sb, tmp_path, state_home):
    config = ads_config(sb)  # written once, never updated: a schedule's configuration
    root = state_home / "tap-spotify-bulk"  # the default place
    state, records = None, []
    truth = sb.ads_truth([DAY_CAMPAIGN], start=START, end=YESTERDAY)["campaign_day"]
    for run_number in range(10):
        run = sync(sb, tmp_path / f"run-{run_number}", config, state)
        assert run.returncode == 0, run.stderr[-3000:]
        assert not re.search(r"\| (ERROR|WARNING) +\|", run.stderr), run.stderr[-3000:]
        output = run.output
        assert output.records["campaign_day"], f"run {run_number} read nothing"
        records += output.records["campaign_day"]
        state = output.state
        assert landed(DAY_CAMPAIGN, records) == truth, f"run {run_number}"
        # The token the sandbox accepts now is the one in the store: nothing was lost.
        assert stored(root, config["ads_client_id"]).refresh_token == sb.refresh_token
    assert len(sb.app.tokens.refresh_tokens) >= 11  # rotated at every refresh, each run
    assert config["ads_refresh_token"] not in {sb.refresh_token}  # the config's was revoked
    path = root / STORE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in root.iterdir()) == [STORE_FILE, STORE_FILE + ".lock"]
    written = json.loads(path.read_text())["apps"][config["ads_client_id"]]
    assert written["refresh_token"] == sb.refresh_token
    assert written["replaces_sha256"] == token_store.fingerprint(config["ads_refresh_token"])
    assert config["ads_refresh_token"] not in path.read_text()  # a fingerprint only
    assert scan_tree(secrets_of(sb), tmp_path) > 0  # the state files we kept hold none


@pytest.mark.slow
def test_a_newly_configured_token_wins_over_the_stored_one(sb, tmp_path, state_home):
    root = tmp_path / "token-store"
    first = ads_config(sb, ads_token_store=str(root))
    assert sync(sb, tmp_path / "first", first).returncode == 0
    assert not (state_home / "tap-spotify-bulk").exists()  # the setting moved the store
    rotated = stored(root, first["ads_client_id"]).refresh_token
    assert rotated == sb.refresh_token != first["ads_refresh_token"]

    # The app is authorized again: only the new token (and what it rotates to) is valid.
    fresh = "reauthorized-" + first["ads_refresh_token"]
    sb.app.tokens.refresh_token = fresh
    sb.app.tokens.refresh_tokens.append(fresh)
    second = {**first, "ads_refresh_token": fresh}
    run = sync(sb, tmp_path / "second", second)
    assert run.returncode == 0, run.stderr[-3000:]
    entry = stored(root, first["ads_client_id"])
    assert entry.refresh_token == sb.refresh_token not in {rotated, fresh}
    assert entry.replaces == token_store.fingerprint(fresh)
    truth = sb.ads_truth([DAY_CAMPAIGN], start=START, end=YESTERDAY)["campaign_day"]
    assert landed(DAY_CAMPAIGN, run.output.records["campaign_day"]) == truth

    # The first configuration is now the new one again: its revoked token is sent, and
    # the run stops with the tap's one line (no SDK "unhandled error" line before it).
    stale = sync(sb, tmp_path / "stale", first)
    assert stale.returncode == 1
    line = stale.error_line()
    assert "invalid_grant" in line and "`ads_refresh_token`" in line
    assert stale.output.records == {}


def test_a_server_that_forgot_the_rotation_gets_the_configured_token_again(sb, tmp_path,
                                                                          state_home):
    """The stored token is refused (a restored or restarted server): the configured token
    is tried once, with one warning line, and becomes the store's new entry."""
    config = ads_config(sb)
    assert sync(sb, tmp_path / "first", config).returncode == 0
    root = state_home / "tap-spotify-bulk"
    assert stored(root, config["ads_client_id"]).refresh_token != config["ads_refresh_token"]
    sb.app.tokens.refresh_token = config["ads_refresh_token"]  # the rotation is forgotten
    run = sync(sb, tmp_path / "second", config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len([line for line in run.stderr.splitlines()
                if "stored refresh token was refused" in line]) == 1
    entry = stored(root, config["ads_client_id"])
    assert entry.refresh_token == sb.refresh_token != config["ads_refresh_token"]
    assert entry.replaces == token_store.fingerprint(config["ads_refresh_token"])


@pytest.mark.slow
def test_without_the_store_the_second_run_stops_with_one_line(sb, tmp_path, state_home):
    """The failure the store exists for, with `ads_token_store` off."""
    config = ads_config(sb, ads_token_store="OFF")
    first = sync(sb, tmp_path / "first", config)
    assert first.returncode == 0, first.stderr[-3000:]
    second = sync(sb, tmp_path / "second", config, first.output.state)
    assert second.returncode == 1
    line = second.error_line()
    assert "invalid_grant" in line and "re-authorize" in line.lower()
    assert len([x for x in second.stderr.splitlines() if "error" in x.lower()]) == 1
    assert list(state_home.iterdir()) == []  # no store was written anywhere


@pytest.mark.slow
def test_concurrent_taps_share_the_store_without_losing_a_rotation(
        sandbox_factory, tmp_path, state_home):
    """Two runs at once (two Dagster partitions, say), each refreshing several times (short
    tokens, and a 401 now and then that makes it refresh at once): each
    refresh reads the store under its lock, so neither sends a token the other revoked."""
    sb = sandbox_factory(ads={"now": NOW, "page_unit": "row"}, rotate_refresh_token=True,
                         token_lifetime=1, latency_ms=300,
                         faults=FaultOptions(rate_401=0.3), **unique_credentials())
    config = ads_config(sb, ads_start_date="2026-03-15")
    env = clean_env()
    processes = [
        subprocess.Popen([*command(frozen_now=NOW),
                          *write_inputs(tmp_path / f"tap-{n}", config, streams=["campaign_day"])],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for n in range(2)]
    outputs = [p.communicate(timeout=180) for p in processes]
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()[-3000:]
        assert_no_secrets(secrets_of(sb), stdout, stderr)
    assert len(sb.app.tokens.refresh_tokens) >= 7  # three refreshes a run at least
    root = state_home / "tap-spotify-bulk"
    assert stored(root, config["ads_client_id"]).refresh_token == sb.refresh_token
    assert sync(sb, tmp_path / "after", config).returncode == 0


@pytest.mark.slow
def test_a_token_older_than_five_months_is_warned_about_once(sb, tmp_path, state_home):
    config = ads_config(sb)
    root = state_home / "tap-spotify-bulk"
    store = TokenStore(root, config["ads_client_id"])
    authorized = dt.datetime.now(dt.UTC) - dt.timedelta(days=160, hours=1)
    with store.locked():
        store.write(Entry(config["ads_refresh_token"],
                          token_store.fingerprint(config["ads_refresh_token"]),
                          authorized, token_store.BY_LOGIN))
    check = run_cli(tmp_path / "check", config, args=["--check"], sandbox=sb)
    assert check.returncode == 0, check.stderr
    assert "refresh token authorized 160 day(s) ago" in check.stdout.decode()
    warnings = [line for line in check.stderr.splitlines() if WARNING in line]
    assert len(warnings) == 1 and "ads-login" in warnings[0], check.stderr
    expires = (authorized + dt.timedelta(days=token_store.LIFETIME_DAYS)).date()
    assert str(expires) in warnings[0]
    run = sync(sb, tmp_path / "sync", config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len([line for line in run.stderr.splitlines() if WARNING in line]) == 1
    # The rotations kept the authorization time: it is the app's, not the token's.
    assert stored(root, config["ads_client_id"]).authorized_at == authorized


def test_a_young_token_gets_no_warning_and_check_tells_its_age(sb, tmp_path):
    config = ads_config(sb)
    check = run_cli(tmp_path, config, args=["--check"], sandbox=sb)
    assert check.returncode == 0, check.stderr
    assert "refresh token in use for at least 0 day(s)" in check.stdout.decode()
    assert WARNING not in check.stderr
    off = run_cli(tmp_path, {**config, "ads_refresh_token": sb.refresh_token,
                             "ads_token_store": "off"}, args=["--check"], sandbox=sb)
    assert off.returncode == 0, off.stderr
    assert "`ads_token_store` is off" in off.stdout.decode()


def test_a_store_the_tap_cannot_write_is_one_line_before_any_token_request(sb, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    run = sync(sb, tmp_path / "run", ads_config(sb, ads_token_store=str(blocker / "store")))
    assert run.returncode == 1
    line = run.error_line()
    assert f"Ads token store: cannot create {blocker / 'store'}" in line
    assert "`ads_token_store`" in line
    assert run.output.records == {}
    assert sb.stats["tokens_by_grant"].get("refresh_token", 0) == 0


def test_the_store_file_is_private_and_replaced_atomically(tmp_path):
    root = tmp_path / "nested" / "store"
    store = TokenStore(root, "client-a")
    other = TokenStore(root, "client-b")
    when = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    with store.locked():
        assert store.read() is None
        store.write(Entry("token-a1", "f" * 64, when, token_store.BY_FIRST_USE))
    with other.locked():
        other.write(Entry("token-b1", "e" * 64, when, token_store.BY_LOGIN))
    with store.locked():
        store.write(Entry("token-a2", "f" * 64, when, token_store.BY_FIRST_USE))
        assert store.read() == Entry("token-a2", "f" * 64, when, token_store.BY_FIRST_USE)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert sorted(p.name for p in root.iterdir()) == [STORE_FILE, STORE_FILE + ".lock"]
    with other.locked():
        assert other.read().refresh_token == "token-b1"  # one app's write keeps the other's


def test_a_broken_store_file_is_one_line_without_its_content(tmp_path):
    store = TokenStore(tmp_path, "client-a")
    store.path.write_text('{"apps": {"client-a": {"refresh_token": "leaky-token-1234"')
    with pytest.raises(ConfigError) as caught, store.locked():
        store.read()
    assert "leaky" not in str(caught.value) and str(store.path) in str(caught.value)


def test_the_default_place_follows_xdg_state_home(tmp_path):
    assert token_store.default_directory({"XDG_STATE_HOME": str(tmp_path)}) == (
        tmp_path / "tap-spotify-bulk")
    home = token_store.default_directory({"XDG_STATE_HOME": "relative/ignored"})
    assert home.parts[-3:] == (".local", "state", "tap-spotify-bulk")
    assert token_store.directory({"ads_token_store": "Off"}) is None
    assert token_store.directory({"ads_token_store": str(tmp_path)}) == tmp_path


@pytest.mark.parametrize("by", [token_store.BY_LOGIN, token_store.BY_FIRST_USE])
def test_the_warning_starts_after_five_months(by):
    now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
    for days, warned in ((0, False), (token_store.WARN_AFTER_DAYS, False),
                         (token_store.WARN_AFTER_DAYS + 1, True), (200, True)):
        entry = Entry("tok-secret-123", "f" * 64, now - dt.timedelta(days=days), by)
        warning = token_store.expiry_warning(entry, now)
        assert (warning is not None) is warned, days
        if warning:
            assert "\n" not in warning and "tok-secret-123" not in warning
            assert ("at the latest" in warning) is (by == token_store.BY_FIRST_USE)
