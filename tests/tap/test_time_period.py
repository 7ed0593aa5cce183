"""`time_period` presets: each window pinned for fixed "today" values (month, quarter and
year edges, a leap day), their precedence with the other date settings, their errors, and
one preset run end to end (the tap as a subprocess) against the sandbox's truth."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
from spotify_sandbox.tally import Tally

from tap_spotify_bulk.bulk import dates, settings
from tap_spotify_bulk.errors import ConfigError

D = dt.date
COMMAND = str(Path(sys.executable).parent / "tap-spotify-bulk")


def window(today: dt.date, **config: object) -> tuple[dt.date | None, dt.date]:
    resolved = settings.window(config, today=today)
    return resolved.start, resolved.end


# (today, preset, expected start, expected end); end_days_back is the default (1).
PINNED = [
    # LAST_7_DAYS / LAST_30_DAYS: the N days that end yesterday
    (D(2024, 3, 10), "LAST_7_DAYS", D(2024, 3, 3), D(2024, 3, 9)),
    (D(2024, 3, 1), "LAST_7_DAYS", D(2024, 2, 23), D(2024, 2, 29)),  # across the leap day
    (D(2025, 1, 1), "LAST_7_DAYS", D(2024, 12, 25), D(2024, 12, 31)),
    (D(2024, 3, 1), "LAST_30_DAYS", D(2024, 1, 31), D(2024, 2, 29)),
    (D(2023, 3, 1), "LAST_30_DAYS", D(2023, 1, 30), D(2023, 2, 28)),
    # LAST_WEEK: Monday to Sunday of the week before today's
    (D(2024, 3, 13), "LAST_WEEK", D(2024, 3, 4), D(2024, 3, 10)),  # a Wednesday
    (D(2024, 3, 11), "LAST_WEEK", D(2024, 3, 4), D(2024, 3, 10)),  # a Monday
    (D(2024, 3, 10), "LAST_WEEK", D(2024, 2, 26), D(2024, 3, 3)),  # a Sunday, over Feb 29
    (D(2025, 1, 1), "LAST_WEEK", D(2024, 12, 23), D(2024, 12, 29)),  # across the year
    # LAST_MONTH: the calendar month before today's
    (D(2024, 3, 15), "LAST_MONTH", D(2024, 2, 1), D(2024, 2, 29)),  # leap February
    (D(2023, 3, 1), "LAST_MONTH", D(2023, 2, 1), D(2023, 2, 28)),
    (D(2024, 1, 1), "LAST_MONTH", D(2023, 12, 1), D(2023, 12, 31)),
    (D(2024, 12, 31), "LAST_MONTH", D(2024, 11, 1), D(2024, 11, 30)),
    # MONTH_TO_DATE: from the 1st of the end day's month to the end day (yesterday)
    (D(2024, 3, 15), "MONTH_TO_DATE", D(2024, 3, 1), D(2024, 3, 14)),
    (D(2024, 3, 2), "MONTH_TO_DATE", D(2024, 3, 1), D(2024, 3, 1)),
    (D(2024, 3, 1), "MONTH_TO_DATE", D(2024, 2, 1), D(2024, 2, 29)),  # on the 1st: last month
    (D(2024, 2, 29), "MONTH_TO_DATE", D(2024, 2, 1), D(2024, 2, 28)),  # the leap day
    # QUARTER_TO_DATE
    (D(2024, 5, 20), "QUARTER_TO_DATE", D(2024, 4, 1), D(2024, 5, 19)),
    (D(2024, 4, 1), "QUARTER_TO_DATE", D(2024, 1, 1), D(2024, 3, 31)),  # quarter edge
    (D(2024, 12, 31), "QUARTER_TO_DATE", D(2024, 10, 1), D(2024, 12, 30)),
    (D(2024, 3, 1), "QUARTER_TO_DATE", D(2024, 1, 1), D(2024, 2, 29)),
    # YEAR_TO_DATE
    (D(2024, 3, 1), "YEAR_TO_DATE", D(2024, 1, 1), D(2024, 2, 29)),
    (D(2024, 1, 1), "YEAR_TO_DATE", D(2023, 1, 1), D(2023, 12, 31)),  # year edge
    (D(2024, 1, 2), "YEAR_TO_DATE", D(2024, 1, 1), D(2024, 1, 1)),
]


@pytest.mark.parametrize(("today", "preset", "start", "end"), PINNED,
                         ids=[f"{p[1]}@{p[0]}" for p in PINNED])
def test_preset_window(today, preset, start, end):
    assert window(today, time_period=preset) == (start, end)


def test_every_preset_is_pinned():
    assert {p[1] for p in PINNED} == set(dates.PRESETS)


def test_to_date_presets_end_at_end_days_back_and_fixed_ones_do_not():
    today = D(2024, 5, 20)
    assert window(today, time_period="MONTH_TO_DATE", end_days_back=0) == (D(2024, 5, 1), today)
    assert window(today, time_period="YEAR_TO_DATE", end_days_back=30) == (
        D(2024, 1, 1), D(2024, 4, 20))
    assert window(today, time_period="LAST_MONTH", end_days_back=0) == (
        D(2024, 4, 1), D(2024, 4, 30))


def test_precedence_absolute_dates_then_preset_then_days_back():
    today = D(2024, 5, 20)
    # a preset wins over days back
    assert window(today, time_period="LAST_MONTH", start_days_back=2) == (
        D(2024, 4, 1), D(2024, 4, 30))
    # absolute dates win over a preset, each on its own side
    assert window(today, time_period="LAST_MONTH", start_date="2024-04-10") == (
        D(2024, 4, 10), D(2024, 4, 30))
    assert window(today, time_period="LAST_MONTH", end_date="2024-04-15") == (
        D(2024, 4, 1), D(2024, 4, 15))
    # a to-date preset follows an absolute end
    assert window(today, time_period="QUARTER_TO_DATE", end_date="2024-02-10") == (
        D(2024, 1, 1), D(2024, 2, 10))


@pytest.mark.parametrize(("config", "words"), [
    ({"time_period": "LAST_YEAR"}, "`time_period` must be one of LAST_7_DAYS"),
    ({"time_period": "last_month"}, "`time_period` must be one of"),
    ({"time_period": "LAST_MONTH", "start_date": "2024-04-01", "end_date": "2024-04-30"},
     "`time_period` has no effect when both `start_date` and `end_date` are set"),
    ({"time_period": "LAST_MONTH", "start_date": "2024-05-02"},
     "`start_date` resolves to 2024-05-02, after `time_period` (2024-04-30)"),
    ({"time_period": "LAST_WEEK", "end_date": "2024-05-01"},
     "`time_period` resolves to 2024-05-13, after `end_date` (2024-05-01)"),
])
def test_conflicting_or_unknown_values_are_one_line_errors(config, words):
    with pytest.raises(ConfigError) as caught:
        settings.window(config, today=D(2024, 5, 20))
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("config", "message"), [
    ({"start_days_back": 1, "end_days_back": 3},
     "`start_days_back` resolves to 2024-05-19, after `end_days_back` (2024-05-17)."),
    ({"start_date": "2024-05-02", "end_date": "2024-05-01"},
     "`start_date` resolves to 2024-05-02, after `end_date` (2024-05-01)."),
    ({"time_period": "MONTH_TO_DATE", "end_days_back": 0, "start_date": "2024-05-21"},
     "`start_date` resolves to 2024-05-21, after `end_days_back` (2024-05-20)."),
])
def test_a_start_after_the_end_is_one_sentence_naming_both_settings(config, message):
    with pytest.raises(ConfigError) as caught:
        settings.window(config, today=D(2024, 5, 20))
    assert str(caught.value) == message


def test_with_a_bookmark_the_preset_only_sets_the_first_sync():
    resolved = settings.window({"time_period": "LAST_MONTH"}, today=D(2024, 5, 20))
    assert dates.stream_start(resolved, None, 3) == D(2024, 4, 1)
    # a later run continues from its bookmark (minus the lookback), up to the preset's end
    assert dates.stream_start(resolved, D(2024, 4, 20), 3) == D(2024, 4, 18)
    assert resolved.end == D(2024, 4, 30)


@pytest.mark.slow
def test_preset_run_lands_exactly_the_truth_of_its_window(sandbox_factory, tmp_path):
    """The real command with `time_period: LAST_WEEK` against a sandbox whose data spans the
    last six weeks: what it emits equals the sandbox's truth for last week, nothing more."""
    today = dates.utc_today()
    sb = sandbox_factory(start=today - dt.timedelta(days=42), end=today - dt.timedelta(days=1),
                         scale=200, today=today)
    config = sb.tap_config()
    for name in ("start_date", "end_date"):
        config.pop(name)
    config["time_period"] = "LAST_WEEK"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run([COMMAND, "--config", str(path)], capture_output=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    records: dict[str, list[dict]] = defaultdict(list)
    for line in done.stdout.splitlines():
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
    if dates.utc_today() != today:  # the run crossed midnight UTC: the window moved
        pytest.skip("the UTC date changed during the run")
    monday = today - dt.timedelta(days=today.weekday() + 7)
    sunday = monday + dt.timedelta(days=6)
    truth = sb.bulk_truth(start=monday, end=sunday)
    assert any(summary["count"] for summary in truth.values())
    landed = {name: Tally.for_bulk_stream(name).add_all(records.get(name, [])).summary()
              for name in truth}
    assert landed == truth
    days = {r["report_date"] for rows in records.values() for r in rows}
    assert min(days) >= monday.isoformat() and max(days) <= sunday.isoformat()
