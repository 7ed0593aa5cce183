"""Deterministic fault decisions: seed + request identity + attempt number -> fault or None."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from spotify_sandbox.options import FaultOptions

# Which faults each kind of endpoint can get, in the order they are tried.
TOKEN_FAULTS = ("token_503", "reset", "429", "5xx")
API_FAULTS = ("reset", "429", "5xx", "401")
DIRECT_FILE_FAULTS = (*API_FAULTS, "truncated_gzip")
SIGNED_FAULTS = ("reset", "5xx", "signed_url_expired", "truncated_gzip")


def uniform(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) from the seed and `parts`."""
    text = "|".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2**64


class FaultInjector:
    """Counts attempts per request identity and decides which fault (if any) to inject."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._attempts: Counter[str] = Counter()

    def next_attempt(self, identity: str) -> int:
        with self._lock:
            self._attempts[identity] += 1
            return self._attempts[identity]

    def reset_attempts(self) -> None:
        with self._lock:
            self._attempts.clear()

    def pick(self, faults: FaultOptions, identity: str,
             kinds: Iterable[str]) -> tuple[str | None, int]:
        """(fault kind or None, attempt number) for this request."""
        attempt = self.next_attempt(identity)
        if attempt > faults.fault_attempts:
            return None, attempt
        for kind in kinds:
            rate = faults.rate(kind)
            if rate > 0 and uniform(self.seed, kind, identity, attempt) < rate:
                return kind, attempt
        return None, attempt

    def variant(self, identity: str, attempt: int, choices: int) -> int:
        """A deterministic choice among `choices` variants of a fault (e.g. which 5xx)."""
        return int(uniform(self.seed, "variant", identity, attempt) * choices)
