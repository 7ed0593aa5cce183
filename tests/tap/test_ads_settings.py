"""Ads settings: report objects and the other Ads settings fail early, on one line."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_spotify_bulk.ads import settings, windows
from tap_spotify_bulk.errors import ConfigError

GOOD = {"table": "ad_day", "dimension": "AD", "granularity": "DAY",
        "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}


def config(**overrides):
    base = {"ads_client_id": "i", "ads_client_secret": "s", "ads_refresh_token": "r",
            "ads_report_list": [GOOD]}
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        ([{**GOOD, "fields": ["IMPRESSIONS", "NO PE"]}], "'NO PE' is not a report field name"),
        ([{**GOOD, "dimension": "KEYWORD"}], "unknown dimension"),
        ([{**GOOD, "granularity": "WEEK"}], "unknown granularity"),
        ([{**GOOD, "dimension": "AGE", "granularity": "DAY"}], "only supports LIFETIME"),
        ([{**GOOD, "dimension": "GENRE", "granularity": "LIFETIME"}], "field SPEND is not"),
        ([{**GOOD, "dimension": "PLATFORM", "granularity": "LIFETIME",
           "fields": ["E_CPM"]}], "field E_CPM is not"),
        ([{**GOOD, "table": "Ad-Day"}], "`table` must be lower case"),
        ([{**GOOD, "table": "streams"}], "taken by a Bulk API stream"),
        ([GOOD, {**GOOD, "dimension": "CAMPAIGN"}], "'ad_day' is used twice"),
        ([{**GOOD, "fields": []}], "non-empty list"),
        ([{**GOOD, "fields": ["CLICKS", "clicks"]}], "listed twice"),
        ([{**GOOD, "colour": "red"}], "unknown key(s) colour"),
        (["ad_day"], "must be an object"),
    ],
)
def test_bad_report_objects_fail_on_one_line(items, needle):
    with pytest.raises(ConfigError) as err:
        settings.validate(config(ads_report_list=items), ads_selected=True)
    message = str(err.value)
    assert needle in message
    assert "\n" not in message
    assert "ads_report_list" in message


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"ads_sync_mode": "SOME"}, "`ads_sync_mode`"),
        ({"ads_sync_mode": "SPECIFIC_ACCOUNTS"}, "`ads_accounts` must list"),
        ({"ads_timeframe_months": "FIVE"}, "`ads_timeframe_months`"),
        ({"ads_lookback_days": -1}, "`ads_lookback_days`"),
        ({"ads_api_url": "ftp://x"}, "`ads_api_url`"),
        ({"ads_refresh_token": None}, "`ads_refresh_token` is required"),
        ({"ads_client_id": None}, "`ads_client_id` (or `client_id`) is required"),
    ],
)
def test_bad_settings_name_the_setting(overrides, needle):
    with pytest.raises(ConfigError) as err:
        settings.validate(config(**overrides), ads_selected=True)
    assert needle in str(err.value)


def test_defaults_and_fallbacks():
    cfg = {"client_id": "bulk-id", "client_secret": "bulk-secret", "ads_refresh_token": "r",
           "ads_report_list": [GOOD]}
    settings.validate(cfg, ads_selected=True)
    assert settings.credentials(cfg) == ("bulk-id", "bulk-secret", "r")
    # Credentials are only needed when an Ads stream is selected.
    settings.validate({"ads_report_list": [GOOD]}, ads_selected=False)
    spec = settings.report_specs(cfg)[0]
    assert spec.columns == ("impressions", "spend", "e_cpm")
    assert spec.api_fields == ("IMPRESSIONS", "SPEND")
    lifetime = settings.report_specs({"ads_report_list": [
        {"table": "t", "dimension": "age", "fields": ["clicks", "reach"]}
    ]})[0]
    assert (lifetime.dimension, lifetime.granularity, lifetime.fields) == (
        "AGE", "LIFETIME", ("CLICKS", "REACH"))


def test_day_windows_are_inclusive_and_at_most_90_days_apart():
    start, end = dt.date(2024, 1, 1), dt.date(2024, 6, 30)
    chunks = windows.day_windows(start, end)
    assert chunks[0][0] == start
    assert chunks[-1][1] == end
    for (first, last), following in zip(chunks, [*chunks[1:], None], strict=True):
        assert 0 <= (last - first).days <= 90
        if following:
            assert following[0] == last + dt.timedelta(days=1)
    assert windows.day_windows(end, start) == []


def test_months_back_clamps_to_month_end():
    assert windows.months_back(dt.date(2024, 8, 31), 6) == dt.date(2024, 2, 29)
    assert windows.months_back(dt.date(2024, 3, 15), 24) == dt.date(2022, 3, 15)


@pytest.mark.parametrize("hours_back", [None, 0, 5, 24 * 3, 24 * 13, 24 * 20, 24 * 400])
@pytest.mark.parametrize("lookback", [0, 2, 90])
@pytest.mark.parametrize("start_days_back", [None, 1, 4, 30])
def test_hour_window_stays_within_what_the_api_serves(hours_back, lookback, start_days_back):
    """One HOUR window ending at the last complete hour; never before the API's 14 days
    nor `ads_start_date`; from the bookmark's hour when that is inside both, whatever the
    lookback."""
    now = dt.datetime(2026, 6, 3, 10, 37, tzinfo=dt.UTC)
    bookmark = None if hours_back is None else now - dt.timedelta(hours=hours_back)
    start = None if start_days_back is None else now.date() - dt.timedelta(start_days_back)
    earliest, latest = windows.hour_bounds(now)
    planned = windows.hour_report_windows(now, bookmark, lookback, start)
    assert len(planned) <= 1
    for first, last in planned:
        assert earliest <= first <= last == latest == dt.datetime(2026, 6, 3, 9, tzinfo=dt.UTC)
        if start is not None:
            assert first >= dt.datetime.combine(start, dt.time(), dt.UTC)
        if bookmark is not None and windows.floor_hour(bookmark) >= earliest and start is None:
            assert first <= windows.floor_hour(bookmark)
    if start is None and (bookmark is None or lookback > 0):
        assert planned, "a run that re-reads hours always has one to read"
    if bookmark is not None and lookback == 0 and windows.floor_hour(bookmark) > latest:
        assert planned == []  # the bookmark's hour is not complete yet
    assert windows.beyond_hour_history(now, bookmark) == (
        bookmark is not None and windows.floor_hour(bookmark) < earliest)


def test_with_no_lookback_the_bookmarks_hour_is_read_again_even_when_it_is_the_last_one():
    """`reread_hour`: an interrupted run may have emitted only part of the bookmark's hour."""
    now = dt.datetime(2026, 6, 3, 10, 37, tzinfo=dt.UTC)
    last_complete = dt.datetime(2026, 6, 3, 9, tzinfo=dt.UTC)
    bookmark = last_complete + dt.timedelta(minutes=59)
    assert windows.hour_report_windows(now, bookmark, 0, None) == [(last_complete,
                                                                     last_complete)]


