"""Measurement: HTTP requests a 50-campaign x 6-month (182-day) DAY report costs.

Run `pytest -s tests/tap/test_ads_request_count.py` to see the numbers. The tap asks one aggregate
report per 90-day window for all campaigns at once; only the page size decides how many
pages a window takes (Airbyte's connector asks one request per campaign per day: 9,100).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from helpers.ads import landed, sync_ads

from tap_spotify_bulk.ads import times

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
YESTERDAY = dt.date(2026, 6, 14)
SIX_MONTHS_BACK = dt.date(2025, 12, 15)

REPORT = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
          "fields": ["IMPRESSIONS", "CLICKS", "SPEND", "E_CPM"]}
WORLD = {"n_businesses": 1, "accounts_per_business": 1, "shared_account": False,
         "campaigns_per_account": 50, "ad_sets_per_campaign": 1, "ads_per_ad_set": 1,
         "history_days": 180}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


@pytest.mark.parametrize("page_unit", ["entity", "row"])
def test_requests_for_50_campaigns_over_six_months(sandbox_factory, page_unit):
    sb = sandbox_factory(ads={"now": NOW, "page_unit": page_unit, **WORLD})
    records, _ = sync_ads(sb.tap_config(ads_report_list=[REPORT], ads_timeframe_months="SIX"))
    first = SIX_MONTHS_BACK
    assert landed(REPORT, records["campaign_day"]) == sb.ads_truth(
        [REPORT], start=first, end=YESTERDAY)["campaign_day"]

    days = (YESTERDAY - first).days + 1
    log = sb.ads_api.report_log
    report_calls = len(log)
    api_calls = sb.ads_api.stats["requests"]
    http_calls = sb.stats["requests_total"]
    print(f"\n[{page_unit} pages] 50 campaigns x {days} days, {len(records['campaign_day'])} "
          f"rows: {report_calls} aggregate_reports calls ({sum(not e['continued'] for e in log)}"
          f" windows), {api_calls} Ads API calls, {http_calls} HTTP requests with the token "
          f"call; one call per campaign per day would be {50 * days}")
    windows_asked = sum(not e["continued"] for e in log)
    assert windows_asked == math.ceil(days / 90)
    if page_unit == "entity":
        assert report_calls == windows_asked  # 50 campaigns fit in one page per window
    else:
        window_rows: list[int] = []  # rows of each window, summed over its pages
        for entry in log:
            if entry["continued"]:
                window_rows[-1] += entry["rows"]
            else:
                window_rows.append(entry["rows"])
        assert report_calls == sum(max(1, math.ceil(n / 50)) for n in window_rows)
    assert api_calls == report_calls + 2  # + /businesses + its ad accounts
