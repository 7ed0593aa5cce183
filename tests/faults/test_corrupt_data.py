"""Corrupt and surprising data, served raw by the sandbox (`SandboxOptions.overrides`).

Each case is handled as the README documents, never silently dropped:

* unknown keys -> kept in `extra`;
* a known key with an unexpected type -> the column is null, the raw value kept in `extra`,
  one warning per file and key;
* a huge line -> kept whole;
* an empty (but valid) gzip file -> no records, the date completes;
* an invalid JSON line, a line that is not an object, a value no JSON output can carry (an
  integer beyond 64 bits, nesting deeper than 255 levels), a body that is not gzip, an empty
  body, a listing that is not an array of `{"uri": ...}` objects -> the run fails with one
  clear error naming the file (and line), and no STATE covers that date.

In-process runs (backoff shortened to 0 s) with their stdout and logs secret-scanned.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re

import orjson
import pytest
from helpers.run import run_tap
from helpers.secrets import unique_credentials
from helpers.singer import bookmarks_of

from tap_spotify_bulk.errors import ApiError, DataError

D = dt.date
BASE = "/gyrostream/enhanced"
USERS_DAY2 = f"{BASE}/users/2024/03/02"
STREAMS_DAY2 = f"{BASE}/streams/2024/03/02"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr("tap_spotify_bulk.http.backoff_delay", lambda attempt, **kw: 0.0)


@pytest.fixture
def sb(sandbox_factory):
    return sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 3), scale=150,
                           countries=("SE", "NO"), empty_day_rate=0.0, **unique_credentials())


def lines(*items: bytes) -> bytes:
    return gzip.compress(b"\n".join(items) + b"\n")


def sync(sb, streams, **kw):
    return run_tap(sb.tap_config(lookback_days=0), streams=streams, sandbox=sb, **kw)


def day_records(run, stream: str, day: str) -> list[dict]:
    return [r for r in run.records[stream] if r["report_date"] == day]


def test_unknown_keys_and_wrong_types_are_kept_in_extra(sb):
    sb.options.overrides = {USERS_DAY2: lines(
        b'{"user_id": "u1", "birth_year": 1990, "brand_new": [1, 2], "nested": {"a": null}}',
        b'{"user_id": "u2", "birth_year": "1985", "gender": 3}',
        b'{"user_id": 7, "country": "SE"}',
    )}
    run = sync(sb, ["users"])
    rows = day_records(run, "users", "2024-03-02")
    assert [r["row_number"] for r in rows] == [1, 2, 3]
    assert rows[0]["birth_year"] == 1990
    assert rows[0]["extra"] == {"brand_new": [1, 2], "nested": {"a": None}}
    assert rows[1]["birth_year"] is None
    assert rows[1]["gender"] is None
    assert rows[1]["extra"] == {"birth_year": "1985", "gender": 3}
    assert rows[2]["user_id"] is None
    assert rows[2]["extra"] == {"user_id": 7}
    assert rows[2]["country"] == "SE"  # users keep their line's country
    warnings = [line for line in run.logs.splitlines()
                if line.startswith("WARNING") and "users/2024/03/02" in line]
    assert len(warnings) == 3  # birth_year, gender (file 1 line 2), user_id (line 3)
    # The other days are untouched and the date completes.
    assert bookmarks_of(run.state) == {"users": "2024-03-03"}


def test_a_huge_line_is_kept_whole(sb):
    blob = "x" * (8 << 20)  # one 8 MiB line
    sb.options.overrides = {USERS_DAY2: lines(
        b'{"user_id": "small"}', orjson.dumps({"user_id": "huge", "payload": blob}))}
    run = sync(sb, ["users"])
    rows = day_records(run, "users", "2024-03-02")
    assert [r["user_id"] for r in rows] == ["small", "huge"]
    assert rows[1]["extra"]["payload"] == blob


def test_an_empty_gzip_file_has_no_records_and_the_date_completes(sb):
    sb.options.overrides = {USERS_DAY2: gzip.compress(b"")}
    run = sync(sb, ["users"])
    assert day_records(run, "users", "2024-03-02") == []
    assert day_records(run, "users", "2024-03-03")
    assert bookmarks_of(run.state) == {"users": "2024-03-03"}


def test_an_aggregated_line_with_wrong_types_does_not_lose_its_other_data(sb, monkeypatch):
    monkeypatch.setattr("tap_spotify_bulk.bulk.aggregated._odd_values_seen", [0])
    line = {"date": "2024-03-02", "trackv2": {"name": "T", "href": "h1", "isrc": "I"},
            "album": {"name": "A", "href": "a1"}, "surprise": True,
            "streams": {"country": {"SE": {"total": 5, "gender": {
                "female": {"total": 5, "age": {"18-22": 4, "23-27": "1"}}}}}},
            "skips": {"country": {"SE": {"total": "2"}}},
            "saves": {"country": {"SE": {"total": 1, "product": {"free": 1}}}}}
    sb.options.overrides = {f"{BASE}/aggregatedstreams/2024/03/02": lines(orjson.dumps(line))}
    run = sync(sb, ["aggregated_streams_summary", "aggregated_streams_count",
                    "aggregated_streams_skips", "aggregated_streams_saves"])
    summary = day_records(run, "aggregated_streams_summary", "2024-03-02")
    assert len(summary) == 1
    assert summary[0]["track_href"] == "h1"
    assert summary[0]["streams"] == 5
    assert summary[0]["saves"] == 1
    assert summary[0]["extra"] == {"surprise": True}
    assert summary[0]["skips"] is None  # "2" is not a count: unknown, not a wrong sum
    counts = day_records(run, "aggregated_streams_count", "2024-03-02")
    assert {r["age_group"]: r["streams"] for r in counts} == {"18-22": 4, "23-27": None}
    skips = day_records(run, "aggregated_streams_skips", "2024-03-02")
    assert [(r["country"], r["skips"]) for r in skips] == [("SE", None)]  # kept, nulled
    saves = day_records(run, "aggregated_streams_saves", "2024-03-02")
    assert [(r["product"], r["saves"]) for r in saves] == [("free", 1)]
    warnings = [line for line in run.logs.splitlines()
                if line.startswith("WARNING") and "not an integer" in line]
    assert len(warnings) >= 2


FAILING_FILES = {
    "invalid_json_line": (lines(b'{"user_id": "a"}', b'{"user_id": "b"'),
                          r"users/2024/03/02: line 2 is not valid JSON"),
    "line_not_an_object": (lines(b'{"user_id": "a"}', b"", b'["user_id", "b"]'),
                           r"users/2024/03/02: line 3 is not a JSON object"),
    "null_line": (lines(b"null"), r"users/2024/03/02: line 1 is not a JSON object"),
    "integer_beyond_64_bits": (lines(b'{"user_id": "a"}',
                                     b'{"user_id": "b", "x": 1%s}' % (b"0" * 400)),
                               r"users/2024/03/02: row 2 cannot be written as JSON"),
    "nested_too_deep": (lines(b'{"user_id": "a", "x": %s}' % (b"[" * 300 + b"]" * 300)),
                        r"users/2024/03/02: row 1 cannot be written as JSON"),
    "not_gzip_at_all": (b'{"user_id": "a"}\n', r"users/2024/03/02: corrupt gzip"),
    "empty_body": (b"", r"users/2024/03/02: corrupt gzip .*empty"),
    "truncated_for_good": (lines(b'{"user_id": "a"}' * 200)[:40],
                           r"users/2024/03/02: corrupt gzip"),
}


@pytest.mark.parametrize(("body", "message"), FAILING_FILES.values(), ids=FAILING_FILES.keys())
def test_a_broken_file_fails_clearly_and_commits_nothing_of_its_date(sb, body, message):
    sb.options.overrides = {USERS_DAY2: body}
    run = sync(sb, ["users"], expect_error=True)
    assert isinstance(run.error, DataError)
    assert re.search(message, str(run.error)), str(run.error)
    assert "\n" not in str(run.error)
    # Lines before a bad JSON line may have gone out (the file is streamed), but no STATE
    # covers the date: the next run reads it again onto the same keys.
    assert [r["user_id"] for r in day_records(run, "users", "2024-03-02")] in ([], ["a"])
    assert max(bookmarks_of(state).get("users", "") for state in run.states) \
        == "2024-03-01"


LISTINGS = {
    "object_instead_of_array": b'{"items": [{"uri": "/x/SE"}]}',
    "not_json": b"<html>maintenance</html>",
    "items_without_uri": b'[{"name": "SE"}, {"name": "NO"}]',
    "uri_not_a_string": b'[{"uri": 42}]',
}


@pytest.mark.parametrize("body", LISTINGS.values(), ids=LISTINGS.keys())
def test_a_listing_with_an_unexpected_shape_fails_clearly(sb, body):
    sb.options.overrides = {STREAMS_DAY2: body}
    run = sync(sb, ["streams"], expect_error=True)
    assert isinstance(run.error, ApiError), run.error
    assert "streams/2024/03/02" in str(run.error)
    assert "\n" not in str(run.error)
    assert day_records(run, "streams", "2024-03-02") == []
    # Listings are read a few days ahead, so the failure may stop the run before day 1 is
    # committed; it never lets the bookmark pass the day whose listing was bad.
    assert all(bookmarks_of(state).get("streams", "") < "2024-03-02"
               for state in run.states)
