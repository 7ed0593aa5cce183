"""The OAuth token endpoint (api-contract §3), the authorize endpoint of the authorization-code
flow that yields Ads refresh tokens, and the registry of the tokens issued.

`/authorize` plays Spotify's accounts page with consent already given: it redirects to a
loopback `redirect_uri` with `code` and `state`, or with `error=access_denied` while
`deny_consent` is set; an unknown client id or a redirect URI that is not a loopback
http URI is refused on the page itself (400), as Spotify does, without a redirect.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from spotify_sandbox.routing import SandboxResponse

if TYPE_CHECKING:
    from spotify_sandbox.options import SandboxOptions

BULK = "bulk"
ADS = "ads"
CODE_LIFETIME = 600.0  # seconds an authorization code may wait for its exchange
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})


@dataclass(frozen=True)
class Issued:
    kind: str  # BULK or ADS
    expires_at: float  # time.time() seconds


def oauth_error(error: str, description: str) -> SandboxResponse:
    return SandboxResponse(400, orjson.dumps({"error": error, "error_description": description}))


def api_unauthorized(message: str = "The access token expired") -> SandboxResponse:
    return SandboxResponse(401, orjson.dumps({"error": {"status": 401, "message": message}}))


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _redirect(uri: str, **params: str) -> SandboxResponse:
    glue = "&" if urlsplit(uri).query else "?"
    return SandboxResponse(302, b"", {"Location": f"{uri}{glue}{urlencode(params)}"},
                           content_type="text/plain")


def _page_error(message: str) -> SandboxResponse:
    return SandboxResponse(400, message.encode(), content_type="text/plain")


class TokenService:
    """Issues Bulk (client-credentials) and Ads (refresh-token, authorization-code) tokens
    and validates them."""

    def __init__(self, options: SandboxOptions) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, Issued] = {}
        self.refresh_token = options.refresh_token  # the configured one (rotates)
        self.refresh_tokens = [options.refresh_token]  # every one ever valid (secret scans)
        self._logins: set[str] = set()  # refresh tokens issued by the code grant
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (redirect_uri, expiry)
        self.deny_consent = False  # tests: the user refuses consent on the accounts page

    def authorize(self, query: dict[str, list[str]], options: SandboxOptions) -> SandboxResponse:
        """`GET /authorize`: redirect back with a code (or `error=access_denied`)."""
        one = {k: v[0] for k, v in query.items() if v}
        if one.get("client_id") != options.ads_client_id:
            return _page_error("INVALID_CLIENT: Invalid client")
        uri = one.get("redirect_uri", "")
        parts = urlsplit(uri)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
            return _page_error("INVALID_CLIENT: Insecure redirect URI")
        state = {"state": one["state"]} if "state" in one else {}
        if one.get("response_type") != "code":
            return _redirect(uri, error="unsupported_response_type", **state)
        if self.deny_consent:
            return _redirect(uri, error="access_denied", **state)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = (uri, time.time() + CODE_LIFETIME)
        return _redirect(uri, code=code, **state)

    def _refresh_answer(self, grant: str, form: dict[str, str],
                        options: SandboxOptions) -> dict[str, object] | SandboxResponse:
        """Keys an Ads grant adds to the answer (a new refresh token), or the 400 answer."""
        if grant == "authorization_code":  # redeem the code, once
            with self._lock:
                issued = self._codes.pop(form.get("code", ""), None)
            if issued is None or issued[1] < time.time():
                return oauth_error("invalid_grant", "Invalid authorization code")
            if form.get("redirect_uri") != issued[0]:
                return oauth_error("invalid_grant", "Invalid redirect URI")
            fresh = secrets.token_urlsafe(24)
            with self._lock:
                self._logins.add(fresh)
                self.refresh_tokens.append(fresh)
            return {"refresh_token": fresh}
        with self._lock:
            used = form.get("refresh_token")
            if used != self.refresh_token and used not in self._logins:
                return oauth_error("invalid_grant", "Invalid refresh token")
            if not options.rotate_refresh_token:
                return {}
            fresh = secrets.token_urlsafe(24)
            if used == self.refresh_token:  # tests may also revoke it by replacing it
                self.refresh_token = fresh
            else:
                self._logins.discard(used)
                self._logins.add(fresh)
            self.refresh_tokens.append(fresh)
            return {"refresh_token": fresh}

    def handle(self, headers: dict[str, str], body: bytes,
               options: SandboxOptions) -> SandboxResponse:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant not in ("client_credentials", "refresh_token", "authorization_code"):
            if grant is None:
                return oauth_error("unsupported_grant_type", "grant_type parameter is missing")
            return oauth_error("unsupported_grant_type", "grant_type must be client_credentials, "
                                                         "authorization_code or refresh_token")
        creds = _basic_credentials(headers.get("authorization"))
        if grant == "client_credentials":
            expected, kind = (options.client_id, options.client_secret), BULK
        else:
            expected, kind = (options.ads_client_id, options.ads_client_secret), ADS
        if creds is None or creds[0] != expected[0]:
            return oauth_error("invalid_client", "Invalid client")
        if not secrets.compare_digest(creds[1], expected[1]):
            return oauth_error("invalid_client", "Invalid client secret")
        answer = self._refresh_answer(grant, form, options) if kind == ADS else {}
        if isinstance(answer, SandboxResponse):
            return answer
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = Issued(kind, time.time() + options.token_lifetime)
        body_out = {"access_token": token, "token_type": "Bearer",
                    "expires_in": int(options.token_lifetime), **answer}
        if kind == ADS:
            body_out["scope"] = "streaming"
        body_out.update(options.token_answer_extra)
        return SandboxResponse(200, orjson.dumps(body_out))

    def check(self, authorization: str | None,
              kind: str) -> tuple[str | None, SandboxResponse | None]:
        """(token, None) for a valid unexpired token of `kind`, else (None, a 401 answer)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None, api_unauthorized("No token provided")
        token = authorization[7:].strip()
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.kind != kind:
            return None, api_unauthorized("Invalid access token")
        if time.time() >= issued.expires_at:
            return None, api_unauthorized("The access token expired")
        return token, None

    def access_tokens(self) -> list[str]:
        """Every access token issued so far (tests scan output for them)."""
        with self._lock:
            return list(self._tokens)

    def expire_all(self) -> None:
        """Make every issued token expired (tests of the 401-refresh path)."""
        with self._lock:
            self._tokens = {t: Issued(i.kind, 0.0) for t, i in self._tokens.items()}
