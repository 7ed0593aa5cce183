"""Surprising file and listing content served by the sandbox (path overrides), and resuming
after a run that failed in the middle of a date."""

from __future__ import annotations

import datetime as dt
import gzip
import threading

import orjson
import pytest
from helpers.run import run_tap
from helpers.singer import assert_valid

from tap_spotify_bulk.bulk.client import DownloadCancelled
from tap_spotify_bulk.bulk.runtime import BulkRuntime
from tap_spotify_bulk.errors import DataError

D = dt.date
BASE = "/gyrostream/enhanced"


def ndjson(*lines: bytes) -> bytes:
    return b"\n".join(lines)


def test_odd_lines_are_typed_and_kept(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    listing = [{"uri": f"{BASE}/streams/2024/03/01/SE/", "name": "SE", "size": 1},
               {"uri": f"{BASE}/streams/2024/03/01/XX", "other": True}]
    lines = ndjson(
        b'{"user_id": "u1", "country": "SE", "ms_played": 1000, "cached": true}',
        b"",
        b'   ',
        b'{"user_id": "u2", "country": "NO", "ms_played": "31", "brand_new": {"a": 1}}',
        b'{"user_id": "u3", "ms_played": null, "shuffle": 0}',
    )  # no final newline
    second_member = b'{"user_id": "u4", "timestamp": "2024-03-01T00:00:00Z"}\n'
    sb.options.overrides = {
        f"{BASE}/streams/2024/03/01": orjson.dumps(listing),
        f"{BASE}/streams/2024/03/01/SE": gzip.compress(lines + b"\n") + gzip.compress(
            second_member),
    }
    run = run_tap(sb.tap_config(), streams=["streams"])
    assert_valid(run)
    # XX is listed but its file answers 404: skipped, and as 2024-03-01 lies in the lookback
    # tail (it may not be fully published yet) the bookmark does not move past it.
    assert run.bookmark("streams") is None
    records = run.records["streams"]
    assert [(r["country"], r["row_number"], r["user_id"]) for r in records] == [
        ("SE", 1, "u1"), ("SE", 2, "u2"), ("SE", 3, "u3"), ("SE", 4, "u4")]
    assert records[0]["extra"] is None
    assert records[1]["ms_played"] is None
    assert records[1]["extra"] == {"country": "NO", "ms_played": "31", "brand_new": {"a": 1}}
    assert records[2]["shuffle"] is None
    assert records[2]["extra"] == {"shuffle": 0}
    assert all(r["licensor"] == "gyrostream" and r["report_date"] == "2024-03-01"
               for r in records)


def test_bad_json_fails_with_line_number_and_the_next_run_resumes(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 4), empty_day_rate=0.0)
    bad = gzip.compress(ndjson(b'{"user_id": "a"}', b"", b'{"user_id": "b"', b'{}'))
    sb.options.overrides = {f"{BASE}/users/2024/03/03": bad}
    config = sb.tap_config(lookback_days=0)
    failed = run_tap(config, streams=["users"], expect_error=True)
    assert isinstance(failed.error, DataError)
    assert "users/2024/03/03: line 3 is not valid JSON" in str(failed.error)
    assert failed.bookmark("users") == "2024-03-02"  # STATE stops at the last complete date

    sb.options.overrides = {}
    resumed = run_tap(config, state=failed.state, streams=["users"])
    assert resumed.dates("users") == ["2024-03-03", "2024-03-04"]
    assert resumed.tallies() == sb.bulk_truth(start=D(2024, 3, 3), streams=["users"])
    assert resumed.bookmark("users") == "2024-03-04"


def test_aggregated_line_with_missing_and_unknown_levels(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    line = {"date": "2024-02-29",
            "trackv2": {"href": "h1", "isrc": "I1", "name": "N", "x_explicit": True},
            "streams": {"country": {"SE": {"total": 2, "x_rank": 4,
                                           "gender": {"male": {"age": {"60+": 2}}}},
                                    "NO": {"total": 1}}},
            "skips": {"country": {"SE": {"total": {"odd": 1}}}},
            "label": "L"}
    sb.options.overrides = {f"{BASE}/aggregatedstreams/2024/03/01":
                            gzip.compress(orjson.dumps(line) + b"\n")}
    names = ["aggregated_streams_summary", "aggregated_streams_count",
             "aggregated_streams_saves"]
    run = run_tap(sb.tap_config(), streams=names)
    assert_valid(run)
    truth = sb.bulk_truth(streams=names)  # the truth follows the served line too
    assert run.tallies() == {name: summary for name, summary in truth.items()
                             if summary["count"]}
    (summary,) = run.records["aggregated_streams_summary"]
    assert summary["report_date"] == "2024-03-01"  # the path date, not the line's own
    assert (summary["streams"], summary["skips"], summary["saves"]) == (3, None, None)
    # Nothing is dropped: unknown keys at any depth, and a malformed known value, stay in
    # `extra` under their own paths.
    assert summary["extra"] == {
        "label": "L",
        "trackv2": {"x_explicit": True},
        "streams": {"country": {"SE": {"x_rank": 4}}},
        "skips": {"country": {"SE": {"total": {"odd": 1}}}},
    }
    assert summary["album_name"] is None
    (count,) = run.records["aggregated_streams_count"]
    assert (count["country"], count["gender"], count["age_group"], count["streams"]) == (
        "SE", "male", "60+", 2)
    assert run.records["aggregated_streams_saves"] == []
    assert run.bookmark("aggregated_streams_saves") == "2024-03-01"


def test_empty_listing_in_the_lookback_tail_holds_the_bookmark(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 3), empty_day_rate=0.0)
    sb.options.overrides = {f"{BASE}/streams/2024/03/03": b"[]"}
    run = run_tap(sb.tap_config(lookback_days=1), streams=["streams"])
    assert run.dates("streams") == ["2024-03-01", "2024-03-02"]
    assert run.bookmark("streams") == "2024-03-02"


def test_cancelled_download_stops_and_leaves_no_file(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    runtime = BulkRuntime(sb.tap_config())
    cancelled = threading.Event()
    done = runtime.client.download("users/2024/03/01", tmp_path, cancelled)
    assert done is not None
    assert done.size > 0
    assert list(tmp_path.iterdir()) == []  # downloaded files have no name on disk
    cancelled.set()
    with pytest.raises(DownloadCancelled):
        runtime.client.download("tracks/2024/03/01", tmp_path, cancelled)
    assert list(tmp_path.iterdir()) == []
    done.close()
