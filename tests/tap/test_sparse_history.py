"""A first sync with a start years before the data walks the listings (report -> years ->
months -> days) and asks only for listed days; requests are counted by the sandbox."""

from __future__ import annotations

import datetime as dt
import re

import orjson
from helpers.run import run_tap
from helpers.singer import assert_valid

from tap_spotify_bulk.bulk.streams import BULK_STREAM_NAMES

D = dt.date


def bulk_requests(sb) -> list[str]:
    return [e["path"] for e in sb.request_log if not e["path"].startswith("/token")]


def test_years_back_with_three_days_of_data_costs_few_requests(sandbox_factory):
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 3), empty_day_rate=0.0,
                         countries=("SE", "US", "GB"), scale=300)
    config = sb.tap_config(start_date="2021-01-01", end_date="2024-03-03")
    run = run_tap(config)
    assert_valid(run)
    assert run.tallies() == sb.bulk_truth()
    requests = len(sb.request_log)
    assert requests < 100, requests
    for name in BULK_STREAM_NAMES:
        assert run.bookmark(name) == "2024-03-03", name
    # Nothing before the data was asked for, except the listings of 2024's months.
    paths = bulk_requests(sb)
    assert not [p for p in paths if "/2021/" in p or "/2022/" in p or "/2023/" in p]


def test_unlisted_days_before_the_tail_move_the_bookmark_on(sandbox_factory):
    # Data on 2024-03-01 .. 03-03 only; the window runs to 03-20, lookback 3: the days
    # 03-04 .. 03-17 are not listed and skipped, 03-18 .. 03-20 hold the bookmark.
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 3), empty_day_rate=0.0,
                         countries=("SE",), scale=100)
    config = sb.tap_config(start_date="2023-11-01", end_date="2024-03-20", lookback_days=3)
    run = run_tap(config, streams=["users", "streams"])
    assert_valid(run)
    assert run.tallies() == sb.bulk_truth(streams=["users", "streams"])
    assert run.bookmark("users") == "2024-03-17"
    assert run.bookmark("streams") == "2024-03-17"
    paths = bulk_requests(sb)
    assert not [p for p in paths if "/2024/03/1" in p or "/2024/03/2" in p]
    assert len(paths) < 30, paths


def test_recent_unpublished_days_are_listed_later_and_read(sandbox_factory):
    # A long window whose last days are not published yet: they hold the bookmark without
    # a request, and the next run (published by then) reads them.
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 8), empty_day_rate=0.0,
                         countries=("SE", "US"), scale=100, unpublished_days=3,
                         today=D(2024, 3, 9))
    config = sb.tap_config(start_date="2023-12-01", end_date="2024-03-08", lookback_days=3)
    first = run_tap(config, streams=["tracks", "streams"])
    assert first.tallies() == sb.bulk_truth(end=D(2024, 3, 6), streams=["tracks", "streams"])
    # Published up to 03-06; 03-07 and 03-08 are not listed and lie in the tail.
    assert first.bookmark("tracks") == "2024-03-06"
    assert first.bookmark("streams") == "2024-03-06"
    sb.options.unpublished_days = 0
    sb.options.today = D(2024, 3, 10)
    second = run_tap(config, state=first.state, streams=["tracks", "streams"])
    assert second.dates("tracks") == ["2024-03-04", "2024-03-05", "2024-03-06",
                                      "2024-03-07", "2024-03-08"]
    assert second.bookmark("streams") == "2024-03-08"


def test_dense_long_window_reads_every_day(sandbox_factory):
    sb = sandbox_factory(start=D(2024, 2, 20), end=D(2024, 3, 10), empty_day_rate=0.2,
                         countries=("SE",), scale=50)
    run = run_tap(sb.tap_config(), streams=["users", "aggregated_streams_count"])
    assert_valid(run)
    assert run.tallies() == sb.bulk_truth(streams=["users", "aggregated_streams_count"])
    # Every day with data was read, and no file was asked for that does not exist.
    days = (re.search(r"/enhanced/users/(\d{4})/(\d\d)/(\d\d)/?$", p) for p in bulk_requests(sb))
    asked = {"-".join(m.groups()) for m in days if m}
    assert asked == set(run.dates("users"))
    assert len(asked) < 20


def test_a_listing_that_does_not_name_years_is_not_trusted(sandbox_factory):
    # Not this contract, but not a reason to skip data: every day is asked for.
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 3), empty_day_rate=0.0,
                         countries=("SE",), scale=50)
    sb.options.overrides = {"/gyrostream/enhanced/users": orjson.dumps(
        [{"uri": "/gyrostream/enhanced/users/latest"}])}
    config = sb.tap_config(start_date="2024-02-01", end_date="2024-03-03", lookback_days=0)
    run = run_tap(config, streams=["users"])
    assert run.tallies() == sb.bulk_truth(streams=["users"])
    assert run.bookmark("users") == "2024-03-03"
    days = [p for p in bulk_requests(sb) if re.search(r"/enhanced/users/2024/02/\d\d$", p)]
    assert len(days) == 29  # every day of February asked for (404s)