def test_only_a_bookmark_before_the_first_hour_served_is_beyond_the_hour_history():
    """The earliest hour an HOUR report may ask for loses nothing; a minute before it does."""
    now = dt.datetime(2026, 6, 3, 10, 37, tzinfo=dt.UTC)
    earliest = dt.datetime(2026, 5, 20, 11, tzinfo=dt.UTC)  # 14 days back, plus one hour
    assert windows.hour_bounds(now)[0] == earliest
    assert not windows.beyond_hour_history(now, earliest)
    assert windows.beyond_hour_history(now, earliest - dt.timedelta(minutes=1))
    assert not windows.beyond_hour_history(now, None)


def test_by_default_a_later_run_rereads_the_last_90_days_in_one_day_window():
    """The default `ads_lookback_days` (90, as its description says) is one DAY window."""
    lookback = settings.lookback_days({"ads_report_list": [GOOD]})
    assert lookback == 90
    today = dt.date(2026, 6, 3)
    assert windows.day_report_windows(today, dt.date(2026, 6, 2), lookback, None, 6) == [
        (dt.date(2026, 3, 5), dt.date(2026, 6, 2))]


def test_day_report_windows_end_yesterday_and_start_from_the_reread_day():
    today = dt.date(2026, 6, 3)
    first_sync = windows.day_report_windows(today, None, 90, None, 6)
    assert first_sync[0][0] == dt.date(2025, 12, 3)
    assert first_sync[-1][1] == today - dt.timedelta(days=1)
    later = windows.day_report_windows(today, dt.date(2026, 6, 2), 3, None, 6)
    assert later == [(dt.date(2026, 5, 31), dt.date(2026, 6, 2))]
    late_bookmark = windows.day_report_windows(today, dt.date(2026, 5, 1), 3, dt.date(2026, 5, 20),
                                               None)
    assert late_bookmark == [(dt.date(2026, 5, 20), dt.date(2026, 6, 2))]
