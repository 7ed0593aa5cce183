"""Report-date windows: the configured window and each stream's start from its bookmark.

All dates are UTC calendar days (api-contract §2). Rules:

* absolute dates win over relative ones (`start_date` over `start_days_back`, `end_date`
  over `end_days_back`); the end defaults to yesterday; a start after the end is an error;
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


@dataclass(frozen=True)
class Window:
    """The configured window; `start` is None when neither start setting is given."""

    start: dt.date | None
    end: dt.date


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def resolve_window(
    *,
    start_date: dt.date | None,
    end_date: dt.date | None,
    start_days_back: int | None,
    end_days_back: int,
    today: dt.date | None = None,
) -> Window:
    """Resolve absolute and relative settings into a window; start after end is an error."""
    today = today or utc_today()
    end = end_date if end_date is not None else today - dt.timedelta(days=end_days_back)
    if start_date is not None:
        start: dt.date | None = start_date
        setting = "start_date"
    elif start_days_back is not None:
        start = today - dt.timedelta(days=start_days_back)
        setting = "start_days_back"
    else:
        start = None
        setting = ""
    if start is not None and start > end:
        end_setting = "end_date" if end_date is not None else "end_days_back"
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
