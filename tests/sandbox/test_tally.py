"""The ground-truth fingerprint: equal however a target typed the values, but never across
JSON types, and sensitive to every field of a record."""

import datetime as dt
from decimal import Decimal

from spotify_sandbox.tally import BULK_FIELDS, Tally, canonical


def test_canonical_forms_agree_across_targets():
    assert canonical(dt.date(2024, 3, 7)) == canonical("2024-03-07")
    assert canonical(Decimal("1.50")) == canonical(1.5) == "n:1.5"
    assert canonical(Decimal("3")) == canonical(3) == canonical(3.0) == "n:3"
    when = dt.datetime(2024, 3, 7, 5, tzinfo=dt.UTC)
    assert (
        canonical(when)
        == canonical("2024-03-07T05:00:00Z")
        == canonical("2024-03-07 05:00:00+00")
        == canonical("2024-03-07T06:00:00+01:00")
        == canonical(dt.datetime(2024, 3, 7, 5))  # a target that drops the zone keeps UTC
    )
    assert canonical("2024-03-07T05:00:00.250Z") != canonical(when)  # instants, to the µs
    assert canonical(None) == ""
    assert canonical(True) == "b:true"
    assert canonical({"b": [1, "x"], "a": None}) == canonical({"a": None, "b": [1.0, "x"]})


def test_canonical_forms_keep_the_json_type():
    assert canonical("1985") != canonical(1985)
    assert canonical("true") != canonical(True)
    assert canonical(1) != canonical(True)
    assert canonical({"a": "1"}) != canonical({"a": 1})
    assert canonical("") != canonical(None)


def test_tally_is_order_independent_and_content_sensitive():
    rows = [
        {"licensor": "l", "report_date": "2024-03-07", "track_href": f"t{i}", "skips": i,
         "country": "SE", "track_isrc": f"I{i}"}
        for i in range(50)
    ]

    def summary(records):
        return Tally.for_bulk_stream("aggregated_streams_skips").add_all(records).summary()

    forward = summary(rows)
    assert forward == summary(rows[::-1])
    assert forward["count"] == 50
    assert forward["sums"] == {"skips": sum(range(50))}
    for field, value in [("skips", 4), ("track_isrc", None), ("licensor", "m"),
                         ("skips", "3"), ("unexpected_column", 1)]:
        changed = [dict(r) for r in rows]
        changed[3][field] = value
        assert summary(changed)["checksum"] != forward["checksum"], field
    with_load_id = [{**r, "load_id": "20261130T094512.123456Z-1a2b3c4d"} for r in rows]
    assert summary(with_load_id) == forward  # the run's load marker is not content
    assert summary([{**r, "_sdc_batched_at": "x"} for r in rows]) == forward  # nor a loader's


def test_every_line_field_and_extra_are_fingerprinted():
    assert set(BULK_FIELDS["users"]) == {
        "licensor", "report_date", "row_number", "user_id", "country", "region", "birth_year",
        "gender", "product", "device_type", "os", "extra"}
    assert len(BULK_FIELDS["streams"]) == 15 + 4  # 15 line fields, licensor/date/row/extra
    assert "extra" in BULK_FIELDS["aggregated_streams_summary"]


def test_object_columns_tally_alike_as_objects_or_json_text():
    """A target may hand `extra` and `demographics` back as JSON text."""
    row = {"licensor": "l", "report_date": "2024-03-07", "track_href": "t", "streams": 5,
           "country_count": 1, "demographics": {"SE": {"male": {"60+": 5}}},
           "extra": {"x": [1]}}
    as_text = {**row, "demographics": '{"SE": {"male": {"60+": 5}}}', "extra": '{"x": [1]}'}

    tallies = [Tally.for_bulk_stream("aggregated_streams_summary").add_all([r]).summary()
               for r in (row, as_text, {**row, "demographics": {"SE": {"male": {"60+": 4}}}})]
    assert tallies[0] == tallies[1]
    assert tallies[0]["checksum"] != tallies[2]["checksum"]
