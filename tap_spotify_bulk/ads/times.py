"""Times as the Ads API writes and reads them, and the one clock every Ads stream reads.

`utc_now` is that clock: callers reach it as `times.utc_now()` through this module, so a
test may replace it to freeze time. `iso` writes a moment the way report requests expect;
`parse_time` reads the API's timestamps (and the bookmarks written from them).
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def iso(moment: dt.datetime | dt.date) -> str:
    """`YYYY-MM-DDTHH:00:00Z` as the API expects (dates at UTC midnight)."""
    if not isinstance(moment, dt.datetime):
        moment = midnight(moment)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> dt.datetime:
    """An ISO-8601 timestamp (with Z or an offset; none is UTC) as an aware UTC datetime."""
    moment = dt.datetime.fromisoformat(value)  # reads a trailing Z itself since Python 3.11
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
