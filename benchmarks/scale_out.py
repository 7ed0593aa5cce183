"""Scale-out: the same 14-day backfill with 1, 2 and 4 days (partitions) at once, end to end
and extraction only, with the CPU that bounds it.

    python -m benchmarks.scale_out --target PATH [--days 14] [--latency-ms 50]
                                   [--parallel 1,2,4] [--repeat 1] [--extract-only]

Needs PostgreSQL (`scripts/postgres`), the orchestrate extra (`pip install -e '.[orchestrate]'`)
and an installed target-postgres (`meltano install`, or `--target PATH`). Starts the sandbox
(subprocess) with `--latency-ms` added to every request, all days published. By default it
serves each generated file from a disk cache (`benchmarks.cached_sandbox`, the same bytes),
filled by one unmeasured extraction pass, so that the sandbox's data generator does not take
the cores the measured processes need; `--live-sandbox` generates on every request. Then, per
round (`--repeat`), for each level of parallelism:

* end to end: the code location's Bulk job (all eight streams) over the whole range in one
  Dagster run (in process, as a `BackfillPolicy.multi_run` backfill run) with
  `SpotifyTap.max_parallel` days at once, each day its own tap | target-postgres pair, into
  a fresh schema whose tables were created first (not timed). Every run must land exactly
  the sandbox's record count per table;
* extraction only (`benchmarks.slices`): each day its own tap process with the partition's
  config and catalog, the same number at once, stdout counted and not loaded. Every run
  must emit exactly the sandbox's record count per stream.

Last, the loader's fixed cost per partition: `target-postgres --about`, and one day's tap
output (the first day) loaded alone into a fresh schema, `--loader-repeat` times each.

Reported per level: wall time, records/s, the ratio to 1 at once, CPU seconds of the taps
and targets (children of this process), of the PostgreSQL server (all its processes), of
this process (Dagster's run, or the stdout counter) and of the sandbox; the CPU ceiling
(pipeline CPU over `os.cpu_count()`: the least wall time the cores allow; the pipeline is
tap + target + PostgreSQL end to end, the taps extraction only), the wall's share of it
(`of ceiling`, 1.0 = as fast as the cores allow) and the best ratio to 1 at once the cores
allow (wall at 1 over the level's ceiling).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import sys
import tempfile
import time
import typing as t
import uuid
from pathlib import Path

from benchmarks import harness, slices
from benchmarks.cpu import CpuMeter, ceiling

if t.TYPE_CHECKING:
    from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
    from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse

RESULTS = Path(__file__).resolve().parent / "results" / "scale_out.json"
PIPELINE = {"end_to_end": ("children", "postgres"), "extract": ("children",)}


def wait_for_json(path: Path, timeout: float = 120) -> dict[str, t.Any]:
    """The JSON the sandbox writes after it started (its ground truth)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.1)
    raise RuntimeError(f"the sandbox wrote no {path.name}")


def postgres_settings() -> dict[str, str]:
    missing = [k for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
               if not os.environ.get(k)]
    if missing:
        raise SystemExit(f"set {', '.join(missing)} first: eval \"$(scripts/postgres)\"; "
                         "export PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE")
    return {k: os.environ[k] for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD",
                                       "PGDATABASE")}


def make_warehouse(pg: dict[str, str], target: str,
                   loader: str = "target-postgres") -> PostgresWarehouse:
    from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse  # noqa: PLC0415

    return PostgresWarehouse(host=pg["PGHOST"], port=int(pg["PGPORT"]), user=pg["PGUSER"],
                             password=pg["PGPASSWORD"], database=pg["PGDATABASE"],
                             schema_name=f"bench_{uuid.uuid4().hex[:10]}",
                             target_executable=target, bulk_loader=loader)


