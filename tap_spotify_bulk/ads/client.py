"""The one HTTP path of every Ads API call: pacing, token, 401-once, 429 and 5xx handling.

Why not `http.send` alone: a 429 from the Ads API is the rate limiter speaking (150
requests / 30 s per token), never a reason to fail a run, so 429s do not count against the
retry budget that 5xx answers and connection errors use. The wait before the next try is
the server's hint (`Retry-After`, else `X-RateLimit-Reset`) or our own backoff.
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

PACE_LIMIT = 145  # requests per PACE_WINDOW, a little under the API's 150 / 30 s
PACE_WINDOW = 30.0
MAX_THROTTLED = 200  # consecutive 429s on one call before we give up (hours of waiting)
MIN_THROTTLE_WAIT = 1.0  # seconds after a 429 whose hint says 0


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


def throttle_hint(response: requests.Response) -> float | None:
    """Seconds to wait after a 429: the shared hint, else `X-RateLimit-Reset` on its own
    (a 429 means the budget is spent, whether or not `X-RateLimit-Remaining` says 0)."""
    hint = http.server_wait_hint(response)
    if hint is not None:
        return hint
    try:
        reset = float(response.headers.get("X-RateLimit-Reset", ""))
    except ValueError:
        return None
    return min(max(reset, 0.0), http.MAX_SERVER_WAIT) if math.isfinite(reset) else None


def error_text(response: requests.Response) -> str:
    """The API's own messages and error codes (§6 error shape), on one line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("messages") or []]
    parts += [str(c.get("code")) for c in body.get("error_codes") or [] if isinstance(c, dict)]
    return "; ".join(parts).replace("\n", " ")[:300]


def error_codes(response: requests.Response) -> set[str]:
    try:
        codes = response.json().get("error_codes") or []
    except (ValueError, AttributeError):
        return set()
    return {str(c.get("code")) for c in codes if isinstance(c, dict)}


class AdsClient:
    """GETs against `base_url` with the Ads token, paced under the reporting rate limit."""

    def __init__(self, *, base_url: str, tokens: TokenClient,
                 pacer: RatePacer | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.pacer = pacer or RatePacer(sleep=sleep)
        self.session = session or requests.Session()
        self._sleep = sleep

    def get(self, path: str, params: t.Any = None, *, what: str) -> requests.Response:
        """The first answer that is not 401-once, 429 or transient; callers judge 4xx."""
        url = f"{self.base_url}{path}"
        failures = 0
        throttled = 0
        retried_401 = False
        while True:
            self.pacer.wait()
            token = self.tokens.token()
            problem = ""
            wait: float | None = None
            try:
                response = self.session.get(url, params=params, timeout=http.DEFAULT_TIMEOUT,
                                            headers={"Authorization": f"Bearer {token}"})
            except http.TRANSIENT_EXCEPTIONS as exc:
                problem = type(exc).__name__
            else:
                status = response.status_code
                if status == 401 and not retried_401:
                    retried_401 = True
                    self.tokens.invalidate(token)
                    continue
                if status == 401:
                    msg = (f"{what}: the Ads API rejected a fresh access token (HTTP 401): "
                           "check `ads_client_id`, `ads_client_secret` and `ads_refresh_token`.")
                    raise AuthError(msg)
                if status == 429:
                    throttled += 1
                    if throttled > MAX_THROTTLED:
                        msg = f"{what}: still rate limited after {throttled} tries; retry later."
                        raise ApiError(msg)
                    delay = throttle_hint(response)
                    # The headers count whole seconds: a 0 means "under a second", not "now".
                    delay = (http.backoff_delay(min(throttled, 6)) if delay is None
                             else max(delay, MIN_THROTTLE_WAIT))
                    LOGGER.info("%s: rate limited (429), waiting %.1fs", what, delay)
                    self.pacer.pause(delay)
                    continue
                if status not in http.RETRY_STATUSES:
                    return response
                problem = f"HTTP {status}"
                wait = http.server_wait_hint(response)
            failures += 1
            if failures >= http.MAX_TRIES:
                msg = (f"{what}: gave up after {failures} attempts, last answer {problem}. "
                       "The Ads API is unavailable; run again later.")
                raise ApiError(msg)
            delay = wait if wait is not None else http.backoff_delay(failures)
            LOGGER.warning("%s: %s (attempt %d/%d), retrying in %.1fs",
                           what, problem, failures, http.MAX_TRIES, delay)
            self._sleep(delay)

    def get_json(self, path: str, params: t.Any = None, *, what: str) -> dict:
        """A 200 answer's JSON object; 403 -> AccessError, anything else -> ApiError."""
        response = self.get(path, params, what=what)
        if response.status_code == 200:
            return self.json_object(response, what)
        raise self.failure(response, what)

    @staticmethod
    def json_object(response: requests.Response, what: str) -> dict:
        """The JSON object of a 200 answer; ApiError when it is not one."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
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
