"""Independent contract audit of the Bulk side (api-contract §2-§5.2): behaviours a different,
still-conforming server may show, reproduced with the sandbox's options and overrides."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re

import orjson
import pytest
from helpers.run import run_cli, run_tap
from helpers.singer import assert_valid

from tap_spotify_bulk.auth import TokenClient
from tap_spotify_bulk.bulk.files import GzipCheck, read_lines
from tap_spotify_bulk.bulk.runtime import BulkRuntime
from tap_spotify_bulk.errors import DataError
from tap_spotify_bulk.tap import TapSpotifyBulk, validate_settings

D = dt.date
BASE = "/gyrostream/enhanced"
DOWNLOADS_OF_A_CORRUPT_FILE = 4  # the README promises four downloads before the run fails
MAX_WORKERS_USED = 64  # the README: "at most 64 are used"


def test_signed_urls_on_another_host_never_see_the_token(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 2), signed_url_host="localhost", empty_day_rate=0.0)
    run = run_tap(sb.tap_config(), streams=["users", "streams"])
    assert run.tallies() == sb.bulk_truth(streams=["users", "streams"])
    signed = [e for e in sb.request_log if e["path"].startswith("/signed")]
    assert signed
    assert not any(e["auth"] for e in signed)


def test_empty_gzip_file_and_crlf_lines(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 2), empty_day_rate=0.0)
    sb.options.overrides = {
        f"{BASE}/users/2024/03/01": gzip.compress(b""),
        f"{BASE}/users/2024/03/02": gzip.compress(b'{"user_id": "a"}\r\n\r\n{"user_id": "b"}\r\n'),
    }
    run = run_tap(sb.tap_config(), streams=["users"])
    assert_valid(run)
    assert [(r["report_date"], r["row_number"], r["user_id"]) for r in run.records["users"]] == [
        ("2024-03-02", 1, "a"), ("2024-03-02", 2, "b")]
    assert run.bookmark("users") == "2024-03-02"


def test_listing_with_absolute_uris_and_extra_keys(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    listing = [{"uri": f"{sb.bulk_api_url}{BASE}/streams/2024/03/01/SE", "size": 3,
                "children": None}]
    sb.options.overrides = {f"{BASE}/streams/2024/03/01": orjson.dumps(listing)}
    run = run_tap(sb.tap_config(countries=["SE"]), streams=["streams"])
    assert run.tallies() == sb.bulk_truth(streams=["streams"], countries=["SE"])


def test_refresh_token_in_a_client_credentials_answer_is_not_used(sandbox_factory):
    # RFC 6749 allows (discourages) a refresh_token in a client-credentials answer; the Bulk
    # side must keep using its own grant when it refreshes.
    sb = sandbox_factory(end=D(2024, 3, 2), empty_day_rate=0.0, token_lifetime=1,
                         token_answer_extra={"refresh_token": "bulk-rt", "token_type": "bearer"})
    client = TokenClient(token_url=sb.token_url, client_id="sandbox-client",
                         client_secret="sandbox-secret", api_name="Bulk API")
    first = client.token()
    client.invalidate(first)
    assert client.token() != first
    assert sb.stats["tokens_by_grant"] == {"client_credentials": 2}


@pytest.mark.parametrize(("content", "option"), [
    (None, "--config"),            # missing file
    (b"{not json", "--config"),
    (b"[1, 2]", "--config"),       # JSON, but not an object
    (b"{not json", "--state"),
    (b"{not json", "--catalog"),
])
def test_unreadable_input_files_are_one_line_errors(tmp_path, content, option):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"client_id": "i", "client_secret": "s", "licensor": "l",
                                "token_url": "http://127.0.0.1:9/api/token",
                                "bulk_api_url": "http://127.0.0.1:9/v1/analytics"}))
    odd = tmp_path / "odd.json"
    if content is not None:
        odd.write_bytes(content)
    args = ["--config", str(odd)] if option == "--config" else [
        "--config", str(good), option, str(odd)]
    for extra in ([], ["--discover"]) if option == "--config" else ([],):
        result = run_cli(tmp_path, None, args=[*args, *extra])
        assert result.returncode == 2
        line = result.error_line()
        assert option in line and "odd.json" in line


def test_file_cut_mid_line_inside_a_valid_gzip_is_downloaded_again_then_fails(sandbox_factory):
    # A server (or proxy) that closes the gzip cleanly after cutting the text: every gzip
    # check passes, only the last line is incomplete. api-contract §4.3: retried, then the run fails
    # with path and line number, and nothing of that file is emitted.
    sb = sandbox_factory(end=D(2024, 3, 2), empty_day_rate=0.0)
    path = f"{BASE}/users/2024/03/02"
    sb.options.overrides = {path: gzip.compress(b'{"user_id": "a"}\n\n{"user_id": "b", "co')}
    run = run_tap(sb.tap_config(lookback_days=0), streams=["users"], sandbox=sb,
                  expect_error=True)
    assert isinstance(run.error, DataError)
    assert re.search(r"users/2024/03/02: .*line 3", str(run.error)), run.error
    assert {r["report_date"] for r in run.records["users"]} == {"2024-03-01"}
    gets = [e for e in sb.request_log if e["path"] == "/v1/analytics" + path]
    assert len(gets) == DOWNLOADS_OF_A_CORRUPT_FILE


@pytest.mark.parametrize(("start", "end"), [
    (D(2023, 12, 31), D(2024, 1, 1)),   # year boundary
    (D(2024, 2, 28), D(2024, 3, 1)),    # leap day
])
def test_month_and_year_boundaries(sandbox_factory, start, end):
    sb = sandbox_factory(start=start, end=end, scale=100, empty_day_rate=0.0)
    streams = ["streams", "users", "aggregated_streams_count"]
    run = run_tap(sb.tap_config(countries=["SE", "US", "GB"]), streams=streams)
    assert_valid(run)
    assert run.tallies() == sb.bulk_truth(streams=streams, countries=["SE", "US", "GB"])
    days = {r["report_date"] for r in run.records["users"]}
    assert days == {(start + dt.timedelta(days=i)).isoformat()
                    for i in range((end - start).days + 1)}


def test_single_day_window_and_lookback_longer_than_the_history(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 3), empty_day_rate=0.0)
    config = sb.tap_config(start_date="2024-03-02", end_date="2024-03-02", lookback_days=30)
    first = run_tap(config, streams=["users"])
    assert first.dates("users") == ["2024-03-02"]
    assert first.bookmark("users") == "2024-03-02"
    again = run_tap(config, state=first.state, streams=["users"])  # reads 2024-02-02..03-02
    assert again.dates("users") == ["2024-03-01", "2024-03-02"]
    assert again.bookmark("users") == "2024-03-02"


def test_max_workers_has_no_upper_limit_in_the_contract(sandbox_factory, caplog):
    # api-contract §2: `max_workers` is an int >= 1. A large value is capped (with a warning), not
    # refused.
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    config = sb.tap_config(max_workers=500)
    validate_settings(config, bulk_selected=True, ads_selected=False)
    assert BulkRuntime(config).max_workers == MAX_WORKERS_USED
    run = run_tap(config, streams=["users"])
    assert run.tallies() == sb.bulk_truth(streams=["users"])
    assert "max_workers" in caplog.text


def test_gzip_file_sent_gzipped_once_more_is_unwrapped(sandbox_factory):
    # What a client that ignores Content-Encoding receives when the file is sent with
    # `Content-Encoding: gzip` on top (an object store holding a gzip uploaded with
    # transcoding): a gzip whose content is the gzip file itself.
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    inner = gzip.compress(b'{"user_id": "a"}\n{"user_id": "b"}\n')
    sb.options.overrides = {f"{BASE}/users/2024/03/01": gzip.compress(inner)}
    run = run_tap(sb.tap_config(), streams=["users"])
    assert [(r["row_number"], r["user_id"]) for r in run.records["users"]] == [
        (1, "a"), (2, "b")]


SPEC_KEYS = {  # api-contract §5.1, written out here rather than imported from the sandbox
    "streams": ["report_date", "country", "row_number"],
    "sub30sec_streams": ["report_date", "country", "row_number"],
    "users": ["report_date", "row_number"],
    "tracks": ["report_date", "row_number"],
    "aggregated_streams_summary": ["report_date", "track_href"],
    "aggregated_streams_count": ["report_date", "track_href", "country", "gender", "age_group"],
    "aggregated_streams_skips": ["report_date", "track_href", "country"],
    "aggregated_streams_saves": ["report_date", "track_href", "country", "product"],
}


def test_catalog_keys_and_replication_key_follow_the_spec():
    streams = {s["tap_stream_id"]: s for s in TapSpotifyBulk(config={}).catalog_dict["streams"]}
    for name, keys in SPEC_KEYS.items():
        top = next(m["metadata"] for m in streams[name]["metadata"] if m["breadcrumb"] == [])
        assert list(top["table-key-properties"]) == keys, name
        assert top["valid-replication-keys"] == ["report_date"], name
        assert streams[name]["replication_key"] == "report_date", name


def test_trailing_slash_base_url_and_an_empty_day_listing_before_the_tail(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 4), empty_day_rate=0.0)
    sb.options.overrides = {f"{BASE}/streams/2024/03/02": b"[]"}
    run = run_tap(sb.tap_config(bulk_api_url=sb.bulk_api_url + "/", lookback_days=1),
                  streams=["streams"])
    assert run.dates("streams") == ["2024-03-01", "2024-03-03", "2024-03-04"]
    assert run.bookmark("streams") == "2024-03-04"
    states = [s["bookmarks"]["streams"]["replication_key_value"] for s in run.states]
    assert states == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]


def test_lone_surrogate_escapes_are_valid_json_and_do_not_stop_the_run(sandbox_factory):
    # RFC 8259 §8.2: "\ud83d" alone (a name cut inside an emoji, as JSON.stringify writes
    # it) is valid JSON grammar. orjson refuses it; the line must still be read, also as the
    # last line of the file (the download check parses that one).
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    lines = (b'{"track_id": "t1", "track_name": "Hi \\ud83d", "x_\\udc00": 1}\n'
             b'{"track_id": "t2", "track_name": "Ok \\ud83d\\ude00"}\n'
             b'{"track_id": "t3", "album_name": "\\udfff"}')
    sb.options.overrides = {f"{BASE}/tracks/2024/03/01": gzip.compress(lines)}
    run = run_tap(sb.tap_config(), streams=["tracks"])
    assert_valid(run)
    records = run.records["tracks"]
    assert [r["track_id"] for r in records] == ["t1", "t2", "t3"]
    assert records[0]["track_name"] == "Hi \ufffd"
    assert records[0]["extra"] == {"x_\ufffd": 1}
    assert records[1]["track_name"] == "Ok \U0001f600"
    assert records[2]["album_name"] == "\ufffd"
    assert run.bookmark("tracks") == "2024-03-01"


@pytest.mark.parametrize("body", [b"{}", b"{}\n", b"\n"])
def test_files_shorter_than_a_gzip_header_once_inflated(tmp_path, body):
    path = tmp_path / "tiny.gz"
    path.write_bytes(gzip.compress(body))
    check = GzipCheck()
    check.feed(path.read_bytes())
    check.finish()
    assert [value for _, value in read_lines(path, "x")] == ([{}] if b"{" in body else [])


def test_signed_url_of_a_file_replaced_meanwhile_asks_the_api_again(sandbox_factory, tmp_path):
    # Restated data (api-contract §4.4/§5.2): the file behind a signed URL is replaced between the
    # API's 303 and the download, so the storage host answers 404 for the old object. The
    # API, asked again, serves the new file. (A response hook makes the switch at that exact
    # moment; both answers come from the real server.)
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    path = f"{BASE}/users/2024/03/01"
    restated = gzip.compress(b'{"user_id": "new"}\n')
    client = BulkRuntime(sb.tap_config()).client

    def replace_file(response, *args, **kwargs):
        if response.status_code == 303:
            sb.options.overrides = {path: restated}

    client.session.hooks["response"].append(replace_file)
    local = client.download("users/2024/03/01", tmp_path)
    assert local is not None
    assert [value for _, value in read_lines(local, "x")] == [{"user_id": "new"}]
    statuses = [(e["path"].split("?")[0][:8], e["status"]) for e in sb.request_log]
    assert statuses[-3:] == [("/v1/anal", 303), ("/signed/", 404), ("/v1/anal", 200)]
