"""A slow target does not grow the tap: peak memory and temporary disk, fast vs slow reader.

    python -m benchmarks.slow_target [--scale 15000] [--days 2] [--read-mib-per-s 1]
                                     [--budget-mb 0.5] [--max-workers 8]

Starts the sandbox (Streams report, 8 countries, files served from its file cache after the
first run), then runs the tap (streams only) three times, each read through a pipe as a
target would: by a reader as fast as it can, by a reader paced to `--read-mib-per-s`, and
by the same slow reader with `download_budget_mb` set to `--budget-mb`. Each run is watched
from outside (`benchmarks.procwatch`): peak resident memory (the kernel's VmHWM) and the
peak bytes of the downloaded files the tap holds open in its TMPDIR (they have no name on
disk). The tap's own count of bytes waiting (its log) and the largest file are reported
too. The result goes to `benchmarks/results/slow_target.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import tempfile
import time
import typing as t
from pathlib import Path

from benchmarks import harness
from benchmarks.procwatch import ProcessWatch

FIRST_DAY = dt.date(2024, 3, 1)
COUNTRIES = ("SE", "NO", "DK", "FI", "DE", "GB", "US", "BR")
RESULTS = Path(__file__).resolve().parent / "results" / "slow_target.json"
REPORTED = re.compile(rb"downloads: at most (\d+) bytes")
BLOCK = 64 * 1024


def run_tap(argv: list[str], temp: Path, read_bytes_per_s: float | None,
            log: Path) -> dict[str, t.Any]:
    """Run the tap, read its stdout at the given pace (None: as fast as possible)."""
    with log.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, cwd=harness.REPO,
                                   env={**os.environ, "TMPDIR": str(temp)})
        assert process.stdout is not None
        read = 0
        with ProcessWatch(process.pid, temp, interval=0.01) as watch:
            while block := process.stdout.read1(BLOCK):
                read += len(block)
                if read_bytes_per_s:
                    ahead = read / read_bytes_per_s - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            process.wait()
        elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"the tap failed; see {log}")
    reported = [int(m) for m in REPORTED.findall(log.read_bytes())]
    return {"wall_s": round(elapsed, 2), "output_mib": round(read / 2**20, 1),
            "peak_rss_mib": round(watch.peak_rss / 2**20, 1),
            "peak_temp_mib": round(watch.peak_temp_bytes / 2**20, 2),
            "peak_temp_files": watch.peak_temp_files,
            "tap_reported_peak_mib": round(max(reported, default=0) / 2**20, 2),
            "samples": watch.samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=int, default=15000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--read-mib-per-s", type=float, default=1.0)
    parser.add_argument("--budget-mb", type=float, default=0.5)
    parser.add_argument("--max-workers", type=int, default=8)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    end = FIRST_DAY + dt.timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="bench-slow-target-") as tmp:
        work = Path(tmp)
        temp = work / "tmp"
        temp.mkdir()
        with harness.sandbox(work, start=FIRST_DAY, end=end, scale=args.scale,
                             countries=COUNTRIES, file_cache=work / "cache") as sb:
            catalog = harness.streams_catalog(sb.config_path, work / "catalog.json",
                                              frozenset({"streams"}))
            runs: dict[str, dict[str, t.Any]] = {}
            cases = {
                "fast reader": ({}, None),
                "slow reader": ({}, args.read_mib_per_s * 2**20),
                "slow reader, budget": ({"download_budget_mb": args.budget_mb},
                                        args.read_mib_per_s * 2**20),
            }
            run_tap([*harness.TAP, "--config", str(sb.config_path), "--catalog", str(catalog)],
                    temp, None, work / "warm.log")  # fills the sandbox's file cache
            for name, (settings, pace) in cases.items():
                config = harness.write_config(
                    work / "config.json",
                    {**sb.config, "max_workers": args.max_workers, **settings})
                argv = [*harness.TAP, "--config", str(config), "--catalog", str(catalog)]
                runs[name] = run_tap(argv, temp, pace, work / f"{len(runs)}.log")
                print(name, runs[name], flush=True)
            sizes = sorted(p.stat().st_size for p in (work / "cache").rglob("*") if p.is_file())
            leftover = [p.name for p in temp.iterdir()]
    rows = [[name, r["wall_s"], r["output_mib"], r["peak_rss_mib"], r["peak_temp_mib"],
             r["peak_temp_files"], r["tap_reported_peak_mib"]] for name, r in runs.items()]
    print(harness.table(rows, ["run", "wall s", "output MiB", "peak RSS MiB",
                               "peak temp MiB", "peak temp files", "tap's own peak MiB"]))
    harness.write_report(args.json, {
        "machine": harness.machine(),
        "settings": {**vars(args), "json": str(args.json)},
        "files": len(sizes), "largest_file_mib": round(sizes[-1] / 2**20, 2) if sizes else 0,
        "runs": runs, "temp_dir_left": leftover,
    })


if __name__ == "__main__":
    main()
