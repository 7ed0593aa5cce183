"""Properties of the Bulk date driver and its bookmark rule, against a small oracle written
here from api-contract §4.4 and §5.2 (not from the tap's code).

Each example builds a real sandbox whose data starts and ends near a month, year or leap-day
end, with empty days (404) anywhere, some recent days not published yet, then runs the tap
one to three times on the state the previous run left, a run perhaps killed after any
message (its output cut there: the next run starts from the last STATE before the cut).
Properties, per stream:

* a run reads exactly the published days of `[bookmark + 1 - lookback, end]` (of the
  configured window on a first run), each once, with exactly the sandbox's records;
* its final bookmark is the oracle's: the day before the first 404 in the window's last
  `lookback_days` days, else the end;
* no STATE ever names a bookmark past a published day that no run has read yet;
* once every day is published, a run leaves nothing unread.

Windows longer than `listed.WALK_AFTER_DAYS` are walked through the listings, shorter ones
asked day by day: both paths are drawn.

The date rules the driver is built on are checked first, on their own and against the same
contract (pure functions, hundreds of examples in a fraction of a second): the days of a
window, which 404 holds the bookmark, which state values are bookmarks.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import typing as t
from dataclasses import dataclass

import pytest
from helpers.run import run_tap
from helpers.singer import assert_valid
from hypothesis import given, settings
from hypothesis import strategies as st
from spotify_sandbox import Sandbox, SandboxOptions

from tap_spotify_bulk.bulk import dates

if t.TYPE_CHECKING:
    from helpers.singer import Output

D = dt.date
ONE = dt.timedelta(days=1)
STREAMS = ("users", "streams")  # a day-level and a day x country report
# Month, year and leap-day ends the data and the windows are drawn around.
EDGES = (D(2023, 12, 31), D(2024, 1, 31), D(2024, 2, 28), D(2024, 2, 29), D(2024, 4, 30),
         D(2024, 12, 31), D(2025, 2, 28))


@dataclass(frozen=True)
class Run:
    unpublished_days: int  # the sandbox's most recent days not published yet
    cut: float | None  # killed after this share of its messages; None: ran to its end


@dataclass(frozen=True)
class Scenario:
    data_start: D
    data_end: D
    seed: int
    empty_day_rate: float
    start_date: D
    end_date: D
    lookback: int
    runs: tuple[Run, ...]


PURE = settings(max_examples=300)  # the date rules alone: 300 examples take milliseconds
DAYS = st.dates(D(2019, 1, 1), D(2030, 12, 31))


@PURE
@given(DAYS, st.integers(-3, 40))
def test_a_window_is_each_of_its_days_once_in_order(start, length):
    end = start + dt.timedelta(days=length)
    walked = list(dates.days(start, end))
    assert len(walked) == max(0, length + 1)
    assert all(day - before == ONE for before, day in itertools.pairwise(walked))
    if walked:
        assert (walked[0], walked[-1]) == (start, end)


@PURE
@given(DAYS, st.integers(0, 10), st.integers(0, 6))
def test_a_404_holds_the_bookmark_exactly_in_the_windows_last_lookback_days(end, back, lookback):
    day = end - dt.timedelta(days=back)
    tail = {end - dt.timedelta(days=n) for n in range(lookback)}
    assert dates.holds_bookmark(day, end, lookback) == (day in tail)


@PURE
@given(DAYS, st.sampled_from(["", "T00:00:00Z", "T23:59:59+00:00", "T00:00:00.123456Z",
                              " 12:30:00", "T01:02:03+02:00"]))
def test_a_date_or_a_timestamp_is_a_bookmark_of_its_day(day, time):
    assert dates.parse_bookmark(day.isoformat() + time) == day


@pytest.mark.parametrize("value", ["", "2024-03-0", "2024-3-1", "20240301", "2024-03-011",
                                   "2024-03-01X", "2024-03-01T", "2024-03-01garbage",
                                   "2024-02-30", "2024-03-01T25:00:00Z", "2024-03-01TZ"])
def test_anything_else_in_the_state_is_not_a_bookmark(value):
    with pytest.raises(ValueError):
        dates.parse_bookmark(value)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    edge = draw(st.sampled_from(EDGES))
    # The data holds the edge (usually; a short run of days may sit either side of it).
    data_start = edge - dt.timedelta(days=draw(st.integers(-2, 25)))
    data_end = max(data_start, edge + dt.timedelta(days=draw(st.integers(-2, 8))))
    start_date = data_start + dt.timedelta(days=draw(st.integers(-8, 4)))
    end_date = max(start_date, data_end + dt.timedelta(days=draw(st.integers(-4, 3))))
    lookback = draw(st.integers(0, 5))
    # Spotify publishes a day within `lookback_days` (the setting's contract): a day not
    # published yet lies in the window's tail. The last run finds everything published and
    # is not killed.
    runs = draw(st.lists(st.builds(Run, st.integers(0, lookback + 1),
                                   st.none() | st.floats(0.0, 1.0)), min_size=0, max_size=2))
    return Scenario(data_start, data_end, draw(st.integers(1, 10_000)),
                    draw(st.sampled_from([0.0, 0.2, 0.5])), start_date, end_date,
                    lookback, (*runs, Run(0, None)))


class Oracle:
    """What a correct tap does, from the sandbox's ground truth of published days."""

    def __init__(self, sandbox: Sandbox, scenario: Scenario) -> None:
        self.sandbox, self.s = sandbox, scenario

    def published(self, day: D) -> bool:
        options = self.sandbox.options
        return options.is_published(day) and self.sandbox.app.data.day(day) is not None

    def start(self, bookmark: D | None) -> D:
        if bookmark is None:
            return self.s.start_date
        return bookmark + ONE - dt.timedelta(days=self.s.lookback)

    def days(self, bookmark: D | None) -> list[D]:
        first, days = self.start(bookmark), []
        while first <= self.s.end_date:
            days.append(first)
            first += ONE
        return days

    def bookmark_after(self, bookmark: D | None) -> D | None:
        tail_from = self.s.end_date - dt.timedelta(days=self.s.lookback)
        for day in self.days(bookmark):
            if day > tail_from and not self.published(day):
                return bookmark if day == self.start(bookmark) else day - ONE
        days = self.days(bookmark)
        return days[-1] if days else bookmark


