"""Report-date windows: the configured window and each stream's start from its bookmark.

All dates are UTC calendar days (api-contract §2). Rules:

* absolute dates win over a `time_period` preset, and a preset over days back
  (`start_date` over `start_days_back`, `end_date` over `end_days_back`); the end defaults
  to yesterday; a start after the end is an error;
* presets are calendar windows in UTC (`PRESETS`): the fixed ones (last 7 or 30 days,
  last week Monday-Sunday, last month) end on their own last day, the to-date ones run
  from the start of the month, quarter or year that holds the end day up to the end day
  (`end_days_back`, default yesterday), so they are never empty;
* with no bookmark, a stream reads the configured window, and with no configured start
  the window starts 7 days before its end;
* with a bookmark, a stream reads `[bookmark + 1 day - lookback_days, end]` (api-contract §5.2).
  The configured start does not apply then: it is where the *first* sync starts, the usual
  Singer meaning. Treating it as a floor would silently skip days after a long pause when
  a relative start (`start_days_back`) is used.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from tap_spotify_bulk.errors import ConfigError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_SPAN_DAYS = 7
ONE_DAY = dt.timedelta(days=1)

FIXED_PRESETS = ("LAST_7_DAYS", "LAST_30_DAYS", "LAST_WEEK", "LAST_MONTH")
TO_DATE_PRESETS = ("MONTH_TO_DATE", "QUARTER_TO_DATE", "YEAR_TO_DATE")
PRESETS = FIXED_PRESETS + TO_DATE_PRESETS


@dataclass(frozen=True)
class Window:
    """The configured window; `start` is None when neither start setting is given."""

    start: dt.date | None
    end: dt.date


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def fixed_preset(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The window of a preset that does not depend on the end setting."""
    if preset in {"LAST_7_DAYS", "LAST_30_DAYS"}:
        span = 7 if preset == "LAST_7_DAYS" else 30
        return today - dt.timedelta(days=span), today - ONE_DAY
    if preset == "LAST_WEEK":  # Monday to Sunday of the week before this one
        monday = today - dt.timedelta(days=today.weekday() + 7)
        return monday, monday + dt.timedelta(days=6)
    last = today.replace(day=1) - ONE_DAY  # LAST_MONTH
    return last.replace(day=1), last


def to_date_start(preset: str, end: dt.date) -> dt.date:
    """First day of the month, quarter or year that holds `end`."""
    if preset == "MONTH_TO_DATE":
        return end.replace(day=1)
    if preset == "QUARTER_TO_DATE":
        return end.replace(month=(end.month - 1) // 3 * 3 + 1, day=1)
    return end.replace(month=1, day=1)  # YEAR_TO_DATE


def resolve_window(
    *,
    start_date: dt.date | None,
    end_date: dt.date | None,
    start_days_back: int | None,
    end_days_back: int,
    time_period: str | None = None,
    today: dt.date | None = None,
) -> Window:
    """Resolve absolute dates, a preset and days back into a window (in that order of
    precedence); a start after the end is an error naming the settings involved."""
    today = today or utc_today()
    if time_period is not None and time_period not in PRESETS:
        msg = f"`time_period` must be one of {', '.join(PRESETS)}, got {time_period!r}."
        raise ConfigError(msg)
    if time_period is not None and start_date is not None and end_date is not None:
        msg = ("`time_period` has no effect when both `start_date` and `end_date` are set; "
               "remove one or the other.")
        raise ConfigError(msg)
    fixed = fixed_preset(time_period, today) if time_period in FIXED_PRESETS else None
    if end_date is not None:
        end, end_setting = end_date, "end_date"
    elif fixed is not None:
        end, end_setting = fixed[1], "time_period"
    else:
        end, end_setting = today - dt.timedelta(days=end_days_back), "end_days_back"
    start: dt.date | None
    if start_date is not None:
        start, setting = start_date, "start_date"
    elif time_period is not None:
        start, setting = (fixed[0] if fixed else to_date_start(time_period, end)), "time_period"
    elif start_days_back is not None:
        start, setting = today - dt.timedelta(days=start_days_back), "start_days_back"
    else:
        start, setting = None, ""
    if start is not None and start > end:
        msg = f"`{setting}` resolves to {start}, after `{end_setting}` ({end})."
        raise ConfigError(msg)
    return Window(start, end)


def stream_start(window: Window, bookmark: dt.date | None, lookback_days: int) -> dt.date:
    """First date a stream reads this run (may be after `window.end`: nothing to read)."""
    if bookmark is not None:
        return bookmark + ONE_DAY - dt.timedelta(days=lookback_days)
    if window.start is not None:
        return window.start
    return window.end - dt.timedelta(days=DEFAULT_SPAN_DAYS)


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every date from `start` to `end`, inclusive, ascending."""
    day = start
    while day <= end:
        yield day
        day += ONE_DAY


def holds_bookmark(day: dt.date, end: dt.date, lookback_days: int) -> bool:
    """Whether a 404 on `day` stops the bookmark: it lies in the window's last
    `lookback_days` days, so it may just not be published yet (api-contract §4.4)."""
    return lookback_days > 0 and day > end - dt.timedelta(days=lookback_days)


def parse_bookmark(value: str) -> dt.date:
    """A bookmark from state: `YYYY-MM-DD`, or an ISO timestamp (tolerated for old states);
    `ValueError` otherwise."""
    if len(value) < 10:
        raise ValueError(value)
    day = dt.date.fromisoformat(value[:10])
    if len(value) > 10:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))  # a timestamp, not "…garbage"
    return day
