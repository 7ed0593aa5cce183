"""`tap-spotify-bulk ads-login` against the sandbox's accounts service, end to end.

The command runs as a real process; the test plays the browser: it opens the printed
authorize URL and follows the redirect back to the command's loopback listener.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests
from helpers.ads import landed
from helpers.ads import sync_ads as run_tap
from helpers.run import run_cli

from tap_spotify_bulk import ads_login
from tap_spotify_bulk.ads import token_store
from tap_spotify_bulk.errors import MissingSettingError

SECRET_FREE = ("sandbox-ads-secret",)

LIFETIME_AD_SET = {"table": "ad_set_lifetime", "dimension": "AD_SET",
                   "granularity": "LIFETIME", "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}


def start(sb, tmp_path, **config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**sb.tap_config(), **config}))
    command = [sys.executable, "-m", "tap_spotify_bulk", "--config", str(path), "ads-login",
               "--no-browser", "--port", "0", "--output", "stdout", "--timeout", "30"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def play_browser(process) -> requests.Response:
    """Read the authorize URL from stderr and open it, following the redirect."""
    for line in process.stderr:
        if line.startswith("http"):
            return requests.get(line.strip(), timeout=10)
    raise AssertionError("no authorize URL was printed")


def test_login_gets_a_refresh_token_that_drives_an_ads_sync(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    process = start(sb, tmp_path)
    page = play_browser(process)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert page.status_code == 200 and b"Authorized." in page.content
    redirect = page.history[0].headers["Location"]  # the code went to the listener
    assert "code=" in redirect and "/callback?" in redirect
    token = out.strip()
    assert token and token != sb.refresh_token and "\n" not in token
    code = redirect.split("code=")[1].split("&")[0]
    for secret in (*SECRET_FREE, token, code):
        assert secret not in err
    # The new token works: a real Ads sync with it lands exactly the truth.
    records, _ = run_tap(sb.tap_config(ads_refresh_token=token,
                                       ads_report_list=[LIFETIME_AD_SET]))
    truth = sb.ads_truth([LIFETIME_AD_SET])
    assert landed(LIFETIME_AD_SET, records["ad_set_lifetime"]) == truth["ad_set_lifetime"]
    assert sb.stats["tokens_by_grant"]["authorization_code"] == 1


def test_login_writes_the_token_store_which_stands_in_for_the_configured_token(
        sandbox_factory, tmp_path, state_home):
    """The store keeps the new token, authorized now; a configuration that still holds the
    old token gets the new one from the store, and `--check` tells its age."""
    sb = sandbox_factory(rotate_refresh_token=True)
    configured = sb.refresh_token
    process = start(sb, tmp_path)
    play_browser(process)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    token = out.strip()
    root = state_home / "tap-spotify-bulk"
    assert f"kept in the Ads token store {root / token_store.STORE_FILE}" in err
    store = token_store.TokenStore(root, sb.options.ads_client_id)
    with store.locked():
        entry = store.read()
    assert (entry.refresh_token, entry.authorized_by) == (token, token_store.BY_LOGIN)
    assert entry.replaces == token_store.fingerprint(configured)
    assert entry.age_days() == 0

    check = run_cli(tmp_path, sb.tap_config(ads_refresh_token=configured), args=["--check"],
                    sandbox=sb)
    assert check.returncode == 0, check.stderr
    assert "refresh token authorized 0 day(s) ago" in check.stdout.decode()
    assert sb.refresh_token == configured  # the old token was never sent: the store's was
    with store.locked():
        after = store.read()
    assert after.refresh_token not in {token, configured}  # the login token rotated, kept
    assert (after.authorized_at, after.authorized_by) == (entry.authorized_at, entry.authorized_by)


def test_a_store_that_cannot_be_written_still_gives_the_token(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    process = start(sb, tmp_path, ads_token_store=str(blocker / "store"))
    play_browser(process)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    token = out.strip()
    assert token and token not in err
    assert ("the token was not kept in the Ads token store: Ads token store: cannot create "
            f"{blocker / 'store'}") in err


def test_refused_consent_is_one_clear_line(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    sb.app.tokens.deny_consent = True
    process = start(sb, tmp_path)
    page = play_browser(process)
    _, err = process.communicate(timeout=30)
    assert page.status_code == 200
    assert process.returncode == 1
    assert err.strip().splitlines() == [
        "tap-spotify-bulk: error: ads-login: authorization was refused (access_denied): "
        "consent was not given for the Ads app."]


def test_an_unknown_client_id_is_one_line_before_any_browser(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    process = start(sb, tmp_path, ads_client_id="not-our-app")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("tap-spotify-bulk: error: ads-login: the authorize page "
                               "refused the client id (HTTP 400): check `ads_client_id`")


def test_a_wrong_client_secret_is_refused_at_the_exchange(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    process = start(sb, tmp_path, ads_client_secret="wrong-secret")
    play_browser(process)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.strip().splitlines()[-1] == (
        "tap-spotify-bulk: error: ads-login: the token endpoint refused the authorization "
        "code (invalid_client); check `ads_client_id` and `ads_client_secret`.")
    assert "wrong-secret" not in err


MELTANO_YML = """\
version: 1
default_environment: dev
environments:
  - name: dev
