"""The sandbox starts, issues a token and serves a listing and a file through a signed URL."""

import gzip

import pytest
import requests


def test_token_listing_and_signed_file(sandbox):
    token = requests.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                          auth=("sandbox-client", "sandbox-secret"), timeout=10).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    days = requests.get(f"{sandbox.bulk_api_url}/gyrostream/enhanced/users/2024/03",
                        headers=auth, timeout=10).json()
    assert days and all(d["uri"].startswith("/gyrostream/enhanced/users/2024/03/") for d in days)
    redirect = requests.get(sandbox.bulk_api_url + days[0]["uri"], headers=auth,
                            allow_redirects=False, timeout=10)
    assert redirect.status_code == 303
    body = requests.get(redirect.headers["Location"], timeout=10)
    assert body.status_code == 200
    assert b'"user_id"' in gzip.decompress(body.content)


def test_stop_closes_kept_alive_connections(sandbox_factory):
    sb = sandbox_factory()
    session = requests.Session()
    assert session.get(f"{sb.base_url}/_sandbox/stats", timeout=10).status_code == 200
    sb.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{sb.base_url}/_sandbox/stats", timeout=10)
