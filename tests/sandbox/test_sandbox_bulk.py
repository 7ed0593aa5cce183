"""Bulk API (api-contract §4): listings, 303 + signed URL rules, direct files, 403 and 404."""

import datetime as dt
import gzip
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers.sandbox_http import bulk_headers, get


def days_with_data(sb):
    day, days = sb.options.start, []
    while day <= sb.options.end:
        if sb.app.data.day(day) is not None:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def test_listings_shape_and_trailing_slash(sandbox):
    headers = bulk_headers(sandbox)
    years = get(sandbox, "/gyrostream/enhanced/streams", headers)
    assert years.status_code == 200
    assert years.headers["Content-Type"] == "application/json"
    assert years.json() == get(sandbox, "/gyrostream/enhanced/streams/", headers).json()
    assert [y["uri"] for y in years.json()] == ["/gyrostream/enhanced/streams/2024"]
    assert all(set(item) > {"uri"} for item in years.json())  # an extra key is present
    months = get(sandbox, "/gyrostream/enhanced/streams/2024/", headers).json()
    assert [m["uri"] for m in months] == ["/gyrostream/enhanced/streams/2024/03"]
    days = get(sandbox, months[0]["uri"], headers).json()
    expected = [f"/gyrostream/enhanced/streams/{d:%Y/%m/%d}" for d in days_with_data(sandbox)]
    assert [d["uri"] for d in days] == expected
    assert len(expected) < 10  # seed 7 has an empty day in this range, and it is not listed
    countries = get(sandbox, days[0]["uri"] + "/", headers).json()
    plan = sandbox.app.data.day(days_with_data(sandbox)[0])
    assert [c["uri"].rsplit("/", 1)[1] for c in countries] == list(plan.countries)
    assert 5 <= len(countries) <= 20


def test_day_level_reports_have_no_country_level(sandbox):
    headers = bulk_headers(sandbox)
    day = days_with_data(sandbox)[0]
    path = f"/gyrostream/enhanced/users/{day:%Y/%m/%d}"
    assert get(sandbox, path, headers).status_code == 303
    assert get(sandbox, path + "/SE", headers).status_code == 404
    for report in ("tracks", "aggregatedstreams"):
        assert get(sandbox, f"/gyrostream/enhanced/{report}/{day:%Y/%m/%d}",
                   headers).status_code == 303


def test_303_to_signed_url_and_its_rules(sandbox):
    headers = bulk_headers(sandbox)
    day = days_with_data(sandbox)[0]
    redirect = get(sandbox, f"/gyrostream/enhanced/tracks/{day:%Y/%m/%d}", headers)
    assert redirect.status_code == 303
    location = redirect.headers["Location"]
    assert location.startswith(sandbox.base_url + "/signed/")
    params = parse_qs(urlsplit(location).query)
    assert set(params) == {"expires", "sig"}

    with_auth = requests.get(location, headers=headers, timeout=10)
    assert with_auth.status_code == 400
    tampered = requests.get(location.replace("sig=", "sig=0"), timeout=10)
    assert tampered.status_code == 403
    ok = requests.get(location, timeout=10)
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/octet-stream"
    assert b'"track_name"' in gzip.decompress(ok.content)
    signed = [e for e in sandbox.request_log if e["kind"] == "signed"]
    assert [(e["status"], e["auth"]) for e in signed] == [(400, True), (403, False), (200, False)]


def test_signed_url_expires(sandbox):
    headers = bulk_headers(sandbox)
    day = days_with_data(sandbox)[0]
    sandbox.options.signed_url_ttl = -1
    location = get(sandbox, f"/gyrostream/enhanced/users/{day:%Y/%m/%d}",
                   headers).headers["Location"]
    expired = requests.get(location, timeout=10)
    assert expired.status_code == 403
    assert b"ExpiredToken" in expired.content
    sandbox.options.signed_url_ttl = 300
    fresh = get(sandbox, f"/gyrostream/enhanced/users/{day:%Y/%m/%d}", headers)
    assert requests.get(fresh.headers["Location"], timeout=10).status_code == 200


def test_direct_files(sandbox_factory):
    sb = sandbox_factory(direct_files=True)
    day = days_with_data(sb)[0]
    country = sb.app.data.day(day).countries[0]
    response = get(sb, f"/gyrostream/enhanced/streams/{day:%Y/%m/%d}/{country}", bulk_headers(sb))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    lines = [line for line in gzip.decompress(response.content).splitlines() if line.strip()]
    assert len(lines) == sb.app.data.day(day).streams[country]


def test_unknown_licensor_is_403(sandbox):
    response = get(sandbox, "/somebody-else/enhanced/streams/2024/03", bulk_headers(sandbox))
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403
    assert "somebody-else" in response.json()["error"]["message"]


