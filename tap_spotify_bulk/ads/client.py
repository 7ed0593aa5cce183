"""The one HTTP path of every Ads API call: the tap's retry policy (`http.RetryPolicy`)
with the Ads token and a pacer shared by every Ads stream, which keeps the tap under the
reporting rate limit (150 requests / 30 s per token) and holds every call back while the
server asks for a pause after a 429.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import typing as t

import requests

from tap_spotify_bulk import http
from tap_spotify_bulk.errors import AccessError, ApiError, AuthError

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_spotify_bulk.auth import TokenClient

LOGGER = logging.getLogger("tap_spotify_bulk.ads")

PACE_LIMIT = 145  # requests per PACE_WINDOW, a little under the API's 150 / 30 s
PACE_WINDOW = 30.0


class RatePacer:
    """Sliding-window pacer shared by every Ads stream of a tap: at most `limit` calls
    in any `window` seconds, plus a pause the server asked for after a 429."""

    def __init__(self, limit: int = PACE_LIMIT, window: float = PACE_WINDOW, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every call for `seconds` (the server's 429 hint)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def wait(self) -> None:
        """Block until one more call fits, then count it."""
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                delay = self._paused_until - now
                if len(self._sent) >= self.limit:
                    delay = max(delay, self._sent[0] + self.window - now)
                if delay <= 0:
                    self._sent.append(now)
                    return
                self._sleep(delay)


def json_body(response: requests.Response) -> dict[str, t.Any] | None:
    """The answer's JSON object, or None when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _codes(body: dict[str, t.Any]) -> list[str]:
    return [str(c.get("code")) for c in body.get("error_codes") or [] if isinstance(c, dict)]


def error_text(response: requests.Response) -> str:
    """The API's own messages and error codes (§6 error shape), on one line."""
    body = json_body(response) or {}
    parts = [str(m) for m in body.get("messages") or []] + _codes(body)
    return "; ".join(parts).replace("\n", " ")[:300]


def error_codes(response: requests.Response) -> set[str]:
    return set(_codes(json_body(response) or {}))


class AdsClient:
    """GETs against `base_url` with the Ads token, paced under the reporting rate limit."""

    def __init__(self, *, base_url: str, tokens: TokenClient,
                 pacer: RatePacer | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.pacer = pacer or RatePacer(sleep=sleep)
        self.session = session or requests.Session()
        self.retry = http.RetryPolicy(tokens=tokens, pacer=self.pacer, sleep=sleep,
                                      unavailable="The Ads API is unavailable; run again later.")

    def get(self, path: str, params: t.Any = None, *, what: str) -> requests.Response:
        """The first answer that is not 401-once, 429 or transient; callers judge 4xx."""
        response = self.retry.send(self.session, "GET", f"{self.base_url}{path}",
                                   what=what, params=params)
        if response.status_code == 401:
            response.close()
            msg = (f"{what}: the Ads API rejected a fresh access token (HTTP 401): "
                   "check `ads_client_id`, `ads_client_secret` and `ads_refresh_token`.")
            raise AuthError(msg)
        return response

    def get_json(self, path: str, params: t.Any = None, *, what: str) -> dict:
        """A 200 answer's JSON object; 403 -> AccessError, anything else -> ApiError."""
        response = self.get(path, params, what=what)
        if response.status_code == 200:
            return self.json_object(response, what)
        raise self.failure(response, what)

    @staticmethod
    def json_object(response: requests.Response, what: str) -> dict:
        """The JSON object of a 200 answer; ApiError when it is not one."""
        body = json_body(response)
        if body is not None:
            return body
        msg = f"{what}: the Ads API answered 200 without a JSON object."
        raise ApiError(msg)

    @staticmethod
    def failure(response: requests.Response, what: str) -> AccessError | ApiError:
        detail = error_text(response)
        detail = f" ({detail})" if detail else ""
        if response.status_code == 403:
            msg = f"{what}: access denied (HTTP 403){detail}; check the ad account permissions."
            return AccessError(msg)
        msg = f"{what}: the Ads API answered HTTP {response.status_code}{detail}."
        return ApiError(msg)