def run_end_to_end(tap: SpotifyTap, warehouse: PostgresWarehouse, start: dt.date,
                   end: dt.date, expected: dict[str, int], meter: CpuMeter) -> dict[str, t.Any]:
    """One Dagster run of the Bulk job over [start, end], `tap.max_parallel` days at once."""
    import dagster as dg  # noqa: PLC0415 (the orchestrate extra)
    from tap_spotify_bulk_dagster.loading import day_slice  # noqa: PLC0415
    from tap_spotify_bulk_dagster.location import build_definitions, daily_partitions  # noqa: PLC0415
    from tap_spotify_bulk_dagster.streams import BULK_STREAMS  # noqa: PLC0415

    schema = warehouse.schema_name
    defs = build_definitions(daily_partitions(start.isoformat(), end.isoformat()), tap,
                             warehouse, partitions_per_run=(end - start).days + 1)
    job = defs.resolve_job_def("spotify_bulk_job")
    try:
        day_slice.create_tables(tap, warehouse, list(BULK_STREAMS))  # setup, not timed
        before = meter.read()
        started = time.perf_counter()
        result = job.execute_in_process(  # the Bulk assets: loading alone, no dbt models
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
            asset_selection=[dg.AssetKey(["spotify", s]) for s in BULK_STREAMS],
            tags={"dagster/asset_partition_range_start": start.isoformat(),
                  "dagster/asset_partition_range_end": end.isoformat()})
        wall = time.perf_counter() - started
        cpu = meter.since(before)
        if not result.success:
            raise RuntimeError(f"the backfill run failed (parallel {tap.max_parallel})")
        with warehouse.connect() as conn:
            landed = {s: conn.execute(f'SELECT count(*) FROM "{schema}"."{s}"').fetchone()[0]
                      for s in BULK_STREAMS}
    finally:
        with warehouse.connect(autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if landed != expected:
        raise RuntimeError(f"landed {landed}, the sandbox served {expected}")
    return {"wall_s": round(wall, 2), "records": sum(landed.values()), "cpu_s": cpu}


def run_extract(tap: SpotifyTap, days: list[str], expected: dict[str, int], meter: CpuMeter,
                keep: dict[str, Path] | None = None) -> dict[str, t.Any]:
    """Every day its own tap, `tap.max_parallel` at once, stdout counted."""
    before = meter.read()
    started = time.perf_counter()
    per_day = slices.extract_range(tap, days, tap.max_parallel, keep)
    wall = time.perf_counter() - started
    cpu = meter.since(before)
    emitted = {s: sum(d["records"].get(s, 0) for d in per_day) for s in expected}
    if emitted != expected:
        raise RuntimeError(f"the taps emitted {emitted}, the sandbox served {expected}")
    return {"wall_s": round(wall, 2), "records": sum(emitted.values()), "cpu_s": cpu,
            "tap_day_wall_s": [round(d["wall_s"], 2) for d in per_day],
            "tap_day_cpu_s": [round(d["cpu_s"], 2) for d in per_day]}


def summarize(runs: list[dict[str, t.Any]], kind: str, levels: list[int],
              cores: int, days: int) -> dict[str, dict[str, t.Any]]:
    """Medians per level, the ratio to the first level, the CPU ceiling, and the ratio
    that `days` slices of equal length in rounds of `level` allow."""
    summary: dict[str, dict[str, t.Any]] = {}
    for level in levels:
        mine = [r for r in runs if r["kind"] == kind and r["parallel"] == level]
        wall = round(statistics.median(r["wall_s"] for r in mine), 2)
        cpu = {k: round(statistics.median(r["cpu_s"][k] for r in mine), 2)
               for k in mine[0]["cpu_s"]}
        summary[str(level)] = {"wall_s": wall, "records_per_s": round(mine[0]["records"] / wall),
                               "cpu_s": cpu, **ceiling(cpu, PIPELINE[kind], wall, cores),
                               "machine": ceiling(cpu, cpu.keys(), wall, cores)}
        if kind == "extract":  # a day's tap: how much longer it takes when others run
            summary[str(level)]["tap_day_wall_s"] = round(statistics.median(
                w for r in mine for w in r["tap_day_wall_s"]), 2)
    base = summary[str(levels[0])]["wall_s"]
    for row in summary.values():
        row["speedup"] = round(base / row["wall_s"], 2)
        row["cores_allow_speedup"] = round(base / row["ceiling_s"], 2)
    for level in levels:
        summary[str(level)]["rounds_allow_speedup"] = round(
            days / math.ceil(days / level) / (days / math.ceil(days / levels[0])), 2)
    return summary


def print_table(kind: str, summary: dict[str, dict[str, t.Any]], cores: int) -> None:
    end_to_end = kind == "end_to_end"
    header = ["days at once", "wall s", "records/s", "vs 1",
              "tap+target CPU s" if end_to_end else "tap CPU s",
              *(["PostgreSQL CPU s"] if end_to_end else []),
              "Dagster+sandbox CPU s" if end_to_end else "counter+sandbox CPU s",
              f"{cores}-core ceiling s", "of ceiling", "cores allow vs 1",
              *([] if end_to_end else ["a day's tap wall s"])]
    rows = []
    for level, row in summary.items():
        cpu = row["cpu_s"]
        rows.append((level, f"{row['wall_s']:.1f}", f"{row['records_per_s']:,}",
                     f"{row['speedup']:.2f}", f"{cpu['children']:.1f}",
                     *([f"{cpu['postgres']:.1f}"] if end_to_end else []),
                     f"{cpu['own'] + cpu['sandbox']:.1f}", f"{row['ceiling_s']:.1f}",
                     f"{row['of_ceiling']:.2f}", f"{row['cores_allow_speedup']:.2f}",
                     *([] if end_to_end else [f"{row['tap_day_wall_s']:.2f}"])))
    title = "End to end (tap | loader, one Dagster run)" if end_to_end \
        else "Extraction only (each day's tap, stdout counted)"
    print(f"\n{title}\n{harness.table(rows, header)}", flush=True)


def print_loader(loader: dict[str, t.Any], tap_day: dict[str, float]) -> None:
    rows = [("tap-spotify-bulk, one day (median of the days, 1 at once)",
             f"{tap_day['wall_s']:.2f}", f"{tap_day['cpu_s']:.2f}", ""),
            ("tap-spotify-bulk --about", f"{loader['tap_about_wall_s']:.2f}",
             f"{loader['tap_about_cpu_s']:.2f}", ""),
            ("target-postgres --about", f"{loader['about_wall_s']:.2f}",
             f"{loader['about_cpu_s']:.2f}", ""),
            (f"target-postgres loading the first day ({loader['load_records']:,} records)",
             f"{loader['load_wall_s']:.2f}", f"{loader['load_cpu_s']:.2f}",
             f"{loader['load_postgres_cpu_s']:.2f}")]
    header = ["process", "wall s", "CPU s", "PostgreSQL CPU s"]
    print(f"\nPer partition\n{harness.table(rows, header)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_out")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--scale", type=int, default=2000, help="streams events per day")
    parser.add_argument("--countries", default="US,GB,DE,SE,NO,BR,JP,FR")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parallel", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--loader-repeat", type=int, default=3)
    parser.add_argument("--extract-only", action="store_true",
                        help="only the extraction table (no PostgreSQL, no target)")
    parser.add_argument("--live-sandbox", action="store_true",
                        help="generate every file on each request (no file cache)")
    parser.add_argument("--target", default="", help="target-postgres executable (default: "
                        "PATH, then the Meltano project's installed plugin)")
    parser.add_argument("--loader", default="target-postgres", choices=("target-postgres", "copy"),
                        help="the Bulk slices' loader end to end (SPOTIFY_LOADER); the "
                             "per-partition table always times target-postgres")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("MELTANO_PROJECT_ROOT", str(harness.REPO))
    from tap_spotify_bulk_dagster.resources.tap import SpotifyTap, resolve_executable  # noqa: PLC0415

    pg = target = None
    if not args.extract_only:
        target = args.target or resolve_executable("target-postgres", "loaders")
        pg = postgres_settings()
    levels = [int(n) for n in args.parallel.split(",")]
    cores = os.cpu_count() or 1
    start = dt.date(2024, 3, 1)
    end = start + dt.timedelta(days=args.days - 1)
    days = [(start + dt.timedelta(days=i)).isoformat() for i in range(args.days)]
    countries = args.countries.split(",")
    runs: list[dict[str, t.Any]] = []
    load_start = os.getloadavg()
    loader = None
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        workdir = Path(tmp)
        truth = workdir / "truth.json"
        with harness.sandbox(workdir, start=start, end=end, scale=args.scale,
                             countries=countries, latency_ms=args.latency_ms,
                             file_cache=None if args.live_sandbox else workdir / "files",
                             extra=["--truth", str(truth)]) as sb:
            expected = {s: v["count"] for s, v in wait_for_json(truth).items()}
            config = harness.write_config(workdir / "tap.json", {**sb.config, "max_workers": 8})
            meter = CpuMeter(sb.proc.pid)

            def tap(parallel: int) -> SpotifyTap:
                return SpotifyTap(config_file=str(config), max_parallel=parallel,
                                  today=(end + dt.timedelta(days=1)).isoformat())

            first_day = workdir / "first-day.singer"
            # Unmeasured: fills the sandbox's file cache and the discovery cache.
            run_extract(tap(max(levels)), days, expected, meter, {days[0]: first_day})
            for round_ in range(args.repeat):
                for kind in ("end_to_end", "extract"):
                    if kind == "end_to_end" and args.extract_only:
                        continue
                    for parallel in levels:
                        run = (run_end_to_end(tap(parallel),
                                              make_warehouse(pg, target, args.loader), start,
                                              end, expected, meter)
                               if kind == "end_to_end" else
                               run_extract(tap(parallel), days, expected, meter))
                        run.update(kind=kind, parallel=parallel, round=round_ + 1,
                                   load_avg_1m=round(os.getloadavg()[0], 2))
                        runs.append(run)
                        print(json.dumps({k: v for k, v in run.items()
                                          if not k.startswith("tap_day")}), flush=True)
            if not args.extract_only:
                first = slices.count_records(first_day.open("rb"))
                loader = slices.loader_cost(tap(1), lambda: make_warehouse(pg, target), first_day,
                                            {s: first.get(s, 0) for s in expected},
                                            args.loader_repeat)
    report: dict[str, t.Any] = {}
    for kind in ("end_to_end", "extract"):
        if any(r["kind"] == kind for r in runs):
            report[kind] = summarize(runs, kind, levels, cores, args.days)
            print_table(kind, report[kind], cores)
    single = [r for r in runs if r["kind"] == "extract" and r["parallel"] == 1]
    tap_day = {"wall_s": statistics.median(w for r in single for w in r["tap_day_wall_s"]),
               "cpu_s": statistics.median(c for r in single for c in r["tap_day_cpu_s"])}
    if loader:
        print_loader(loader, tap_day)
    load_end = os.getloadavg()
    command = "python -m benchmarks.scale_out " + " ".join(
        argv if argv is not None else sys.argv[1:])
    harness.write_report(args.json, {
        "command": command.strip(), "finished_utc": dt.datetime.now(dt.UTC).isoformat(
            timespec="seconds"),
        "machine": {**harness.machine(), "load_avg_start": [round(x, 2) for x in load_start],
                    "load_avg_end": [round(x, 2) for x in load_end]},
        "days": args.days, "scale": args.scale, "countries": countries,
        "latency_ms": args.latency_ms, "sandbox_file_cache": not args.live_sandbox,
        "records": runs[0]["records"], "expected": expected,
        "per_partition": {"tap": {k: round(v, 2) for k, v in tap_day.items()},
                          "loader": loader},
        "summary": report, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