@pytest.mark.parametrize("suffix", ["/2023", "/2024/04", "/2024/3", "/2024/03/01/XX", "/nope"])
def test_paths_without_data_are_404(sandbox, suffix):
    response = get(sandbox, "/gyrostream/enhanced/streams" + suffix, bulk_headers(sandbox))
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404
    assert isinstance(response.json()["error"]["message"], str)


def test_empty_day_is_404_for_every_report(sandbox):
    headers = bulk_headers(sandbox)
    empty = next(d for d in (sandbox.options.start + dt.timedelta(days=i) for i in range(10))
                 if d not in days_with_data(sandbox))
    for report in ("streams", "sub_30_sec_streams", "users", "tracks", "aggregatedstreams"):
        assert get(sandbox, f"/gyrostream/enhanced/{report}/{empty:%Y/%m/%d}",
                   headers).status_code == 404


def test_unpublished_recent_days_are_404_until_published(sandbox):
    headers = bulk_headers(sandbox)
    last = days_with_data(sandbox)[-1]
    path = f"/gyrostream/enhanced/users/{last:%Y/%m/%d}"
    assert get(sandbox, path, headers).status_code == 303
    sandbox.options.today = last + dt.timedelta(days=1)
    sandbox.options.unpublished_days = 2
    assert get(sandbox, path, headers).status_code == 404
    listed = get(sandbox, f"/gyrostream/enhanced/users/{last:%Y/%m}", headers).json()
    assert all(item["uri"] < path for item in listed)
    before = sandbox.bulk_truth(last, last)["users"]["count"]
    assert before == 0
    sandbox.options.unpublished_days = 0
    assert get(sandbox, path, headers).status_code == 303
    assert sandbox.bulk_truth(last, last)["users"]["count"] > 0


def test_one_report_published_later_is_404_while_the_others_are_served(sandbox):
    headers = bulk_headers(sandbox)
    last = days_with_data(sandbox)[-1]
    sandbox.options.today = last + dt.timedelta(days=1)
    sandbox.options.unpublished_reports = {"users": 2}
    users, tracks = (f"/gyrostream/enhanced/{r}/{last:%Y/%m/%d}" for r in ("users", "tracks"))
    assert get(sandbox, users, headers).status_code == 404
    assert get(sandbox, tracks, headers).status_code == 303
    listed = get(sandbox, f"/gyrostream/enhanced/users/{last:%Y/%m}", headers).json()
    assert all(item["uri"] < users for item in listed)
    assert tracks in [i["uri"] for i in get(sandbox, f"/gyrostream/enhanced/tracks/{last:%Y/%m}",
                                            headers).json()]
    truth = sandbox.bulk_truth(last, last)
    assert truth["users"]["count"] == 0
    assert truth["tracks"]["count"] > 0 and truth["streams"]["count"] > 0
    sandbox.options.unpublished_reports = {}
    assert get(sandbox, users, headers).status_code == 303
    assert sandbox.bulk_truth(last, last)["users"]["count"] > 0


def test_overrides_answer_raw_content_for_a_path(sandbox):
    headers = bulk_headers(sandbox)
    path = "/gyrostream/enhanced/users/2024/03/01"
    broken = gzip.compress(b'{"user_id": "a"}\n{not json')
    sandbox.options.overrides[path] = broken
    sandbox.options.overrides["/gyrostream/enhanced/users/2024/03"] = b'[{"uri": "/x"}]'
    served = get(sandbox, path + "/", headers)
    assert (served.status_code, served.content) == (200, broken)
    assert served.headers["Content-Type"] == "application/octet-stream"
    listing = get(sandbox, "/gyrostream/enhanced/users/2024/03", headers)
    assert listing.headers["Content-Type"] == "application/json"
    assert listing.json() == [{"uri": "/x"}]
    sandbox.options.overrides.clear()
    assert get(sandbox, path, headers).status_code == 303


def test_signed_urls_on_another_host_name(sandbox_factory):
    sb = sandbox_factory(signed_url_host="localhost")
    headers = bulk_headers(sb)
    day = days_with_data(sb)[0]
    redirect = get(sb, f"/gyrostream/enhanced/users/{day:%Y/%m/%d}", headers)
    assert redirect.headers["Location"].startswith(f"http://localhost:{sb.port}/signed/")
    followed = requests.get(sb.bulk_api_url + f"/gyrostream/enhanced/users/{day:%Y/%m/%d}",
                            headers=headers, timeout=10)  # requests drops auth across hosts
    assert followed.status_code == 200
    assert [e["auth"] for e in sb.request_log if e["kind"] == "signed"] == [False]
