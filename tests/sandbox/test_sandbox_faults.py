"""Faults: each kind is injected on a request's first attempt, then clears on retry."""

import datetime as dt
import gzip
import time
import zlib

import pytest
import requests
from spotify_sandbox import FaultOptions

DAY = dt.date(2024, 3, 1)  # has data with seed 7
PATH = f"/gyrostream/enhanced/users/{DAY:%Y/%m/%d}"


def bulk_headers(sb):
    token = requests.post(sb.token_url, data={"grant_type": "client_credentials"},
                          auth=("sandbox-client", "sandbox-secret"), timeout=10).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def get(sb, path, headers):
    return requests.get(sb.bulk_api_url + path, headers=headers, allow_redirects=False, timeout=10)


def with_faults(sb, **rates):
    """Faults switched on after the token was fetched, so the token request stays clean."""
    headers = bulk_headers(sb)
    sb.options.faults = FaultOptions(**rates)
    return headers


def test_429_with_and_without_retry_after_then_success(sandbox):
    headers = with_faults(sandbox, rate_429=1.0)
    paths = [f"/gyrostream/enhanced/streams/2024/03/{d:02d}" for d in range(1, 11)]
    first = [get(sandbox, p, headers) for p in paths]
    assert {r.status_code for r in first} == {429}
    with_hint = [r.headers.get("Retry-After") for r in first]
    assert "1" in with_hint and None in with_hint
    assert {get(sandbox, p, headers).status_code for p in paths} <= {200, 404}
    assert sandbox.stats["faults"] == {"429": 10}
    assert sandbox.stats["responses_429"] == 10


def test_5xx_then_success(sandbox):
    headers = with_faults(sandbox, rate_5xx=1.0)
    paths = [f"/gyrostream/enhanced/tracks/2024/03/{d:02d}" for d in range(1, 11)]
    statuses = {get(sandbox, p, headers).status_code for p in paths}
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert {get(sandbox, p, headers).status_code for p in paths} <= {303, 404}


def test_401_then_success_with_the_same_token(sandbox):
    headers = with_faults(sandbox, rate_401=1.0)
    faulty = get(sandbox, PATH, headers)
    assert faulty.status_code == 401
    assert faulty.json() == {"error": {"status": 401, "message": "The access token expired"}}
    assert get(sandbox, PATH, headers).status_code == 303


def test_connection_reset_then_success(sandbox):
    headers = with_faults(sandbox, rate_reset=1.0)
    with pytest.raises(requests.ConnectionError):
        get(sandbox, PATH, headers)
    assert get(sandbox, PATH, headers).status_code == 303
    assert sandbox.stats["faults"] == {"reset": 1}


@pytest.mark.parametrize("direct", [False, True])
def test_truncated_gzip_then_complete(sandbox_factory, direct):
    sb = sandbox_factory(direct_files=direct)
    headers = with_faults(sb, rate_truncated_gzip=1.0)

    def fetch():
        response = get(sb, PATH, headers)
        if response.status_code == 303:
            response = requests.get(response.headers["Location"], timeout=10)
        assert response.status_code == 200
        return response.content

    cut = fetch()
    with pytest.raises((EOFError, zlib.error)):
        gzip.decompress(cut)
    whole = gzip.decompress(fetch())
    partial = zlib.decompressobj(31).decompress(cut)
    assert whole.startswith(partial) and len(partial) < len(whole)
    assert sb.stats["faults"] == {"truncated_gzip": 1}


def test_signed_url_expired_then_success(sandbox):
    headers = with_faults(sandbox, rate_signed_url_expired=1.0)
    location = get(sandbox, PATH, headers).headers["Location"]
    refused = requests.get(location, timeout=10)
    assert refused.status_code == 403
    assert b"ExpiredToken" in refused.content
    again = get(sandbox, PATH, headers)
    assert requests.get(again.headers["Location"], timeout=10).status_code == 200


def test_token_503_on_first_attempt(sandbox):
    sandbox.options.faults = FaultOptions(token_503=True)
    data, auth = {"grant_type": "client_credentials"}, ("sandbox-client", "sandbox-secret")
    first = requests.post(sandbox.token_url, data=data, auth=auth, timeout=10)
    assert first.status_code == 503
    assert requests.post(sandbox.token_url, data=data, auth=auth, timeout=10).status_code == 200
    assert sandbox.stats["faults"] == {"token_503": 1}


def test_fault_attempts_and_reset_counters(sandbox):
    headers = with_faults(sandbox, rate_5xx=1.0, fault_attempts=2)
    assert [get(sandbox, PATH, headers).status_code >= 500 for _ in range(3)] == [True, True, False]
    sandbox.reset_counters()
    assert get(sandbox, PATH, headers).status_code >= 500
    assert sandbox.stats["faults"] == {"5xx": 1}


def _fault_pattern(sb):
    headers = with_faults(sb, rate_429=0.3, rate_5xx=0.3)
    paths = [f"/gyrostream/enhanced/{r}/2024/03/{d:02d}" for r in ("users", "tracks")
             for d in range(1, 11)]
    return [get(sb, p, headers).status_code for p in paths]


def test_faults_are_deterministic_from_the_seed(sandbox_factory):
    first = _fault_pattern(sandbox_factory(seed=7))
    assert first == _fault_pattern(sandbox_factory(seed=7))
    assert first != _fault_pattern(sandbox_factory(seed=8))
    assert any(s >= 429 for s in first) and any(s < 429 for s in first)


def test_latency(sandbox):
    headers = bulk_headers(sandbox)
    sandbox.options.latency_ms = 200
    started = time.perf_counter()
    get(sandbox, PATH, headers)
    assert time.perf_counter() - started >= 0.2
