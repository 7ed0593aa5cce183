"""Peak memory of an Ads DAY report sync does not grow with the account.

    python -m benchmarks.ads_memory [--ads 50,2000] [--days 90] [--tap-path DIR]

For each account size, starts the sandbox with one ad account of that many ads, every one of
them flying over the whole range (the Ads option `flight_days`), and syncs one AD-level DAY
report of 10 fields over `--days` days (`ads_start_date`; at most 90 days is one report
window). The tap runs as its own process, waited for with `os.wait4`: its peak RSS is the
kernel's `ru_maxrss`. Its output is read through a pipe and checked: one record per ad and
day, no key twice. The verdict line holds the bound: every peak under `--max-mb` and the
largest within `--spread` of the smallest. `--tap-path` runs the tap package found in
another checkout (put first on the tap's PYTHONPATH), for a before/after comparison; the
sandbox is always this checkout's. The result goes to `benchmarks/results/ads_memory.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import orjson

from benchmarks import harness

RESULTS = Path(__file__).resolve().parent / "results" / "ads_memory.json"
TABLE = "ad_day"
FIELDS = ["IMPRESSIONS", "CLICKS", "SPEND", "REACH", "FREQUENCY", "COMPLETES",
          "COMPLETION_RATE", "CTR", "STREAMS", "E_CPM"]
ADS_PER_AD_SET = 10


def world_shape(ads: int) -> dict[str, int]:
    """Campaigns, ad sets and ads of one account with `ads` ads (a multiple of 10)."""
    if ads <= 0 or ads % ADS_PER_AD_SET:
        raise SystemExit(f"--ads: {ads} is not a positive multiple of {ADS_PER_AD_SET}")
    ad_sets = ads // ADS_PER_AD_SET
    campaigns = next(c for c in (20, 10, 5, 4, 2, 1) if ad_sets % c == 0)
    return {"campaigns_per_account": campaigns, "ad_sets_per_campaign": ad_sets // campaigns,
            "ads_per_ad_set": ADS_PER_AD_SET}


def read_output(stream: t.IO[bytes]) -> tuple[int, int, int]:
    """(records, distinct (entity_id, start_time) keys, STATE messages) of a Singer output."""
    records, states = 0, 0
    keys: set[tuple[str, str]] = set()
    for line in stream:
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            records += 1
            record = message["record"]
            keys.add((record["entity_id"], record["start_time"]))
        elif message["type"] == "STATE":
            states += 1
    return records, len(keys), states


def run_tap(argv: list[str], env: dict[str, str], log: Path) -> dict[str, t.Any]:
    """Run the tap, read its output through a pipe; wall time, peak RSS and the counts."""
    with log.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, cwd=harness.REPO,
                                env=env)
        assert proc.stdout is not None
        records, keys, states = read_output(proc.stdout)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_bytes()[-2000:].decode(errors="replace")
        raise RuntimeError(f"the tap failed (exit code {code}):\n{tail}")
    return {"records": records, "keys": keys, "states": states, "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def tap_env(tap_path: Path | None) -> tuple[dict[str, str], str]:
    """The tap's environment and the tap package it will import."""
    env = dict(os.environ)
    if tap_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tap_path.resolve()),
                                                          env.get("PYTHONPATH")]))
    found = subprocess.run(
        [sys.executable, "-c", "import tap_spotify_bulk as m; print(m.__file__)"],
        env=env, capture_output=True, text=True, check=True, cwd="/").stdout.strip()
    return env, str(Path(found).parent)


def measure(ads: int, days: int, work: Path, env: dict[str, str]) -> dict[str, t.Any]:
    today = dt.datetime.now(dt.UTC).date()
    options = {"n_businesses": 1, "accounts_per_business": 1, "shared_account": False,
               "flight_days": days + 10, "rate_limit": 100000, **world_shape(ads)}
    report = {"table": TABLE, "dimension": "AD", "granularity": "DAY", "fields": FIELDS}
    case = work / f"ads-{ads}"
    case.mkdir()
    with harness.sandbox(case, start=today, end=today, scale=1, countries=["SE"],
                         extra=["--ads", json.dumps(options)]) as sb:
        config = harness.write_config(case / "config.json", {
            **sb.config, "ads_report_list": [report],
            "ads_start_date": (today - dt.timedelta(days=days)).isoformat()})
        catalog = harness.streams_catalog(config, case / "catalog.json", frozenset({TABLE}))
        argv = [*harness.TAP, "--config", str(config), "--catalog", str(catalog)]
        result = run_tap(argv, env, case / "tap.log")
    expected = ads * days
    if result["records"] != expected or result["keys"] != expected:
        raise RuntimeError(f"{ads} ads x {days} days: expected {expected} records, got "
                           f"{result['records']} ({result['keys']} distinct keys)")
    return {"ads": ads, "days": days, "fields": len(FIELDS), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ads", default="50,2000", help="account sizes, comma-separated")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--tap-path", type=Path, default=None,
                        help="a checkout whose tap_spotify_bulk package the tap runs")
    parser.add_argument("--max-mb", type=float, default=150.0)
    parser.add_argument("--spread", type=float, default=0.20)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = [int(n) for n in args.ads.split(",")]
    env, package = tap_env(args.tap_path)
    print(f"tap package: {package}", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-ads-memory-") as tmp:
        for ads in sizes:
            runs.append(measure(ads, args.days, Path(tmp), env))
            print(runs[-1], flush=True)
    rows = [[r["ads"], r["days"], r["fields"], r["records"], r["states"], r["wall_s"],
             r["cpu_s"], r["peak_rss_mib"]] for r in runs]
    print(harness.table(rows, ["ads", "days", "fields", "records", "STATE msgs", "wall s",
                               "CPU s", "peak RSS MiB"]))
    peaks = [r["peak_rss_mib"] for r in runs]
    spread = max(peaks) / min(peaks) - 1
    bounded = max(peaks) < args.max_mb and spread <= args.spread
    print(f"peak RSS {min(peaks)}..{max(peaks)} MiB, spread {spread:.1%}: "
          f"{'within' if bounded else 'NOT within'} {args.max_mb:g} MiB and "
          f"{args.spread:.0%}")
    harness.write_report(args.json, {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(), "tap_package": package,
        "settings": {**vars(args), "json": str(args.json),
                     "tap_path": str(args.tap_path) if args.tap_path else None},
        "runs": runs, "spread": round(spread, 4), "bounded": bounded,
    })
    if not bounded:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