plugins:
  extractors:
    - name: tap-spotify-bulk
      namespace: tap_spotify_bulk
      pip_url: -e .
      executable: tap-spotify-bulk
      settings:
        - name: ads_refresh_token
          kind: string
          sensitive: true
"""


def test_inside_a_meltano_project_the_token_goes_to_meltano_config(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    project = tmp_path / "project"
    project.mkdir()
    (project / "meltano.yml").write_text(MELTANO_YML)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(sb.tap_config()))
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
           "MELTANO_HUB_URL": "http://127.0.0.1:9", "MELTANO_PROJECT_ROOT": str(project)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tap_spotify_bulk", "--config", str(config), "ads-login",
         "--no-browser", "--port", "0", "--timeout", "60"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    play_browser(process)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert out == ""
    assert err.strip().splitlines()[-1] == (
        "ads_refresh_token saved with `meltano config set tap-spotify-bulk`.")
    saved = dict(line.split("=", 1) for line in (project / ".env").read_text().splitlines()
                 if line.strip())
    token = saved["TAP_SPOTIFY_BULK_ADS_REFRESH_TOKEN"].strip("'\"")
    assert token and token not in err
    records, _ = run_tap(sb.tap_config(ads_refresh_token=token,
                                       ads_report_list=[LIFETIME_AD_SET]))
    assert landed(LIFETIME_AD_SET, records["ad_set_lifetime"]) == sb.ads_truth(
        [LIFETIME_AD_SET])["ad_set_lifetime"]


def test_login_credentials_fall_back_as_the_runs_do_then_on_the_environment(monkeypatch):
    """`ads-login` finds the Ads app's id and secret as a run does (the Bulk app's when the
    Ads ones are unset), then in the environment; --client-id wins; a missing one is named
    with the configured key that looks like its typo."""
    for name in ("ADS_CLIENT_ID", "ADS_CLIENT_SECRET", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"TAP_SPOTIFY_BULK_{name}", raising=False)
    assert ads_login.credentials({"client_id": "bulk", "client_secret": "s "}, None) == (
        "bulk", "s")
    assert ads_login.credentials({"ads_client_id": "ads", "client_id": "bulk",
                                  "client_secret": "s"}, "flag") == ("flag", "s")
    monkeypatch.setenv("TAP_SPOTIFY_BULK_CLIENT_SECRET", "from-env")
    assert ads_login.credentials({"ads_client_id": "ads"}, None) == ("ads", "from-env")
    monkeypatch.delenv("TAP_SPOTIFY_BULK_CLIENT_SECRET")
    with pytest.raises(MissingSettingError) as missing:
        ads_login.credentials({"ads_client_id": "ads", "ads_client_secrett": "x"}, None)
    assert str(missing.value) == (
        "`ads_client_secret` is needed for ads-login: set it in the tap's config (or "
        "TAP_SPOTIFY_BULK_ADS_CLIENT_SECRET); `ads_client_secrett` is set: did you mean "
        "`ads_client_secret`?")
    assert missing.value.settings == ("ads_client_secret", "client_secret")
