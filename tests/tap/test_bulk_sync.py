"""Bulk streams against the real sandbox server, run in-process.

Every sync is compared with the sandbox's ground truth through `Tally`, every record is
validated against its stream's schema, and primary keys must be unique within a run.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter, defaultdict

import orjson
import pytest
from helpers.run import catalog, run_tap
from helpers.singer import assert_valid, tally
from spotify_sandbox import FaultOptions

from tap_spotify_bulk.errors import AccessError, AuthError, DataError

D = dt.date
BULK_STREAMS = ("streams", "sub30sec_streams", "users", "tracks", "aggregated_streams_summary",
                "aggregated_streams_count", "aggregated_streams_skips",
                "aggregated_streams_saves")  # api-contract §5.1
AGGREGATED = BULK_STREAMS[4:]
_TIME_EXTRACTED = re.compile(rb',"time_extracted":"[^"]*"')
_PER_RUN = re.compile(rb'"load_id":"[^"]*"|\{"type":"RECORD","stream":"bulk_loads".*\n')


def test_full_sync_matches_ground_truth(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 6), empty_day_rate=0.2)
    run = run_tap(sb.tap_config(max_workers=4))
    truth = sb.bulk_truth()
    assert set(truth) == set(BULK_STREAMS)
    assert run.tallies() == truth
    assert_valid(run)
    for name in BULK_STREAMS:
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
    first = run_tap(sb.tap_config(lookback_days=3), streams=["streams", "tracks", *AGGREGATED])
    assert first.tallies() == sb.bulk_truth(end=D(2024, 3, 6),
                                            streams=["streams", "tracks", *AGGREGATED])
    for name in ["streams", "tracks", *AGGREGATED]:
        assert first.bookmark(name) == "2024-03-06", name
    sb.options.unpublished_days = 0
    sb.options.today = D(2024, 3, 10)
    second = run_tap(sb.tap_config(lookback_days=3), state=first.state,
                     streams=["streams", "tracks", *AGGREGATED])
    # Reads [bookmark + 1 - 3, end] = 2024-03-04 .. 2024-03-08.
    window = sb.bulk_truth(start=D(2024, 3, 4), end=D(2024, 3, 8),
                           streams=["streams", "tracks", *AGGREGATED])
    assert second.tallies() == {k: v for k, v in window.items() if v["count"]}
    assert second.dates("tracks")[0] >= "2024-03-04"
    for name in ["streams", "tracks", *AGGREGATED]:
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


def without(records: list[dict], *names: str) -> list[dict]:
    """The records without `names` and without the per-run `load_id`."""
    dropped = {"load_id", *names}
    return [{k: v for k, v in r.items() if k not in dropped} for r in records]


def test_sdk_path_for_stream_maps_and_deselected_fields(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 2))
    plain = run_tap(sb.tap_config(), streams=["users", "tracks"])
    assert plain.tallies() == sb.bulk_truth(streams=["users", "tracks"])
    config = sb.tap_config(stream_maps={"users": {"os": "__NULL__", "device": "device_type"}})
    run = run_tap(config, streams=["users", "tracks"])
    users = run.records["users"]
    assert users
    assert all("os" not in r and r["device"] == r["device_type"] for r in users)
    # Everything else is what the plain run (equal to the truth) emitted.
    assert without(users, "device") == without(plain.records["users"], "os")
    assert run.tallies()["tracks"] == plain.tallies()["tracks"]


def test_wrong_licensor_and_bad_credentials_fail_clearly(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 1))
    with pytest.raises(AccessError, match=r"licensor `nobody`.*check `licensor`"):
        run_tap(sb.tap_config(licensor="nobody"), streams=["users"])
    with pytest.raises(AuthError, match="`client_id`"):
        run_tap(sb.tap_config(client_secret="wrong"), streams=["users"])


def test_the_same_keys_with_another_type_are_typed_line_by_line(sandbox_factory):
    """Lines with the same keys as a well-typed one but a value of another JSON type: the
    column is null and the raw value lands in `extra`, on every such line (the truth
    follows the served content and compares types: "1985" is not 1985)."""
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    user = {"user_id": "u1", "country": "SE", "region": "SE-01", "birth_year": 1985,
            "gender": "female", "product": "free", "device_type": "mobile", "os": "ios"}
    lines = [user, {**user, "user_id": "u2", "birth_year": "1985"},
             {**user, "user_id": "u3", "birth_year": 1990.0, "x_new": {"a": [1]}},
             {**user, "user_id": "u4", "region": 7}, {**user, "user_id": "u5"}]
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    sb.options.overrides = {"/gyrostream/enhanced/users/2024/03/01": gzip.compress(body)}
    run = run_tap(sb.tap_config(), streams=["users"])
    assert run.tallies() == sb.bulk_truth(streams=["users"])
    records = run.records["users"]
    assert [(r["birth_year"], r["region"], r["extra"]) for r in records] == [
        (1985, "SE-01", None), (None, "SE-01", {"birth_year": "1985"}),
        (None, "SE-01", {"birth_year": 1990.0, "x_new": {"a": [1]}}),
        (1985, None, {"region": 7}), (1985, "SE-01", None)]


def test_aggregated_counts_of_another_type_are_null_line_by_line(sandbox_factory):
    """The same nesting with a count of another type ("7", 7.0): that value and the total
    it belongs to are null, on every line; the well-typed line beside it is untouched."""
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)

    def line(href: str, age_value: object, skips: object) -> dict:
        return {"trackv2": {"href": href, "isrc": "I", "name": "N"},
                "streams": {"country": {"SE": {"total": 7, "gender": {
                    "female": {"total": 7, "age": {"18-22": age_value}}}}}},
                "skips": {"country": {"SE": {"total": skips}}}}

    lines = [line("h1", 7, 2), line("h2", "7", 2.0), line("h3", 7.0, "2"), line("h4", 7, 2)]
    body = b"".join(orjson.dumps(item) + b"\n" for item in lines)
    sb.options.overrides = {"/gyrostream/enhanced/aggregatedstreams/2024/03/01":
                            gzip.compress(body)}
    names = ["aggregated_streams_summary", "aggregated_streams_count",
             "aggregated_streams_skips"]
    run = run_tap(sb.tap_config(), streams=names)
    assert run.tallies() == sb.bulk_truth(streams=names)
    assert [r["streams"] for r in run.records["aggregated_streams_count"]] == [7, None, None, 7]
    assert [r["skips"] for r in run.records["aggregated_streams_summary"]] == [2, None, None, 2]


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
    tallies = {name: tally(name, records) for name, records in landed.items()}
    assert tallies == sb.bulk_truth(streams=names)
    assert batch_dates["tracks"] == ["2024-03-01", "2024-03-02", "2024-03-03"]


def test_deselected_properties_are_left_out(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 2))
    config = sb.tap_config()
    plain = run_tap(config, streams=["users"])
    assert plain.tallies() == sb.bulk_truth(streams=["users"])
    cat = catalog(config, ["users"])
    for entry in cat["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "users" and item["breadcrumb"] == ["properties", "os"]:
                item["metadata"]["selected"] = False
    run = run_tap(config, catalog_dict=cat)
    assert run.records["users"]
    assert "os" not in run.schemas["users"]["schema"]["properties"]
    assert without(run.records["users"]) == without(plain.records["users"], "os")


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
    assert run.tallies() == sb.bulk_truth(streams=names)


def test_the_log_says_what_became_of_each_date(sandbox_factory):
    """One INFO line per date that is not read as usual: empty (404), not published yet (the
    bookmark held), a run of days not listed, and a run with nothing left to read."""
    sb = sandbox_factory(end=D(2024, 3, 10), today=D(2024, 3, 11), unpublished_days=2)
    bulk = "INFO tap_spotify_bulk.bulk users: "
    assert sb.app.data.day(D(2024, 3, 2)) is None  # seed 7: no data that day
    short = run_tap(sb.tap_config(start_date="2024-03-01", lookback_days=2), streams=["users"])
    for line in ("reading 2024-03-01 to 2024-03-10", "2024-03-02 has no data (404)",
                 "2024-03-10 is not published yet (404); the bookmark stays before it so the "
                 "next run reads it again"):
        assert bulk + line + "\n" in short.logs, line
    assert short.bookmark("users") == "2024-03-09"
    first = sum(r["report_date"] == "2024-03-01" for r in short.records["users"])
    assert f"{bulk}users/2024/03/01: {first} records\n" in short.logs
    walked = run_tap(sb.tap_config(start_date="2024-02-01", lookback_days=0), streams=["users"])
    assert bulk + "2024-02-01 to 2024-02-29 are not listed (no data)\n" in walked.logs
    done = run_tap(sb.tap_config(lookback_days=0), state=walked.state, streams=["users"])
    assert bulk + ("nothing to read (next date 2024-03-11 is after the end date 2024-03-10)\n"
                   ) in done.logs
    assert done.dates("users") == []
    names = ["aggregated_streams_count", "aggregated_streams_skips"]
    shared = run_tap(sb.tap_config(start_date="2024-03-01", end_date="2024-03-01"), streams=names)
    counts = ", ".join(f"{name} {len(shared.records[name])}" for name in names)
    assert re.search(r"INFO tap_spotify_bulk.bulk aggregated streams: "
                     rf"aggregatedstreams/2024/03/01: \d+ lines, {counts}\n", shared.logs)


def test_streams_sharing_a_read_each_start_from_their_own_bookmark(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 5), empty_day_rate=0.0)
    ahead, behind = "aggregated_streams_count", "aggregated_streams_skips"
    state = {"bookmarks": {ahead: {"replication_key": "report_date",
                                   "replication_key_value": "2024-03-03"}}}
    run = run_tap(sb.tap_config(lookback_days=0), state=state, streams=[ahead, behind])
    assert run.dates(ahead) == ["2024-03-04", "2024-03-05"]
    assert run.tallies()[ahead] == sb.bulk_truth(start=D(2024, 3, 4), streams=[ahead])[ahead]
    assert run.tallies()[behind] == sb.bulk_truth(streams=[behind])[behind]
    assert run.bookmark(ahead) == run.bookmark(behind) == "2024-03-05"


def test_a_state_follows_each_date_that_moves_the_bookmark_and_no_other(sandbox_factory):
    # 2024-03-02 has no data (404), 2024-03-10 is not published yet and holds the bookmark.
    sb = sandbox_factory(end=D(2024, 3, 10), today=D(2024, 3, 11), unpublished_days=2)
    run = run_tap(sb.tap_config(lookback_days=2), streams=["users"])
    order: list[tuple[str, str]] = []  # each date's records (once) and each STATE's bookmark
    for message in run.messages:
        if message["type"] == "STATE":
            order.append(("state", message["value"]["bookmarks"]["users"]
                          ["replication_key_value"]))
        elif message["type"] == "RECORD":
            day = message["record"]["report_date"]
            if order[-1:] != [("records", day)]:
                order.append(("records", day))
    expected = []
    for number in range(1, 10):
        day = f"2024-03-{number:02d}"
        expected += [("records", day)] * (day in run.dates("users")) + [("state", day)]
    assert order == expected
    assert run.tallies()["users"] == sb.bulk_truth(end=D(2024, 3, 9), streams=["users"])["users"]


def test_an_empty_aggregated_file_is_read_as_zero_lines(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 1))
    path = f"/{sb.options.licensor}/enhanced/aggregatedstreams/2024/03/01"
    sb.options.overrides = {path: gzip.compress(b"")}
    names = ["aggregated_streams_count", "aggregated_streams_skips"]
    run = run_tap(sb.tap_config(), streams=names)
    assert not any(run.records.get(name) for name in names)
    assert run.bookmark(names[0]) == run.bookmark(names[1]) == "2024-03-01"
    assert ("INFO tap_spotify_bulk.bulk aggregated streams: aggregatedstreams/2024/03/01: 0 lines, "
            "aggregated_streams_count 0, aggregated_streams_skips 0\n") in run.logs
