"""The sandbox's Ads entity lists (sorting, offset paging, overlap) and its authorize page."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import requests

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
REDIRECT = "http://127.0.0.1:9/callback"


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def session_for(sb) -> requests.Session:
    token = requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                          data={"grant_type": "refresh_token",
                                "refresh_token": sb.refresh_token}, timeout=10).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    return session


def test_lists_sort_page_and_overlap(sandbox_factory):
    sb = sandbox_factory(ads={"now": NOW, "campaigns_per_account": 7, "list_overlap": 2})
    session = session_for(sb)
    account = sb.ads_api.world.account_ids[0]
    url = f"{sb.ads_api_url}/ad_accounts/{account}/campaigns"
    newest = {"sort_field": "UPDATED_AT", "sort_direction": "DESC", "limit": 3}
    first = session.get(url, params={**newest, "offset": 0}, timeout=10).json()
    second = session.get(url, params={**newest, "offset": 3}, timeout=10).json()
    assert first["paging"] == {"page_size": 3, "total_results": 7, "offset": 0,
                               "current_page": 1}
    unique = {c["id"]: instant(c["updated_at"])
              for c in first["campaigns"] + second["campaigns"]}
    assert len(unique) == 4  # 3 + 3 items, 2 of them seen twice
    assert list(unique.values()) == sorted(unique.values(), reverse=True)
    # Overlap 2: the second page starts with the last two of the first.
    assert [c["id"] for c in second["campaigns"][:2]] == [c["id"] for c in
                                                          first["campaigns"][1:]]
    assert set(first["campaigns"][0]) >= {"id", "name", "status", "created_at", "updated_at",
                                          "objective", "derived_status"}
    bad = session.get(url, params={"sort_field": "SPEND"}, timeout=10)
    assert bad.status_code == 400
    # An edit moves a campaign to the head of the newest-first list.
    last = second["campaigns"][-1]["id"]
    sb.ads_api.lists.touch(last, NOW)
    again = session.get(url, params={**newest, "offset": 0}, timeout=10).json()
    assert again["campaigns"][0]["id"] == last
    assert instant(again["campaigns"][0]["updated_at"]) == NOW


def authorize(sb, **params):
    query = {"client_id": "sandbox-ads-client", "response_type": "code",
             "redirect_uri": REDIRECT, "state": "s1", **params}
    return requests.get(sb.base_url + "/authorize", params=query, allow_redirects=False,
                        timeout=10)


def exchange(sb, code, redirect_uri=REDIRECT):
    return requests.post(sb.token_url, auth=("sandbox-ads-client", "sandbox-ads-secret"),
                         data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": redirect_uri}, timeout=10)


def test_authorize_redirects_with_a_single_use_code(sandbox):
    answer = authorize(sandbox)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    code = query["code"][0]
    assert exchange(sandbox, code, "http://127.0.0.1:10/callback").json()["error"] == (
        "invalid_grant")
    assert exchange(sandbox, code).json()["error"] == "invalid_grant"  # spent by the miss
    code = parse_qs(urlsplit(authorize(sandbox).headers["Location"]).query)["code"][0]
    tokens = exchange(sandbox, code).json()
    assert set(tokens) >= {"access_token", "refresh_token", "expires_in"}
    assert exchange(sandbox, code).json()["error"] == "invalid_grant"  # single use
    refreshed = requests.post(sandbox.token_url, auth=("sandbox-ads-client",
                                                       "sandbox-ads-secret"),
                              data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]}, timeout=10)
    assert refreshed.status_code == 200


def test_authorize_refuses_unknown_clients_and_foreign_redirects(sandbox):
    assert authorize(sandbox, client_id="someone-else").status_code == 400
    assert authorize(sandbox, redirect_uri="https://example.com/cb").status_code == 400
    sandbox.app.tokens.deny_consent = True
    denied = parse_qs(urlsplit(authorize(sandbox).headers["Location"]).query)
    assert denied == {"error": ["access_denied"], "state": ["s1"]}
