"""The hook between the sandbox server and its Ads API part (a fixed interface).

Requests under `/ads/v3/` reach `spotify_sandbox.ads_api.AdsApi.handle` as a
`SandboxRequest` once the Ads bearer token is validated and generic faults are applied;
the Ads part answers with a `SandboxResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SandboxRequest:
    """One HTTP request, as seen by a sandbox part."""

    method: str
    path: str  # without the /ads/v3 prefix, e.g. "/ad_accounts/abc/aggregate_reports"
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    token: str  # the validated Ads bearer token


@dataclass
class SandboxResponse:
    """One HTTP answer with a complete body."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
