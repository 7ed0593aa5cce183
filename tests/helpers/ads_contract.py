"""The Ads contract suite's server: the sandbox's Ads answers reshaped in flight into what
another server that follows docs/api-contract.md (and nothing more) may send, the reports
the suite syncs, and the check that what landed is exactly the sandbox's truth.

The tap's Ads clock is frozen at `NOW` by the autouse `frozen_clock` fixture, which each
contract module imports.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest
from spotify_sandbox.routing import SandboxResponse
from spotify_sandbox.tally import Tally

from helpers.ads import repeated_keys, sync_ads
from tap_spotify_bulk.ads import times

if t.TYPE_CHECKING:
    from collections.abc import Callable

NOW = dt.datetime(2026, 3, 2, 7, 45, tzinfo=dt.UTC)  # 2026-03-01 is yesterday: a month edge
YESTERDAY = dt.date(2026, 3, 1)
THREE_MONTHS_BACK = dt.date(2025, 12, 2)  # the first DAY-report day of a THREE first sync
DAY_AD = {"table": "ad_day", "dimension": "AD", "granularity": "DAY",
          "fields": ["IMPRESSIONS", "CLICKS", "E_CPM"]}
HOUR_AD_SET = {"table": "ad_set_hour", "dimension": "AD_SET", "granularity": "HOUR",
               "fields": ["IMPRESSIONS", "SPEND"]}
LIFETIME_AD = {"table": "ad_lifetime", "dimension": "AD", "granularity": "LIFETIME",
               "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]}
INSIGHT_GENDER = {"table": "gender_insights", "dimension": "GENDER",
                  "granularity": "LIFETIME", "fields": ["IMPRESSIONS", "REACH"]}
SMALL_WORLD = {"n_businesses": 1, "shared_account": False, "campaigns_per_account": 2,
               "ad_sets_per_campaign": 2, "ads_per_ad_set": 2}
ALL_REPORTS = [DAY_AD, HOUR_AD_SET, LIFETIME_AD, INSIGHT_GENDER]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    """The tap's Ads clock at `NOW`, as the sandbox's."""
    monkeypatch.setattr(times, "utc_now", lambda: NOW)


def ads_sandbox(sandbox_factory, **ads):
    """A started sandbox of `SMALL_WORLD` (with `ads` options on top), its clock at `NOW`."""
    return sandbox_factory(ads={"now": NOW, **SMALL_WORLD, **ads})


Reshaper = t.Callable[[str, dict, dict], dict]


def reshape(sb, change: Reshaper) -> None:
    """Let `change(path, query, body)` rewrite every 200 JSON answer of the Ads API."""
    api = sb.ads_api
    original = api.handle

    def handle(req):
        response = original(req)
        if response.status != 200:
            return response
        body = change(req.path, req.query, json.loads(response.body))
        return SandboxResponse(200, json.dumps(body).encode(), dict(response.headers))

    api.handle = handle


def assert_exact(report: dict, records: list[dict], truth: dict) -> None:
    """Unique primary keys (as a target compares them) and exactly the truth."""
    assert repeated_keys(report, records) == [], report["table"]
    tally = Tally.for_ads_report(report).add_all(records).summary()
    assert tally == truth[report["table"]], report["table"]


Change = t.Callable[[dict, dict], dict]


def truth_of(sb, reports: list[dict], change: Change | None = None) -> dict:
    """The truth of `reports` (DAY ones over a THREE-month first sync ending yesterday, HOUR
    ones over the hours the API serves); `change(report, record)` rewrites each record as a
    server that reshapes its answers makes a correct tap emit it."""
    first, last = sb.ads_api.default_hour_range(NOW)
    windows = {"DAY": {"start": THREE_MONTHS_BACK, "end": YESTERDAY},
               "HOUR": {"start": first, "end": last}}
    out = {}
    for report in reports:
        table = report["table"]
        records = sb.ads_api.report_records([report], **windows.get(
            report["granularity"], {}))[table]
        if change is not None:
            records = [change(report, dict(record)) for record in records]
        out[table] = Tally.for_ads_report(report).add_all(records).summary()
    return out


def map_rows(body: dict, change: Callable[[dict], dict]) -> dict:
    if isinstance(body.get("rows"), list):
        body["rows"] = [change(row) for row in body["rows"]]
    return body


def run_all(sb) -> tuple[dict[str, list], dict | None]:
    """A first sync of `ALL_REPORTS`: (records per table, last STATE)."""
    return sync_ads(sb.tap_config(ads_report_list=ALL_REPORTS, ads_timeframe_months="THREE"))


def assert_all_exact(sb, records: dict[str, list], change: Change | None = None) -> None:
    """Each of `ALL_REPORTS` landed, exactly its truth (rewritten by `change`, see
    `truth_of`)."""
    truth = truth_of(sb, ALL_REPORTS, change)
    for report in ALL_REPORTS:
        assert records[report["table"]], report["table"]
        assert_exact(report, records[report["table"]], truth)
