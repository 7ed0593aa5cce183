"""Properties of the Ads report windows (api-contract §5.3, §6), against an oracle written
here: HOUR reports driven for real against the sandbox at a random frozen clock (month,
year and leap-day ends, any minute), killed after a random STATE and resumed later with a
random `ads_lookback_days`; DAY windows and the Bulk window presets as pure functions.

* HOUR: a resumed run asks exactly one window, from the bookmark less the lookback (floored
  to the hour, never before `ads_start_date` nor the API's 14 days) to the last complete
  hour; the killed run's records plus the resumed run's, upserted, are the sandbox's truth
  for every hour from the first run's start to the last complete hour.
* DAY: the windows cover the days from the first to the last, in order, none longer than
  the API's 90 days, none overlapping.
* Presets: each resolves to the calendar window its name says, for any today.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt

import pytest
from helpers.ads import aggregate_windows, landed, run_ads
from hypothesis import given, settings
from hypothesis import strategies as st
from spotify_sandbox import Sandbox, SandboxOptions

from tap_spotify_bulk.ads import times, windows
from tap_spotify_bulk.ads.streams import AdsReportStream
from tap_spotify_bulk.bulk import dates

D = dt.date
HOUR = dt.timedelta(hours=1)
HOUR_CAMPAIGN = {"table": "campaign_hour", "dimension": "CAMPAIGN", "granularity": "HOUR",
                 "fields": ["IMPRESSIONS", "SPEND"]}
EDGES = (D(2024, 1, 1), D(2024, 2, 29), D(2024, 3, 1), D(2025, 1, 1), D(2026, 3, 1),
         D(2026, 7, 1))


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_floor(moment: dt.datetime) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, moment.day, moment.hour, tzinfo=dt.UTC)


@st.composite
def clocks(draw: st.DrawFn) -> dt.datetime:
    """A moment within a day or two of a month, year or leap-day end."""
    edge = draw(st.sampled_from(EDGES))
    minutes = draw(st.integers(-2 * 24 * 60, 2 * 24 * 60))
    return dt.datetime(edge.year, edge.month, edge.day, tzinfo=dt.UTC) + dt.timedelta(
        minutes=minutes)


@given(now=clocks(), start_days_back=st.none() | st.integers(1, 4), cut_at=st.floats(0.0, 1.0),
       advance_minutes=st.integers(0, 3 * 24 * 60), lookback=st.integers(0, 4))
def test_hour_reports_resume_at_the_bookmark_less_the_lookback(
        now, start_days_back, cut_at, advance_minutes, lookback):
    # No `ads_start_date` (None): the API's 14 days bound the first run.
    since = (now - dt.timedelta(days=start_days_back or 30)).date()
    with Sandbox(SandboxOptions(ads={"now": now})) as sandbox, pytest.MonkeyPatch.context() as mp:
        account = sandbox.ads_api.world.account_ids[0]
        config = sandbox.tap_config(ads_report_list=[HOUR_CAMPAIGN],
                                    ads_start_date=since.isoformat() if start_days_back
                                    else None,
                                    ads_sync_mode="SPECIFIC_ACCOUNTS", ads_accounts=[account])
        mp.setattr(AdsReportStream, "STATE_MSG_FREQUENCY", 40)
        mp.setattr(times, "utc_now", lambda: now)
        first = run_ads(config).messages
        cut = int(len(first) * cut_at)
        states = [m["value"] for m in first[:cut] if m["type"] == "STATE"]
        before = [m["record"] for m in first[:cut] if m["type"] == "RECORD"]
        state = states[-1] if states else None

        later = now + dt.timedelta(minutes=advance_minutes)
        sandbox.ads_api.fixed_now = later
        sandbox.ads_api.report_log.clear()
        mp.setattr(times, "utc_now", lambda: later)
        after = run_ads({**config, "ads_lookback_days": lookback}, state=copy.deepcopy(state))
        truth_from = max(times.midnight(since), hour_floor(later) - dt.timedelta(days=14) + HOUR)
        truth = sandbox.ads_truth([HOUR_CAMPAIGN], accounts=[account], start=truth_from,
                                  end=hour_floor(later) - HOUR)["campaign_hour"]

    # The oracle: the API serves the hours from 14 days ago (one hour of margin) to the last
    # complete one; the run re-reads the hours of the last `lookback` days, and from the
    # bookmark's hour on when that is earlier, never before the start.
    last = hour_floor(later) - HOUR
    earliest = hour_floor(later) - dt.timedelta(days=14) + HOUR
    since_midnight = dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC)
    partitions = (state or {}).get("bookmarks", {}).get("campaign_hour", {}).get("partitions")
    marks = [p.get("replication_key_value") for p in partitions or ()]
    if marks and marks[0]:
        resume = min(hour_floor(times.parse_time(marks[0])),
                     hour_floor(later) - dt.timedelta(days=lookback))
        first_hour = max(resume, since_midnight, earliest)
    else:
        first_hour = max(since_midnight, earliest)
    asked = aggregate_windows(sandbox, granularity="HOUR")
    assert asked == ([(iso(first_hour), iso(last))] if first_hour <= last else []), (
        state, lookback)
    assert sandbox.ads_api.stats.get("sent_400", 0) == 0
    # Nothing lost, nothing stale: the killed run's records, then the resumed run's, upserted
    # as a target does, are the sandbox's truth for every hour from the start on.
    # (Hours the API no longer serves, read by the first run only, are left out.)
    kept = [r for r in before if r["start_time"] >= iso(truth_from)]
    assert landed(HOUR_CAMPAIGN, [*kept, *after.records["campaign_hour"]]) == truth


@given(first=st.dates(D(2016, 1, 1), D(2030, 12, 31)), span=st.integers(0, 800))
def test_day_windows_cover_every_day_once_in_90_day_pieces(first, span):
    last = first + dt.timedelta(days=span)
    pieces = windows.day_windows(first, last)
    covered = [piece[0] + dt.timedelta(days=i) for piece in pieces
               for i in range((piece[1] - piece[0]).days + 1)]
    assert covered == [first + dt.timedelta(days=i) for i in range(span + 1)]
    assert all(0 <= (b - a).days <= 89 for a, b in pieces)
    assert len(pieces) == span // 90 + 1


@given(today=st.dates(D(2016, 1, 1), D(2030, 12, 31)), months=st.integers(0, 40))
def test_months_back_is_the_same_day_or_the_month_end(today, months):
    back = windows.months_back(today, months)
    assert (today.year * 12 + today.month) - (back.year * 12 + back.month) == months
    month_end = calendar.monthrange(back.year, back.month)[1]
    assert back.day == min(today.day, month_end)


def preset_oracle(preset: str, today: D, end_days_back: int) -> tuple[D, D]:
    """Each preset's window by its name, in calendar terms."""
    yesterday = today - dt.timedelta(days=1)
    if preset == "LAST_7_DAYS":
        return today - dt.timedelta(days=7), yesterday
    if preset == "LAST_30_DAYS":
        return today - dt.timedelta(days=30), yesterday
    if preset == "LAST_WEEK":
        sunday = today - dt.timedelta(days=today.isoweekday())
        return sunday - dt.timedelta(days=6), sunday
    if preset == "LAST_MONTH":
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return D(year, month, 1), D(year, month, calendar.monthrange(year, month)[1])
    end = today - dt.timedelta(days=end_days_back)
    if preset == "MONTH_TO_DATE":
        return D(end.year, end.month, 1), end
    if preset == "QUARTER_TO_DATE":
        return D(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end
    return D(end.year, 1, 1), end


@settings(max_examples=500)  # pure and fast: many days of the year, every preset
@given(today=st.dates(D(2016, 1, 1), D(2030, 12, 31)), preset=st.sampled_from(dates.PRESETS),
       end_days_back=st.integers(0, 40))
def test_presets_are_their_calendar_windows(today, preset, end_days_back):
    window = dates.resolve_window(start_date=None, end_date=None, start_days_back=None,
                                  end_days_back=end_days_back, time_period=preset, today=today)
    assert (window.start, window.end) == preset_oracle(preset, today, end_days_back)
    assert window.start <= window.end


@given(today=st.dates(D(2016, 1, 1), D(2030, 12, 31)), back=st.integers(0, 60),
       end_back=st.integers(0, 60))
def test_days_back_resolve_against_today(today, back, end_back):
    if back < end_back:
        with pytest.raises(dates.ConfigError):
            dates.resolve_window(start_date=None, end_date=None, start_days_back=back,
                                 end_days_back=end_back, today=today)
        return
    window = dates.resolve_window(start_date=None, end_date=None, start_days_back=back,
                                  end_days_back=end_back, today=today)
    assert window == dates.Window(today - dt.timedelta(days=back),
                                  today - dt.timedelta(days=end_back))


@given(today=st.dates(D(2018, 1, 1), D(2030, 12, 31)),
       resume=st.none() | st.dates(D(2016, 1, 1), D(2030, 12, 31)),
       start=st.none() | st.dates(D(2016, 1, 1), D(2030, 12, 31)),
       months=st.none() | st.integers(1, 36))
def test_the_first_day_report_day_follows_the_contract(today, resume, start, months):
    # api-contract §5.3: a first sync starts at `ads_start_date`, else `ads_timeframe_months`
    # back (ALL_TIME: 2017-01-01); a later one at the resume day; never before the start.
    if resume is not None:
        expected = resume if start is None or resume >= start else start
    elif start is not None:
        expected = start
    else:
        expected = D(2017, 1, 1) if months is None else windows.months_back(today, months)
    assert windows.first_day(today, resume, start, months) == expected


@given(moment=st.datetimes(dt.datetime(2016, 1, 1), dt.datetime(2030, 12, 31),
                           timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5,
                                                                                    minutes=30))])))
