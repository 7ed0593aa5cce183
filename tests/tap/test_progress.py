"""Progress on long runs: a 30-day first sync logs "date N of 30" with records/s and an ETA for
each Bulk stream, and the same as singer-sdk METRIC lines; Ads logs windows done of planned."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import re

from tap_spotify_bulk.tap import TapSpotifyBulk

D = dt.date
LINE = re.compile(r"^(?P<label>[a-z0-9_, ]+): (?P<day>[0-9-]+) done \(date (?P<n>\d+) of "
                  r"(?P<m>\d+)\), (?P<records>\d+) records, \d+ records/s, ETA \d+:\d\d:\d\d$")
METRIC = re.compile(r"^METRIC: (\{.*\})$")


def run_logged(config: dict) -> tuple[list[str], list[dict]]:
    """(progress lines, METRIC points) of one in-process sync."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep(level=logging.INFO)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            TapSpotifyBulk(config=config, parse_env_config=False).sync_all()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    points = [json.loads(m.group(1)) for line in records if (m := METRIC.match(line))]
    return records, points


def test_a_30_day_first_sync_reports_date_n_of_m_with_rate_and_eta(sandbox_factory):
    sb = sandbox_factory(start=D(2024, 3, 1), end=D(2024, 3, 30), scale=100,
                         catalogue_size=40)
    report = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
              "fields": ["IMPRESSIONS"]}
    config = sb.tap_config(start_date="2024-03-01", end_date="2024-03-30",
                           ads_report_list=[report], ads_timeframe_months="SIX")
    lines, points = run_logged(config)
    progress = [m for line in lines if (m := LINE.match(line))]
    by_label: dict[str, list[re.Match]] = {}
    for match in progress:
        by_label.setdefault(match["label"], []).append(match)
    assert set(by_label) == {"streams", "sub30sec_streams", "users", "tracks",
                             "aggregated_streams_count, aggregated_streams_saves, "
                             "aggregated_streams_skips, aggregated_streams_summary"}
    truth = sb.bulk_truth()
    for label, matches in by_label.items():
        assert [int(m["n"]) for m in matches] == list(range(1, 31)), label
        assert {int(m["m"]) for m in matches} == {30}, label
        assert [m["day"] for m in matches] == [
            (D(2024, 3, 1) + dt.timedelta(days=i)).isoformat() for i in range(30)]
        if "," not in label:
            assert sum(int(m["records"]) for m in matches) == truth[label]["count"], label
    dates = [p for p in points if p["metric"] == "bulk_dates"]
    assert len(dates) == 5 * 30
    users = [p for p in dates if p["tags"]["stream"] == "users"]
    assert [p["value"] for p in users] == list(range(1, 31))
    assert {p["tags"]["planned"] for p in users} == {30}
    assert all(p["tags"]["eta_seconds"] >= 0 and p["tags"]["records_per_second"] >= 0
               for p in users)
    assert users[-1]["tags"]["eta_seconds"] == 0
    windows = [p for p in points if p["metric"] == "ads_windows"]
    accounts = {p["tags"]["ad_account_id"] for p in windows}
    assert accounts
    for account in accounts:
        mine = [p for p in windows if p["tags"]["ad_account_id"] == account]
        planned = mine[0]["tags"]["planned"]
        assert planned >= 2  # six months of DAY reports: 90-day windows
        assert [p["value"] for p in mine] == list(range(1, planned + 1))
    assert any(re.match(r"^campaign_day: \S+ done \(window \d+ of \d+\), ", line)
               for line in lines)
