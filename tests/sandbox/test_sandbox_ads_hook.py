"""The /ads/v3 hook: token check, generic faults, then delegation to the Ads part."""

import json

import requests
from spotify_sandbox import FaultOptions
from spotify_sandbox.routing import SandboxRequest, SandboxResponse


class RecordingAdsPart:
    """Stands in for sandbox/ads_api.AdsApi to observe exactly what the hook passes on."""

    def __init__(self):
        self.requests: list[SandboxRequest] = []

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        self.requests.append(request)
        return SandboxResponse(200, b'{"businesses": []}', {"X-Part": "ads"})


def ads_token(sb):
    response = requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                             data={"grant_type": "refresh_token",
                                   "refresh_token": sb.refresh_token}, timeout=10)
    return response.json()["access_token"]


def test_requests_reach_the_ads_part_with_the_validated_token(sandbox):
    part = RecordingAdsPart()
    sandbox.app.ads_api = part
    token = ads_token(sandbox)
    response = requests.get(f"{sandbox.ads_api_url}/ad_accounts/abc/aggregate_reports",
                            params=[("fields", "IMPRESSIONS"), ("fields", "SPEND")],
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["X-Part"] == "ads"
    assert response.json() == {"businesses": []}
    (seen,) = part.requests
    assert seen.method == "GET"
    assert seen.path == "/ad_accounts/abc/aggregate_reports"
    assert seen.query == {"fields": ["IMPRESSIONS", "SPEND"]}
    assert seen.token == token
    assert sandbox.ads_api is part


def test_ads_part_is_not_reached_without_a_valid_ads_token_or_during_a_fault(sandbox):
    part = RecordingAdsPart()
    sandbox.app.ads_api = part
    assert requests.get(f"{sandbox.ads_api_url}/businesses", timeout=10).status_code == 401
    headers = {"Authorization": f"Bearer {ads_token(sandbox)}"}
    sandbox.options.faults = FaultOptions(rate_5xx=1.0)
    assert requests.get(f"{sandbox.ads_api_url}/businesses", headers=headers,
                        timeout=10).status_code >= 500
    assert requests.get(f"{sandbox.ads_api_url}/businesses", headers=headers,
                        timeout=10).status_code == 200
    assert len(part.requests) == 1
    assert sandbox.stats["requests"]["ads"] == 3


def test_missing_ads_part_answers_501(sandbox):
    sandbox.app.ads_api = None
    response = requests.get(f"{sandbox.ads_api_url}/businesses",
                            headers={"Authorization": f"Bearer {ads_token(sandbox)}"}, timeout=10)
    assert response.status_code == 501


REPORTS = [{"table": "campaign_lifetime", "dimension": "CAMPAIGN", "granularity": "LIFETIME",
            "fields": ["IMPRESSIONS", "SPEND"]}]
FIXED = {"now": "2024-03-11T00:00:00Z", "today": "2024-03-11"}


def test_truth_endpoint_includes_ads_tables(sandbox_factory):
    sb = sandbox_factory(ads=FIXED)
    answer = requests.get(f"{sb.base_url}/_sandbox/truth",
                          params={"streams": "users", "ads_report_list": json.dumps(REPORTS)},
                          timeout=30)
    assert answer.status_code == 200
    truth = answer.json()
    assert set(truth) == {"users", "campaign_lifetime"}
    assert truth["campaign_lifetime"] == sb.ads_truth(REPORTS)["campaign_lifetime"]
    assert truth["campaign_lifetime"]["count"] > 0


def test_truth_endpoint_rejects_bad_parameters(sandbox):
    answer = requests.get(f"{sandbox.base_url}/_sandbox/truth", params={"start": "March"},
                          timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["status"] == 400


class BrokenAdsPart:
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        raise RuntimeError("boom")


def test_a_crashing_part_answers_500_and_the_server_keeps_serving(sandbox):
    sandbox.app.ads_api = BrokenAdsPart()
    headers = {"Authorization": f"Bearer {ads_token(sandbox)}"}
    answer = requests.get(f"{sandbox.ads_api_url}/businesses", headers=headers, timeout=10)
    assert answer.status_code == 500
    assert answer.json()["error"]["message"] == "sandbox error: RuntimeError"
    assert sandbox.stats["sandbox_errors"] == 1
    assert requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).status_code == 200


def test_hook_errors_use_the_ads_error_shape(sandbox):
    sandbox.app.ads_api = RecordingAdsPart()
    unauthorized = requests.get(f"{sandbox.ads_api_url}/businesses", timeout=10)
    assert unauthorized.status_code == 401
    body = unauthorized.json()
    assert set(body) == {"sp_trace_id", "messages", "error_codes"}
    assert body["error_codes"][0]["code"] == "UNAUTHENTICATED"
    headers = {"Authorization": f"Bearer {ads_token(sandbox)}"}
    sandbox.options.faults = FaultOptions(rate_429=1.0)
    limited = [requests.get(f"{sandbox.ads_api_url}/businesses", params={"page": n},
                            headers=headers, timeout=10) for n in range(6)]
    assert {r.status_code for r in limited} == {429}
    assert all(r.json()["error_codes"][0]["code"] == "RATE_LIMIT_EXCEEDED" for r in limited)
    assert {r.headers.get("Retry-After") for r in limited} == {"1", None}
