"""Thread-safe request log and counters, readable by tests as `sb.stats` / `sb.request_log`."""

from __future__ import annotations

import threading
from collections import Counter, deque

LOG_LIMIT = 200_000  # a long-running demo keeps only the newest entries


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._tokens: Counter[str] = Counter()
        self._bytes = 0
        self._errors = 0
        self._log: deque[dict] = deque(maxlen=LOG_LIMIT)

    def record(self, *, kind: str, method: str, path: str, status: int, auth: bool,
               fault: str | None = None) -> None:
        """One request; `status` 0 means the connection was reset without an answer."""
        with self._lock:
            self._requests[kind] += 1
            self._statuses[status] += 1
            if fault:
                self._faults[fault] += 1
            self._log.append({"method": method, "path": path, "status": status, "auth": auth,
                              "kind": kind, "fault": fault})

    def sandbox_error(self) -> None:
        with self._lock:
            self._errors += 1

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self._bytes += count

    def token_issued(self, grant: str) -> None:
        with self._lock:
            self._tokens[grant] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "requests_total": sum(self._requests.values()),
                "faults": dict(self._faults),
                "faults_total": sum(self._faults.values()),
                "status": {str(k): v for k, v in sorted(self._statuses.items())},
                "responses_429": self._statuses[429],
                "tokens_issued": sum(self._tokens.values()),
                "tokens_by_grant": dict(self._tokens),
                "body_bytes": self._bytes,
                "sandbox_errors": self._errors,
            }

    def log(self) -> list[dict]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def clear(self) -> None:
        with self._lock:
            for counter in (self._requests, self._faults, self._statuses, self._tokens):
                counter.clear()
            self._bytes = self._errors = 0
            self._log.clear()