def test_floor_hour_is_the_utc_hour_that_holds_the_moment(moment):
    floor = windows.floor_hour(moment)
    assert floor.tzinfo == dt.UTC
    assert (floor.minute, floor.second, floor.microsecond) == (0, 0, 0)
    assert floor <= moment < floor + HOUR


@given(moment=st.datetimes(dt.datetime(2016, 1, 1), dt.datetime(2030, 12, 31)),
       offset_minutes=st.none() | st.integers(-12 * 60, 14 * 60))
def test_timestamps_round_trip_through_iso_and_parse_time(moment, offset_minutes):
    moment = moment.replace(microsecond=0)
    naive_text = moment.isoformat()
    if offset_minutes is None:  # no offset: read as UTC
        assert times.parse_time(naive_text) == moment.replace(tzinfo=dt.UTC)
        return
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    aware = moment.replace(tzinfo=zone)
    parsed = times.parse_time(aware.isoformat())
    assert parsed == aware and parsed.tzinfo == dt.UTC
    assert times.parse_time(times.iso(parsed)) == parsed
    assert times.iso(aware) == aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert times.iso(moment.date()) == f"{moment.date().isoformat()}T00:00:00Z"


def test_bad_preset_settings_are_one_line_naming_the_fix():
    with pytest.raises(dates.ConfigError) as bad:
        dates.resolve_window(start_date=None, end_date=None, start_days_back=None,
                             end_days_back=1, time_period="LAST_YEAR")
    assert str(bad.value) == (
        "`time_period` must be one of LAST_7_DAYS, LAST_30_DAYS, LAST_WEEK, LAST_MONTH, "
        "MONTH_TO_DATE, QUARTER_TO_DATE, YEAR_TO_DATE, got 'LAST_YEAR'.")
    with pytest.raises(dates.ConfigError) as both:
        dates.resolve_window(start_date=D(2024, 1, 1), end_date=D(2024, 2, 1),
                             start_days_back=None, end_days_back=1, time_period="LAST_WEEK")
    assert str(both.value) == ("`time_period` has no effect when both `start_date` and "
                               "`end_date` are set; remove one or the other.")
