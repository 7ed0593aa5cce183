"""Token endpoint (api-contract §3): both grants, every 400 body, rotation, and 401 on API calls."""

import time

import pytest
import requests

BULK = ("sandbox-client", "sandbox-secret")
ADS = ("sandbox-ads-client", "sandbox-ads-secret")


def post_token(sb, data, auth=BULK):
    return requests.post(sb.token_url, data=data, auth=auth, timeout=10)


def test_client_credentials_grant(sandbox_factory):
    sb = sandbox_factory(token_lifetime=120)
    response = post_token(sb, {"grant_type": "client_credentials"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 120
    assert len(body["access_token"]) >= 20
    assert sb.stats["tokens_by_grant"] == {"client_credentials": 1}


def test_refresh_token_grant(sandbox):
    response = post_token(sandbox, {"grant_type": "refresh_token",
                                    "refresh_token": "sandbox-refresh-token"}, auth=ADS)
    assert response.status_code == 200
    assert "refresh_token" not in response.json()  # no rotation by default
    again = post_token(sandbox, {"grant_type": "refresh_token",
                                 "refresh_token": "sandbox-refresh-token"}, auth=ADS)
    assert again.status_code == 200
    assert again.json()["access_token"] != response.json()["access_token"]


@pytest.mark.parametrize(
    ("data", "auth", "error", "description"),
    [
        ({"grant_type": "client_credentials"}, ("sandbox-client", "wrong"), "invalid_client",
         "Invalid client secret"),
        ({"grant_type": "client_credentials"}, ("nobody", "sandbox-secret"), "invalid_client",
         "Invalid client"),
        ({"grant_type": "client_credentials"}, None, "invalid_client", "Invalid client"),
        ({"grant_type": "client_credentials"}, ADS, "invalid_client", "Invalid client"),
        ({"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token"}, BULK,
         "invalid_client", "Invalid client"),
        ({"grant_type": "refresh_token", "refresh_token": "revoked"}, ADS, "invalid_grant",
         "Invalid refresh token"),
        ({"grant_type": "refresh_token"}, ADS, "invalid_grant", "Invalid refresh token"),
        ({}, BULK, "unsupported_grant_type", "grant_type parameter is missing"),
        ({"grant_type": "password"}, BULK, "unsupported_grant_type", None),
    ],
)
def test_token_400_bodies(sandbox, data, auth, error, description):
    response = post_token(sandbox, data, auth=auth)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description
    assert sandbox.stats["tokens_issued"] == 0


def test_refresh_token_rotation(sandbox_factory):
    sb = sandbox_factory(rotate_refresh_token=True)
    first = post_token(sb, {"grant_type": "refresh_token",
                            "refresh_token": "sandbox-refresh-token"}, auth=ADS).json()
    rotated = first["refresh_token"]
    assert rotated != "sandbox-refresh-token"
    assert sb.refresh_token == rotated
    assert sb.tap_config()["ads_refresh_token"] == rotated
    stale = post_token(sb, {"grant_type": "refresh_token",
                            "refresh_token": "sandbox-refresh-token"}, auth=ADS)
    assert stale.status_code == 400
    assert stale.json()["error"] == "invalid_grant"
    fresh = post_token(sb, {"grant_type": "refresh_token", "refresh_token": rotated}, auth=ADS)
    assert fresh.status_code == 200
    assert fresh.json()["refresh_token"] not in (rotated, "sandbox-refresh-token")


def _bulk_listing(sb, headers):
    return requests.get(f"{sb.bulk_api_url}/gyrostream/enhanced/users", headers=headers,
                        timeout=10)


def test_api_401_for_missing_wrong_kind_and_expired_tokens(sandbox_factory):
    sb = sandbox_factory(token_lifetime=1)
    bulk = post_token(sb, {"grant_type": "client_credentials"}).json()["access_token"]
    ads = post_token(sb, {"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token"},
                     auth=ADS).json()["access_token"]
    assert _bulk_listing(sb, {"Authorization": f"Bearer {bulk}"}).status_code == 200
    for headers in ({}, {"Authorization": f"Bearer {ads}"}, {"Authorization": "Bearer nonsense"}):
        response = _bulk_listing(sb, headers)
        assert response.status_code == 401
        assert response.json()["error"]["status"] == 401
    wrong_kind = requests.get(f"{sb.ads_api_url}/businesses",
                              headers={"Authorization": f"Bearer {bulk}"}, timeout=10)
    assert wrong_kind.status_code == 401
    time.sleep(1.1)
    expired = _bulk_listing(sb, {"Authorization": f"Bearer {bulk}"})
    assert expired.status_code == 401
    assert expired.json() == {"error": {"status": 401, "message": "The access token expired"}}


def test_expire_tokens_makes_the_next_call_401(sandbox):
    token = post_token(sandbox, {"grant_type": "client_credentials"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert _bulk_listing(sandbox, headers).status_code == 200
    sandbox.expire_tokens()
    assert _bulk_listing(sandbox, headers).status_code == 401
    renewed = post_token(sandbox, {"grant_type": "client_credentials"}).json()["access_token"]
    assert _bulk_listing(sandbox, {"Authorization": f"Bearer {renewed}"}).status_code == 200


def test_every_issued_secret_is_known_for_secret_scans(sandbox_factory):
    sb = sandbox_factory(rotate_refresh_token=True)
    bulk = post_token(sb, {"grant_type": "client_credentials"}).json()["access_token"]
    ads = post_token(sb, {"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token"},
                     auth=ADS).json()
    assert set(sb.app.tokens.access_tokens()) == {bulk, ads["access_token"]}
    assert sb.app.tokens.refresh_tokens == ["sandbox-refresh-token", ads["refresh_token"]]
