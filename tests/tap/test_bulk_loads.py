"""The load marker: `load_id` on every Bulk record and the `bulk_loads` manifest, checked
against the sandbox's ground truth per stream and day."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import typing as t
from collections import Counter, defaultdict

import jsonschema
import orjson
from helpers import SCHEMA_DIR
from spotify_sandbox.tally import BULK_PRIMARY_KEYS

from tap_spotify_bulk.bulk.aggregated import SHAPES
from tap_spotify_bulk.tap import TapSpotifyBulk

D = dt.date
LOADS = "bulk_loads"
LOADS_SCHEMA = json.loads((SCHEMA_DIR / f"{LOADS}.json").read_text())
COUNTRY_STREAMS = {"streams", "sub30sec_streams"}


def sync(config: dict, streams: t.Iterable[str] | None = None,
         state: dict | None = None) -> list[dict]:
    """The Singer messages of one in-process sync with only `streams` selected (all: None)."""
    tap = TapSpotifyBulk(config=config, state=state, parse_env_config=False)
    if streams is not None:
        wanted = set(streams)
        for name, stream in tap.streams.items():
            stream.selected = name in wanted
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    with contextlib.redirect_stdout(text):
        tap.sync_all()
    text.flush()
    return [orjson.loads(line) for line in raw.getvalue().splitlines()]


def records_of(messages: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for message in messages:
        if message["type"] == "RECORD":
            found[message["stream"]].append(message["record"])
    return found


def day_counts(records: list[dict]) -> Counter[str]:
    return Counter(r["report_date"] for r in records)


def assert_schema_before_records(messages: list[dict]) -> None:
    announced: set[str] = set()
    for message in messages:
        if message["type"] == "SCHEMA":
            announced.add(message["stream"])
        elif message["type"] == "RECORD":
            assert message["stream"] in announced, f"{message['stream']}: RECORD before SCHEMA"


def assert_manifest_follows_records_and_precedes_state(messages: list[dict]) -> None:
    """A manifest record comes after every record of its (stream, day) and before any STATE
    that moves that stream's bookmark to the day or later."""
    last_record: dict[tuple[str, str], int] = {}
    manifest_at: dict[tuple[str, str], int] = {}
    for index, message in enumerate(messages):
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        if message["stream"] == LOADS:
            manifest_at.setdefault((record["stream"], record["report_date"]), index)
        else:
            last_record[(message["stream"], record["report_date"])] = index
    for key, index in manifest_at.items():
        assert last_record.get(key, -1) < index, f"{key}: a record after its manifest"
    for index, message in enumerate(messages):
        if message["type"] != "STATE":
            continue
        for name, value in message["value"].get("bookmarks", {}).items():
            bookmark = value.get("replication_key_value")
            for (stream, day), at in manifest_at.items():
                if stream == name and bookmark and day <= bookmark:
                    assert at < index or not any(
                        m["type"] == "RECORD" and m["stream"] == name
                        and m["record"]["report_date"] == day for m in messages[:index]
                    ), f"{name} {day}: STATE moved past the day before its manifest"


