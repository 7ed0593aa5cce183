"""Bulk streams against the real sandbox server, run in-process (issue 4).

Every sync is compared with the sandbox's ground truth through `Tally`, every record is
validated against its stream's schema, and primary keys must be unique within a run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
import re
import typing as t
from collections import Counter, defaultdict

import jsonschema
import orjson
import pytest
from helpers import SCHEMA_DIR, assert_state_follows_data
from spotify_sandbox import FaultOptions
from spotify_sandbox.tally import BULK_PRIMARY_KEYS, Tally

from tap_spotify_bulk.bulk.aggregated import SHAPES
from tap_spotify_bulk.bulk.streams import BULK_STREAM_NAMES
from tap_spotify_bulk.errors import AccessError, AuthError, DataError
from tap_spotify_bulk.tap import TapSpotifyBulk

D = dt.date
SCHEMAS = {name: json.loads((SCHEMA_DIR / f"{name}.json").read_text())
           for name in BULK_STREAM_NAMES}
PRIMARY_KEYS = BULK_PRIMARY_KEYS  # api-contract §5.1
_TIME_EXTRACTED = re.compile(rb',"time_extracted":"[^"]*"')
_PER_RUN = re.compile(rb'"load_id":"[^"]*"|\{"type":"RECORD","stream":"bulk_loads".*\n')


class Run:
    """What one tap run wrote to stdout, parsed."""

    def __init__(self, raw: bytes, *, resumed: bool) -> None:
        self.raw = raw
        self.resumed = resumed  # started from a state (echoed as the first STATE message)
        self.messages = [orjson.loads(line) for line in raw.splitlines()]
        self.records: dict[str, list[dict]] = defaultdict(list)
        self.loads: list[dict] = []
        self.states: list[dict] = []
        self.schemas: dict[str, dict] = {}
        for message in self.messages:
            if message["type"] == "RECORD" and message["stream"] == "bulk_loads":
                self.loads.append(message["record"])  # the manifest: not in the truth
            elif message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])
            elif message["type"] == "STATE":
                self.states.append(message["value"])
            elif message["type"] == "SCHEMA":
                self.schemas[message["stream"]] = message

    @property
    def state(self) -> dict:
        return self.states[-1]

    def bookmark(self, stream: str) -> str | None:
        return self.state.get("bookmarks", {}).get(stream, {}).get("replication_key_value")

    def tallies(self) -> dict[str, dict]:
        return {name: Tally.for_bulk_stream(name).add_all(records).summary()
                for name, records in self.records.items()}

    def dates(self, stream: str) -> list[str]:
        return sorted({r["report_date"] for r in self.records[stream]})


def catalog(config: dict, selected: t.Iterable[str]) -> dict:
    """The discovered catalog with only `selected` streams selected."""
    wanted = set(selected)
    result = TapSpotifyBulk(config=config, validate_config=False).catalog_dict
    for entry in result["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return result


def run_tap(config: dict, state: dict | None = None, streams: t.Iterable[str] | None = None,
            ) -> Run:
    """Run a full sync in this process and capture its Singer output."""
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    cat = catalog(config, streams) if streams is not None else None
    with contextlib.redirect_stdout(text):
        TapSpotifyBulk(config=config, state=state, catalog=cat).sync_all()
    text.flush()
    return Run(raw.getvalue(), resumed=bool(state))


def assert_valid(run: Run) -> None:
    """Every record matches its schema; no primary key twice; STATE only between dates."""
    for stream, records in run.records.items():
        validator = jsonschema.Draft7Validator(
            SCHEMAS[stream], format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
        keys = Counter(tuple(r[k] for k in PRIMARY_KEYS[stream]) for r in records)
        duplicates = [k for k, n in keys.items() if n > 1]
        assert not duplicates, f"{stream}: duplicate keys {duplicates[:3]}"
        for record in records:
            errors = list(validator.iter_errors(record))
            assert not errors, f"{stream}: {errors[0].message} in {record}"
    assert_state_follows_data(run.messages, resumed=run.resumed)


def test_full_sync_matches_ground_truth(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 6), empty_day_rate=0.2)
    run = run_tap(sb.tap_config(max_workers=4))
    truth = sb.bulk_truth()
    assert set(truth) == set(BULK_STREAM_NAMES)
    assert run.tallies() == truth
    assert_valid(run)
    for name in BULK_STREAM_NAMES:
        assert run.bookmark(name) == "2024-03-06"
    # The aggregated file is downloaded once per day for the four aggregated streams.
    aggregated_gets = Counter(
        entry["path"] for entry in sb.request_log
        if "/aggregatedstreams/" in entry["path"] and entry["path"].count("/") >= 8)
    assert aggregated_gets
    assert set(aggregated_gets.values()) == {1}
    # The bearer token never goes to the signed URLs; every API call carries it.
    signed = [e for e in sb.request_log if e["path"].startswith("/signed")]
    assert signed
    assert not any(e["auth"] for e in signed)
    assert all(e["auth"] for e in sb.request_log if e["path"].startswith("/v1/"))


def test_direct_files_and_flaky_server(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 4), direct_files=True,
                         faults=FaultOptions.profile("flaky"))
    run = run_tap(sb.tap_config(max_workers=3))
    assert run.tallies() == sb.bulk_truth()
    assert_valid(run)
    assert sb.stats["faults_total"] > 0
    assert not any(e["path"].startswith("/signed") for e in sb.request_log)


def test_redirects_with_expiring_signed_urls_and_truncated_files(sandbox_factory):
    faults = FaultOptions(rate_signed_url_expired=0.3, rate_truncated_gzip=0.3, rate_reset=0.05)
    sb = sandbox_factory(end=D(2024, 3, 3), faults=faults)
    run = run_tap(sb.tap_config(), streams=["streams", "users"])
    truth = sb.bulk_truth(streams=["streams", "users"])
    assert run.tallies() == truth
    assert sb.stats["faults"].get("truncated_gzip", 0) > 0
    assert sb.stats["faults"].get("signed_url_expired", 0) > 0


def test_short_token_lifetime_refreshes_mid_run(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 3), token_lifetime=1, latency_ms=40)
    run = run_tap(sb.tap_config(max_workers=2), streams=["streams"])
    assert run.tallies() == sb.bulk_truth(streams=["streams"])
    assert sb.stats["tokens_issued"] >= 2
    assert not [e for e in sb.request_log if e["status"] == 401]  # refreshed before expiry


def test_401_answers_refresh_the_token_and_retry(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 3), faults=FaultOptions(rate_401=0.3))
    run = run_tap(sb.tap_config(), streams=["streams", "users"])
    assert run.tallies() == sb.bulk_truth(streams=["streams", "users"])
    assert sb.stats["faults"].get("401", 0) > 0
    assert sb.stats["tokens_issued"] > 1


def test_unpublished_days_hold_the_bookmark_then_a_later_run_gets_them(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 8), unpublished_days=3, today=D(2024, 3, 9))
    # Published: up to 2024-03-06; 03-07 and 03-08 answer 404 and lie in the lookback tail.
    first = run_tap(sb.tap_config(lookback_days=3), streams=["streams", "tracks", *SHAPES])
    assert first.tallies() == sb.bulk_truth(end=D(2024, 3, 6),
                                            streams=["streams", "tracks", *SHAPES])
    for name in ["streams", "tracks", *SHAPES]:
        assert first.bookmark(name) == "2024-03-06", name
    sb.options.unpublished_days = 0
    sb.options.today = D(2024, 3, 10)
    second = run_tap(sb.tap_config(lookback_days=3), state=first.state,
                     streams=["streams", "tracks", *SHAPES])
    # Reads [bookmark + 1 - 3, end] = 2024-03-04 .. 2024-03-08.
    window = sb.bulk_truth(start=D(2024, 3, 4), end=D(2024, 3, 8),
                           streams=["streams", "tracks", *SHAPES])
    assert second.tallies() == {k: v for k, v in window.items() if v["count"]}
    assert second.dates("tracks")[0] >= "2024-03-04"
    for name in ["streams", "tracks", *SHAPES]:
        assert second.bookmark(name) == "2024-03-08", name


def test_second_run_reads_only_lookback_window_and_new_days(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 10), empty_day_rate=0.0)
    names = ["users", "sub30sec_streams", "aggregated_streams_skips"]
    first = run_tap(sb.tap_config(end_date="2024-03-07"), streams=names)
    assert first.tallies() == sb.bulk_truth(end=D(2024, 3, 7), streams=names)
    second = run_tap(sb.tap_config(end_date="2024-03-10", lookback_days=2),
                     state=first.state, streams=names)
    assert_valid(second)
    for name in names:
        assert second.dates(name) == ["2024-03-06", "2024-03-07", "2024-03-08",
                                      "2024-03-09", "2024-03-10"]
    assert second.tallies() == sb.bulk_truth(start=D(2024, 3, 6), end=D(2024, 3, 10),
                                             streams=names)
    third = run_tap(sb.tap_config(end_date="2024-03-10", lookback_days=0),
                    state=second.state, streams=names)
    assert not third.records  # nothing after the bookmark
    assert third.bookmark("users") == "2024-03-10"


def test_old_state_shapes_still_load(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 5), empty_day_rate=0.0)
    state = {"bookmarks": {
        "users": {"replication_key": "report_date",
                  "replication_key_value": "2024-03-03T00:00:00+00:00",
                  "progress_markers": {"Note": "old", "replication_key": "report_date",
                                       "replication_key_value": "2024-03-02"}},
        "tracks": {"replication_key_value": "2024-03-04", "starting_replication_value": "x"},
    }}
    run = run_tap(sb.tap_config(lookback_days=0), state=state, streams=["users", "tracks"])
    assert run.dates("users") == ["2024-03-04", "2024-03-05"]
    assert run.dates("tracks") == ["2024-03-05"]
    assert run.bookmark("users") == run.bookmark("tracks") == "2024-03-05"
    assert "progress_markers" not in run.state["bookmarks"]["users"]


def test_countries_filter(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 3))
    run = run_tap(sb.tap_config(countries=["se", "NO"]), streams=["streams", "sub30sec_streams"])
    truth = sb.bulk_truth(streams=["streams", "sub30sec_streams"], countries=["SE", "NO"])
    assert run.tallies() == truth
    assert {r["country"] for r in run.records["streams"]} <= {"SE", "NO"}
    files = [e["path"] for e in sb.request_log if e["path"].count("/") == 9
             and e["path"].startswith("/v1/")]
    assert files
    assert {p.rsplit("/", 1)[1] for p in files} <= {"SE", "NO"}


def test_output_is_deterministic_whatever_max_workers(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 3), latency_ms=5)
    config = sb.tap_config()
    outputs = [run_tap({**config, "max_workers": n}).raw for n in (8, 1, 8)]
    stripped = [_PER_RUN.sub(b"", _TIME_EXTRACTED.sub(b"", raw)) for raw in outputs]
    assert stripped[0] == stripped[1] == stripped[2]


def test_sdk_path_for_stream_maps_and_deselected_fields(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 2))
    config = sb.tap_config(stream_maps={"users": {"os": "__NULL__", "device": "device_type"}})
    run = run_tap(config, streams=["users", "tracks"])
    users = run.records["users"]
    assert users
    assert all("os" not in r and r["device"] == r["device_type"] for r in users)
    assert run.tallies()["users"] == sb.bulk_truth(streams=["users"])["users"]
    assert run.tallies()["tracks"] == sb.bulk_truth(streams=["tracks"])["tracks"]


def test_wrong_licensor_and_bad_credentials_fail_clearly(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 1))
    with pytest.raises(AccessError, match=r"licensor `nobody`.*check `licensor`"):
        run_tap(sb.tap_config(licensor="nobody"), streams=["users"])
    with pytest.raises(AuthError, match="`client_id`"):
        run_tap(sb.tap_config(client_secret="wrong"), streams=["users"])


def test_file_that_stays_corrupt_fails_without_committing_the_date(sandbox_factory,
                                                                  monkeypatch):
    monkeypatch.setattr("tap_spotify_bulk.http.backoff_delay", lambda attempt: 0.0)
    sb = sandbox_factory(end=D(2024, 3, 2), empty_day_rate=0.0,
                         faults=FaultOptions(rate_truncated_gzip=1.0, fault_attempts=99))
    with pytest.raises(DataError, match=r"users/2024/03/01: corrupt gzip after \d+ downloads"):
        run_tap(sb.tap_config(), streams=["users"])


def test_batch_mode_writes_one_batch_per_date_before_its_state(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 3), empty_day_rate=0.0)
    batch = {"encoding": {"format": "jsonl", "compression": "gzip"},
             "storage": {"root": f"file://{tmp_path}", "prefix": "b-"}, "batch_size": 700}
    names = ["tracks", "aggregated_streams_count", "aggregated_streams_skips"]
    run = run_tap(sb.tap_config(batch_config=batch), streams=names)
    assert not run.records
    landed: dict[str, list[dict]] = defaultdict(list)
    batch_dates: dict[str, list[str]] = defaultdict(list)
    for message in run.messages:
        if message["type"] == "BATCH":
            dates = set()
            for url in message["manifest"]:
                path = url.removeprefix("file://")
                assert path.startswith(f"{tmp_path}/b-")
                with gzip.open(path) as lines:
                    records = [orjson.loads(line) for line in lines]
                assert 0 < len(records) <= 700
                landed[message["stream"]] += records
                dates |= {r["report_date"] for r in records}
            assert len(dates) == 1  # one date per BATCH message
            batch_dates[message["stream"]] += dates
        elif message["type"] == "STATE":  # a date's STATE follows its BATCH
            for name in names:
                bookmark = message["value"].get("bookmarks", {}).get(name, {})
                if bookmark:
                    assert batch_dates[name][-1] == bookmark["replication_key_value"]
    tallies = {name: Tally.for_bulk_stream(name).add_all(records).summary()
               for name, records in landed.items()}
    assert tallies == sb.bulk_truth(streams=names)
    assert batch_dates["tracks"] == ["2024-03-01", "2024-03-02", "2024-03-03"]


def test_deselected_properties_are_left_out(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 2))
    config = sb.tap_config()
    cat = catalog(config, ["users"])
    for entry in cat["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "users" and item["breadcrumb"] == ["properties", "os"]:
                item["metadata"]["selected"] = False
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    with contextlib.redirect_stdout(text):
        TapSpotifyBulk(config=config, catalog=cat).sync_all()
    text.flush()
    run = Run(raw.getvalue(), resumed=False)
    assert run.records["users"]
    assert all("os" not in r for r in run.records["users"])
    assert "os" not in run.schemas["users"]["schema"]["properties"]
    assert run.tallies()["users"] == sb.bulk_truth(streams=["users"])["users"]


def test_record_count_metrics_match_the_records(sandbox_factory, caplog):
    sb = sandbox_factory(end=D(2024, 3, 2))
    names = ["tracks", "aggregated_streams_summary", "aggregated_streams_saves"]
    with caplog.at_level("INFO", logger="singer_sdk.metrics"):
        run = run_tap(sb.tap_config(), streams=names)
    counts = {}
    for record in caplog.records:
        message = record.getMessage()
        if message.startswith("METRIC: ") and '"record_count"' in message:
            point = json.loads(message.removeprefix("METRIC: "))
            counts[point["tags"]["stream"]] = point["value"]
    assert counts == {name: len(run.records[name]) for name in names}
