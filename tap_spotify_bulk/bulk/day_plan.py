"""Which days of a window to ask for: the days the API's listings name (api-contract §4.2).

A window longer than `WALK_AFTER_DAYS` is walked (report -> years -> months -> days, one
request per listed year and month in the window, a few at a time) instead of asking for
every day: a first sync with a start years before the first published day would otherwise
cost a request (a 404) per empty day. Listings name only children with data, in no
particular order. The walked days become the driver's steps:

* a listed day is read as before (its files, or its country listing, are requested);
* a day not listed within the window's last `lookback_days` days is missing, exactly as a
  404 is: it holds the bookmark (it may not be published yet); no request is made;
* a run of days not listed before that is skipped with no request: one missing step on the
  run's last day moves the bookmark past it.

A listing whose children do not read as years, months or days (not this contract) is not
trusted: every day under it is asked for, as for a short window.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_spotify_bulk.bulk import dates
from tap_spotify_bulk.bulk.pipeline import DayEnd, Step

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from concurrent.futures import Executor

    from tap_spotify_bulk.bulk.client import BulkClient

WALK_AFTER_DAYS = 14  # about what a walk of a month or two costs in listing requests


def day_steps(client: BulkClient, executor: Executor, resource: str, *, begin: dt.date,
              end: dt.date, holds: Callable[[dt.date], bool]) -> list[Step]:
    """The steps of a read of `resource` from `begin` to `end` (see the module docstring)."""
    every = list(dates.days(begin, end))
    if len(every) <= WALK_AFTER_DAYS:
        return list(every)  # a walk would cost about what it saves
    listed = listed_days(client, executor, resource, begin, end)
    steps: list[Step] = []
    gap: list[dt.date] = []

    def close_gap() -> None:
        if gap:
            steps.append(DayEnd(gap[-1], missing=True, first=gap[0]))
            gap.clear()

    for day in every:
        if day in listed:
            close_gap()
            steps.append(day)
        elif holds(day):
            close_gap()
            steps.append(DayEnd(day, missing=True))
        else:
            gap.append(day)
    close_gap()
    return steps


def listed_days(client: BulkClient, executor: Executor, resource: str, begin: dt.date,
                end: dt.date) -> set[dt.date]:
    """Days from `begin` to `end` that the listings of `resource` name (or cannot rule out)."""
    years = _children(client, resource, range(begin.year, end.year + 1))
    if years is None:
        return set(dates.days(begin, end))
    years_listed = sorted(years)
    month_names = dict(zip(years_listed, executor.map(
        lambda year: _children(client, f"{resource}/{year:04d}", range(1, 13)),
        years_listed), strict=True))
    months = [(year, month) for year in years_listed for month in range(1, 13)
              if (begin.year, begin.month) <= (year, month) <= (end.year, end.month)
              and (month_names[year] is None or month in month_names[year])]
    day_names = executor.map(
        lambda ym: _children(client, f"{resource}/{ym[0]:04d}/{ym[1]:02d}", range(1, 32)),
        months)
    found: set[dt.date] = set()
    for (year, month), names in zip(months, day_names, strict=True):
        for number in range(1, 32) if names is None else names:
            try:
                day = dt.date(year, month, number)
            except ValueError:
                continue
            if begin <= day <= end:
                found.add(day)
    return found


def _children(client: BulkClient, relative: str, allowed: Iterable[int]) -> set[int] | None:
    """The listed children of `relative` that lie in `allowed` (none: an empty set);
    None when a child does not read as a number, so the caller asks for everything."""
    names = client.list_children(relative) or []
    wanted = set(allowed)
    found = set()
    for name in names:
        if not (name.isascii() and name.isdigit()):
            return None
        if int(name) in wanted:
            found.add(int(name))
    return found
