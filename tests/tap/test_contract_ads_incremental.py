"""Ads contract (api-contract §5.3): the windows of incremental DAY and HOUR reports on a
later run, across a month edge, with `ads_lookback_days` 0.
"""

from __future__ import annotations

import datetime as dt

from helpers.ads import aggregate_windows, key_of
from helpers.ads import sync_ads as run_tap
from helpers.ads_contract import (
    DAY_AD,
    HOUR_AD_SET,
    NOW,
    THREE_MONTHS_BACK,
    ads_sandbox,
    assert_exact,
    frozen_clock,  # noqa: F401 (autouse: the tap's Ads clock)
)
from spotify_sandbox.tally import canonical

from tap_spotify_bulk.ads import times


def test_next_runs_with_lookback_0_read_single_day_and_few_hour_windows(sandbox_factory,
                                                                         monkeypatch):
    """Incremental DAY/HOUR (§5.3): a run a day (or five hours) later with
    `ads_lookback_days` 0 asks only from the bookmark on: a single-day DAY window across
    a month edge (2026-03-01 -> 03-02), and an HOUR window ending at the last complete hour."""
    sb = ads_sandbox(sandbox_factory)
    reports = [DAY_AD, HOUR_AD_SET]
    config = sb.tap_config(ads_report_list=reports, ads_timeframe_months="THREE",
                           ads_lookback_days=0)
    first, state = run_tap(config)

    later = NOW + dt.timedelta(days=1, hours=5)
    monkeypatch.setattr(times, "utc_now", lambda: later)
    sb.ads_api.fixed_now = later
    sb.ads_api.report_log.clear()
    second, state2 = run_tap(config, state=state)

    new_yesterday = dt.date(2026, 3, 2)  # later is 2026-03-03 12:45 UTC
    assert set(aggregate_windows(sb, granularity="DAY")) == {("2026-03-01T00:00:00Z",
                                               "2026-03-02T00:00:00Z")}
    last_hour = dt.datetime(2026, 3, 3, 11, tzinfo=dt.UTC)  # the last complete hour
    assert set(aggregate_windows(sb, granularity="HOUR")) == {("2026-03-02T06:00:00Z",
                                                "2026-03-03T11:00:00Z")}
    for report in reports:
        floor = "2026-03-01T00:00:00Z" if report is DAY_AD else "2026-03-02T06:00:00Z"
        assert all(canonical(r["start_time"]) >= canonical(floor)
                   for r in second[report["table"]])
        merged = {key_of(report, r): r for r in first[report["table"]] + second[report["table"]]}
        if report is DAY_AD:
            truth = sb.ads_truth([DAY_AD], start=THREE_MONTHS_BACK,
                                 end=new_yesterday, now=later)
        else:
            lo, _ = sb.ads_api.default_hour_range(NOW)
            truth = sb.ads_truth([HOUR_AD_SET], start=lo, end=last_hour, now=later)
        assert_exact(report, list(merged.values()), truth)
    marks = {p["replication_key_value"] for p in state2["bookmarks"]["ad_set_hour"]["partitions"]}
    assert marks == {"2026-03-03T11:00:00Z"}
