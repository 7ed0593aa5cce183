"""Ads contract (api-contract §2, §3, §6): which ad accounts a run reads, and the
credentials and URLs it is given. No business, a business whose ad accounts are hidden, a
malformed specific account id, pasted credentials with whitespace around them.
"""

from __future__ import annotations

import json

import pytest
from helpers.ads import sync_ads as run_tap
from helpers.ads_contract import (
    ALL_REPORTS,
    LIFETIME_AD,
    ads_sandbox,
    assert_exact,
    frozen_clock,  # noqa: F401 (autouse: the tap's Ads clock)
    run_all,
)
from spotify_sandbox.routing import SandboxResponse

from tap_spotify_bulk.errors import AccessError


def test_no_business_means_no_records_and_no_error(sandbox_factory):
    sb = ads_sandbox(sandbox_factory, n_businesses=0)
    records, _ = run_all(sb)
    assert all(not records[r["table"]] for r in ALL_REPORTS)
    assert sb.ads_api.stats.get("requests_aggregate_reports", 0) == 0


def test_a_business_whose_ad_accounts_are_not_visible_is_skipped(sandbox_factory, caplog):
    """ALL_ACCOUNTS means every ad account the token can see: a business listed by
    /businesses whose ad account list answers 403 (a role without access) or 404 (gone
    meanwhile) adds none, with a warning, and the other businesses are still read."""
    sb = ads_sandbox(sandbox_factory, n_businesses=3, shared_account=False)
    api = sb.ads_api
    world = api.world
    original = api.handle
    hidden = {world.businesses[0]["id"]: 403, world.businesses[2]["id"]: 404}

    def forbidden(req):
        parts = req.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "businesses" and parts[1] in hidden:
            status = hidden[parts[1]]
            body = {"sp_trace_id": "t", "messages": ["no access"],
                    "error_codes": [{"code": "FORBIDDEN", "definition": "no access"}]}
            return SandboxResponse(status, json.dumps(body).encode())
        return original(req)

    api.handle = forbidden
    records, _ = run_tap(sb.tap_config(ads_report_list=[LIFETIME_AD]))
    visible = world.account_ids[1]
    assert_exact(LIFETIME_AD, records["ad_lifetime"],
                 sb.ads_truth([LIFETIME_AD], accounts=[visible]))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum(world.businesses[0]["id"] in w for w in warnings) == 1
    assert sum(world.businesses[2]["id"] in w for w in warnings) == 1


def test_pasted_credentials_with_surrounding_whitespace_and_a_trailing_slash_url(
        sandbox_factory):
    """Secrets pasted from a file or a UI often carry a newline; tokens never contain
    whitespace, so the tap trims them rather than failing with invalid_grant."""
    sb = ads_sandbox(sandbox_factory)
    config = sb.tap_config(ads_report_list=[LIFETIME_AD], ads_api_url=sb.ads_api_url + "/",
                           ads_client_id=f" {sb.options.ads_client_id}",
                           ads_client_secret=f"{sb.options.ads_client_secret}\n",
                           ads_refresh_token=f"{sb.refresh_token}\r\n")
    records, _ = run_tap(config)
    assert_exact(LIFETIME_AD, records["ad_lifetime"], sb.ads_truth([LIFETIME_AD]))


def test_a_malformed_specific_account_id_names_the_setting(sandbox_factory):
    """Ad account ids are UUIDs: a real server answers a malformed one with 400 rather
    than 404. Either way the one-line message names `ads_accounts` and the id."""
    sb = ads_sandbox(sandbox_factory)
    api = sb.ads_api
    original = api.handle

    def uuid_ids(req):
        parts = req.path.strip("/").split("/")
        if parts[0] == "ad_accounts" and len(parts) > 1 and parts[1].count("-") != 4:
            body = {"sp_trace_id": "t", "messages": ["Invalid UUID string: " + parts[1]],
                    "error_codes": [{"code": "INVALID_ARGUMENT", "definition": "bad id"}]}
            return SandboxResponse(400, json.dumps(body).encode())
        return original(req)

    api.handle = uuid_ids
    config = sb.tap_config(ads_report_list=[LIFETIME_AD], ads_sync_mode="SPECIFIC_ACCOUNTS",
                           ads_accounts=[api.world.account_ids[0], "acct-123"])
    with pytest.raises(AccessError) as err:
        run_tap(config)
    message = str(err.value)
    assert "`ads_accounts`" in message
    assert "'acct-123'" in message
    assert "\n" not in message
    assert api.stats.get("requests_aggregate_reports", 0) == 0
