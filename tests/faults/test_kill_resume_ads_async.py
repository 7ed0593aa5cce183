"""Kill and resume an async report: `kill -9` the tap while Spotify still prepares the report
it ordered (right after the STATE that records it), resume from that STATE: the same report
is picked up (no second order for that window) and what landed is exactly the truth."""

from __future__ import annotations

import datetime as dt
import signal
import typing as t

from helpers.ads import landed, repeated_keys
from helpers.run import clean_env, command, write_inputs
from helpers.watched import run_until_killed

if t.TYPE_CHECKING:
    from pathlib import Path

NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
START, YESTERDAY = dt.date(2025, 5, 11), dt.date(2026, 6, 14)  # 400 days: two reports
REPORT = {"table": "campaign_async_day", "kind": "async", "dimension": "CAMPAIGN",
          "granularity": "DAY", "fields": ["IMPRESSIONS_ON_SPOTIFY", "SPEND", "REACH"]}
WORLD = {"n_businesses": 1, "shared_account": False, "campaigns_per_account": 4,
         "ad_sets_per_campaign": 1, "ads_per_ad_set": 1, "history_days": 500}


def test_kill_9_while_the_report_is_processing_and_resume(sandbox_factory, tmp_path: Path):
    sb = sandbox_factory(ads={"now": NOW, **WORLD, "async_polls": 10_000})
    config = sb.tap_config(ads_report_list=[REPORT], ads_start_date=START.isoformat())
    argv = command(frozen_now=NOW)
    inputs = write_inputs(tmp_path, config, None, [REPORT["table"]])
    first = run_until_killed([*argv, *inputs], clean_env(),
                             when=lambda line: b'"async_report"' in line)
    assert first.killed and first.returncode == -signal.SIGKILL
    state = first.output.state
    pending = state["bookmarks"][REPORT["table"]]["partitions"][0]["async_report"]
    reports = sb.ads_api.async_reports
    assert reports.created == 1 and pending["id"] in reports.jobs

    sb.wait_idle()
    reports.polls = 0  # Spotify finishes it (and any later one) meanwhile
    for job in reports.jobs.values():
        job.polls_left = 0
    inputs = write_inputs(tmp_path, config, state, [REPORT["table"]])
    final = run_until_killed([*argv, *inputs], clean_env(), timeout=120)
    assert not final.killed and final.returncode == 0, final.stderr[-3000:]
    assert reports.created == 2  # the pending report, then the second window's
    rows = [*first.output.records[REPORT["table"]], *final.output.records[REPORT["table"]]]
    assert repeated_keys(REPORT, final.output.records[REPORT["table"]]) == []
    truth = sb.ads_truth([REPORT], start=START, end=YESTERDAY)[REPORT["table"]]
    assert truth["count"] > 0
    assert landed(REPORT, rows) == truth
