"""Ads contract (api-contract §6): 429 answers in the forms a conforming server may send
(`X-RateLimit-Reset` in whole seconds, with or without `Retry-After` and
`X-RateLimit-Remaining`). The tap waits as told, neither hammering nor losing data.
"""

from __future__ import annotations

from helpers.ads import sync_ads as run_tap
from helpers.ads_contract import (
    DAY_AD,
    INSIGHT_GENDER,
    ads_sandbox,
    assert_exact,
    frozen_clock,  # noqa: F401 (autouse: the tap's Ads clock)
    truth_of,
)


def sync_through_429s(sandbox_factory, rate_window: float, rewrite) -> tuple[int, int]:
    """Sync a DAY and an insight report through a 3-requests-per-`rate_window` limit whose
    429 answers pass through `rewrite(headers)`; check the data is exact and return
    (429s sent, report requests the server admitted)."""
    sb = ads_sandbox(sandbox_factory, rate_limit=3, rate_window=rate_window,
                     rate_headers="on_429")  # 429s without a warning on the answers before
    api = sb.ads_api
    original = api.handle

    def handle(req):
        response = original(req)
        if response.status == 429:
            rewrite(response.headers)
        return response

    api.handle = handle
    reports = [DAY_AD, INSIGHT_GENDER]
    records, _ = run_tap(sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE"))
    truth = truth_of(sb, reports)
    for report in reports:
        assert_exact(report, records[report["table"]], truth)
    sent = api.stats["sent_429"]
    requests = api.stats["requests_aggregate_reports"] + api.stats["requests_insight_reports"]
    return sent, requests - sent


def test_a_429_whose_reset_rounds_down_to_zero_is_not_a_hot_loop(sandbox_factory):
    """`X-RateLimit-Reset` is whole seconds: a server may say 0 while a fraction of a second
    remains, and send no `Retry-After`. The tap must still wait a little, not hammer."""

    def floor_reset(headers):
        headers.pop("Retry-After", None)
        headers["X-RateLimit-Reset"] = "0"

    sent, admitted = sync_through_429s(sandbox_factory, 1.0, floor_reset)
    assert sent <= 2 * admitted, (sent, admitted)


def test_a_429_with_only_x_ratelimit_reset_waits_that_long(sandbox_factory):
    """On a 429 the budget is spent by definition: `X-RateLimit-Reset` alone (no
    `Retry-After`, no `X-RateLimit-Remaining`) is the wait, not a short random backoff."""

    def reset_only(headers):
        headers.pop("Retry-After", None)
        headers.pop("X-RateLimit-Remaining", None)

    sent, admitted = sync_through_429s(sandbox_factory, 2.0, reset_only)
    assert 0 < sent <= admitted // 3 + 1, (sent, admitted)
