"""The OAuth token endpoint (SPEC §3) and the registry of the access tokens it issued."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import orjson

from spotify_sandbox.routing import SandboxResponse

if TYPE_CHECKING:
    from spotify_sandbox.options import SandboxOptions

BULK = "bulk"
ADS = "ads"


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


class TokenService:
    """Issues Bulk (client-credentials) and Ads (refresh-token) tokens and validates them."""

    def __init__(self, options: SandboxOptions) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, Issued] = {}
        self.refresh_token = options.refresh_token  # the currently valid one (rotates)
        self.refresh_tokens = [options.refresh_token]  # every one ever valid (secret scans)

    def handle(self, headers: dict[str, str], body: bytes,
               options: SandboxOptions) -> SandboxResponse:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if grant not in ("client_credentials", "refresh_token"):
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
        answer: dict[str, object] = {}
        if kind == ADS:
            with self._lock:
                if form.get("refresh_token") != self.refresh_token:
                    return oauth_error("invalid_grant", "Invalid refresh token")
                if options.rotate_refresh_token:
                    self.refresh_token = secrets.token_urlsafe(24)
                    self.refresh_tokens.append(self.refresh_token)
                    answer["refresh_token"] = self.refresh_token
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
