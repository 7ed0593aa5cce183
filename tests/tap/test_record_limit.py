"""A dry run (the SDK's record limit: `--test`, its test suite) stops each stream at its own
limit and the others go on: exactly `limit` records, a record count metric that says so, and
no bookmark for a stream that stopped inside a date; the `bulk_loads` manifest stops at its
own limit too."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
from collections import Counter

import orjson
import pytest

from tap_spotify_bulk.tap import TapSpotifyBulk

LOADS = "bulk_loads"


def dry_run(config: dict, limits: dict[str, int]) -> tuple[list[dict], dict[str, int]]:
    """The messages of an in-process sync of the streams in `limits`, each stopped at its
    limit, and the record counts its metrics reported."""
    tap = TapSpotifyBulk(config=config, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name in limits
        stream.ABORT_AT_RECORD_COUNT = limits.get(name)
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    metrics = io.StringIO()
    handler = logging.StreamHandler(metrics)
    logger = logging.getLogger("singer_sdk.metrics")
    logger.addHandler(handler)
    try:
        with contextlib.redirect_stdout(text):
            tap.sync_all()
    finally:
        logger.removeHandler(handler)
    text.flush()
    counts = {}
    for line in metrics.getvalue().splitlines():
        if line.startswith("METRIC: ") and '"record_count"' in line:
            point = json.loads(line.removeprefix("METRIC: "))
            counts[point["tags"]["stream"]] = point["value"]
    return [orjson.loads(line) for line in raw.getvalue().splitlines()], counts


@pytest.fixture
def wide(sandbox_factory):
    return sandbox_factory(end=dt.date(2024, 3, 3), scale=200, empty_day_rate=0.0)


def test_each_stream_stops_at_its_own_limit(wide):
    # users and streams: one record per line; the aggregated ones share each line.
    limits = {"users": 7, "streams": 9, "aggregated_streams_count": 5,
              "aggregated_streams_skips": 40, LOADS: 100}
    messages, counts = dry_run(wide.tap_config(), limits)
    emitted = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert emitted == {name: limit for name, limit in limits.items() if name != LOADS}
    assert counts == {name: limit for name, limit in limits.items() if name != LOADS}
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert all(not value for value in states[-1]["bookmarks"].values())


def test_the_manifest_stops_at_its_limit_and_the_streams_go_on(wide):
    # Three dates: the manifest of the first two, then no more.
    messages, _ = dry_run(wide.tap_config(), {"users": 10**6, LOADS: 2})
    emitted = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert emitted == {"users": wide.bulk_truth(streams=["users"])["users"]["count"], LOADS: 2}
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert states[-1]["bookmarks"]["users"]["replication_key_value"] == "2024-03-03"
