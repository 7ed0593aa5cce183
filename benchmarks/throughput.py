"""Throughput and memory of the Streams report: the tap vs the SDK default vs the floor.

    python -m benchmarks.throughput [--lines 1000000] [--repeat 3] [--json out.json]
    python -m benchmarks.throughput --memory        # also 10k-line vs 5M-line file RSS
    python -m benchmarks.throughput --files untidy --modes a,c   # untidy files only

Starts `tap-spotify-bulk-sandbox` as a subprocess with a Streams report of at least
`--lines` lines (every day has data; 1 to 4 days), serving generated files from a disk
cache filled by one unmeasured download (`benchmarks.cached_sandbox`; `--live-sandbox`
generates on every request instead), then runs, interleaved (a b b2 c a b b2 c ...):

  (a) tap    `tap-spotify-bulk --catalog <streams only>` > /dev/null (the fast path)
  (b) sdk    the same tap with the SDK's default writer and type conformance
             (`benchmarks.baseline_tap`)
  (b2) sdkfast  a plain SDK stream (`get_records`) with the SDK's fastest documented
             settings, `MsgSpecWriter` and no type conformance (`benchmarks.sdk_fast_tap`)
  (c) floor  download + gunzip + parse + orjson RECORD lines, no SDK (`benchmarks.floor`)
  (d) batch  optional (`--modes a,b,b2,c,d`): the tap in BATCH mode, jsonl.gz files in a
             temporary directory (one per date), BATCH messages to /dev/null

and reports records/s (wall), CPU seconds (user + sys of the child, all threads), peak RSS
(ru_maxrss of the child), medians over the repeats, the ratios a/b, a/b2 and a/c (each the
median of the ratios of the runs of one repeat, which ran back to back) and the targets, as
a table and as JSON (default benchmarks/results/latest.json).

`--files tidy,untidy` (the default) measures the sandbox's files as they are, then the same
report with untidy files (`benchmarks.untidy`, seeded by `--untidy-seed`: a blank line every
15 to 60 lines, 3 % of lines missing an optional key, 0.5 % with an unknown key, 0.2 % with
a value of another type), the same records; on untidy files only the modes a, c and d run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from spotify_sandbox.bulk_data import BulkData
from spotify_sandbox.options import SandboxOptions

from benchmarks import harness

FIRST_DAY = dt.date(2024, 3, 1)
LINES_PER_DAY = 250_000
MODES = {"a": "tap", "b": "sdk", "b2": "sdkfast", "c": "floor", "d": "batch"}
UNTIDY_MODES = ("a", "c", "d")  # the others are far slower and add nothing here
FILES = ("tidy", "untidy")
MODE_RE = re.compile(r"b2|b'|[abcd]")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
TARGETS = {
    "a_over_b_min": 5.0,  # a >= 5x b
    "a_over_b2_min": 1.0,  # a faster than the SDK's fastest documented path
    "c_over_a_max": 1.0,  # a no slower than the floor (wall time, paired runs)
    "c_over_a_untidy_max": 1.0,  # the same on untidy files
    "a_records_per_s_min": 100_000,
    "rss_mb_max": 200.0,
    "rss_spread_max": 0.20,  # 10k-line vs 5M-line file
}


def plan_range(lines: int) -> tuple[dt.date, dt.date, int]:
    """(start, end, scale) whose Streams report has at least `lines` lines."""
    days = max(1, min(4, math.ceil(lines / LINES_PER_DAY)))
    scale = math.ceil(lines / days) + 25  # per-country rounding loses up to ~10 lines a day
    return FIRST_DAY, FIRST_DAY + dt.timedelta(days=days - 1), scale


def expected_streams(start: dt.date, end: dt.date, scale: int,
                     countries: tuple[str, ...] | None = None) -> tuple[int, int]:
    """(lines, files) of the Streams report the sandbox will serve (from its day plans)."""
    options = SandboxOptions(start=start, end=end, scale=scale, empty_day_rate=0.0)
    if countries:
        options = SandboxOptions(start=start, end=end, scale=scale, empty_day_rate=0.0,
                                 countries=countries)
    data = BulkData(options)
    lines = files = 0
    day = start
    while day <= end:
        plan = data.day(day)
        if plan is not None:
            lines += sum(plan.streams.values())
            files += len(plan.streams)
        day += dt.timedelta(days=1)
    return lines, files


def commands(config: Path, catalog: Path, batch_config: Path) -> dict[str, list[str]]:
    py = harness.PYTHON
    return {
        "tap": [*harness.TAP, "--config", str(config), "--catalog", str(catalog)],
        "batch": [*harness.TAP, "--config", str(batch_config), "--catalog", str(catalog)],
        "sdk": [py, "-m", "benchmarks.baseline_tap", "--config", str(config),
                "--catalog", str(catalog)],
        "sdkfast": [py, "-m", "benchmarks.sdk_fast_tap", "--config", str(config),
                    "--catalog", str(catalog)],
        "floor": [py, "-m", "benchmarks.floor", str(config)],
    }


def measure(cmd: list[str], mode: str, workdir: Path, timeout: float,
            expected: int) -> harness.Measurement:
    result = harness.run_measured(mode, cmd, log=workdir / f"{mode}.log", timeout=timeout)
    if result.records != expected:
        msg = f"{mode}: emitted {result.records} records, the sandbox served {expected}"
        raise RuntimeError(msg)
    return result


def summarise(runs: list[harness.Measurement]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for mode in dict.fromkeys(r.mode for r in runs):
        mine = [r for r in runs if r.mode == mode]
        out[mode] = {
            "records": mine[0].records,
            "records_per_s": round(statistics.median(r.records_per_s for r in mine)),
            "wall_s": round(statistics.median(r.wall_s for r in mine), 3),
            "cpu_s": round(statistics.median(r.cpu_s for r in mine), 3),
            "records_per_cpu_s": round(statistics.median(r.records / r.cpu_s for r in mine)),
            "max_rss_mb": round(max(r.max_rss_mb for r in mine), 1),
            "runs": len(mine),
        }
    return out


def throughput(args: argparse.Namespace, workdir: Path, letters: list[str],
               untidy_seed: int | None = None) -> dict[str, t.Any]:
    start, end, scale = plan_range(args.lines)
    lines, files = expected_streams(start, end, scale)
    modes = [MODES[m] for m in letters]
    files_are = "tidy" if untidy_seed is None else "untidy"
    kind = files_are if untidy_seed is None else f"untidy (seed {untidy_seed})"
    print(f"Streams report, {kind} files: {lines} lines in {files} files, {start} to {end} "
          f"(sandbox scale {scale}); modes {', '.join(modes)}; {args.repeat} repeat(s)",
          flush=True)
    runs: list[harness.Measurement] = []
    repeats: list[int] = []
    sandbox_cpu: list[dict[str, t.Any]] = []  # CPU the sandbox spent serving each run
    cache = None if args.live_sandbox else workdir / f"file-cache-{files_are}"
    with harness.sandbox(workdir, start=start, end=end, scale=scale, file_cache=cache,
                         untidy_seed=untidy_seed) as sb:
        config = dict(sb.config, max_workers=args.max_workers)
        config_path = harness.write_config(workdir / "tap-config.json", config)
        catalog = harness.streams_catalog(config_path, workdir / "catalog.json",
                                          frozenset({"streams"}))
        batches = workdir / "batches"
        batch_path = harness.write_config(workdir / "tap-config-batch.json", dict(
            config, batch_config={"encoding": {"format": "jsonl", "compression": "gzip"},
                                  "storage": {"root": batches.as_uri()},
                                  "batch_size": 1_000_000}))
        cmds = commands(config_path, catalog, batch_path)
        if cache is not None:  # unmeasured: the sandbox generates and keeps every file
            warm = measure(cmds["floor"], "floor", workdir, args.timeout, lines)
            print(f"  warm-up (sandbox file cache filled): {warm.wall_s:.1f}s", flush=True)
        for repeat in range(1, args.repeat + 1):
            for mode in modes:
                batches.mkdir(exist_ok=True)
                before = harness.process_cpu_s(sb.proc.pid)
                result = measure(cmds[mode], mode, workdir, args.timeout, lines)
                after = harness.process_cpu_s(sb.proc.pid)
                shutil.rmtree(batches)
                served = round(after - before, 2) if before is not None and after else None
                runs.append(result)
                repeats.append(repeat)
                sandbox_cpu.append({"mode": mode, "repeat": repeat, "sandbox_cpu_s": served})
                print(f"  run {repeat} {mode:5} {result.records_per_s:9,.0f} records/s  "
                      f"wall {result.wall_s:6.2f}s  cpu {result.cpu_s:6.2f}s  "
                      f"rss {result.max_rss_mb:5.0f} MB  (sandbox cpu {served}s)", flush=True)
    return {"lines": lines, "files": files, "start": str(start), "end": str(end),
            "scale": scale, "sandbox": "live" if cache is None else "file cache (warm)",
            "untidy_seed": untidy_seed,
            "runs": [{**r.as_dict(), "repeat": n} for r, n in zip(runs, repeats, strict=True)],
            "summary": summarise(runs),
            "sandbox_cpu": sandbox_cpu}


def memory(args: argparse.Namespace, workdir: Path) -> dict[str, t.Any]:
    """Peak RSS of the tap on one small and one large single file (one country, one day)."""
    sizes = [int(s) for s in args.memory_lines.split(",")]
    out: dict[str, t.Any] = {}
    for size in sizes:
        lines, files = expected_streams(FIRST_DAY, FIRST_DAY, size, ("US",))
        with harness.sandbox(workdir, start=FIRST_DAY, end=FIRST_DAY, scale=size,
                             countries=("US",)) as sb:
            config_path = harness.write_config(workdir / "tap-config.json", sb.config)
            catalog = harness.streams_catalog(config_path, workdir / "catalog.json",
                                              frozenset({"streams"}))
            cmd = [*harness.TAP, "--config", str(config_path), "--catalog", str(catalog)]
            result = measure(cmd, "tap", workdir, args.timeout, lines)
        print(f"  memory {lines:>9,} lines in {files} file: rss {result.max_rss_mb:6.1f} MB, "
              f"{result.records_per_s:9,.0f} records/s", flush=True)
        out[str(size)] = result.as_dict()
    return out


def parse_modes(text: str) -> list[str]:
    """`abc`, `a,b2,c` or `ab'c` -> mode letters (b' is b2)."""
    found = MODE_RE.findall(text.replace(",", "").replace(" ", ""))
    if "".join(found) != text.replace(",", "").replace(" ", ""):
        raise ValueError(text)
    return ["b2" if m in {"b'"} else m for m in found]


def pair_ratios(runs: list[dict[str, t.Any]], top: str, bottom: str, key: str) -> list[float]:
    """run[top][key] / run[bottom][key] within each repeat, in repeat order."""
    by_repeat: dict[int, dict[str, dict[str, t.Any]]] = {}
    for run in runs:
        by_repeat.setdefault(run["repeat"], {})[run["mode"]] = run
    return [round(pair[top][key] / pair[bottom][key], 3) for pair in by_repeat.values()
            if top in pair and bottom in pair and pair[bottom][key]]


def paired(runs: list[dict[str, t.Any]], top: str, bottom: str, key: str) -> float | None:
    """Median over repeats of run[top][key] / run[bottom][key] within each repeat."""
    ratios = pair_ratios(runs, top, bottom, key)
    return round(statistics.median(ratios), 3) if ratios else None


def verdicts(report: dict[str, t.Any]) -> dict[str, t.Any]:
    data = report.get("throughput", {})
    summary = data.get("summary", {})
    runs = data.get("runs", [])
    ratios: dict[str, float] = {}
    pairs: dict[str, list[float]] = {}
    checks: dict[str, bool] = {}
    if "tap" in summary:
        tap = summary["tap"]
        checks["a >= 100k records/s"] = tap["records_per_s"] >= TARGETS["a_records_per_s_min"]
        checks["a peak RSS < 200 MB"] = tap["max_rss_mb"] < TARGETS["rss_mb_max"]
        for other, name in (("sdk", "b"), ("sdkfast", "b2")):
            if other not in summary:
                continue
            wall = paired(runs, other, "tap", "wall_s")
            cpu = paired(runs, other, "tap", "cpu_s")
            if wall is not None and cpu is not None:
                ratios[f"a_over_{name}"] = round(wall, 2)  # how many times faster a is
                ratios[f"a_over_{name}_cpu"] = round(cpu, 2)
                checks[f"a >= {TARGETS[f'a_over_{name}_min']:g}x {name}"] = (
                    wall >= TARGETS[f"a_over_{name}_min"])
    for suffix, label in (("", ""), ("_untidy", " on untidy files")):
        data = report.get(f"throughput{suffix}", {})
        runs = data.get("runs", [])
        if {"tap", "floor"} <= data.get("summary", {}).keys():
            wall = paired(runs, "tap", "floor", "wall_s")
            cpu = paired(runs, "tap", "floor", "cpu_s")
            if wall is not None and cpu is not None:
                # c's records/s over a's = a's wall time over c's: <= 1.0 is no slower
                ratios[f"c_over_a{suffix}"] = wall
                ratios[f"c_over_a{suffix}_cpu"] = cpu
                for key, name in (("wall_s", ""), ("cpu_s", "_cpu")):
                    pairs[f"c_over_a{suffix}{name}"] = pair_ratios(runs, "tap", "floor", key)
                checks[f"a wall time <= 1.0x c{label}"] = (
                    wall <= TARGETS[f"c_over_a{suffix}_max"])
    mem = report.get("memory")
    if mem:
        rss = [m["max_rss_mb"] for m in mem.values()]
        spread = max(rss) / min(rss) - 1
        ratios["rss_spread"] = round(spread, 3)
        checks["memory: RSS < 200 MB at every size"] = max(rss) < TARGETS["rss_mb_max"]
        checks["memory: RSS within ±20% across sizes"] = spread <= TARGETS["rss_spread_max"]
    return {"ratios": ratios, "pairs": pairs, "targets_met": checks}


def print_report(report: dict[str, t.Any]) -> None:
    label = {"tap": "(a) tap fast path", "sdk": "(b) SDK defaults",
             "sdkfast": "(b2) SDK fastest documented", "floor": "(c) floor",
             "batch": "(d) tap BATCH jsonl.gz"}
    for kind in FILES:
        summary = report.get("throughput" if kind == "tidy" else f"throughput_{kind}",
                             {}).get("summary", {})
        rows = [[label[m], f"{s['records']:,}", f"{s['records_per_s']:,}",
                 f"{s['wall_s']:.2f}", f"{s['cpu_s']:.2f}", f"{s['records_per_cpu_s']:,}",
                 f"{s['max_rss_mb']:.0f}"] for m, s in summary.items()]
        if rows:
            print(f"\n{kind} files")
            print(harness.table(rows, ["mode", "records", "records/s", "wall s", "CPU s",
                                       "records/CPU s", "peak RSS MB"]))
    for name, value in report["ratios"].items():
        each = report["pairs"].get(name)
        print(f"{name}: {value}" + (f" (pairs: {', '.join(map(str, each))})" if each else ""))
    for name, ok in report["targets_met"].items():
        print(f"[{'met' if ok else 'MISSED'}] {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000,
                        help="minimum lines of the Streams report (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default="a,b,b2,c",
                        help="modes to run: a tap, b SDK defaults, b2 (or b') the SDK's "
                             "fastest documented path, c floor, d tap in BATCH mode "
                             "(jsonl.gz files); e.g. abc or a,b2,c (default a,b,b2,c)")
    parser.add_argument("--files", default=",".join(FILES),
                        help="tidy (the sandbox's files), untidy (benchmarks.untidy) or both "
                             "(default tidy,untidy); on untidy files only a, c and d run")
    parser.add_argument("--untidy-seed", type=int, default=1)
    parser.add_argument("--max-workers", type=int, default=8, help="the tap's max_workers")
    parser.add_argument("--live-sandbox", action="store_true",
                        help="generate every file on every request (default: the sandbox "
                             "keeps generated files on disk, filled by a warm-up download)")
    parser.add_argument("--memory", action="store_true",
                        help="also measure the tap's peak RSS on a small and a large file")
    parser.add_argument("--memory-only", action="store_true", help="only the memory mode")
    parser.add_argument("--memory-lines", default="10000,5000000")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per run, seconds")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    try:
        modes = parse_modes(args.modes)
    except ValueError:
        modes = []
    if not modes:
        parser.error("--modes takes a, b, b2 (or b'), c, d")
    kinds = [kind for kind in args.files.replace(" ", "").split(",") if kind]
    untidy_modes = [mode for mode in modes if mode in UNTIDY_MODES]
    if not kinds or set(kinds) - set(FILES):
        parser.error("--files takes tidy, untidy or tidy,untidy")
    if "untidy" in kinds and not untidy_modes:
        parser.error("on untidy files, --modes needs a, c or d")
    report: dict[str, t.Any] = {
        "benchmark": "throughput", "command": " ".join(["python -m benchmarks.throughput",
                                                        *(argv or sys.argv[1:])]),
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(), "targets": TARGETS,
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        workdir = Path(tmp)
        if not args.memory_only and "tidy" in kinds:
            report["throughput"] = throughput(args, workdir, modes)
        if not args.memory_only and "untidy" in kinds:
            report["throughput_untidy"] = throughput(args, workdir, untidy_modes,
                                                     args.untidy_seed)
        if args.memory or args.memory_only:
            report["memory"] = memory(args, workdir)
    report.update(verdicts(report))
    report["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    report["duration_s"] = round(time.perf_counter() - started, 1)
    print_report(report)
    harness.write_report(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
