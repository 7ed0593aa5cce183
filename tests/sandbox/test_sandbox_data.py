"""Generated data: deterministic, realistic, and the truth equals what is actually served."""

import datetime as dt
from collections import Counter

import requests
from helpers.sandbox_http import bulk_headers, download, listing, served_lines
from spotify_sandbox.tally import Tally
from spotify_sandbox.truth import line_record

STREAM_KEYS = {"timestamp", "user_id", "track_id", "isrc", "country", "source", "source_uri",
               "ms_played", "cached", "shuffle", "offline_timestamp", "device_type", "os",
               "product", "completion"}
USER_KEYS = {"user_id", "country", "region", "birth_year", "gender", "product", "device_type",
             "os"}
TRACK_KEYS = {"track_id", "isrc", "track_name", "album_id", "album_name", "upc", "artist_name",
              "label", "duration_ms", "release_date"}


def test_same_seed_same_bytes_whatever_the_request_order(sandbox_factory):
    paths = ["/gyrostream/enhanced/users/2024/03/01", "/gyrostream/enhanced/tracks/2024/03/03",
             "/gyrostream/enhanced/aggregatedstreams/2024/03/04"]
    one, two, other = (sandbox_factory(seed=s) for s in (7, 7, 8))
    h1, h2, h3 = (bulk_headers(sb) for sb in (one, two, other))
    country = one.app.data.day(dt.date(2024, 3, 1)).countries[0]
    paths.append(f"/gyrostream/enhanced/streams/2024/03/01/{country}")
    forward = [download(one, h1, p) for p in paths]
    backward = [download(two, h2, p) for p in reversed(paths)][::-1]
    assert forward == backward
    assert download(other, h3, paths[0]) != forward[0]


