"""The one rule for state values that are not bookmarks (`bookmarks`), on the tap's own
streams: no value is no bookmark, a value that does not parse is one line naming the stream,
the key and how to reset, only for selected streams, also in an Ads stream's partitions."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_spotify_bulk import bookmarks
from tap_spotify_bulk.bulk import dates
from tap_spotify_bulk.errors import ConfigError
from tap_spotify_bulk.tap import TapSpotifyBulk

DAY_CAMPAIGN = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
                "fields": ["IMPRESSIONS", "SPEND"]}


def read(value: object) -> dt.date | None:
    return bookmarks.read("users", "report_date", {"replication_key_value": value},
                          dates.parse_bookmark)


def test_no_value_is_no_bookmark_and_a_date_is_one():
    assert bookmarks.read("users", "report_date", {}, dates.parse_bookmark) is None
    assert read(None) is None
    assert read("") is None
    assert read("2024-03-03") == dt.date(2024, 3, 3)


@pytest.mark.parametrize("value", ["garbage", "2024-13-45", 20240301, 0, ["2024-03-03"]])
def test_a_value_that_does_not_parse_is_one_line_naming_stream_key_and_reset(value):
    with pytest.raises(ConfigError) as caught:
        read(value)
    assert str(caught.value) == (
        f"The state of stream `users` holds a report_date value that is not valid: "
        f"{str(value)!r}. Reset that stream's state (with Meltano: `meltano state clear "
        f"<state id>`; else fix or remove the `--state` file) and run again.")


def test_a_long_value_is_cut_to_its_first_40_characters():
    value = "2024-03-03/" * 3 + "123456789" + "secret" * 10
    with pytest.raises(ConfigError) as caught:
        read(value)
    assert f"{value[:40]!r}." in str(caught.value)
    assert value[:41] not in str(caught.value)


def test_without_a_key_the_value_is_called_a_bookmark():
    with pytest.raises(ConfigError, match="holds a bookmark value that is not valid"):
        bookmarks.read("users", None, {"replication_key_value": "x"}, dates.parse_bookmark)


def tap_with(sandbox, state: dict, selected: set[str]) -> TapSpotifyBulk:
    tap = TapSpotifyBulk(config=sandbox.tap_config(ads_report_list=[DAY_CAMPAIGN]),
                         state=state, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name in selected
    return tap


def bulk_state(**values: object) -> dict:
    return {"bookmarks": {name: {"replication_key": "report_date", "replication_key_value": v}
                          for name, v in values.items()}}


def ads_state(*values: object) -> dict:
    return {"bookmarks": {"campaign_day": {"partitions": [
        value if not isinstance(value, str) else
        {"context": {"ad_account_id": f"a{n}"}, "replication_key": "start_time",
         "replication_key_value": value} for n, value in enumerate(values)]}}}


def test_only_selected_streams_are_checked(sandbox):
    state = bulk_state(users="2024-03-03", streams="garbage")
    bookmarks.check_selected(tap_with(sandbox, state, {"users", "tracks"}).streams.values())
    with pytest.raises(ConfigError, match="stream `streams`"):
        bookmarks.check_selected(tap_with(sandbox, state, {"users", "streams"}).streams.values())


def test_every_partition_of_an_ads_stream_is_checked(sandbox):
    good = "2024-03-03T00:00:00Z"
    tap = tap_with(sandbox, ads_state(good, [], good), {"campaign_day"})
    bookmarks.check_selected(tap.streams.values())  # an entry that is no state is skipped
    tap = tap_with(sandbox, ads_state(good, "garbage"), {"campaign_day"})
    with pytest.raises(ConfigError, match="stream `campaign_day` holds a start_time value"):
        bookmarks.check_selected(tap.streams.values())
