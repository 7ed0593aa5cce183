"""Pacing per endpoint class against the sandbox's limits: the tap follows the
`X-RateLimit-*` headers of its answers, so a server with a smaller budget than the
published one is never pushed into 429s, and no data is lost."""

from __future__ import annotations

from helpers.ads import sync_ads
from helpers.ads_contract import (
    DAY_AD,
    INSIGHT_GENDER,
    ads_sandbox,
    assert_exact,
    frozen_clock,  # noqa: F401 (autouse: the tap's Ads clock)
    truth_of,
)


def test_headers_that_say_the_budget_is_spent_keep_the_tap_from_429s(sandbox_factory):
    """Three reporting and two other requests a second: the tap's own pace (145 and 1,450
    per 30 s) would overrun both; the headers hold each class back in time."""
    sb = ads_sandbox(sandbox_factory, rate_limit=3, other_rate_limit=2, rate_window=1.0,
                     page_unit="row")
    reports = [DAY_AD, INSIGHT_GENDER]
    records, _ = sync_ads(sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE"))
    stats = sb.ads_api.stats
    reporting = stats["requests_aggregate_reports"] + stats["requests_insight_reports"]
    assert reporting > 2 * 3 and stats["requests"] - reporting > 2  # beyond one budget each
    assert stats["sent_429"] == 0
    truth = truth_of(sb, reports)
    for report in reports:
        assert_exact(report, records[report["table"]], truth)