def days_with_records(messages: list[dict], stream: str) -> set[str]:
    return {m["record"]["report_date"] for m in messages
            if m["type"] == "RECORD" and m["stream"] == stream}


def bookmark_in(state: dict | None, stream: str) -> D | None:
    value = ((state or {}).get("bookmarks", {}).get(stream) or {}).get("replication_key_value")
    return D.fromisoformat(value) if value else None


def assert_no_bookmark_passes_an_unread_day(oracle: Oracle, messages: list[dict],
                                            read: dict[str, set[str]],
                                            truth_days: dict[str, set[str]]) -> None:
    """Walk the output: at every STATE, every day of the stream's data up to its bookmark
    that is published has been read (by this run so far or an earlier one)."""
    seen = {stream: set(read[stream]) for stream in STREAMS}
    for message in messages:
        if message["type"] == "RECORD" and message["stream"] in seen:
            seen[message["stream"]].add(message["record"]["report_date"])
        elif message["type"] == "STATE":
            for stream in STREAMS:
                mark = bookmark_in(message["value"], stream)
                if mark is None:
                    continue
                unread = sorted(day for day in truth_days[stream] - seen[stream]
                                if D.fromisoformat(day) <= mark
                                and oracle.published(D.fromisoformat(day))
                                and D.fromisoformat(day) >= oracle.s.start_date)
                assert not unread, f"{stream}: bookmark {mark} passes unread {unread}"


def truth_days_of(sandbox: Sandbox) -> dict[str, set[str]]:
    """Days with at least one record of each stream in the sandbox's data (published or not
    yet)."""
    found: dict[str, set[str]] = {stream: set() for stream in STREAMS}
    day, end = sandbox.options.start, sandbox.options.end
    saved = sandbox.options.unpublished_days
    sandbox.options.unpublished_days = 0
    try:
        while day <= end:
            truth = sandbox.bulk_truth(start=day, end=day, streams=STREAMS)
            for stream in STREAMS:
                if truth.get(stream, {}).get("count"):
                    found[stream].add(day.isoformat())
            day += ONE
    finally:
        sandbox.options.unpublished_days = saved
    return found


@given(scenarios())
def test_every_published_day_is_read_once_and_the_bookmark_never_passes_one(scenario):
    options = SandboxOptions(seed=scenario.seed, start=scenario.data_start,
                             end=scenario.data_end, scale=40, catalogue_size=20,
                             countries=("SE", "US"), empty_day_rate=scenario.empty_day_rate,
                             today=scenario.end_date + ONE)
    with Sandbox(options) as sandbox:
        oracle = Oracle(sandbox, scenario)
        truth_days = truth_days_of(sandbox)
        config = sandbox.tap_config(start_date=scenario.start_date.isoformat(),
                                    end_date=scenario.end_date.isoformat(),
                                    lookback_days=scenario.lookback)
        state: dict | None = None
        read: dict[str, set[str]] = {stream: set() for stream in STREAMS}
        for run in scenario.runs:
            sandbox.options.unpublished_days = run.unpublished_days
            output = run_tap(config, state=copy.deepcopy(state), streams=STREAMS)
            assert_valid(output)
            check_complete_run(oracle, sandbox, output, state, truth_days)
            messages = output.messages
            if run.cut is not None:
                messages = messages[:int(len(messages) * run.cut)]
            assert_no_bookmark_passes_an_unread_day(oracle, messages, read, truth_days)
            for stream in STREAMS:
                read[stream] |= days_with_records(messages, stream)
            states = [m["value"] for m in messages if m["type"] == "STATE"]
            state = states[-1] if states else state
        # Everything is published now and the last run went to its end: nothing is unread.
        for stream in STREAMS:
            wanted = {day for day in truth_days[stream]
                      if scenario.start_date <= D.fromisoformat(day) <= scenario.end_date}
            assert wanted <= read[stream], f"{stream}: never read {sorted(wanted - read[stream])}"


def check_complete_run(oracle: Oracle, sandbox: Sandbox, output: Output, state: dict | None,
                       truth_days: dict[str, set[str]]) -> None:
    """The run (to its end) read exactly the oracle's days and records, and left the
    oracle's bookmark."""
    for stream in STREAMS:
        bookmark = bookmark_in(state, stream)
        days = oracle.days(bookmark)
        expected = sorted(day.isoformat() for day in days
                          if oracle.published(day) and day.isoformat() in truth_days[stream])
        assert output.dates(stream) == expected, (stream, bookmark)
        if expected:
            truth = sandbox.bulk_truth(start=days[0], end=days[-1], streams=[stream])
            assert output.tallies()[stream] == truth[stream], stream
        after = oracle.bookmark_after(bookmark)
        assert bookmark_in(output.state, stream) == after, (stream, bookmark)
