"""One retry policy for every HTTP call the tap makes (token, Bulk, Ads).

Transient answers (429, 500, 502, 503, 504) and connection failures are retried with
exponential backoff and jitter. A server's own hint wins: `Retry-After` (seconds) or, for
the Ads API, `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0. Anything else is
returned to the caller, which knows what a 401, 403 or 404 means for its endpoint.
"""

from __future__ import annotations

import logging
import random
import time
import typing as t
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
BASE_DELAY = 0.5
MAX_DELAY = 60.0
MAX_SERVER_WAIT = 300.0


def server_wait_hint(response: requests.Response) -> float | None:
    """Seconds the server asks us to wait, from `Retry-After` or the X-RateLimit headers."""
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_SERVER_WAIT)
        except ValueError:
            pass  # an HTTP-date: fall back to our own backoff
    if response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset")
        try:
            return min(max(float(reset), 0.0), MAX_SERVER_WAIT) if reset else None
        except ValueError:
            return None
    return None


def backoff_delay(attempt: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Full-jitter exponential backoff for the given 1-based attempt number."""
    return random.uniform(base / 2, min(cap, base * 2 ** (attempt - 1)))


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    max_tries: int = MAX_TRIES,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: t.Any,
) -> requests.Response:
    """Send a request, retrying transient failures; return the first non-transient response.

    `what` names the call in log lines and in the final error, e.g. "Bulk listing
    streams/2024/03". It must not contain secrets (URLs here carry none).
    """
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    last_problem = ""
    for attempt in range(1, max_tries + 1):
        wait: float | None = None
        try:
            response = session.request(method, url, **kwargs)
        except TRANSIENT_EXCEPTIONS as exc:
            last_problem = f"{type(exc).__name__}"
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            last_problem = f"HTTP {response.status_code}"
            wait = server_wait_hint(response)
            response.close()
        if attempt == max_tries:
            break
        delay = wait if wait is not None else backoff_delay(attempt)
        LOGGER.warning(
            "%s: %s (attempt %d/%d), retrying in %.1fs",
            what, last_problem, attempt, max_tries, delay,
        )
        sleep(delay)
    if last_problem.startswith("HTTP"):
        advice = "The API is unavailable or overloaded; run again later."
    else:  # the connection failed: a server that is down, or a wrong URL setting
        advice = (f"The connection to {urlsplit(url).netloc} failed: check the URL settings, "
                  "or run again later.")
    msg = f"{what}: gave up after {max_tries} attempts, last answer {last_problem}. {advice}"
    raise ApiError(msg)
