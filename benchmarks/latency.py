"""Latency: many small files behind a slow API, bounded by concurrent downloads.

    python -m benchmarks.latency [--files 200] [--latency-ms 50] [--max-workers 8 16]

Starts the sandbox with `--latency-ms` added to every request and a Streams report of
about `--files` country files (small ones; generated once, then served from the sandbox's
file cache, see `benchmarks.cached_sandbox`), then runs the tap (streams only, output to
/dev/null) and compares its wall time with the bound:
1.5 x (files x latency / max_workers). Both ways of serving files are measured: the
default 303 to a signed URL (two requests per file, so twice the latency per file) and
`--direct-files` (the file in the 200 answer: one request per file, the bound's model);
for the 303 flow the bound is also shown per request (x 2). The tap's own sync time (from
its log, without interpreter start-up) is shown as well, and a reference: plain threads
that only download the same files ("plain downloads", listings done beforehand).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from spotify_sandbox.bulk_data import BulkData
from spotify_sandbox.options import SandboxOptions

from benchmarks import floor, harness

FIRST_DAY = dt.date(2024, 3, 1)
SCALE = 4000  # events per day: small files, so the run is latency-bound
RESULTS = Path(__file__).resolve().parent / "results" / "latency.json"


def plan_days(files: int) -> tuple[dt.date, int]:
    """(last day, file count): the first days from FIRST_DAY holding >= `files` files."""
    day, count = FIRST_DAY, 0
    data = BulkData(SandboxOptions(start=FIRST_DAY, end=FIRST_DAY + dt.timedelta(days=400),
                                   scale=SCALE, empty_day_rate=0.0))
    while True:
        plan = data.day(day)
        count += len(plan.streams) if plan else 0
        if count >= files:
            return day, count
        day += dt.timedelta(days=1)


def plain_downloads(config: dict[str, t.Any], end: dt.date, workers: int) -> float:
    """Seconds for `workers` threads to only download every file (listed beforehand)."""
    api = floor.Api(config)
    session = requests.Session()
    paths = []
    day = FIRST_DAY
    while day <= end:
        path = f"streams/{day:%Y/%m/%d}"
        paths += [f"{path}/{code}" for code in sorted(api.children(path, session))]
        day += dt.timedelta(days=1)
    local = threading.local()

    def fetch(relative: str) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return len(api.download(relative, local.session))

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fetch, paths))
    return time.perf_counter() - started


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--max-workers", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    started_utc = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    end, files = plan_days(args.files)
    print(f"Streams report: {files} files, {FIRST_DAY} to {end}; "
          f"{args.latency_ms:g} ms per request", flush=True)
    rows: list[list[t.Any]] = []
    results: list[dict[str, t.Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        workdir = Path(tmp)
        for direct in (False, True):
            with harness.sandbox(workdir, start=FIRST_DAY, end=end, scale=SCALE,
                                 latency_ms=args.latency_ms, direct_files=direct,
                                 file_cache=workdir / f"file-cache-{direct}") as sb:
                plain_downloads(sb.config, end, 8)  # unmeasured: fills the file cache
                for workers in args.max_workers:
                    config = harness.write_config(workdir / "tap-config.json",
                                                  dict(sb.config, max_workers=workers))
                    catalog = harness.streams_catalog(config, workdir / "catalog.json",
                                                      frozenset({"streams"}))
                    plain = plain_downloads(sb.config, end, workers)
                    bound = 1.5 * files * args.latency_ms / 1000 / workers
                    per_file = 1 if direct else 2  # requests per file (303 + signed URL)
                    bound_requests = bound * per_file
                    for _ in range(args.repeat):
                        run = harness.run_measured(
                            "tap", [*harness.TAP, "--config", str(config), "--catalog",
                                    str(catalog)], log=workdir / "tap.log", timeout=600)
                        points = harness.metric_points((workdir / "tap.log").read_bytes())
                        sync = harness.metric_total(points, "sync_duration", "streams")
                        sync_s = round(sync, 2) if sync is not None else None
                        serving = "200 direct" if direct else "303 signed"
                        result = {"serving": serving, "max_workers": workers, "files": files,
                                  "records": run.records, "wall_s": round(run.wall_s, 3),
                                  "sync_s": sync_s, "bound_s": round(bound, 3),
                                  "within_bound": run.wall_s <= bound,
                                  "requests_per_file": per_file,
                                  "bound_per_request_s": round(bound_requests, 3),
                                  "within_bound_per_request": run.wall_s <= bound_requests,
                                  "plain_downloads_s": round(plain, 3)}
                        results.append(result)
                        rows.append([serving, workers, f"{plain:.2f}", f"{run.wall_s:.2f}",
                                     sync_s,
                                     f"{bound:.2f}", _yes(run.wall_s <= bound),
                                     f"{bound_requests:.2f}", _yes(run.wall_s <= bound_requests)])
                        print(f"  {serving} max_workers={workers}: wall {run.wall_s:.2f}s "
                              f"(sync {sync_s}s), bound {bound:.2f}s", flush=True)
    print()
    print(harness.table(rows, ["files served as", "max_workers", "plain downloads s",
                               "wall s", "sync s",
                               "bound s", "within", "bound x requests/file", "within"]))
    report = {"benchmark": "latency", "command": " ".join(
        ["python -m benchmarks.latency", *(argv or sys.argv[1:])]),
        "started_utc": started_utc,
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(), "latency_ms": args.latency_ms, "files": files,
        "runs": results}
    harness.write_report(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
