"""Offline unit tests of the Bulk building blocks: dates, settings, files, records, fan-out."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zlib
from pathlib import Path

import jsonschema
import pytest
from helpers import SCHEMA_DIR, verify_gzip

from tap_spotify_bulk.bulk import aggregated, dates, files, settings
from tap_spotify_bulk.bulk.files import CorruptGzip, read_lines
from tap_spotify_bulk.bulk.records import LineShape
from tap_spotify_bulk.bulk.streams import SCHEMAS
from tap_spotify_bulk.errors import ConfigError, DataError

D = dt.date


# dates


def test_window_defaults_to_yesterday_and_week_before():
    window = settings.window({}, today=D(2024, 3, 10))
    assert window == dates.Window(None, D(2024, 3, 9))
    assert dates.stream_start(window, None, 3) == D(2024, 3, 2)


def test_absolute_dates_win_over_relative():
    config = {"start_date": "2024-03-01", "start_days_back": 2, "end_date": "2024-03-05",
              "end_days_back": 0}
    assert settings.window(config, today=D(2024, 3, 10)) == dates.Window(D(2024, 3, 1),
                                                                         D(2024, 3, 5))


def test_relative_dates_and_single_day():
    window = settings.window({"start_days_back": 0, "end_days_back": 0}, today=D(2024, 3, 10))
    assert window == dates.Window(D(2024, 3, 10), D(2024, 3, 10))


def test_bookmark_with_lookback():
    window = dates.Window(D(2024, 1, 1), D(2024, 3, 10))
    assert dates.stream_start(window, D(2024, 3, 8), 3) == D(2024, 3, 6)
    assert dates.stream_start(window, D(2024, 3, 8), 0) == D(2024, 3, 9)


def test_holds_bookmark_only_in_lookback_tail():
    end = D(2024, 3, 10)
    assert dates.holds_bookmark(D(2024, 3, 8), end, 3)
    assert not dates.holds_bookmark(D(2024, 3, 7), end, 3)
    assert not dates.holds_bookmark(D(2024, 3, 10), end, 0)


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ({"start_date": "2024-03-05", "end_date": "2024-03-01"}, "start_date"),
        ({"start_days_back": 1, "end_days_back": 3}, "start_days_back"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"lookback_days": -1}, "lookback_days"),
        ({"max_workers": 0}, "max_workers"),
        ({"countries": ["SE", "Sweden"]}, "countries"),
        ({"bulk_api_url": "ftp://x"}, "bulk_api_url"),
    ],
)
def test_bad_settings_name_the_setting(config, setting):
    with pytest.raises(ConfigError) as info:
        settings.validate(config, bulk_selected=False)
    assert f"`{setting}`" in str(info.value)
    assert "\n" not in str(info.value)


def test_credentials_required_only_when_selected():
    settings.validate({}, bulk_selected=False)
    with pytest.raises(ConfigError, match="`client_secret`"):
        settings.validate({"client_id": "a", "licensor": "x"}, bulk_selected=True)


def test_countries_are_upper_cased():
    assert settings.countries({"countries": ["se", "NO"]}) == {"SE", "NO"}
    assert settings.countries({}) is None


# files


def _gz(path: Path, text: bytes, **kwargs) -> Path:
    path.write_bytes(gzip.compress(text, **kwargs))
    return path


def test_read_lines_skips_blank_lines_and_numbers_the_others(tmp_path):
    body = b'{"a": 1}\n\n  \n{"a": 2}\r\n{"a": 3}'  # last line without newline
    path = _gz(tmp_path / "f.gz", body)
    verify_gzip(path)
    assert list(read_lines(path, "x")) == [(1, {"a": 1}), (2, {"a": 2}), (3, {"a": 3})]


def test_read_lines_handles_multi_member_gzip_and_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "READ_CHUNK", 7)
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b'{"n": 1}\n{"n"') + gzip.compress(b': 2}\n{"n": 3}\n'))
    verify_gzip(path)
    assert [row for row, _ in read_lines(path, "x")] == [1, 2, 3]
    assert [obj["n"] for _, obj in read_lines(path, "x")] == [1, 2, 3]


def test_truncated_and_garbage_gzip_are_detected(tmp_path):
    data = gzip.compress(b'{"a": 1}\n' * 1000)
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptGzip):
        verify_gzip(tmp_path / "cut.gz")
    (tmp_path / "crc.gz").write_bytes(data[:-8] + b"\0" * 8)
    with pytest.raises(CorruptGzip):
        verify_gzip(tmp_path / "crc.gz")
    (tmp_path / "junk.gz").write_bytes(b"not gzip at all")
    with pytest.raises(CorruptGzip):
        verify_gzip(tmp_path / "junk.gz")
    (tmp_path / "empty.gz").write_bytes(b"")
    with pytest.raises(CorruptGzip):
        verify_gzip(tmp_path / "empty.gz")


def test_bad_json_line_fails_with_path_and_line_number(tmp_path):
    path = _gz(tmp_path / "f.gz", b'{"a": 1}\n\n{"a": \n')
    with pytest.raises(DataError, match=r"streams/2024/03/07/SE: line 3 is not valid JSON"):
        list(read_lines(path, "streams/2024/03/07/SE"))
    path = _gz(tmp_path / "g.gz", b'{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match="line 2 is not a JSON object"):
        list(read_lines(path, "users/2024/03/07"))


def test_large_file_streams_in_chunks(tmp_path):
    line = json.dumps({"user_id": "u" * 40, "ms_played": 12345}).encode() + b"\n"
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    path = tmp_path / "big.gz"
    with path.open("wb") as out:
        for _ in range(50):
            out.write(comp.compress(line * 2000))
        out.write(comp.flush())
    verify_gzip(path)
    assert sum(1 for _ in read_lines(path, "x")) == 100_000


# records


def _schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text())


def test_schema_directory_has_all_eight_streams():
    names = sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
    assert names == sorted(["streams", "sub30sec_streams", "users", "tracks",
                            *aggregated.SHAPES, "bulk_loads"])
    assert SCHEMAS.get_schema("streams")["properties"]["report_date"]["format"] == "date"


def test_event_record_types_extra_and_country():
    schema = _schema("streams")
    build = LineShape(schema, partition_country=True).builder(
        licensor="gyro", report_date="2024-03-07", load_id="L1", country="SE",
        path="streams/2024/03/07/SE")
    clean = {"timestamp": "2024-03-07T10:00:00Z", "user_id": "u1", "track_id": "t1",
             "country": "SE", "ms_played": 1000, "cached": False, "offline_timestamp": None}
    record = build(dict(clean), 1)
    assert record == {**clean, "licensor": "gyro", "report_date": "2024-03-07",
                      "load_id": "L1", "row_number": 1, "extra": None}
    odd = {"user_id": "u2", "country": "NO", "ms_played": "12", "shuffle": 1, "new_key": [1]}
    record = build(dict(odd), 2)
    assert record["country"] == "SE"
    assert record["ms_played"] is None
    assert record["shuffle"] is None
    assert record["extra"] == {"country": "NO", "ms_played": "12", "shuffle": 1,
                               "new_key": [1]}
    for rec in (build(dict(clean), 3), build(dict(odd), 4), build({}, 5)):
        jsonschema.validate(rec, schema)


def test_users_keep_their_own_country_and_bool_is_not_int():
    schema = _schema("users")
    build = LineShape(schema, partition_country=False).builder(
        licensor="gyro", report_date="2024-03-07", load_id="L1", country=None,
        path="users/2024/03/07")
    record = build({"user_id": "u", "country": "NO", "birth_year": True,
                    "licensor": "other"}, 7)
    assert record["country"] == "NO"
    assert record["birth_year"] is None
    assert record["licensor"] == "gyro"
    assert record["extra"] == {"birth_year": True, "licensor": "other"}
    jsonschema.validate(record, schema)


# aggregated fan-out

LINE = {
    "date": "2024-03-06",
    "trackv2": {"name": "Song", "href": "https://open.spotify.com/track/abc", "isrc": "SE1"},
    "album": {"name": "Album", "href": "https://open.spotify.com/album/def"},
    "streams": {"country": {
        "SE": {"total": 5, "gender": {"male": {"total": 3, "age": {"18-22": 2, "60+": 1}},
                                       "female": {"total": 2, "age": {"0-17": 2}}}},
        "NO": {"total": 1, "gender": {}}}},
    "skips": {"country": {"SE": {"total": 4}}},
    "saves": {"country": {"SE": {"total": 3, "product": {"free": 1, "premium": 2}}}},
    "mystery": 1,
}


def _fan(shape: str, line: dict) -> list[dict]:
    base = aggregated.base_record(line, "gyro", "2024-03-07", 1, load_id="L1")
    return list(aggregated.FAN_OUT[shape](line, base))


def test_summary():
    (record,) = _fan(aggregated.SUMMARY, LINE)
    assert record == {
        "licensor": "gyro", "report_date": "2024-03-07", "load_id": "L1",
        "track_href": "https://open.spotify.com/track/abc", "track_isrc": "SE1",
        "track_name": "Song", "album_name": "Album",
        "album_href": "https://open.spotify.com/album/def",
        "streams": 6, "skips": 4, "saves": 3, "extra": {"mystery": 1},
        "streams_gender_male": 3, "streams_gender_female": 2, "streams_gender_neutral": 0,
        "streams_gender_unknown": 0, "streams_age_0_17": 2, "streams_age_18_22": 2,
        "streams_age_23_27": 0, "streams_age_28_34": 0, "streams_age_35_44": 0,
        "streams_age_45_59": 0, "streams_age_60_plus": 1, "streams_age_unknown": 0,
        "country_count": 2,
        "demographics": {"SE": {"male": {"18-22": 2, "60+": 1}, "female": {"0-17": 2}}},
    }
    jsonschema.validate(record, _schema(aggregated.SUMMARY))
    (bare,) = _fan(aggregated.SUMMARY, {"trackv2": {"href": "h"}})
    assert (bare["streams"], bare["skips"], bare["saves"], bare["extra"]) == (
        None, None, None, None)
    assert all(bare[column] is None for column in aggregated.NO_DEMOGRAPHICS)


def test_count_skips_saves():
    counts = _fan(aggregated.COUNT, LINE)
    assert sorted((r["country"], r["gender"], r["age_group"], r["streams"]) for r in counts) == [
        ("SE", "female", "0-17", 2), ("SE", "male", "18-22", 2), ("SE", "male", "60+", 1)]
    assert [(r["country"], r["skips"]) for r in _fan(aggregated.SKIPS, LINE)] == [("SE", 4)]
    assert sorted((r["product"], r["saves"]) for r in _fan(aggregated.SAVES, LINE)) == [
        ("free", 1), ("premium", 2)]
    for shape in aggregated.SHAPES:
        for record in _fan(shape, LINE):
            jsonschema.validate(record, _schema(shape))


def test_malformed_aggregated_levels_do_not_raise():
    line = {"streams": {"country": {"SE": "x", "NO": {"gender": {"male": {"age": [1]}}}}},
            "skips": [], "saves": {"country": {"SE": {"product": {"free": "1"}}}}}
    assert _fan(aggregated.COUNT, line) == []
    assert _fan(aggregated.SKIPS, line) == []
    assert [r["saves"] for r in _fan(aggregated.SAVES, line)] == [None]
    (summary,) = _fan(aggregated.SUMMARY, line)
    assert (summary["streams"], summary["skips"], summary["saves"]) == (0, None, 0)


def test_gzip_check_while_downloading():
    data = gzip.compress(b'{"a": 1}\n' * 5000) + gzip.compress(b'{"b": 2}\n')
    good = files.GzipCheck()
    for start in range(0, len(data), 1000):
        good.feed(data[start:start + 1000])
    good.finish()
    cut = files.GzipCheck()
    cut.feed(data[:-30])
    with pytest.raises(CorruptGzip, match="truncated"):
        cut.finish()
    with pytest.raises(CorruptGzip, match="empty"):
        files.GzipCheck().finish()
    with pytest.raises(CorruptGzip, match="invalid"):
        files.GzipCheck().feed(b"<html>not found</html>")


def test_track_href_falls_back_to_isrc_then_row_number():
    # Every aggregated primary key holds track_href: it is never null, even when the line
    # lacks trackv2.href (api-contract §4.5: any level may be missing).
    no_href = {"trackv2": {"isrc": "SE9"}}
    base = aggregated.base_record
    assert base(no_href, "gyro", "2024-03-07", 4, load_id="L1")["track_href"] == "isrc:SE9"
    assert base({}, "gyro", "2024-03-07", 4, load_id="L1")["track_href"] == "row:4"
    keys = {r["track_href"] for r in _fan(aggregated.COUNT, {**LINE, "trackv2": {}})}
    assert keys == {"row:1"}
