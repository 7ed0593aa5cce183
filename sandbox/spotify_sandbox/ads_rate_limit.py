"""The Ads reporting rate limit of the sandbox (api-contract §6): `limit` requests per
`window` seconds per token, with the `X-RateLimit-*` headers a 429 carries."""

from __future__ import annotations

import collections
import math
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable


class RateLimiter:
    """`limit` reporting requests per `window` seconds per token (sliding window)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sent: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)

    def admit(self, token: str) -> tuple[bool, dict[str, str]]:
        """(allowed, X-RateLimit-* headers) for one request made with `token`."""
        now = self._clock()
        sent = self._sent[token]
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        allowed = len(sent) < self.limit
        if allowed:
            sent.append(now)
        reset = sent[0] + self.window - now if sent else 0.0
        headers = {"X-RateLimit-Limit": str(self.limit),
                   "X-RateLimit-Remaining": str(max(self.limit - len(sent), 0)),
                   "X-RateLimit-Reset": str(math.ceil(max(reset, 0.0)))}
        return allowed, headers
