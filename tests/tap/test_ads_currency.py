"""Every Ads report record carries its ad account's `currency_code`, read once per run."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from helpers.ads import landed, sync_ads
from spotify_sandbox.routing import SandboxResponse

from tap_spotify_bulk.ads import times

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
WORLD = {"n_businesses": 3, "shared_account": True, "campaigns_per_account": 2,
         "ad_sets_per_campaign": 1, "ads_per_ad_set": 1}
REPORTS = [
    {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
     "fields": ["IMPRESSIONS", "SPEND"]},
    {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
     "fields": ["SPEND", "REVENUE"]},
    {"table": "city_insights", "dimension": "CITY", "granularity": "LIFETIME",
     "fields": ["IMPRESSIONS"]},
]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def without_currency(sb) -> None:
    """Business account lists without `currency_code` (a server may answer so)."""
    api = sb.ads_api
    original = api.handle

    def handle(req):
        response = original(req)
        if response.status == 200 and req.path.endswith("/ad_accounts"):
            body = json.loads(response.body)
            for account in body["ad_accounts"]:
                account.pop("currency_code")
            return SandboxResponse(200, json.dumps(body).encode(), dict(response.headers))
        return response

    api.handle = handle


@pytest.mark.parametrize("listed", [True, False])
def test_each_record_carries_its_accounts_currency(sandbox_factory, listed):
    sb = sandbox_factory(ads={"now": NOW, **WORLD, "insufficient_rate": 0.0})
    if not listed:
        without_currency(sb)
    world = sb.ads_api.world
    currency = {a: world.account(a)["currency_code"] for a in world.account_ids}
    assert len(set(currency.values())) == 3  # three accounts, three currencies
    records, _ = sync_ads(sb.tap_config(ads_report_list=REPORTS, ads_timeframe_months="THREE"))
    for report in REPORTS:
        rows = records[report["table"]]
        assert {r["ad_account_id"] for r in rows} == set(currency)
        assert all(r["currency_code"] == currency[r["ad_account_id"]] for r in rows)
    truth = sb.ads_truth(REPORTS[1:])
    for report in REPORTS[1:]:
        assert landed(report, records[report["table"]]) == truth[report["table"]]
    # Read once per run: from the account lists, else one account call per account.
    asked = sb.ads_api.stats.get("requests_ad_account", 0)
    assert asked == (0 if listed else len(currency))
