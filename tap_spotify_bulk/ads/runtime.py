"""Per-tap shared state of the Ads streams: settings, token client, HTTP client, accounts.

One `AdsRuntime` per tap instance (never a module-level singleton), created by
`ads_streams(tap)` and shared by the entity streams and every report stream, as
`BulkRuntime` is by the Bulk streams. It is the one place the Ads settings are read, each
once (`ads_settings` declares and checks them); the token client (with the refresh token
kept in the token store, see `tap_spotify_bulk.ads.token_store`), the paced HTTP client
(one pacer per endpoint class, one request budget), the discovered businesses and ad
accounts and their currencies.

Built on first use, so discovery needs no credentials. Account discovery also keeps the
objects it was answered with, so the `businesses` and `ad_accounts` streams cost no
request beyond the ones discovery makes anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
from functools import cached_property
from pathlib import Path

from tap_spotify_bulk import shared_settings
from tap_spotify_bulk.ads import settings, token_store
from tap_spotify_bulk.ads.client import AdsClient
from tap_spotify_bulk.auth import TokenClient
from tap_spotify_bulk.errors import AccessError

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_spotify_bulk.ads.settings import ReportSpec

LOGGER = logging.getLogger("tap_spotify_bulk.ads")


class AdsRuntime:
    """Settings, clients and accounts shared by one tap's Ads streams."""

    def __init__(self, config: Mapping[str, t.Any]) -> None:
        self.config = config
        self.account_objects: dict[str, dict] = {}  # ad account id -> API object
        self._currencies: dict[str, str | None] = {}  # ad account id -> currency_code

    # -- settings, each read once ---------------------------------------------------------

    @cached_property
    def report_specs(self) -> list[ReportSpec]:
        """The checked `ads_report_list` (`ConfigError` on the first bad item)."""
        return settings.report_specs(self.config)

    @cached_property
    def refresh_token_configured(self) -> bool:
        return settings.refresh_token_configured(self.config)

    @cached_property
    def credentials(self) -> tuple[str, str, str]:
        """(client id, client secret, refresh token) of the Ads app, defaults applied."""
        return settings.credentials(self.config)

    @cached_property
    def token_url(self) -> str:
        return shared_settings.token_url(self.config)

    @cached_property
    def api_url(self) -> str:
        return settings.api_url(self.config)

    @cached_property
    def sync_mode(self) -> str:
        return settings.sync_mode(self.config)

    @cached_property
    def listed_accounts(self) -> list[str]:
        """`ads_accounts`: the ad accounts SPECIFIC_ACCOUNTS reads."""
        return settings.accounts(self.config)

    @cached_property
    def lookback_days(self) -> int:
        """`ads_lookback_days`: the days DAY and HOUR reports read again."""
        return settings.lookback_days(self.config)

    @cached_property
    def timeframe_months(self) -> int | None:
        return settings.timeframe_months(self.config)

    @cached_property
    def start_date(self) -> dt.date | None:
        return settings.start_date(self.config)

    @cached_property
    def temp_dir(self) -> Path | None:
        """Where report windows and entity lists are held past memory (None: TMPDIR)."""
        return shared_settings.temp_dir(self.config)

    # -- clients and accounts -------------------------------------------------------------

    @cached_property
    def stored_token(self) -> token_store.StoredRefreshToken | None:
        """The Ads app's refresh token in the token store; None when the store is off. A
        token more than five months old is reported once, as a warning."""
        client_id, _, refresh_token = self.credentials
        stored = token_store.for_config(self.config, client_id, refresh_token)
        if stored is not None and (warning := token_store.expiry_warning(stored.entry)):
            LOGGER.warning("%s", warning)
        return stored

    @cached_property
    def client(self) -> AdsClient:
        client_id, client_secret, refresh_token = self.credentials
        stored = self.stored_token
        tokens = TokenClient(
            token_url=self.token_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=stored.refresh_token if stored else refresh_token,
            keeper=stored,
            api_name="Ads API",
            id_setting="ads_client_id",
            secret_setting="ads_client_secret",  # noqa: S106 (a setting name)
            refresh_setting="ads_refresh_token",
        )
        return AdsClient(base_url=self.api_url, tokens=tokens)

    @cached_property
    def businesses(self) -> list[dict]:
        """The businesses the token can see (`GET /businesses`), each with an id."""
        body = self.client.get_json("/businesses", what="Ads business list")
        return [b for b in body.get("businesses") or [] if isinstance(b, dict) and b.get("id")]

    @cached_property
    def accounts(self) -> list[str]:
        """Ad account ids to extract, in a stable order, each once."""
        if self.sync_mode == "SPECIFIC_ACCOUNTS":
            listed = self.listed_accounts
            for account in listed:
                self.account_objects[account] = self._check_account(account)
            return listed
        for business in self.businesses:
            page = self._business_accounts(str(business["id"]))
            for account in page.get("ad_accounts") or []:
                if isinstance(account, dict) and account.get("id"):
                    self.account_objects.setdefault(str(account["id"]), account)
        LOGGER.info("Ads: %d ad account(s) found across businesses", len(self.account_objects))
        return list(self.account_objects)

    def currency(self, account: str) -> str | None:
        """The ad account's `currency_code` (SPEND and REVENUE are in it), read once per run:
        from the object account discovery was answered with, else from `GET
        /ad_accounts/{id}` once; None (with a warning) when the API names none."""
        if account not in self._currencies:
            known = self.account_objects.get(account) or {}
            if not known.get("currency_code"):
                known = self.client.get_json(f"/ad_accounts/{account}",
                                             what=f"Ads ad account {account}")
            code = known.get("currency_code")
            if not isinstance(code, str) or not code:
                LOGGER.warning("Ads ad account %s: the API names no currency_code; its "
                               "records carry none", account)
                code = None
            self._currencies[account] = code
        return self._currencies[account]

    def selected_businesses(self) -> list[dict]:
        """Every business with ALL_ACCOUNTS; with SPECIFIC_ACCOUNTS, the listed accounts'
        owners (their `business_id`)."""
        if self.sync_mode != "SPECIFIC_ACCOUNTS":
            return self.businesses
        owners = {str(self.account_objects[a].get("business_id")) for a in self.accounts}
        return [b for b in self.businesses if str(b["id"]) in owners]

    def _business_accounts(self, business_id: str) -> dict:
        """One business's ad account list; {} when the token may not see it (403) or the
        business is gone (404): it then adds no account, which is not an error."""
        what = f"Ads ad account list of business {business_id}"
        response = self.client.get(f"/businesses/{business_id}/ad_accounts", what=what)
        if response.status_code in {403, 404}:
            LOGGER.warning("%s: HTTP %d, no ad account of this business is read",
                           what, response.status_code)
            return {}
        if response.status_code != 200:
            raise self.client.failure(response, what)
        return self.client.json_object(response, what)

    def _check_account(self, account: str) -> dict:
        """The ad account object; `AccessError` when the token cannot see it."""
        what = f"Ads ad account {account}"
        response = self.client.get(f"/ad_accounts/{account}", what=what)
        if response.status_code in {400, 403, 404}:  # 400: not even a well-formed id
            msg = (f"`ads_accounts`: ad account {account!r} was not found or is not "
                   f"accessible with this token (HTTP {response.status_code}).")
            raise AccessError(msg)
        if response.status_code != 200:
            raise self.client.failure(response, what)
        return self.client.json_object(response, what)
