"""Spotify's OAuth token endpoint: one client for both grants the tap uses.

* Bulk API: `grant_type=client_credentials` with the licensor app's id and secret.
* Ads API: `grant_type=refresh_token` with the Ads app's id and secret; a rotated
  `refresh_token` in the answer replaces the old one for every later call, and is handed to
  the `RefreshTokenKeeper` (the Ads token store) before the new access token is used.

One `TokenClient` per API per tap (never a process-wide singleton), safe to share between
download threads. Tokens are refreshed `REFRESH_MARGIN` seconds before they expire and once
more when an API call answers 401 (`invalidate`). Secrets never reach a log line or an error.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
import typing as t

import requests

from tap_spotify_bulk import http
from tap_spotify_bulk.errors import ApiError, AuthError

REFRESH_MARGIN = 60.0  # seconds before expiry at which a token counts as stale
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"  # noqa: S105 (a URL)


class RefreshTokenKeeper(t.Protocol):
    """Keeps a refresh token beyond the run (`tap_spotify_bulk.ads.token_store`)."""

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Held around each refresh, so concurrent processes refresh one at a time."""

    def latest(self, held: str) -> str:
        """The token to send now: `held`, or one another process has rotated it to."""

    def rotated(self, new: str) -> None:
        """Keep `new`, which the endpoint just rotated to (before it is relied on)."""

    def rejected(self, token: str) -> str | None:
        """The endpoint refused `token` (invalid_grant): another token to try once (the
        configured one, when the kept one was refused), or None."""


class RefreshTokenRejectedError(AuthError):
    """The token endpoint answered invalid_grant to a refresh token."""


class TokenClient:
    """Obtains, caches and refreshes access tokens from `token_url`.

    Args:
        token_url: the OAuth token endpoint.
        client_id: app client id (sent in the Basic header).
        client_secret: app client secret (sent in the Basic header).
        refresh_token: when given, the refresh-token grant is used (Ads API).
        api_name: "Bulk API" or "Ads API", used in messages.
        id_setting / secret_setting / refresh_setting: setting names to cite in errors.
        keeper: keeps the refresh token across runs (read before and written after each
            refresh that rotates it).
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str | None = None,
        api_name: str = "Bulk API",
        id_setting: str = "client_id",
        secret_setting: str = "client_secret",  # noqa: S107 (a setting name)
        refresh_setting: str = "ads_refresh_token",
        session: requests.Session | None = None,
        keeper: RefreshTokenKeeper | None = None,
    ) -> None:
        self.token_url = token_url
        self.api_name = api_name
        self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._refresh_token = refresh_token
        self._id_setting = id_setting
        self._secret_setting = secret_setting
        self._refresh_setting = refresh_setting
        self._session = session or requests.Session()
        self._keeper = keeper
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.tokens_issued = 0

    def __repr__(self) -> str:  # never show secrets, even in a debugger or traceback
        return f"TokenClient(api_name={self.api_name!r}, token_url={self.token_url!r})"

    @property
    def refresh_token(self) -> str | None:
        """The current refresh token (the latest rotated one, if the server rotated it)."""
        return self._refresh_token

    def token(self) -> str:
        """A valid access token, fetched or refreshed when missing or about to expire."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` after the API answered 401 for it (if it is still the cached one)."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> None:
        if self._keeper is None or self._refresh_token is None:
            self._request()
            return
        with self._keeper.locked():
            self._refresh_token = self._keeper.latest(self._refresh_token)
            try:
                self._request()
            except RefreshTokenRejectedError:
                fallback = self._keeper.rejected(self._refresh_token)
                if fallback is None:
                    raise
                self._refresh_token = fallback
                self._request()

    def _request(self) -> None:
        if self._refresh_token is not None:
            form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        else:
            form = {"grant_type": "client_credentials"}
        response = http.PLAIN.send(
            self._session,
            "POST",
            self.token_url,
            what=f"{self.api_name} token request",
            data=form,
            headers={"Authorization": f"Basic {self._basic}"},
        )
        if response.status_code != 200:
            raise self._error_for(response)
        try:
            body = response.json()
            access_token = body["access_token"]
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            msg = (
                f"{self.api_name} token endpoint {self.token_url} answered 200 without an "
                "access_token: check `token_url`."
            )
            raise ApiError(msg) from exc
        if not isinstance(access_token, str) or not access_token:
            msg = f"{self.api_name} token endpoint returned an empty access_token."
            raise ApiError(msg)
        rotated = body.get("refresh_token")
        if (self._refresh_token is not None and isinstance(rotated, str) and rotated
                and rotated != self._refresh_token):
            # Only the refresh-token grant rotates: a client-credentials answer that carries
            # a refresh_token (RFC 6749 allows it) must not switch the Bulk side's grant.
            self._refresh_token = rotated
            if self._keeper is not None:  # kept before the new access token is handed out
                self._keeper.rotated(rotated)
        self._token = access_token
        # Refresh early, but never so early that a short-lived token is useless.
        margin = min(REFRESH_MARGIN, lifetime / 4)
        self._expires_at = time.monotonic() + lifetime - margin
        self.tokens_issued += 1

    def _error_for(self, response: requests.Response) -> AuthError | ApiError:
        try:
            error = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            error = ""
        creds = f"`{self._id_setting}` and `{self._secret_setting}`"
        if error == "invalid_client" or response.status_code == 401:
            return AuthError(
                f"{self.api_name} credentials were rejected (invalid_client): "
                f"check {creds}."
            )
        if error == "invalid_grant" and self._refresh_token is not None:
            return RefreshTokenRejectedError(
                f"{self.api_name} refresh token was rejected (invalid_grant): it expired or "
                "was revoked (Spotify refresh tokens expire 6 months after authorization). "
                f"Re-authorize the app and update `{self._refresh_setting}`."
            )
        if error:
            return AuthError(
                f"{self.api_name} token request was refused ({error}): check {creds} "
                "and `token_url`."
            )
        return ApiError(
            f"{self.api_name} token endpoint {self.token_url} answered HTTP "
            f"{response.status_code}: check `token_url`."
        )


__all__ = ["DEFAULT_TOKEN_URL", "RefreshTokenKeeper", "RefreshTokenRejectedError",
           "TokenClient"]
