"""What the Ads re-read window costs in report requests, and what it keeps exact.

    python -m benchmarks.ads_reread [--ads 100] [--flight-days 120] [--lookbacks 90,30,3,0]

Starts the sandbox with one ad account of `--ads` ads (10 per ad set), every one flying
from `--flight-days` days back, and a first sync of an AD-level DAY report and an AD_SET
HOUR report with the default settings (six months of DAY history). The sandbox then credits
late conversions and revenue to the day 20 and the day 60 days back (its admin call), and
the next day's run is made from the first run's state once per `ads_lookback_days` in
`--lookbacks` (90 is the default). For each run: Ads report requests answered (every page,
from the sandbox's request log), first pages among them (one per report window), records
emitted, and whether the two runs' records upserted on the primary key equal the sandbox's
new truth. Once with the API paging 50 rows a page and once 50 entities a page (the
specification leaves it open). The tap runs in this process with its Ads clock frozen at
the sandbox's. The result goes to `benchmarks/results/ads_reread.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import time
from pathlib import Path

import orjson
from spotify_sandbox import Sandbox, SandboxOptions
from spotify_sandbox.tally import ADS_KEYS_TIMESERIES, Tally, canonical

from benchmarks import harness
from tap_spotify_bulk.ads import times, windows
from tap_spotify_bulk.tap import TapSpotifyBulk

RESULTS = Path(__file__).resolve().parent / "results" / "ads_reread.json"
NOW = dt.datetime(2026, 6, 15, 10, 30, tzinfo=dt.UTC)
NEXT_DAY = NOW + dt.timedelta(days=1)
CREDITED = (NOW.date() - dt.timedelta(days=20), NOW.date() - dt.timedelta(days=60))
FIELDS = ["IMPRESSIONS", "SPEND", "PURCHASES", "REVENUE"]
REPORTS = [{"table": "ad_day", "dimension": "AD", "granularity": "DAY", "fields": FIELDS},
           {"table": "ad_set_hour", "dimension": "AD_SET", "granularity": "HOUR",
            "fields": FIELDS}]
ADS_PER_AD_SET = 10


def sync(config: dict, state: dict | None) -> tuple[dict[str, list[dict]], dict | None]:
    """A sync of the report tables in this process: (records per table, last STATE)."""
    catalog = TapSpotifyBulk(config=dict(config), parse_env_config=False).catalog_dict
    tables = {r["table"] for r in REPORTS}
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in tables
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        TapSpotifyBulk(config=dict(config), state=state, catalog=catalog,
                       parse_env_config=False).sync_all()
    records: dict[str, list[dict]] = {table: [] for table in tables}
    last_state = None
    for line in out.getvalue().splitlines():
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
        elif message["type"] == "STATE":
            last_state = message["value"]
    return records, last_state


def landed(report: dict, rows: list[dict]) -> dict:
    """The tally of a target that upserts `rows` in order on the primary key."""
    latest = {tuple(canonical(r[k]) for k in ADS_KEYS_TIMESERIES): r for r in rows}
    return Tally.for_ads_report(report).add_all(latest.values()).summary()


def requests_of(sb: Sandbox) -> tuple[int, int]:
    """(report requests answered, first pages among them) since the last reset."""
    answered = sum(1 for e in sb.request_log if e["kind"] == "ads"
                   and e["path"].endswith("/aggregate_reports"))
    first_pages = sum(1 for e in sb.ads_api.report_log if not e["continued"])
    return answered, first_pages


def measure(page_unit: str, ads: int, flight_days: int, lookbacks: list[int]) -> list[dict]:
    world = {"now": NOW, "page_unit": page_unit, "n_businesses": 1, "shared_account": False,
             "campaigns_per_account": 1, "ad_sets_per_campaign": ads // ADS_PER_AD_SET,
             "ads_per_ad_set": ADS_PER_AD_SET, "flight_days": flight_days}
    rows = []
    with Sandbox(SandboxOptions(seed=11, start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 1),
                                ads=world)) as sb:
        base = sb.tap_config(ads_report_list=REPORTS)

        def run(label: str, lookback: int | None, state: dict | None,
                now: dt.datetime) -> tuple:
            config = dict(base) if lookback is None else {**base, "ads_lookback_days": lookback}
            times.utc_now = lambda: now
            sb.ads_api.fixed_now = now
            sb.reset_counters()
            sb.ads_api.report_log.clear()
            started = time.perf_counter()
            records, new_state = sync(config, state)
            answered, first_pages = requests_of(sb)
            rows.append({"page_unit": page_unit, "run": label,
                         "ads_lookback_days": "default (90)" if lookback is None else lookback,
                         "report_requests": answered, "first_pages": first_pages,
                         "day_records": len(records["ad_day"]),
                         "hour_records": len(records["ad_set_hour"]),
                         "wall_s": round(time.perf_counter() - started, 2)})
            return records, new_state

        first, state = run("first sync", None, None, NOW)
        for day in CREDITED:
            sb.credit_late_conversions(day)
        for lookback in lookbacks:
            default = lookback == windows.DEFAULT_REREAD_DAYS
            second, _ = run("next day", None if default else lookback, state, NEXT_DAY)
            hour_first, _ = sb.ads_api.default_hour_range(NOW)
            _, hour_last = sb.ads_api.default_hour_range(NEXT_DAY)
            truth = {**sb.ads_truth(REPORTS[:1], start=windows.months_back(NOW.date(), 6),
                                    end=NEXT_DAY.date() - dt.timedelta(days=1)),
                     **sb.ads_truth(REPORTS[1:], start=hour_first, end=hour_last)}
            rows[-1]["exact"] = all(
                landed(r, first[r["table"]] + second[r["table"]]) == truth[r["table"]]
                for r in REPORTS)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=100)
    parser.add_argument("--flight-days", type=int, default=120)
    parser.add_argument("--lookbacks", default="90,30,3,0")
    args = parser.parse_args()
    if args.ads <= 0 or args.ads % ADS_PER_AD_SET:
        raise SystemExit(f"--ads: {args.ads} is not a positive multiple of {ADS_PER_AD_SET}")
    lookbacks = [int(n) for n in args.lookbacks.split(",")]
    original = times.utc_now
    try:
        rows = [row for unit in ("row", "entity")
                for row in measure(unit, args.ads, args.flight_days, lookbacks)]
    finally:
        times.utc_now = original
    header = ["page_unit", "run", "ads_lookback_days", "report_requests", "first_pages",
              "day_records", "hour_records", "exact", "wall_s"]
    print(harness.table([[row.get(k, "") for k in header] for row in rows], header))
    harness.write_report(RESULTS, {"date": dt.date.today().isoformat(), "ads": args.ads,
                                   "flight_days": args.flight_days, "machine": harness.machine(),
                                   "runs": rows})


if __name__ == "__main__":
    main()
