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
