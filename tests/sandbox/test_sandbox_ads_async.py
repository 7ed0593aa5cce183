"""The sandbox's async reports (api-contract §6): create, poll, download by a signed URL
without a token, the fates a test asks for, and checked request bodies."""

from __future__ import annotations

import csv
import datetime as dt
import io

import requests

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
BODY = {"name": "t", "granularity": "DAY", "dimensions": ["AD_SET_NAME"],
        "metrics": ["SPEND", "REACH"], "report_start": "2026-06-01T00:00:00Z",
        "report_end": "2026-06-10T00:00:00Z", "statuses": ["ACTIVE", "PAUSED", "ARCHIVED"]}


def session(sb) -> tuple[requests.Session, str]:
    token = requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                          data={"grant_type": "refresh_token",
                                "refresh_token": sb.refresh_token}, timeout=10).json()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token['access_token']}"
    account = sb.ads_api.world.account_ids[0]
    return http, f"{sb.ads_api_url}/ad_accounts/{account}/async_reports"


def test_create_poll_and_download(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "async_polls": 2, "flight_days": 30})
    http, url = session(sb)
    created = http.post(url, json=BODY, timeout=10)
    assert created.status_code == 201
    status_url = f"{url}/{created.json()['id']}"
    answers = [http.get(status_url, timeout=10).json() for _ in range(3)]
    assert [a["status"] for a in answers] == ["PROCESSING", "PROCESSING", "READY"]
    download = requests.get(answers[2]["report_url"], timeout=10)  # no token
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert list(rows[0]) == ["AD_ACCOUNT_ID", "CAMPAIGN_ID", "AD_SET_ID", "START_TIME",
                             "END_TIME", "AD_SET_NAME", "SPEND", "REACH"]
    ad_sets = len(sb.ads_api.world.entities(sb.ads_api.world.account_ids[0], "AD_SET"))
    assert len(rows) == ad_sets * 10  # every ad set flies on the ten days


def test_fates_and_refusals(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "async_polls": 0,
                              "async_fates": ["FAILED", "URL_EXPIRED"]})
    http, url = session(sb)
    failed = http.post(url, json=BODY, timeout=10).json()["id"]
    assert http.get(f"{url}/{failed}", timeout=10).json()["status"] == "FAILED"
    second = http.post(url, json=BODY, timeout=10).json()["id"]
    stale = http.get(f"{url}/{second}", timeout=10).json()["report_url"]
    assert requests.get(stale, timeout=10).status_code == 403  # expired already
    fresh = http.get(f"{url}/{second}", timeout=10).json()["report_url"]
    assert requests.get(fresh, timeout=10).status_code == 200
    for bad in ({**BODY, "metrics": ["IMPRESSIONS"]}, {**BODY, "granularity": "HOUR"},
                {**BODY, "report_end": "2027-06-10T00:00:00Z"}):
        assert http.post(url, json=bad, timeout=10).status_code == 400
    assert http.get(url, timeout=10).status_code == 405