def test_streams_and_sub30_contents(sandbox_factory):
    sb = sandbox_factory(scale=20000)
    headers = bulk_headers(sb)
    day = dt.date(2024, 3, 3)
    plan = sb.app.data.day(day)
    big = max(plan.streams, key=plan.streams.get)
    streams = served_lines(download(sb, headers, f"/gyrostream/enhanced/streams/2024/03/03/{big}"))
    sub30 = served_lines(download(
        sb, headers, f"/gyrostream/enhanced/sub_30_sec_streams/2024/03/03/{big}"))
    assert len(streams) == plan.streams[big]
    assert 0.10 <= len(sub30) / (len(sub30) + len(streams)) <= 0.20
    for line in streams + sub30:
        assert set(line) - {"x_campaign"} == STREAM_KEYS
        assert line["timestamp"].startswith("2024-03-03T")
    assert all(line["ms_played"] >= 30_000 for line in streams)
    assert all(line["ms_played"] < 30_000 for line in sub30)
    assert Counter(line["country"] for line in streams).most_common(1)[0][0] == big
    tracks = Counter(line["track_id"] for line in streams)
    top = sum(n for _, n in tracks.most_common(max(1, len(tracks) // 10)))
    assert top / len(streams) > 0.3  # a few hits take most streams
    products = Counter(line["product"] for line in streams)
    assert {"premium", "free"} <= set(products)
    assert any(line["offline_timestamp"] for line in streams)
    assert any(line["offline_timestamp"] is None for line in streams)


def test_users_tracks_and_aggregated_contents(sandbox):
    headers = bulk_headers(sandbox)
    users = served_lines(download(sandbox, headers, "/gyrostream/enhanced/users/2024/03/01"))
    assert all(set(u) - {"x_registration_source"} == USER_KEYS for u in users)
    assert any(u["birth_year"] is None for u in users)
    assert {u["gender"] for u in users} >= {"male", "female"}
    tracks = served_lines(download(sandbox, headers, "/gyrostream/enhanced/tracks/2024/03/01"))
    assert all(set(t) - {"x_popularity"} == TRACK_KEYS for t in tracks)
    assert any(not t["track_name"].isascii() for t in tracks)
    aggregated = served_lines(download(sandbox, headers,
                                       "/gyrostream/enhanced/aggregatedstreams/2024/03/01"))
    assert len(aggregated) == len(tracks)
    for line in aggregated:
        assert line["date"] == "2024-03-01"
        assert line["trackv2"]["href"].startswith("https://")
        for entry in line["streams"]["country"].values():
            genders = entry["gender"].values()
            assert entry["total"] == sum(g["total"] for g in genders)
            for g in genders:
                assert "age" not in g or g["total"] == sum(g["age"].values())
        for entry in line.get("saves", {"country": {}})["country"].values():
            assert entry["total"] == sum(entry["product"].values())


def test_oddities_appear_across_a_month(sandbox_factory):
    """Blank lines, a missing final newline, unknown keys and a foreign country all occur."""
    sb = sandbox_factory(start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 31), scale=4000)
    data = sb.app.data
    seen = Counter()
    day = sb.options.start
    while day <= sb.options.end:
        plan = data.day(day)
        for country in plan.countries if plan else ():
            raw = b"".join(data.line_chunks("streams", day, country))
            seen["blank"] += b"\n\n" in raw
            seen["no_final_newline"] += not raw.endswith(b"\n")
            seen["extra"] += b"x_campaign" in raw
            own = raw.count(b'"country":"' + country.encode())
            seen["foreign"] += own < raw.count(b'"country"')
        seen["empty_day"] += plan is None
        day += dt.timedelta(days=1)
    assert all(seen[k] > 0 for k in ("blank", "no_final_newline", "extra", "foreign", "empty_day"))


def _tally_served(sb, headers):
    """Tally streams/users/tracks exactly as served over HTTP (the truth's own line-to-record
    rule, fed with what the server sent rather than with the generator's chunks)."""
    tallies = {name: Tally.for_bulk_stream(name)
               for name in ("streams", "sub30sec_streams", "users", "tracks")}
    counts = Counter()
    for report, name in (("streams", "streams"), ("sub_30_sec_streams", "sub30sec_streams")):
        for day_uri in listing(sb, headers, f"/gyrostream/enhanced/{report}/2024/03"):
            for file_uri in listing(sb, headers, day_uri):
                date, country = "-".join(file_uri.split("/")[4:7]), file_uri.split("/")[7]
                for row, line in enumerate(served_lines(download(sb, headers, file_uri)), 1):
                    base = {"licensor": "gyrostream", "report_date": date, "row_number": row}
                    tallies[name].add(line_record(name, line, base, country))
    for report in ("users", "tracks"):
        for day_uri in listing(sb, headers, f"/gyrostream/enhanced/{report}/2024/03"):
            date = "-".join(day_uri.split("/")[4:7])
            for row, line in enumerate(served_lines(download(sb, headers, day_uri)), 1):
                base = {"licensor": "gyrostream", "report_date": date, "row_number": row}
                tallies[report].add(line_record(report, line, base, None))
    for day_uri in listing(sb, headers, "/gyrostream/enhanced/aggregatedstreams/2024/03"):
        for line in served_lines(download(sb, headers, day_uri)):
            counts["summary"] += 1
            for entry in line["streams"]["country"].values():
                counts["count"] += sum(len(g.get("age", {})) for g in entry["gender"].values())
                counts["streams"] += sum(sum(g.get("age", {}).values())
                                         for g in entry["gender"].values())
            counts["skips"] += len(line.get("skips", {}).get("country", {}))
            counts["saves"] += sum(len(e["product"])
                                   for e in line.get("saves", {}).get("country", {}).values())
    return {name: tally.summary() for name, tally in tallies.items()}, counts


def test_truth_equals_what_is_served(sandbox):
    headers = bulk_headers(sandbox)
    served, counts = _tally_served(sandbox, headers)
    truth = sandbox.bulk_truth(sandbox.options.start, sandbox.options.end)
    for name, summary in served.items():
        assert truth[name] == summary, name
        assert summary["count"] > 0
    assert truth["aggregated_streams_summary"]["count"] == counts["summary"]
    assert truth["aggregated_streams_count"]["count"] == counts["count"]
    assert truth["aggregated_streams_count"]["sums"]["streams"] == counts["streams"]
    assert truth["aggregated_streams_skips"]["count"] == counts["skips"]
    assert truth["aggregated_streams_saves"]["count"] == counts["saves"]


def test_truth_filters_and_http_endpoint(sandbox):
    full = sandbox.bulk_truth("2024-03-01", "2024-03-10")
    some = sandbox.bulk_truth("2024-03-01", "2024-03-10", streams=["streams", "users"],
                              countries=["se", "US"])
    assert set(some) == {"streams", "users"}
    assert some["users"] == full["users"]  # countries only limit country-partitioned reports
    assert 0 < some["streams"]["count"] < full["streams"]["count"]
    outside = sandbox.bulk_truth("2024-02-01", "2024-02-28")
    assert all(s["count"] == 0 for s in outside.values())
    over_http = requests.get(f"{sandbox.base_url}/_sandbox/truth",
                             params={"start": "2024-03-01", "end": "2024-03-10"}, timeout=30)
    assert over_http.json() == full
    filtered = requests.get(f"{sandbox.base_url}/_sandbox/truth",
                            params={"streams": "streams,users", "countries": "SE,US"}, timeout=30)
    assert filtered.json() == some


def test_cached_truth_adds_up_over_sub_ranges(sandbox):
    halves = [sandbox.bulk_truth("2024-03-06", "2024-03-10"),
              sandbox.bulk_truth("2024-03-01", "2024-03-05")]
    whole = sandbox.bulk_truth("2024-03-01", "2024-03-10")
    for name, summary in whole.items():
        assert summary["count"] == sum(h[name]["count"] for h in halves)
        checksum = sum(int(h[name]["checksum"], 16) for h in halves) % 2**64
        assert summary["checksum"] == f"{checksum:016x}"
    assert sandbox.bulk_truth("2024-03-01", "2024-03-10") == whole
