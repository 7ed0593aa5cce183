"""The Aggregated Summary's demographics: per-gender and per-age-group stream totals, the
number of countries and the nested breakdown, reconciled with the Count stream."""

from __future__ import annotations

import datetime as dt
import gzip
from collections import defaultdict

import orjson
from helpers.run import run_tap
from helpers.singer import assert_valid
from spotify_sandbox.tally import AGE_COLUMNS, GENDER_COLUMNS

D = dt.date
SUMMARY, COUNT = "aggregated_streams_summary", "aggregated_streams_count"
AGGREGATED_DAY = "/gyrostream/enhanced/aggregatedstreams/2024/03/01"


def test_summary_demographics_reconcile_with_count_rows_for_every_track_day(sandbox_factory):
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 6), empty_day_rate=0.0)
    run = run_tap(sb.tap_config(), streams=[SUMMARY, COUNT])
    assert_valid(run)
    assert run.tallies() == sb.bulk_truth(streams=[SUMMARY, COUNT])

    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in run.records[COUNT]:
        assert type(row["streams"]) is int  # generated data: every leaf is a count
        rows[row["report_date"], row["track_href"]].append(row)
    summaries = run.records[SUMMARY]
    assert len(run.dates(SUMMARY)) == 6
    assert rows.keys() <= {(s["report_date"], s["track_href"]) for s in summaries}
    seen = dict.fromkeys([*GENDER_COLUMNS.values(), *AGE_COLUMNS.values()], 0)
    for summary in summaries:
        mine = rows[summary["report_date"], summary["track_href"]]
        for gender, column in GENDER_COLUMNS.items():
            expected = sum(r["streams"] for r in mine if r["gender"] == gender)
            assert summary[column] == expected, (summary["track_href"], column)
            seen[column] += expected
        for age, column in AGE_COLUMNS.items():
            expected = sum(r["streams"] for r in mine if r["age_group"] == age)
            assert summary[column] == expected, (summary["track_href"], column)
            seen[column] += expected
        # The nested breakdown holds exactly the Count rows of the track-day.
        nested = {(c, g, a): n for c, genders in summary["demographics"].items()
                  for g, ages in genders.items() for a, n in ages.items()}
        assert nested == {(r["country"], r["gender"], r["age_group"]): r["streams"]
                          for r in mine}
        countries = {r["country"] for r in mine}
        assert summary["country_count"] >= len(countries)
        assert sum(summary[c] for c in GENDER_COLUMNS.values()) == sum(
            summary[c] for c in AGE_COLUMNS.values()) == sum(r["streams"] for r in mine)
        assert summary["streams"] >= sum(r["streams"] for r in mine)
    # Not vacuous: every column carried streams somewhere in the range.
    assert all(seen.values()), seen


def test_odd_demographic_values_count_in_the_json_and_null_only_their_totals(sandbox_factory):
    sb = sandbox_factory(end=D(2024, 3, 1), empty_day_rate=0.0)
    full = {"trackv2": {"href": "h1", "isrc": "I1"}, "streams": {"country": {
        "SE": {"total": 20, "gender": {
            "female": {"total": 9, "age": {"18-22": 4, "60+": 5}},
            "x_other": {"total": 3, "age": {"18-22": 3}},  # a gender outside the known set
            "male": {"total": 8, "age": {"150+": 8}},  # an age group outside the set
        }},
        "NO": {"total": 6, "gender": {
            "female": {"total": 6, "age": {"18-22": "6", "23-27": None}},
            "neutral": {"total": 2},  # no age breakdown: no Count row, not in the JSON
        }},
        "DK": {"total": 1},
        "FI": 4,  # not an object: no country, kept in `extra`
    }}}
    lines = [full, {"trackv2": {"href": "h2", "isrc": "I2"}},
             {"trackv2": {"href": "h3"}, "streams": {"country": {}}}]
    sb.options.overrides = {AGGREGATED_DAY: gzip.compress(
        b"".join(orjson.dumps(line) + b"\n" for line in lines))}
    run = run_tap(sb.tap_config(), streams=[SUMMARY, COUNT])
    assert_valid(run)
    assert run.tallies() == sb.bulk_truth(streams=[SUMMARY, COUNT])
    first, absent, empty = run.records[SUMMARY]

    assert {c: first[c] for c in GENDER_COLUMNS.values()} == {
        "streams_gender_male": 8, "streams_gender_female": None,  # "6" is not a count
        "streams_gender_neutral": 0, "streams_gender_unknown": 0}
    ages = {c: first[c] for c in AGE_COLUMNS.values() if first[c] != 0}
    assert ages == {"streams_age_18_22": None, "streams_age_60_plus": 5}
    assert first["streams_age_23_27"] == 0  # a null leaf adds nothing
    assert first["country_count"] == 3
    assert first["demographics"] == {
        "SE": {"female": {"18-22": 4, "60+": 5}, "x_other": {"18-22": 3},
               "male": {"150+": 8}},
        "NO": {"female": {"18-22": "6", "23-27": None}}}
    assert first["extra"] == {"streams": {"country": {"FI": 4}}}
    assert len(run.records[COUNT]) == 6  # one per leaf of `demographics`

    demographic = [*GENDER_COLUMNS.values(), *AGE_COLUMNS.values(), "country_count",
                   "demographics"]
    assert all(absent[c] is None for c in demographic)  # no streams block: unknown
    assert all(empty[c] == 0 for c in demographic[:-1])
    assert empty["demographics"] == {}
