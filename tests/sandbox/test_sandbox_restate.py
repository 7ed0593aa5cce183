"""Restatements on command: a day's files become a corrected generation (shorter country
files, a country file gone, fewer tracks, new values), the truth follows, and the old
generation's signed URLs answer 404 like a replaced object."""

import datetime as dt
import gzip

import requests
from helpers.sandbox_http import bulk_headers, get
from spotify_sandbox import Sandbox, SandboxOptions
from spotify_sandbox.truth import file_lines

DAY = dt.date(2024, 3, 5)


def lines(sb, report, country=None):
    return list(file_lines(sb.app.data.line_chunks(report, DAY, country)))


def test_restate_makes_a_corrected_generation(sandbox):
    data = sandbox.app.data
    before = data.day(DAY)
    old = {c: lines(sandbox, "streams", c) for c in before.countries}
    old_users, old_tracks = lines(sandbox, "users"), lines(sandbox, "tracks")
    old_aggregated = lines(sandbox, "aggregatedstreams")
    truth_before = sandbox.bulk_truth(DAY, DAY)

    assert sandbox.restate(DAY) == 1
    after = data.day(DAY)
    gone = set(before.countries) - set(after.countries)
    assert len(gone) == 1 and set(after.countries) < set(before.countries)
    new = {c: lines(sandbox, "streams", c) for c in after.countries}
    assert any(len(new[c]) < len(old[c]) for c in after.countries)  # shorter files
    assert all(len(new[c]) <= len(old[c]) for c in after.countries)
    assert all(new[c] != old[c] for c in after.countries)  # values changed everywhere
    assert len(lines(sandbox, "users")) < len(old_users)
    assert len(lines(sandbox, "tracks")) < len(old_tracks)
    aggregated = lines(sandbox, "aggregatedstreams")
    hrefs = {line["trackv2"]["href"] for line in aggregated}
    assert hrefs < {line["trackv2"]["href"] for line in old_aggregated}  # tracks removed
    assert not data.has_file("streams", DAY, gone.pop())

    truth_after = sandbox.bulk_truth(DAY, DAY)
    for stream, summary in truth_after.items():
        assert summary["count"] < truth_before[stream]["count"], stream
        assert summary["checksum"] != truth_before[stream]["checksum"], stream
    other = dt.date(2024, 3, 6)  # other days are untouched
    assert sandbox.bulk_truth(other, other) == Sandbox(sandbox.options).bulk_truth(other, other)


def test_restatements_are_deterministic_from_seed_and_generation():
    def restated_twice() -> tuple[dict, dict]:
        sb = Sandbox(SandboxOptions(seed=3, start=DAY, end=DAY, scale=300))
        sb.restate(DAY)
        first = sb.bulk_truth()
        sb.restate(DAY.isoformat())
        return first, sb.bulk_truth()

    one, two = restated_twice(), restated_twice()
    assert one == two
    assert one[0] != one[1]  # generation 2 differs from generation 1


def test_admin_call_restates_and_old_signed_urls_answer_404(sandbox):
    headers = bulk_headers(sandbox)
    country = sandbox.app.data.day(DAY).countries[0]
    paths = [f"/gyrostream/enhanced/users/{DAY:%Y/%m/%d}",
             f"/gyrostream/enhanced/streams/{DAY:%Y/%m/%d}/{country}"]
    old_urls = [get(sandbox, path, headers).headers["Location"] for path in paths]
    assert all(requests.get(url, timeout=10).status_code == 200 for url in old_urls)
    before = len(lines(sandbox, "users"))

    answer = requests.post(f"{sandbox.base_url}/_sandbox/restate",
                           params={"date": DAY.isoformat()}, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"date": DAY.isoformat(), "generation": 1}
    for url in old_urls:
        gone = requests.get(url, timeout=10)
        assert gone.status_code == 404
        assert b"NoSuchKey" in gone.content
    fresh = get(sandbox, paths[0], headers).headers["Location"]
    body = requests.get(fresh, timeout=10)
    assert body.status_code == 200
    served = [line for line in gzip.decompress(body.content).splitlines() if line.strip()]
    assert len(served) == len(lines(sandbox, "users")) < before


def test_admin_call_rejects_bad_dates(sandbox):
    url = f"{sandbox.base_url}/_sandbox/restate"
    for params in ({}, {"date": "2024-13-01"}, {"date": "2023-01-01"}):
        answer = requests.post(url, params=params, timeout=10)
        assert answer.status_code == 400
        assert answer.json()["error"]["message"]
