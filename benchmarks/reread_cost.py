"""What re-reading recent days costs in Bulk API requests, on each path.

* Dagster: every daily tick loads yesterday and the `reread_days` days before it, one slice
  per day (`bulk.day_tap_command`: `start_date = end_date = day`, no state).
* Meltano: a daily run from state reads `[bookmark + 1 - lookback_days, yesterday]`.

Both against the sandbox (every day published, `--countries` country files per day), counted
from the sandbox's request log: token, listing and data-file requests (a data file is two
requests: the API's 303 and the signed URL). Request counts do not depend on `--scale`.

    python -m benchmarks.reread_cost --days 3 --countries 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from spotify_sandbox.options import SandboxOptions
from spotify_sandbox.server import Sandbox
from tap_spotify_bulk_dagster.loading.day_slice import day_tap_command
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
from tap_spotify_bulk_dagster.streams import BULK_STREAMS

from benchmarks.harness import TAP

COUNTRY_POOL = ("US", "GB", "DE", "FR", "SE", "NO", "DK", "FI", "NL", "BE", "ES", "IT", "PT",
                "PL", "BR", "MX", "AR", "CA", "AU", "NZ", "JP", "KR", "IN", "ZA", "TR")


def kinds(log: list[dict]) -> Counter[str]:
    """Requests by kind: token, listing (200), 404, file (the API's 303 and the signed URL)."""
    counted: Counter[str] = Counter()
    for entry in log:
        if entry["kind"] == "token":
            counted["token"] += 1
        elif entry["kind"] == "signed" or entry["status"] == 303:
            counted["file"] += 1
        else:
            counted["listing" if entry["status"] == 200 else str(entry["status"])] += 1
    counted["total"] = sum(counted.values())
    return counted


def dagster_tick(sb: Sandbox, days: list[str], work: Path) -> Counter[str]:
    tap = SpotifyTap(config_json=json.dumps(sb.tap_config()))
    sb.app.stats.clear()
    for day in days:
        command = day_tap_command(tap, day, list(BULK_STREAMS), work)
        subprocess.run(command, check=True, capture_output=True, timeout=600)
    sb.wait_idle()
    return kinds(sb.request_log)


def meltano_daily_run(sb: Sandbox, first: str, bookmark: str, end: str, lookback: int,
                      work: Path) -> Counter[str]:
    """A daily run from state: the bookmark of every stream at `bookmark`."""
    config = work / "meltano.json"
    config.write_text(json.dumps(sb.tap_config(start_date=first, end_date=end,
                                               lookback_days=lookback)))
    catalog = work / "catalog.json"
    catalog.write_text(subprocess.run([*TAP, "--config", str(config), "--discover"],
                                      check=True, capture_output=True, timeout=300).stdout
                       .decode())
    state = work / "state.json"
    state.write_text(json.dumps({"bookmarks": {
        s: {"replication_key": "report_date", "replication_key_value": bookmark}
        for s in BULK_STREAMS}}))
    sb.app.stats.clear()
    subprocess.run([*TAP, "--config", str(config), "--catalog", str(catalog), "--state",
                    str(state)], check=True, capture_output=True, timeout=600)
    sb.wait_idle()
    return kinds(sb.request_log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="reread_days / lookback_days")
    parser.add_argument("--countries", type=int, default=20)
    args = parser.parse_args()
    end = dt.date(2024, 3, 20)
    first = end - dt.timedelta(days=10)
    countries = COUNTRY_POOL[: args.countries]
    sb = Sandbox(SandboxOptions(seed=5, start=first, end=end, scale=args.countries * 20,
                                countries=countries, empty_day_rate=0.0)).start()
    try:
        window = [(end - dt.timedelta(days=n)).isoformat() for n in range(args.days, -1, -1)]
        with tempfile.TemporaryDirectory() as tmp:
            one = dagster_tick(sb, window[-1:], Path(tmp))
            tick = dagster_tick(sb, window, Path(tmp))
            meltano = meltano_daily_run(sb, first.isoformat(), window[-2], end.isoformat(),
                                        args.days, Path(tmp))
    finally:
        sb.stop()
    print(f"countries per day: {len(countries)} (a day's plan uses 5-20 of them); "
          f"re-read days: {args.days}")
    for name, counted in (("one day, one slice", one),
                          (f"Dagster tick: {len(window)} slices", tick),
                          (f"Meltano daily run, lookback_days={args.days}", meltano)):
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counted.items()) if k != "total")
        print(f"{name:40s} {counted['total']:5d} requests ({parts})")


if __name__ == "__main__":
    main()