def test_one_manifest_record_per_stream_and_day_with_data(sandbox):
    """Seed 7 has no data on 2024-03-02 (404): no manifest there; every other day of every
    selected stream has exactly one, with the counts of what was emitted (= the truth)."""
    selected = ["streams", "users", "tracks", "aggregated_streams_count",
                "aggregated_streams_skips"]
    messages = sync(sandbox.tap_config(max_workers=3), streams=[*selected, LOADS])
    records = records_of(messages)
    manifest = records.pop(LOADS)
    validator = jsonschema.Draft7Validator(
        LOADS_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    for row in manifest:
        assert not list(validator.iter_errors(row)), row
    keys = Counter((r["stream"], r["report_date"], r["country_scope"], r["load_id"])
                   for r in manifest)
    assert max(keys.values()) == 1
    assert {r["country_scope"] for r in manifest} == {"*"}
    load_ids = {r["load_id"] for rows in records.values() for r in rows}
    assert len(load_ids) == 1
    assert {r["load_id"] for r in manifest} == load_ids
    licensors = {r["licensor"] for rows in (*records.values(), manifest) for r in rows}
    assert licensors == {sandbox.options.licensor}
    assert set(records) == set(selected)
    truth = sandbox.bulk_truth(streams=selected)
    for name in selected:
        emitted = day_counts(records[name])
        claimed = {r["report_date"]: r["records"] for r in manifest if r["stream"] == name}
        assert claimed == dict(emitted), name
        assert "2024-03-02" not in claimed
        assert sum(claimed.values()) == truth[name]["count"], name
    for row in manifest:
        assert row["files"] >= 1
        assert row["bytes"] > 0
        # UTC instants written with `Z`; the read of a day starts after its load did
        started, finished = (dt.datetime.fromisoformat(row[key])
                             for key in ("started_at", "finished_at"))
        assert row["started_at"].endswith("Z") and row["finished_at"].endswith("Z")
        load_start = dt.datetime.strptime(row["load_id"][:22], "%Y%m%dT%H%M%S.%f")
        assert load_start.replace(tzinfo=dt.UTC) <= started <= finished
        if row["stream"] in COUNTRY_STREAMS:
            countries = sorted({r["country"] for r in records[row["stream"]]
                                if r["report_date"] == row["report_date"]})
            assert row["countries"] == countries
            assert row["files"] == len(countries)
        else:
            assert row["countries"] is None
            assert row["files"] == 1
    skips = {r["report_date"]: r["bytes"] for r in manifest
             if r["stream"] == "aggregated_streams_skips"}
    assert skips == {r["report_date"]: r["bytes"] for r in manifest
                     if r["stream"] == "aggregated_streams_count"}  # one shared file
    assert_manifest_follows_records_and_precedes_state(messages)
    assert_schema_before_records(messages)
    # The manifest's SCHEMA: the SDK's own when it syncs the stream, and the one before the
    # load's first manifest record; not one per read or per date.
    assert sum(m["type"] == "SCHEMA" and m["stream"] == LOADS for m in messages) <= 2


def test_countries_setting_gives_one_record_per_configured_country(sandbox):
    """`countries`: one manifest record per configured country and day, even for a country
    the API did not list (IS is not in the sandbox): that one says no file, no record."""
    config = sandbox.tap_config(countries=["SE", "NO", "IS"])
    messages = sync(config, streams=["streams", "users", LOADS])
    records = records_of(messages)
    manifest = records.pop(LOADS)
    # Every day but the one without data (a 404 listing), also days with no SE/NO file.
    days = [f"2024-03-{day:02d}" for day in range(1, 11) if day != 2]
    assert set(day_counts(records["streams"])) < set(days)
    streams_rows = [r for r in manifest if r["stream"] == "streams"]
    assert sorted((r["report_date"], r["country_scope"]) for r in streams_rows) == [
        (day, code) for day in days for code in ("IS", "NO", "SE")]
    by_key = Counter((r["report_date"], r["country"]) for r in records["streams"])
    for row in streams_rows:
        expected = by_key[(row["report_date"], row["country_scope"])]
        assert row["records"] == expected
        assert row["files"] == (1 if expected else 0)
        assert row["countries"] == ([row["country_scope"]] if expected else [])
        if row["country_scope"] == "IS":
            assert (row["files"], row["records"], row["bytes"]) == (0, 0, 0)
    assert {r["country_scope"] for r in manifest if r["stream"] == "users"} == {"*"}
    truth = sandbox.bulk_truth(streams=["streams"], countries=["SE", "NO"])["streams"]
    assert sum(r["records"] for r in streams_rows) == truth["count"]


def test_load_id_is_constant_in_a_run_and_grows_across_runs(sandbox):
    config = sandbox.tap_config(lookback_days=2)
    first = sync(config, streams=["users", LOADS])
    state = [m["value"] for m in first if m["type"] == "STATE"][-1]
    second = sync(config, streams=["users", LOADS], state=state)
    ids = []
    for messages in (first, second):
        found = {m["record"]["load_id"] for m in messages if m["type"] == "RECORD"}
        assert len(found) == 1
        ids.append(found.pop())
    assert ids[0] < ids[1]
    # The second run re-read the lookback days: their manifest names the newer load.
    again = [m["record"] for m in second if m["type"] == "RECORD" and m["stream"] == LOADS]
    assert [r["report_date"] for r in again] == ["2024-03-09", "2024-03-10"]


def test_unpublished_days_get_no_manifest_and_a_deselected_manifest_nothing(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 6), today=D(2024, 3, 7), unpublished_days=2,
                         empty_day_rate=0.0)
    messages = sync(sb.tap_config(lookback_days=3), streams=["tracks", "streams", LOADS])
    manifest = records_of(messages)[LOADS]
    assert {r["report_date"] for r in manifest} == {
        "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"}
    assert Counter(r["stream"] for r in manifest) == {"tracks": 5, "streams": 5}
    quiet = sync(sb.tap_config(lookback_days=3), streams=["tracks"])
    assert LOADS not in records_of(quiet)
    assert all(r["load_id"] for r in records_of(quiet)["tracks"])


def test_aggregated_shapes_get_their_own_manifest_from_one_read(sandbox):
    messages = sync(sandbox.tap_config(), streams=[*SHAPES, LOADS])
    records = records_of(messages)
    manifest = records.pop(LOADS)
    for name in SHAPES:
        claimed = {r["report_date"]: r["records"] for r in manifest if r["stream"] == name}
        assert claimed == dict(day_counts(records[name])), name
    assert set(BULK_PRIMARY_KEYS) >= set(records)
    assert_manifest_follows_records_and_precedes_state(messages)
    assert_schema_before_records(messages)
