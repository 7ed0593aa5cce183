"""The Dagster pictures of docs/scale-out.md, taken from a running `dagster dev`.

    python scripts/dagster_pictures.py --start 2024-03-01 --end 2024-03-14

Start the code location first as docs/scale-out.md ("One machine") describes. The script
launches one backfill of every executable asset over the days (the Bulk reports, the Ads
reports and the dbt models), waits for it, then has headless Chromium (Debian's `chromium`)
photograph the pages: `docs/dagster-assets.png` (a Bulk report's partitions) and
`docs/dagster-lineage.png` (a `current_*` model between its Bulk sources and its mart).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
_NODES = "{ assetNodes { assetKey { path } isPartitioned isExecutable } }"
_LAUNCH = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
_STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status } } }"""


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    if not url.startswith(("http://", "https://")):
        sys.exit(f"dagster_pictures: --url must be an http(s) address, not {url!r}")
    request = urllib.request.Request(f"{url}/graphql", body,  # noqa: S310 (checked above)
                                     {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.load(response)["data"]


def wait_for_webserver(url: str, timeout: float = 300) -> None:
    """`dagster dev` takes a while to load the code location (and to parse dbt's manifest)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            graphql(url, _NODES)
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"dagster_pictures: no Dagster webserver answers at {url}")
            time.sleep(5)


def backfill(url: str, start: str, end: str) -> str:
    """Launch one backfill of every executable asset over start..end; its id."""
    days = {"range": {"start": start, "end": end}}
    assets = [{"assetKey": n["assetKey"], "partitions": days if n["isPartitioned"] else None}
              for n in graphql(url, _NODES)["assetNodes"] if n["isExecutable"]]
    launched = graphql(url, _LAUNCH, {"p": {"partitionsByAssets": assets,
                                            "title": f"{start} to {end}"}})
    outcome = launched["launchPartitionBackfill"]
    if "backfillId" not in outcome:
        sys.exit(f"dagster_pictures: the backfill was refused: {outcome.get('message')}")
    return outcome["backfillId"]


def wait(url: str, backfill_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = graphql(url, _STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if status["status"] == "COMPLETED_SUCCESS":
            return
        if status["status"] in {"FAILED", "CANCELED", "COMPLETED_FAILED"}:
            sys.exit(f"dagster_pictures: backfill {backfill_id} ended {status['status']}")
        time.sleep(10)
    sys.exit(f"dagster_pictures: backfill {backfill_id} still running after {timeout:.0f} s")


def photograph(url: str, page: str, out: Path) -> None:
    command = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
               "--hide-scrollbars", "--window-size=1440,900", "--virtual-time-budget=20000",
               f"--screenshot={out}", f"{url}/{page}"]
    subprocess.run(command, check=True, capture_output=True, timeout=180)  # noqa: S603
    print(f"{out.name}: {url}/{page}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--start", required=True, help="first day of the backfill")
    parser.add_argument("--end", required=True, help="last day of the backfill")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--no-backfill", action="store_true",
                        help="photograph only (the days are loaded already)")
    args = parser.parse_args()
    wait_for_webserver(args.url)
    if not args.no_backfill:
        wait(args.url, backfill(args.url, args.start, args.end), args.timeout)
    first, last = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    day = first + dt.timedelta(days=min(4, (last - first).days))  # a day inside a run
    photograph(args.url, f"assets/spotify/streams?view=partitions&partition={day}",
               DOCS / "dagster-assets.png")
    photograph(args.url, "assets/spotify/current_streams?view=lineage"
                         "&lineageScope=neighbors", DOCS / "dagster-lineage.png")


if __name__ == "__main__":
    main()
