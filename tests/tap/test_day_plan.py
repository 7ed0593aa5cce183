"""Which days a read asks for (`day_plan.day_steps`), against the sandbox's published days and
its request log: a window longer than `WALK_AFTER_DAYS` asks only the listings of the years
and months in it that hold data, and its steps follow the rules of the module docstring
(written out again here as an oracle); a shorter window asks for every day."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from tap_spotify_bulk.bulk import dates
from tap_spotify_bulk.bulk.day_plan import WALK_AFTER_DAYS, day_steps
from tap_spotify_bulk.bulk.pipeline import DayEnd
from tap_spotify_bulk.bulk.runtime import BulkRuntime

D = dt.date
ONE = dt.timedelta(days=1)
# The data crosses a year and a leap day; the last two days are not published yet.
DATA = {"start": D(2023, 12, 20), "end": D(2024, 3, 5), "empty_day_rate": 0.3,
        "countries": ("SE",), "scale": 20, "today": D(2024, 3, 6), "unpublished_days": 2}
WINDOWS = [  # begin, end, lookback_days
    (D(2023, 11, 1), D(2024, 3, 10), 3),   # from before the data to after it
    (D(2022, 6, 1), D(2024, 1, 31), 0),    # years before the data, ends on a month's end
    (D(2023, 11, 15), D(2023, 12, 31), 0),  # ends a year before the data does
    (D(2023, 12, 25), D(2024, 1, 20), 5),
    (D(2024, 1, 31), D(2024, 3, 1), 1),    # over the leap day
    (D(2024, 2, 1), D(2024, 2, 15), 0),    # just long enough to be walked
    (D(2024, 2, 1), D(2024, 2, 14), 0),    # just short enough to be asked day by day
    (D(2024, 2, 27), D(2024, 3, 6), 2),
    (D(2024, 3, 4), D(2024, 3, 4), 1),
]


@pytest.fixture
def data(sandbox_factory):
    return sandbox_factory(**DATA)


def published(sb, day: D) -> bool:
    return sb.options.is_published(day) and sb.app.data.day(day) is not None


def expected_steps(sb, begin: D, end: D, lookback: int) -> list:
    """The module docstring's rules, day by day."""
    every = list(dates.days(begin, end))
    if len(every) <= WALK_AFTER_DAYS:
        return every
    steps, gap = [], []
    for day in every:
        tail = (end - day).days < lookback
        if published(sb, day) or tail:
            if gap:
                steps.append(DayEnd(gap[-1], missing=True, first=gap[0]))
                gap = []
            steps.append(day if published(sb, day) else DayEnd(day, missing=True))
        else:
            gap.append(day)
    if gap:
        steps.append(DayEnd(gap[-1], missing=True, first=gap[0]))
    return steps


def walk(sb, begin: D, end: D, lookback: int) -> list:
    client = BulkRuntime(sb.tap_config()).client
    sb.app.stats.clear()
    with ThreadPoolExecutor(4) as executor:
        return day_steps(client, executor, "users", begin=begin, end=end,
                         holds=lambda day: dates.holds_bookmark(day, end, lookback))


def asked(sb) -> set[str]:
    marker = f"/{sb.options.licensor}/enhanced/users"
    return {entry["path"].rstrip("/").split(marker, 1)[1] for entry in sb.request_log
            if marker in entry["path"]}


def test_walked_steps_and_their_listing_requests(data):
    for begin, end, lookback in WINDOWS:
        window = (begin, end, lookback)
        assert walk(data, begin, end, lookback) == expected_steps(data, begin, end, lookback), \
            window
        if (end - begin).days < WALK_AFTER_DAYS:
            assert asked(data) == set(), window
            continue
        held = [day for day in dates.days(begin, end) if published(data, day)]
        years = {f"/{day.year:04d}" for day in held}
        months = {f"/{day.year:04d}/{day.month:02d}" for day in held}
        assert asked(data) == {"", *years, *months}, window


def untrusted(sb, level: str) -> None:
    """The listing at `level` names a child that is not a number."""
    prefix = f"/{sb.options.licensor}/enhanced/users"
    sb.options.overrides = {prefix + level: orjson.dumps([{"uri": f"{prefix}{level}/x"}])}


def test_under_a_listing_that_does_not_name_years_every_day_is_asked_for(data):
    untrusted(data, "")
    begin, end = D(2023, 12, 1), D(2024, 2, 29)
    assert walk(data, begin, end, 0) == list(dates.days(begin, end))
    assert asked(data) == {""}


@pytest.mark.parametrize(("level", "begin", "end", "listings"), [
    ("/2024", D(2024, 2, 20), D(2024, 4, 10), {"/2024/02", "/2024/03", "/2024/04"}),
    ("/2023", D(2023, 11, 20), D(2024, 1, 10), {"/2023", "/2023/11", "/2023/12", "/2024/01"}),
])
def test_under_a_listing_that_does_not_name_months_each_month_is_listed(data, level, begin,
                                                                        end, listings):
    # A month with no data (April 2024, November 2023) is asked for all the same and lists
    # nothing; the months of a trusted year are the listed ones.
    untrusted(data, level)
    assert walk(data, begin, end, 2) == expected_steps(data, begin, end, 2)
    assert asked(data) == {"", "/2024", *listings}


def test_under_a_listing_that_does_not_name_days_every_day_of_its_month_is_asked_for(data):
    untrusted(data, "/2024/02")
    begin, end = D(2024, 1, 25), D(2024, 2, 29)
    listed = [day for day in dates.days(begin, D(2024, 1, 31)) if published(data, day)]
    steps = walk(data, begin, end, 0)
    assert [step for step in steps if isinstance(step, D)] == [
        *listed, *dates.days(D(2024, 2, 1), end)]


def test_a_listed_name_that_is_no_day_of_its_month_is_skipped_and_the_others_kept(data):
    prefix = f"/{data.options.licensor}/enhanced/users/2024/02"
    data.options.overrides = {prefix: orjson.dumps([{"uri": f"{prefix}/30"},
                                                    {"uri": f"{prefix}/07"}])}
    steps = walk(data, D(2024, 2, 1), D(2024, 2, 29), 0)
    assert [step for step in steps if isinstance(step, D)] == [D(2024, 2, 7)]
