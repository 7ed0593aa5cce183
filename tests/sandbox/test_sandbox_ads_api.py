"""The sandbox's Ads API v3 itself (api-contract §6), spoken to over real HTTP."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
import requests

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
CURRENT_HOUR = NOW.replace(minute=0)


@pytest.fixture
def api(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "page_unit": "row"})
    token = requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                          data={"grant_type": "refresh_token",
                                "refresh_token": sb.refresh_token}, timeout=10).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    account = sb.ads_api.world.account_ids[0]

    def get(path, params=None, raw_query=None):
        url = f"{sb.ads_api_url}{path.format(account=account)}"
        if raw_query is not None:
            url += "?" + raw_query
        return session.get(url, params=params, timeout=10)

    get.sb = sb
    get.account = account
    return get


def report_params(**changes):
    params = {"entity_type": "CAMPAIGN", "fields": ["IMPRESSIONS", "SPEND"],
              "granularity": "DAY", "report_start": "2026-05-01T00:00:00Z",
              "report_end": "2026-06-14T00:00:00Z"}
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def test_listings_and_accounts(api):
    businesses = api("/businesses").json()["businesses"]
    assert businesses and set(businesses[0]) >= {"id", "name", "type", "status"}
    accounts = api(f"/businesses/{businesses[0]['id']}/ad_accounts").json()["ad_accounts"]
    assert set(accounts[0]) >= {"id", "name", "business_id", "currency_code", "status"}
    assert api("/ad_accounts/{account}").json()["id"] == api.account
    missing = api("/ad_accounts/nope")
    assert missing.status_code == 404
    assert set(missing.json()) == {"sp_trace_id", "messages", "error_codes"}
    page = api("/ad_accounts/{account}/ad_sets", {"limit": 4, "offset": 4}).json()
    assert page["paging"] == {"page_size": 4, "total_results": 6, "offset": 4,
                              "current_page": 2}
    assert len(page["ad_sets"]) == 2
    assert set(page["ad_sets"][0]) >= {"id", "name", "campaign_id", "status"}
    assert api("/ad_accounts/{account}/campaigns", {"limit": 51}).status_code == 400


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"fields": ["IMPRESSIONS", "E_CPM"]}, "unknown field"),
        ({"entity_type": "KEYWORD"}, "entity_type"),
        ({"granularity": "WEEK"}, "granularity"),
        ({"report_start": "2026-05-01T05:00:00Z"}, "UTC midnight"),
        ({"report_start": "2026-03-15T00:00:00Z"}, "within 90 days"),
        ({"report_end": None}, "required"),
        ({"report_start": "2026-05-01T00:30:00Z"}, "whole hours"),
        ({"report_start": "2026-05-01"}, "bad timestamp"),
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"include_parent_entity": "true"}, "include_parent_entity"),
        ({"granularity": "HOUR", "report_start": "2026-05-30T00:00:00Z"}, "last 14 days"),
        ({"granularity": "HOUR", "report_start": "2026-06-14T00:00:00Z",
          "report_end": "2026-06-15T11:00:00Z"}, "last 14 days"),
        ({"fields": None}, "fields is required"),
        ({"colour": "red"}, "unknown parameter"),
    ],
)
def test_aggregate_report_rules_answer_400(api, changes, needle):
    response = api("/ad_accounts/{account}/aggregate_reports", report_params(**changes))
    assert response.status_code == 400, response.text
    body = response.json()
    assert needle in body["messages"][0]
    assert body["error_codes"][0]["code"]


def test_day_rows_paging_and_continuation_tokens(api):
    response = api("/ad_accounts/{account}/aggregate_reports", report_params(limit=7))
    assert response.status_code == 200
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        response.headers)
    body = response.json()
    assert len(body["rows"]) == 7
    row = body["rows"][0]
    start = dt.datetime.fromisoformat(row["start_time"].replace("Z", "+00:00"))
    assert row["end_time"] == (start + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = body["continuation_token"]
    assert set("+/=") <= set(token)  # the client must URL-encode it
    # Sent unencoded, '+' arrives as a space: refused.
    raw = api("/ad_accounts/{account}/aggregate_reports", raw_query=f"continuation_token={token}")
    assert raw.status_code == 400
    # Encoded and alone: the next page. Other params are ignored, with a warning.
    follow = api("/ad_accounts/{account}/aggregate_reports",
                 raw_query=f"continuation_token={quote(token, safe='')}&limit=1")
    assert follow.status_code == 200
    assert len(follow.json()["rows"]) == 7
    assert follow.json()["warnings"]
    # The whole report: the end day is inclusive, every row one day.
    rows, params = [], report_params()
    while True:
        page = api("/ad_accounts/{account}/aggregate_reports", params).json()
        rows += page["rows"]
        if not page["continuation_token"]:
            break
        params = {"continuation_token": page["continuation_token"]}
    assert max(r["start_time"] for r in rows) == "2026-06-14T00:00:00Z"
    assert min(r["start_time"] for r in rows) >= "2026-05-01T00:00:00Z"


def test_hour_rows_are_one_hour_and_end_at_the_asked_hour(api):
    first = CURRENT_HOUR - dt.timedelta(days=14)
    last = CURRENT_HOUR - dt.timedelta(hours=1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    response = api("/ad_accounts/{account}/aggregate_reports", report_params(
        granularity="HOUR", report_start=first.strftime(fmt), report_end=last.strftime(fmt),
        limit=50))
    assert response.status_code == 200, response.text
    row = response.json()["rows"][0]
    start = dt.datetime.fromisoformat(row["start_time"].replace("Z", "+00:00"))
    assert row["end_time"] == (start + dt.timedelta(hours=1)).strftime(fmt)


def test_insight_reports(api):
    world = api.sb.ads_api.world
    ad_sets = world.entities(api.account, "AD_SET")
    base = {"insight_dimension": "PLATFORM", "fields": ["IMPRESSIONS"],
            "entity_ids_type": "AD_SET"}
    answers = {a.id: api("/ad_accounts/{account}/insight_reports",
                         {**base, "entity_ids": a.id}) for a in ad_sets}
    statuses = {r.status_code for r in answers.values()}
    assert statuses == {200, 422}
    for response in answers.values():
        if response.status_code == 422:
            assert response.json()["error_codes"][0]["code"].startswith(
                "ILLEGAL.INSIGHT_REPORT.INSUFFICIENT_")
        else:
            body = response.json()
            assert body["granularity"] == "LIFETIME"
            assert set(body["rows"][0]) >= {"id", "name", "status", "insight_value", "stats"}
    refused = api("/ad_accounts/{account}/insight_reports",
                  {**base, "entity_ids": ad_sets[0].id, "fields": ["IMPRESSIONS", "SPEND"]})
    assert refused.status_code == 400
    assert "SPEND" in refused.json()["messages"][0]
    two = api("/ad_accounts/{account}/insight_reports",
              {**base, "entity_ids": [ad_sets[0].id, ad_sets[1].id]})
    assert two.status_code == 400


def test_rate_limit_answers_429_with_headers(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "rate_limit": 3, "rate_window": 30.0})
    token = requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                          data={"grant_type": "refresh_token",
                                "refresh_token": sb.refresh_token}, timeout=10).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    url = f"{sb.ads_api_url}/ad_accounts/{sb.ads_api.world.account_ids[0]}/aggregate_reports"
    params = {"entity_type": "CAMPAIGN", "fields": "IMPRESSIONS"}
    answers = [requests.get(url, params=params, headers=headers, timeout=10) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0", "0"]
    assert int(answers[3].headers["X-RateLimit-Reset"]) > 0
    assert ["Retry-After" in a.headers for a in answers[3:]] == [True, False]
    # Listings are not reporting endpoints: not limited.
    listing = requests.get(f"{sb.ads_api_url}/businesses", headers=headers, timeout=10)
    assert listing.status_code == 200


def test_data_is_a_pure_function_of_the_seed(sandbox_factory):
    reports = [{"table": "t", "dimension": "AD", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND", "CTR", "PURCHASES"]}]
    one = sandbox_factory(seed=3, ads={"now": NOW}).ads_truth(reports)
    two = sandbox_factory(seed=3, ads={"now": NOW}).ads_truth(reports)
    other = sandbox_factory(seed=4, ads={"now": NOW}).ads_truth(reports)
    assert one == two
    assert one != other
    assert one["t"]["count"] > 0
