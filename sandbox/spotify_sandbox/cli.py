"""`tap-spotify-bulk-sandbox`: run the local Spotify sandbox until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import threading
from pathlib import Path

from spotify_sandbox.options import (
    DEFAULT_COUNTRIES,
    FAULT_PROFILES,
    FaultOptions,
    SandboxOptions,
)
from spotify_sandbox.server import Sandbox

FAULT_RATES = ("429", "5xx", "401", "truncated_gzip", "reset", "signed_url_expired")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tap-spotify-bulk-sandbox",
                                description="Local Spotify Bulk API + Ads API v3 sandbox.")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 3, 1))
    p.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2024, 3, 31))
    p.add_argument("--scale", type=int, default=2000, help="streams events per day")
    p.add_argument("--licensor", default="gyrostream")
    p.add_argument("--countries", default=",".join(DEFAULT_COUNTRIES),
                   help="comma-separated pool of ISO country codes")
    p.add_argument("--catalogue-size", type=int, default=200)
    p.add_argument("--empty-day-rate", type=float, default=0.05)
    p.add_argument("--direct-files", action="store_true", help="200 with the file, not 303")
    p.add_argument("--signed-url-ttl", type=float, default=300.0)
    p.add_argument("--signed-url-host", default=None,
                   help="host name in signed URLs, e.g. localhost (default: 127.0.0.1)")
    p.add_argument("--token-lifetime", type=int, default=3600)
    p.add_argument("--rotate-refresh-token", action="store_true")
    p.add_argument("--today", type=dt.date.fromisoformat, default=None)
    p.add_argument("--unpublished-days", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--faults", default="none", choices=sorted(FAULT_PROFILES))
    for kind in FAULT_RATES:
        p.add_argument(f"--fault-rate-{kind.replace('_', '-')}", type=float, default=None)
    p.add_argument("--token-503", action="store_true")
    p.add_argument("--fault-attempts", type=int, default=None)
    p.add_argument("--ads", type=json.loads, default={}, help="JSON object for the Ads part")
    p.add_argument("--ads-report-list", type=json.loads, default=None,
                   help="JSON list of Ads reports (the ads_report_list setting): added to the "
                        "printed config and to --truth")
    p.add_argument("--truth", type=Path, help="write the Bulk ground truth JSON here")
    p.add_argument("--config-out", type=Path, help="write the tap config JSON here")
    return p


def options_from_args(args: argparse.Namespace) -> SandboxOptions:
    faults = FaultOptions.profile(args.faults)
    for kind in FAULT_RATES:
        rate = getattr(args, f"fault_rate_{kind}")
        if rate is not None:
            setattr(faults, f"rate_{kind}", rate)
    faults.token_503 = faults.token_503 or args.token_503
    if args.fault_attempts is not None:
        faults.fault_attempts = args.fault_attempts
    return SandboxOptions(
        seed=args.seed, start=args.start, end=args.end, licensor=args.licensor,
        countries=tuple(c.strip() for c in args.countries.split(",") if c.strip()),
        scale=args.scale, catalogue_size=args.catalogue_size, empty_day_rate=args.empty_day_rate,
        direct_files=args.direct_files, signed_url_ttl=args.signed_url_ttl,
        signed_url_host=args.signed_url_host,
        token_lifetime=args.token_lifetime, rotate_refresh_token=args.rotate_refresh_token,
        today=args.today, unpublished_days=args.unpublished_days, latency_ms=args.latency_ms,
        faults=faults, ads=args.ads, port=args.port,
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        options = options_from_args(args)
    except ValueError as exc:
        print(f"tap-spotify-bulk-sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Sandbox(options) as sandbox:
        extra = {"ads_report_list": args.ads_report_list} if args.ads_report_list else {}
        config = sandbox.tap_config(**extra)
        print(f"Sandbox listening on {sandbox.base_url}", flush=True)
        print(f"  token_url    {sandbox.token_url}\n  bulk_api_url {sandbox.bulk_api_url}\n"
              f"  ads_api_url  {sandbox.ads_api_url}\n  truth        {sandbox.base_url}"
              f"/_sandbox/truth?start=&end=\n  stats        {sandbox.base_url}/_sandbox/stats")
        print("Tap config:\n" + json.dumps(config, indent=2), flush=True)
        if args.config_out:
            args.config_out.write_text(json.dumps(config, indent=2) + "\n")
        if args.truth:
            truth = sandbox.bulk_truth(options.start, options.end)
            if args.ads_report_list:
                truth.update(sandbox.ads_truth(args.ads_report_list))
            args.truth.write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
            print(f"Bulk truth written to {args.truth}", flush=True)
        print("Serving; Ctrl-C or SIGTERM stops.", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
