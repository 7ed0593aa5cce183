"""The message order every parsed output is held to (`helpers.singer.assert_message_order`),
in BATCH mode with the manifest selected, and the check itself on outputs out of order."""

from __future__ import annotations

import datetime as dt
import gzip

import orjson
import pytest
from helpers.run import run_tap
from helpers.singer import assert_message_order

D = dt.date


def test_batch_mode_with_the_manifest_keeps_the_order(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 3), empty_day_rate=0.0)
    batch = {"encoding": {"format": "jsonl", "compression": "gzip"},
             "storage": {"root": f"file://{tmp_path}", "prefix": "b-"}, "batch_size": 500}
    run = run_tap(sb.tap_config(batch_config=batch), streams=["tracks", "streams", "bulk_loads"])
    kinds = [m["type"] for m in run.messages]
    assert "BATCH" in kinds and not run.records  # checked on parsing, files read back


def _batch(tmp_path, stream: str, name: str, records: list[dict]) -> dict:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in records)))
    return {"type": "BATCH", "stream": stream, "encoding": {"format": "jsonl"},
            "manifest": [f"file://{path}"]}


def _schema(stream: str) -> dict:
    return {"type": "SCHEMA", "stream": stream, "schema": {}, "key_properties": []}


def _manifest(day: str, records: int) -> dict:
    return {"type": "RECORD", "stream": "bulk_loads",
            "record": {"stream": "tracks", "report_date": day, "country_scope": "*",
                       "records": records}}


def test_the_check_rejects_a_manifest_before_its_batch_file(tmp_path):
    rows = [{"report_date": "2024-03-01", "track_id": str(i)} for i in range(3)]
    good = [_schema("tracks"), _schema("bulk_loads"), _batch(tmp_path, "tracks", "a", rows),
            _manifest("2024-03-01", 3)]
    assert_message_order(good)
    with pytest.raises(AssertionError, match="records"):
        assert_message_order([good[0], good[1], good[3], good[2]])


def test_the_check_rejects_state_before_the_manifest_and_data_before_schema():
    record = {"type": "RECORD", "stream": "tracks",
              "record": {"report_date": "2024-03-01", "track_id": "1"}}
    state = {"type": "STATE", "value": {"bookmarks": {"tracks": {
        "replication_key_value": "2024-03-01"}}}}
    with pytest.raises(AssertionError, match="no SCHEMA"):
        assert_message_order([record])
    with pytest.raises(AssertionError, match="after STATE"):
        assert_message_order([_schema("tracks"), _schema("bulk_loads"), record, state,
                              _manifest("2024-03-01", 1)])
    with pytest.raises(AssertionError, match="after its manifest"):
        assert_message_order([_schema("tracks"), _schema("bulk_loads"),
                              _manifest("2024-03-01", 0), record])
