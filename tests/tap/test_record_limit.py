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
import re
from collections import Counter

import orjson
import pytest

from tap_spotify_bulk.tap import TapSpotifyBulk

LOADS = "bulk_loads"


def dry_run(config: dict, limits: dict[str, int | None]
            ) -> tuple[list[dict], dict[str, int], str]:
    """The messages of an in-process sync of the streams in `limits`, each stopped at its
    limit (None: no limit), the record counts its metrics reported, and its Bulk log."""
    tap = TapSpotifyBulk(config=config, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name in limits
        stream.ABORT_AT_RECORD_COUNT = limits.get(name)
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    metrics, bulk = io.StringIO(), io.StringIO()
    loggers = [(logging.getLogger("singer_sdk.metrics"), logging.StreamHandler(metrics)),
               (logging.getLogger("tap_spotify_bulk.bulk"), logging.StreamHandler(bulk))]
    levels = [logger.level for logger, _ in loggers]
    for logger, handler in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(text):
            tap.sync_all()
    finally:
        for (logger, handler), level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    text.flush()
    counts = {}
    for line in metrics.getvalue().splitlines():
        if line.startswith("METRIC: ") and '"record_count"' in line:
            point = json.loads(line.removeprefix("METRIC: "))
            counts[point["tags"]["stream"]] = point["value"]
    messages = [orjson.loads(line) for line in raw.getvalue().splitlines()]
    return messages, counts, bulk.getvalue()


@pytest.fixture
def wide(sandbox_factory):
    return sandbox_factory(end=dt.date(2024, 3, 3), scale=200, empty_day_rate=0.0)


def test_each_stream_stops_at_its_own_limit(wide):
    # users and streams: one record per line; the aggregated ones share each line.
    limits = {"users": 7, "streams": 9, "aggregated_streams_count": 5,
              "aggregated_streams_skips": 40, LOADS: 100}
    messages, counts, _ = dry_run(wide.tap_config(), limits)
    emitted = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert emitted == {name: limit for name, limit in limits.items() if name != LOADS}
    assert counts == {name: limit for name, limit in limits.items() if name != LOADS}
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert all(not value for value in states[-1]["bookmarks"].values())


def test_the_manifest_stops_at_its_limit_and_the_streams_go_on(wide):
    # Three dates: the manifest of the first two, then no more.
    messages, _, _ = dry_run(wide.tap_config(), {"users": 10**6, LOADS: 2})
    emitted = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert emitted == {"users": wide.bulk_truth(streams=["users"])["users"]["count"], LOADS: 2}
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert states[-1]["bookmarks"]["users"]["replication_key_value"] == "2024-03-03"


def test_a_shared_file_is_read_no_further_once_every_stream_stopped(wide):
    names = ["aggregated_streams_count", "aggregated_streams_skips"]
    _, _, whole = dry_run(wide.tap_config(end_date="2024-03-01"), dict.fromkeys(names))
    _, _, cut = dry_run(wide.tap_config(end_date="2024-03-01"), dict.fromkeys(names, 3))
    pattern = r"aggregatedstreams/2024/03/01: (\d+) lines"
    read_whole, read_cut = (int(re.search(pattern, log).group(1)) for log in (whole, cut))
    assert 1 <= read_cut < read_whole


def test_the_manifest_limit_holds_across_reads(wide):
    """`users` and `streams` are two reads, each writing its own manifest records: the
    manifest's limit counts them together, as it does any stream's records."""
    messages, _, _ = dry_run(wide.tap_config(), {"users": 10**6, "streams": 10**6, LOADS: 4})
    emitted = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert emitted[LOADS] == 4
    assert emitted["users"] == wide.bulk_truth(streams=["users"])["users"]["count"]
