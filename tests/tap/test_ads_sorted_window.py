"""Ads DAY/HOUR windows larger than memory: `sorted_window.SortedWindow` on its own, and a large
account's reports synced with a spill threshold low enough that every window goes to disk
(and its runs are merged more than once), compared with the sandbox's ground truth."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from helpers.ads import landed, repeated_keys, run_ads
from helpers.ads_contract import reshape

from tap_spotify_bulk.ads import sorted_window as spill
from tap_spotify_bulk.ads import times, windows
from tap_spotify_bulk.errors import TapError

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)
DAY_AD = {"table": "ad_day", "dimension": "AD", "granularity": "DAY",
          "fields": ["IMPRESSIONS", "CLICKS", "SPEND", "E_CPM", "LEADS"]}
HOUR_AD_SET = {"table": "ad_set_hour", "dimension": "AD_SET", "granularity": "HOUR",
               "fields": ["IMPRESSIONS", "SPEND"]}
# 120 ads and 20 ad sets, every one flying over the whole three months read.
LARGE_ACCOUNT = {"n_businesses": 1, "shared_account": False, "campaigns_per_account": 4,
                 "ad_sets_per_campaign": 5, "ads_per_ad_set": 6, "flight_days": 120}
SPILL_BYTES = 200_000  # a few hundred rows
FAN_IN = 3
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


@pytest.fixture
def spilled(monkeypatch) -> list[spill.SortedWindow]:
    """A low spill threshold and fan-in; every window the streams open, for inspection."""
    monkeypatch.setattr(spill, "SPILL_BYTES", SPILL_BYTES)
    monkeypatch.setattr(spill, "FAN_IN", FAN_IN)
    opened: list[spill.SortedWindow] = []

    class Watched(spill.SortedWindow):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(spill, "SortedWindow", Watched)
    return opened


def open_files_under(directory: Path) -> int:
    prefix = str(directory.resolve())
    return sum(1 for fd in Path("/proc/self/fd").iterdir()
               if os.path.realpath(fd).startswith(prefix))


def repeat_earlier_rows(sb) -> list[dict]:
    """Every continued page also repeats the first row of the window's first page: a key
    served twice, far apart (in different spilled runs). The rows repeated, as they go."""
    first_rows: dict[str, dict] = {}
    repeated: list[dict] = []

    def change(path: str, query: dict, body: dict) -> dict:
        if "aggregate_reports" not in path or not body.get("rows"):
            return body
        window = f"{body.get('granularity')} {body.get('report_start')}"
        if "continuation_token" not in query:
            first_rows[window] = dict(body["rows"][0])
        elif window in first_rows:
            body["rows"] = [*body["rows"], first_rows[window]]
            repeated.append(first_rows[window])
        return body

    reshape(sb, change)
    return repeated


def truth(sb) -> dict:
    hour_first, hour_last = sb.ads_api.default_hour_range(NOW)
    return {**sb.ads_truth([DAY_AD], start=windows.months_back(TODAY, 3), end=YESTERDAY),
            **sb.ads_truth([HOUR_AD_SET], start=hour_first, end=hour_last)}


def test_a_large_accounts_spilled_windows_equal_the_truth(sandbox_factory, spilled, tmp_path):
    sb = sandbox_factory(ads={"now": NOW, **LARGE_ACCOUNT})  # pages of 50 entities
    repeated = repeat_earlier_rows(sb)
    config = sb.tap_config(ads_report_list=[DAY_AD, HOUR_AD_SET], ads_timeframe_months="THREE",
                           temp_dir=str(tmp_path))
    records = run_ads(config).records

    assert len(repeated) == 4  # each DAY window: 120 ads in three pages
    expected = truth(sb)
    for report in (DAY_AD, HOUR_AD_SET):
        rows = records[report["table"]]
        assert repeated_keys(report, rows) == [], report["table"]  # repeated rows dropped
        # Emitted in (start_time, entity_id) order: windows ascend, each one sorted.
        assert [(r["start_time"], r["entity_id"]) for r in rows] == sorted(
            (r["start_time"], r["entity_id"]) for r in rows), report["table"]
        assert landed(report, rows) == expected[report["table"]], report["table"]
    assert len(records["ad_day"]) == 120 * (TODAY - windows.months_back(TODAY, 3)).days
    # Two DAY windows (90 days, then 2 days) and one HOUR window: the large ones went to
    # disk and their runs were merged down more than once, the small one stayed in memory.
    assert [w.runs_written > 2 * FAN_IN for w in spilled] == [True, False, True]
    assert spilled[1].runs_written == 0
    assert sum(w.emitted for w in spilled) == len(records["ad_day"]) + len(records["ad_set_hour"])
    assert open_files_under(tmp_path) == 0
    assert list(tmp_path.iterdir()) == []


def test_resume_from_a_state_inside_a_spilled_window_is_exact(sandbox_factory, spilled):
    sb = sandbox_factory(ads={"now": NOW, **LARGE_ACCOUNT})
    config = sb.tap_config(ads_report_list=[DAY_AD], ads_timeframe_months="THREE",
                           ads_lookback_days=0)
    messages = run_ads(config).messages
    states = [i for i, m in enumerate(messages) if m["type"] == "STATE"
              and m["value"].get("bookmarks", {}).get("ad_day", {}).get("partitions")]
    cut = states[0]  # the SDK's periodic STATE, in the middle of the first window
    assert cut < max(i for i, m in enumerate(messages) if m["type"] == "RECORD")
    before = [m["record"] for m in messages[:cut] if m["type"] == "RECORD"]
    assert 0 < len(before) < 90 * 120
    after = run_ads(config, messages[cut]["value"]).records

    expected = sb.ads_truth([DAY_AD], start=windows.months_back(TODAY, 3), end=YESTERDAY)
    assert landed(DAY_AD, before + after["ad_day"]) == expected["ad_day"]


@pytest.mark.parametrize(("rows", "spill_bytes", "fan_in"),
                         [(50, 100_000, 4), (5000, 30_000, 3)])
def test_sorted_window_is_sorted_unique_and_last_wins(tmp_path, rows, spill_bytes, fan_in):
    rng = random.Random(rows)
    window = spill.SortedWindow(tmp_path, "test window")
    window.spill_bytes, window.fan_in = spill_bytes, fan_in
    reference: dict[tuple, dict] = {}
    for n in range(rows):
        key = (f"2026-01-{rng.randint(1, 28):02d}", f"entity-{rng.randint(0, rows // 3)}")
        record = {"key": list(key), "n": n, "value": rng.random() if n % 7 else None}
        window.add(key, record)
        reference[key] = record  # a later record of the same key replaces the earlier one
    out = list(window.records())
    assert out == [reference[k] for k in sorted(reference)]
    assert window.emitted == len(reference) < rows
    assert (window.runs_written > fan_in) == (rows > 50)  # merged down, or all in memory
    assert open_files_under(tmp_path) == 0


def test_a_window_left_early_closes_its_file(tmp_path):
    window = spill.SortedWindow(tmp_path, "test window")
    window.spill_bytes = 1000
    with window:
        for n in range(100):
            window.add((n % 7, n), {"n": n})
        first = next(iter(window.records()))
        assert first == {"n": 0}
        assert open_files_under(tmp_path) == 1
    assert open_files_under(tmp_path) == 0


def test_a_temporary_directory_that_cannot_be_written_is_one_clear_error(tmp_path):
    window = spill.SortedWindow(tmp_path / "gone", "Ads ad_day report for ad account A")
    window.spill_bytes = 1
    with pytest.raises(TapError) as caught:
        window.add(("k",), {})
    message = str(caught.value)
    assert "Ads ad_day report for ad account A" in message
    assert "temp_dir" in message
    assert "\n" not in message


def test_the_memory_benchmark_runs(tmp_path):
    """`benchmarks.ads_memory` keeps working (a tiny run; not a timed test)."""
    out = tmp_path / "ads_memory.json"
    subprocess.run([sys.executable, "-m", "benchmarks.ads_memory", "--ads", "10,20",
                    "--days", "5", "--spread", "10", "--json", str(out)],
                   cwd=REPO, check=True, timeout=120, capture_output=True)
    report = json.loads(out.read_text())
    assert [(r["ads"], r["records"], r["keys"]) for r in report["runs"]] == [
        (10, 50, 50), (20, 100, 100)]
    assert all(10 < r["peak_rss_mib"] < 1000 for r in report["runs"])
    assert report["bounded"]
