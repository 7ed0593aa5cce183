"""What a sandbox serves and how it misbehaves: `SandboxOptions` and `FaultOptions`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

DEFAULT_COUNTRIES: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "SE", "NO", "DK", "FI", "NL", "BE", "ES", "IT", "PT", "PL", "BR",
    "MX", "AR", "CA", "AU", "NZ", "JP", "KR", "IN", "ZA", "TR",
)


@dataclass
class FaultOptions:
    """Fault rates (0..1), decided deterministically from the seed and the request identity.

    A request identity (method + path, or the file behind a signed URL) gets a fault only on
    its first `fault_attempts` attempts, so a client that retries always gets through.
    """

    rate_429: float = 0.0  # half with `Retry-After: 1`, half without
    rate_5xx: float = 0.0  # 500, 502 or 503
    rate_401: float = 0.0  # an authenticated API call answers 401 as if the token expired
    rate_truncated_gzip: float = 0.0  # a data file's body is cut short
    rate_reset: float = 0.0  # the connection is closed without an answer
    rate_signed_url_expired: float = 0.0  # a signed URL answers 403 as if expired
    token_503: bool = False  # the token endpoint answers 503 on a grant's first attempts
    fault_attempts: int = 1

    @classmethod
    def profile(cls, name: str) -> FaultOptions:
        """A named set of rates: none, mild, flaky or hostile."""
        try:
            return cls(**FAULT_PROFILES[name])
        except KeyError:
            known = ", ".join(FAULT_PROFILES)
            raise ValueError(f"unknown fault profile {name!r} (known: {known})") from None

    def rate(self, kind: str) -> float:
        """The rate of one fault kind ("429", "5xx", "reset", "token_503", ...)."""
        if kind == "token_503":
            return 1.0 if self.token_503 else 0.0
        return float(getattr(self, f"rate_{kind}"))


FAULT_PROFILES: dict[str, dict[str, float | bool]] = {
    "none": {},
    "mild": {"rate_429": 0.02, "rate_5xx": 0.02, "rate_truncated_gzip": 0.02},
    "flaky": {
        "rate_429": 0.05, "rate_5xx": 0.05, "rate_401": 0.02, "rate_truncated_gzip": 0.05,
        "rate_reset": 0.02, "rate_signed_url_expired": 0.05, "token_503": True,
    },
    "hostile": {
        "rate_429": 0.15, "rate_5xx": 0.15, "rate_401": 0.05, "rate_truncated_gzip": 0.15,
        "rate_reset": 0.05, "rate_signed_url_expired": 0.15, "token_503": True,
    },
}


@dataclass
class SandboxOptions:
    """Everything a sandbox is started with. `today`, `unpublished_days`,
    `unpublished_reports`, `latency_ms`,
    `faults`, `direct_files`, `signed_url_ttl`, `token_lifetime` and `overrides` may change while
    it runs;
    the data options (seed .. empty_day_rate) may not."""

    seed: int = 7
    start: dt.date = dt.date(2024, 3, 1)
    end: dt.date = dt.date(2024, 3, 14)
    licensor: str = "gyrostream"
    countries: tuple[str, ...] = DEFAULT_COUNTRIES
    scale: int = 2000  # `streams` events per day, across all of the day's countries
    catalogue_size: int = 200
    empty_day_rate: float = 0.05  # share of days without any data (404)
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"  # noqa: S105 (a fake credential of the sandbox)
    ads_client_id: str = "sandbox-ads-client"
    ads_client_secret: str = "sandbox-ads-secret"  # noqa: S105
    refresh_token: str = "sandbox-refresh-token"  # noqa: S105
    token_lifetime: int = 3600
    rotate_refresh_token: bool = False
    # Keys added to every 200 token answer, e.g. {"refresh_token": "x"} in a client-credentials
    # answer (RFC 6749 discourages it but allows it) or {"token_type": "bearer"}.
    token_answer_extra: dict = field(default_factory=dict)
    direct_files: bool = False
    signed_url_ttl: float = 300.0
    signed_url_host: str | None = None  # e.g. "localhost": signed URLs on another host name
    today: dt.date | None = None  # None: the day after `end`
    unpublished_days: int = 0
    # Reports published later than the others: {report: N} (a Bulk API report name, e.g.
    # "users" or "aggregatedstreams"): its days after `today - N` answer 404 too.
    unpublished_reports: dict[str, int] = field(default_factory=dict)
    latency_ms: float = 0.0
    faults: FaultOptions = field(default_factory=FaultOptions)
    ads: dict = field(default_factory=dict)
    # Bulk API paths (e.g. "/gyrostream/enhanced/users/2024/03/01") answered 200 with these
    # raw bytes instead of the generated listing or file: corrupt or surprising content for
    # tests. The ground truth does not know about them.
    overrides: dict[str, bytes] = field(default_factory=dict)
    port: int = 0

    def __post_init__(self) -> None:
        self.countries = tuple(c.upper() for c in self.countries)
        if not self.countries:
            raise ValueError("countries must not be empty")
        bad = [c for c in self.countries if len(c) != 2 or not c.isascii() or not c.isalpha()]
        if bad:
            raise ValueError(f"countries must be ISO 3166 alpha-2 codes, not {bad}")
        if self.start > self.end:
            raise ValueError("start must not be after end")

    @property
    def effective_today(self) -> dt.date:
        return self.today or self.end + dt.timedelta(days=1)

    def is_published(self, day: dt.date, report: str | None = None) -> bool:
        """Days after `today - unpublished_days` are not published yet (404); for `report`,
        also days after `today - unpublished_reports[report]`."""
        lag = self.unpublished_days
        if report is not None:
            lag = max(lag, self.unpublished_reports.get(report, 0))
        return day <= self.effective_today - dt.timedelta(days=lag)
