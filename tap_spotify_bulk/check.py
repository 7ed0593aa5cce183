"""Connectivity check (`tap-spotify-bulk --config c.json --check`): try the credentials and
the first listing of each configured API without extracting anything.

The Bulk API is tried when any of its credentials is set (a token, then the list of years
of the `streams` report); the Ads API when `ads_refresh_token` is set (a token, then the
business list, or the first ad account with SPECIFIC_ACCOUNTS), and the Ads refresh token's
age is told (from the token store). The result is one line.
"""

from __future__ import annotations

import typing as t

from tap_spotify_bulk.ads import settings as ads_settings
from tap_spotify_bulk.ads.runtime import AdsRuntime
from tap_spotify_bulk.bulk import settings as bulk_settings
from tap_spotify_bulk.bulk.runtime import BulkRuntime
from tap_spotify_bulk.errors import ConfigError
from tap_spotify_bulk.tap import validate_settings

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def _bulk(config: Mapping[str, t.Any]) -> str:
    client = BulkRuntime(config).client
    years = client.list_children("streams") or []
    return f"Bulk API ok (licensor {client.licensor}: {len(years)} year(s) of streams listed)"


def _token_age(runtime: AdsRuntime) -> str:
    stored = runtime.stored_token
    if stored is None:
        return "refresh token age unknown: `ads_token_store` is off"
    return f"refresh token {stored.entry.describe_age()}"


def _ads(config: Mapping[str, t.Any]) -> str:
    runtime = AdsRuntime(config)
    if runtime.sync_mode == "SPECIFIC_ACCOUNTS":
        first = runtime.listed_accounts[0]
        runtime.client.get_json(f"/ad_accounts/{first}", what=f"Ads ad account {first}")
        return f"Ads API ok (ad account {first} readable; {_token_age(runtime)})"
    body = runtime.client.get_json("/businesses", what="Ads business list")
    listed = len(body.get("businesses") or [])
    return f"Ads API ok ({listed} business(es) listed; {_token_age(runtime)})"


def check(config: Mapping[str, t.Any]) -> str:
    """One line on what worked; raises `TapError` on the first thing that does not."""
    bulk = any(setting.value(config) for setting in bulk_settings.CREDENTIALS)
    ads = bool(ads_settings.ADS_REFRESH_TOKEN.value(config))
    if not bulk and not ads:
        msg = ("nothing to check: set `client_id`, `client_secret` and `licensor` (Bulk API) "
               "or `ads_refresh_token` (Ads API).")
        raise ConfigError(msg)
    validate_settings(config, bulk_selected=bulk, ads_selected=ads)
    results = ([_bulk(config)] if bulk else []) + ([_ads(config)] if ads else [])
    return "; ".join(results)
