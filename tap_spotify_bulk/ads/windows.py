"""Report time windows for the Ads API (api-contract §5.3, §6).

DAY reports are asked in inclusive windows of at most `MAX_DAY_SPAN + 1` days that end
yesterday; HOUR reports cover at most the last 14 days and end at the last complete hour.
A later run reads the last `ads_lookback_days` days again (`reread_day`, `reread_hour`):
by default 90, one DAY window, and every hour the API serves. A stream's windows for a run
come from `day_report_windows` or `hour_report_windows`, given the clock's reading, the
account's bookmark and the settings: pure functions, no clock or setting is read here (the
clock is `times.utc_now`).
"""

from __future__ import annotations

import calendar
import datetime as dt

from tap_spotify_bulk.ads.times import midnight

MAX_DAY_SPAN = 89  # report_end - report_start in days; the API allows at most 90
DEFAULT_REREAD_DAYS = MAX_DAY_SPAN + 1  # one DAY window: the last 90 complete days
HOUR_HISTORY = dt.timedelta(days=14)
ALL_TIME_START = dt.date(2017, 1, 1)
HOUR = dt.timedelta(hours=1)


def months_back(today: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months before `today` (clamped to month end)."""
    total = today.year * 12 + (today.month - 1) - months
    year, month = divmod(total, 12)
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def reread_day(today: dt.date, bookmark_day: dt.date, lookback_days: int) -> dt.date:
    """The first DAY report day of a later run: the last `lookback_days` complete days are
    read again, and from the bookmark's own day on when that is earlier (an interrupted run
    may have emitted only part of it; a missed run left the days after it unread)."""
    return min(bookmark_day, today - dt.timedelta(days=lookback_days))


def reread_hour(now: dt.datetime, bookmark: dt.datetime, lookback_days: int) -> dt.datetime:
    """The first HOUR report hour of a later run, as `reread_day` for hours: the hours of
    the last `lookback_days` days, and from the bookmark's hour on when that is earlier.
    The caller keeps it within what the API serves (`hour_bounds`)."""
    return min(floor_hour(bookmark), floor_hour(now) - dt.timedelta(days=lookback_days))


def first_day(today: dt.date, resume: dt.date | None, start: dt.date | None,
              months: int | None) -> dt.date:
    """The first DAY report day of a run: `resume` (see `reread_day`) when there is a
    bookmark, else `ads_start_date` (`start`), else `ads_timeframe_months` back
    (`months`, None for ALL_TIME). Never before `ads_start_date`."""
    if resume is None:
        if start is not None:
            return start
        return ALL_TIME_START if months is None else months_back(today, months)
    return resume if start is None else max(resume, start)


def day_windows(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Inclusive [first, last] day windows covering start..end, ascending."""
    windows = []
    first = start
    while first <= end:
        last = min(first + dt.timedelta(days=MAX_DAY_SPAN), end)
        windows.append((first, last))
        first = last + dt.timedelta(days=1)
    return windows


def floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def hour_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(earliest, latest) hour starts an HOUR report may ask for, both inclusive.

    The earliest is one hour inside the API's 14-day limit so that a clock tick between
    our computation and the server's check cannot push the request out of range.
    """
    current = floor_hour(now)
    return current - HOUR_HISTORY + HOUR, current - HOUR


def day_report_windows(today: dt.date, bookmark_day: dt.date | None, lookback_days: int,
                       start: dt.date | None, months: int | None,
                       ) -> list[tuple[dt.date, dt.date]]:
    """A DAY report's windows for a run on `today`: from `first_day` (the bookmark's re-read
    day, else `ads_start_date`, else `ads_timeframe_months` back) to yesterday."""
    resume = None if bookmark_day is None else reread_day(today, bookmark_day, lookback_days)
    return day_windows(first_day(today, resume, start, months), today - dt.timedelta(days=1))


def hour_report_windows(now: dt.datetime, bookmark: dt.datetime | None, lookback_days: int,
                        start: dt.date | None) -> list[tuple[dt.datetime, dt.datetime]]:
    """An HOUR report's window for a run at `now` (one, or none when it would be empty):
    from the bookmark's re-read hour (`reread_hour`), else as far back as the API serves,
    never before `ads_start_date` (`start`) nor the API's 14 days (`hour_bounds`), to the
    last complete hour."""
    earliest, latest = hour_bounds(now)
    first = earliest if bookmark is None else reread_hour(now, bookmark, lookback_days)
    if start is not None:
        first = max(first, midnight(start))
    first = max(first, earliest)
    return [(first, latest)] if first <= latest else []


def beyond_hour_history(now: dt.datetime, bookmark: dt.datetime | None) -> bool:
    """Whether the bookmark's hour lies before the 14 days an HOUR report may reach."""
    return bookmark is not None and floor_hour(bookmark) < hour_bounds(now)[0]
