"""One retry policy for every HTTP call the tap makes (token, Bulk, Ads).

`RetryPolicy.send` sends a request and returns the first answer that is not transient:

* 500, 502, 503, 504 and connection failures are retried `max_tries` times in all;
* 429 is the rate limiter speaking, never a reason to fail a run: it has its own, much
  larger budget (`max_throttled` in a row) and does not use up the one above;
* the wait before the next try is the server's hint when it gives one (`Retry-After` in
  seconds, else `X-RateLimit-Reset` on a 429 or when `X-RateLimit-Remaining` is 0), never
  less than `MIN_SERVER_WAIT` (the headers count whole seconds: 0 means "under a second",
  not "now"); otherwise exponential backoff with full jitter;
* with `tokens`, each try carries `Authorization: Bearer <token>`; a 401 makes the token
  client forget that token and the call is sent once more with a new one (a second 401 is
  returned to the caller, which knows which settings to name);
* with `pacer`, every try first waits for the pacer, and 429 waits pause the pacer (so
  every caller sharing it holds back).

Anything else (401 after the retry, 403, 404, ...) is returned to the caller.
"""

from __future__ import annotations

import logging
import math
import random
import time
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from tap_spotify_bulk.errors import ApiError

if t.TYPE_CHECKING:
    from collections.abc import Callable

LOGGER = logging.getLogger("tap_spotify_bulk.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
DEFAULT_TIMEOUT = (10, 120)  # (connect, read) seconds
MAX_TRIES = 8
MAX_THROTTLED = 200  # 429s in a row on one call before giving up (hours of waiting)
BASE_DELAY = 0.5
MAX_DELAY = 60.0
MIN_SERVER_WAIT = 1.0
MAX_SERVER_WAIT = 300.0
UNAVAILABLE = "The API is unavailable or overloaded; run again later."


class TokenSource(t.Protocol):
    """What the 401 hook needs of a token client (`auth.TokenClient`)."""

    def token(self) -> str: ...

    def invalidate(self, token: str) -> None: ...


class Pacer(t.Protocol):
    """A client-side rate limiter (`ads.client.RatePacer`)."""

    def wait(self) -> None: ...

    def pause(self, seconds: float) -> None: ...


def backoff_delay(attempt: int) -> float:
    """Full-jitter exponential backoff for the given 1-based attempt number."""
    return random.uniform(BASE_DELAY / 2, min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1)))


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:  # e.g. an HTTP-date: fall back to our own backoff
        return None
    return seconds if seconds is not None and math.isfinite(seconds) else None


def wait_hint(response: requests.Response) -> float | None:
    """Seconds the server asks us to wait (see the module docstring), or None."""
    headers = response.headers
    seconds = _seconds(headers.get("Retry-After"))
    if seconds is None and (response.status_code == 429
                            or headers.get("X-RateLimit-Remaining") == "0"):
        seconds = _seconds(headers.get("X-RateLimit-Reset"))
    if seconds is None:
        return None
    return min(max(seconds, MIN_SERVER_WAIT), MAX_SERVER_WAIT)


@dataclass(frozen=True)
class RetryPolicy:
    """How one client retries; see the module docstring. Safe to share between threads."""

    tokens: TokenSource | None = None
    pacer: Pacer | None = None
    sleep: Callable[[float], None] | None = None  # time.sleep (looked up at each call)
    max_tries: int = MAX_TRIES
    max_throttled: int = MAX_THROTTLED
    unavailable: str = UNAVAILABLE  # advice when 5xx answers outlast the retries

    def send(self, session: requests.Session, method: str, url: str, *, what: str,
             **kwargs: t.Any) -> requests.Response:
        """Send until an answer is not transient; raise ApiError when the budget is spent.

        `what` names the call in log lines and in the final error, e.g. "Bulk listing
        streams/2024/03". It must not contain secrets (URLs here carry none).
        """
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        headers = dict(kwargs.pop("headers", None) or {})
        failures = throttled = 0
        renewed = False
        while True:
            if self.pacer is not None:
                self.pacer.wait()
            token = self.tokens.token() if self.tokens is not None else None
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            try:
                response = session.request(method, url, headers=headers, **kwargs)
            except TRANSIENT_EXCEPTIONS as exc:
                problem, hint = type(exc).__name__, None
            else:
                status = response.status_code
                if status == 401 and token is not None and self.tokens is not None:
                    self.tokens.invalidate(token)
                    if not renewed:
                        renewed = True
                        response.close()
                        LOGGER.info("%s: access token rejected (401); refreshing it", what)
                        continue
                if status not in RETRY_STATUSES:
                    return response
                response.close()
                problem, hint = f"HTTP {status}", wait_hint(response)
                if status == 429:
                    throttled += 1
                    self._throttled(what, throttled, hint)
                    continue
            throttled = 0
            failures += 1
            if failures >= self.max_tries:
                raise self._gave_up(what, url, problem)
            delay = hint if hint is not None else backoff_delay(failures)
            LOGGER.warning("%s: %s (attempt %d/%d), retrying in %.1fs",
                           what, problem, failures, self.max_tries, delay)
            (self.sleep or time.sleep)(delay)

    def _throttled(self, what: str, throttled: int, hint: float | None) -> None:
        if throttled > self.max_throttled:
            msg = f"{what}: still rate limited after {throttled} tries; retry later."
            raise ApiError(msg)
        delay = hint if hint is not None else backoff_delay(min(throttled, 6))
        LOGGER.info("%s: rate limited (429), waiting %.1fs", what, delay)
        if self.pacer is not None:
            self.pacer.pause(delay)  # the next `wait` sleeps it, for every caller
        else:
            (self.sleep or time.sleep)(delay)

    def _gave_up(self, what: str, url: str, problem: str) -> ApiError:
        if problem.startswith("HTTP"):
            advice = self.unavailable
        else:  # the connection failed: a server that is down, or a wrong URL setting
            advice = (f"The connection to {urlsplit(url).netloc} failed: check the URL "
                      "settings, or run again later.")
        return ApiError(f"{what}: gave up after {self.max_tries} attempts, last answer "
                        f"{problem}. {advice}")


PLAIN = RetryPolicy()  # no token, no pacer: token requests and signed download URLs
