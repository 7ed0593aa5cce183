"""The one HTTP path of every Ads API call: the tap's retry policy (`http.RetryPolicy`)
with the Ads token and one pacer per endpoint class, shared by every Ads stream. Spotify
limits each client and user to 150 requests / 30 s on the reporting endpoints and 1,500 /
30 s on the rest: each class is paced a little under its limit, and a class's calls are
held back while the server asks for a pause (a 429, or `X-RateLimit-Remaining: 0` with
`X-RateLimit-Reset` on any answer).
"""

from __future__ import annotations

import collections
import logging
import math
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

PACE_LIMIT = 145  # reporting requests per PACE_WINDOW, a little under the API's 150 / 30 s
OTHER_PACE_LIMIT = 1450  # other requests per PACE_WINDOW, under the API's 1,500 / 30 s
PACE_WINDOW = 30.0
MAX_RESET = 3600.0  # a longer X-RateLimit-Reset is not taken as a pause hint
# Path segments of the reporting endpoints (the `reports` operations of the v3 specification).
REPORTING = frozenset({"aggregate_reports", "insight_reports", "async_reports"})


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


def exhausted_for(response: requests.Response) -> float | None:
    """Seconds to hold a class back when an answer says its budget is spent
    (`X-RateLimit-Remaining: 0`, `X-RateLimit-Reset` seconds); None otherwise."""
    headers = response.headers
    if headers.get("X-RateLimit-Remaining", "").strip() != "0":
        return None
    try:
        reset = float(headers.get("X-RateLimit-Reset", ""))
    except ValueError:
        return None
    if not math.isfinite(reset) or reset > MAX_RESET:
        return None
    return max(reset, 1.0)  # whole seconds, rounded down: 0 still means "not yet"


class AdsClient:
    """Calls against `base_url` with the Ads token, each endpoint class under its own rate
    limit (`pacer` for the reporting endpoints, `other_pacer` for the rest)."""

    def __init__(self, *, base_url: str, tokens: TokenClient,
                 pacer: RatePacer | None = None, other_pacer: RatePacer | None = None,
                 session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.pacer = pacer or RatePacer(clock=clock, sleep=sleep)
        self.other_pacer = other_pacer or RatePacer(OTHER_PACE_LIMIT, clock=clock, sleep=sleep)
        self.session = session or requests.Session()
        unavailable = "The Ads API is unavailable; run again later."
        self.retry = http.RetryPolicy(tokens=tokens, pacer=self.pacer, sleep=sleep,
                                      unavailable=unavailable)
        self.other_retry = http.RetryPolicy(tokens=tokens, pacer=self.other_pacer, sleep=sleep,
                                            unavailable=unavailable)

    @staticmethod
    def is_reporting(path: str) -> bool:
        return not REPORTING.isdisjoint(path.split("/"))

    def get(self, path: str, params: t.Any = None, *, what: str) -> requests.Response:
        """The first answer that is not 401-once, 429 or transient; callers judge 4xx."""
        return self.request("GET", path, what=what, params=params)

    def request(self, method: str, path: str, *, what: str,
                **kwargs: t.Any) -> requests.Response:
        """Like `get`, for any method (`kwargs` go to `requests`)."""
        reporting = self.is_reporting(path)
        retry = self.retry if reporting else self.other_retry
        response = retry.send(self.session, method, f"{self.base_url}{path}", what=what,
                              **kwargs)
        pause = exhausted_for(response)
        if pause is not None:  # the budget is spent: wait before this class's next call
            (self.pacer if reporting else self.other_pacer).pause(pause)
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
