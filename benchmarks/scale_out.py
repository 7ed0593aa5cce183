"""Scale-out: the same Dagster backfill with 1, 2 and 4 days (partitions) at once.

    python -m benchmarks.scale_out [--days 14] [--latency-ms 50] [--parallel 1,2,4]

Needs PostgreSQL (`scripts/postgres`), the orchestrate extra (`pip install -e '.[orchestrate]'`)
and an installed target-postgres (`meltano install`, or `--target PATH`). Starts the sandbox
(subprocess) with `--latency-ms` added to every request, all days published; then, for
each level of parallelism (interleaved, `--repeat` times), runs the code location's Bulk
job (all eight streams) over the whole range in one Dagster run (in process, as a
`BackfillPolicy.multi_run` backfill run) with `SpotifyTap.max_parallel` days at once, each
day its own tap | target-postgres pair, into a fresh schema whose tables were created
first (not timed). Every run must land exactly the sandbox's record count per table.
Reports wall time, records/s, the ratio to 1 at once, the CPU seconds of the tap and target
processes (children of this process) and of the PostgreSQL server (all its processes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import tempfile
import time
import typing as t
import uuid
from pathlib import Path

from benchmarks import harness

RESULTS = Path(__file__).resolve().parent / "results" / "scale_out.json"


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu_s() -> float:
    """CPU seconds used so far by the machine's PostgreSQL server processes: the live ones
    plus the exited backends their postmaster has reaped (its children's time)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.endswith("(postgres"):
            fields = rest.split()
            procs[int(stat.parent.name)] = (int(fields[1]), [int(f) for f in fields[11:15]])
    total = 0.0
    for ppid, (utime, stime, cutime, cstime) in procs.values():
        total += utime + stime
        if ppid not in procs:  # the postmaster: add its reaped children
            total += cutime + cstime
    return total / tick


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


def run_once(config_path: Path, pg: dict[str, str], target: str, start: dt.date,
             end: dt.date, parallel: int, expected: dict[str, int]) -> dict[str, t.Any]:
    import dagster as dg  # noqa: PLC0415 (the orchestrate extra)
    import psycopg  # noqa: PLC0415
    from tap_spotify_bulk_dagster import bulk  # noqa: PLC0415
    from tap_spotify_bulk_dagster.location import build_definitions, daily_partitions  # noqa: PLC0415
    from tap_spotify_bulk_dagster.resources import SpotifyTap  # noqa: PLC0415
    from tap_spotify_bulk_dagster.streams import BULK_STREAMS  # noqa: PLC0415
    from tap_spotify_bulk_dagster.warehouse import PostgresWarehouse  # noqa: PLC0415

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    tap = SpotifyTap(config_file=str(config_path), max_parallel=parallel,
                     today=(end + dt.timedelta(days=1)).isoformat())
    warehouse = PostgresWarehouse(host=pg["PGHOST"], port=int(pg["PGPORT"]), user=pg["PGUSER"],
                                  password=pg["PGPASSWORD"], database=pg["PGDATABASE"],
                                  schema_name=schema, target_executable=target)
    defs = build_definitions(daily_partitions(start.isoformat(), end.isoformat()), tap,
                             warehouse, partitions_per_run=(end - start).days + 1)
    job = defs.resolve_job_def("spotify_bulk_job")
    connect = {"host": pg["PGHOST"], "port": pg["PGPORT"], "user": pg["PGUSER"],
               "password": pg["PGPASSWORD"], "dbname": pg["PGDATABASE"]}
    try:
        bulk.create_tables(tap, warehouse, list(BULK_STREAMS))  # setup, not timed
        cpu_before, pg_before = children_cpu_s(), postgres_cpu_s()
        started = time.perf_counter()
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
            tags={"dagster/asset_partition_range_start": start.isoformat(),
                  "dagster/asset_partition_range_end": end.isoformat()})
        wall = time.perf_counter() - started
        cpu, pg_cpu = children_cpu_s() - cpu_before, postgres_cpu_s() - pg_before
        if not result.success:
            raise RuntimeError(f"the backfill run failed (parallel {parallel})")
        with psycopg.connect(**connect) as conn:
            landed = {s: conn.execute(f'SELECT count(*) FROM "{schema}"."{s}"').fetchone()[0]
                      for s in BULK_STREAMS}
    finally:
        with psycopg.connect(**connect, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if landed != expected:
        raise RuntimeError(f"landed {landed}, the sandbox served {expected}")
    records = sum(landed.values())
    return {"parallel": parallel, "wall_s": round(wall, 2), "records": records,
            "records_per_s": round(records / wall), "children_cpu_s": round(cpu, 2),
            "postgres_cpu_s": round(pg_cpu, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_out")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--scale", type=int, default=2000, help="streams events per day")
    parser.add_argument("--countries", default="US,GB,DE,SE,NO,BR,JP,FR")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parallel", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--target", default="", help="target-postgres executable (default: "
                        "PATH, then the Meltano project's installed plugin)")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("MELTANO_PROJECT_ROOT", str(harness.REPO))
    from tap_spotify_bulk_dagster.resources import resolve_executable  # noqa: PLC0415

    target = args.target or resolve_executable("target-postgres", "loaders")
    pg = postgres_settings()
    levels = [int(n) for n in args.parallel.split(",")]
    start = dt.date(2024, 3, 1)
    end = start + dt.timedelta(days=args.days - 1)
    countries = args.countries.split(",")
    runs: list[dict[str, t.Any]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        workdir = Path(tmp)
        truth = workdir / "truth.json"
        with harness.sandbox(workdir, start=start, end=end, scale=args.scale,
                             countries=countries, latency_ms=args.latency_ms,
                             extra=["--truth", str(truth)]) as sb:
            expected = {s: v["count"] for s, v in wait_for_json(truth).items()}
            config = harness.write_config(workdir / "tap.json", {**sb.config, "max_workers": 8})
            for round_ in range(args.repeat):
                for parallel in levels:
                    run = run_once(config, pg, target, start, end, parallel, expected)
                    run["round"] = round_ + 1
                    runs.append(run)
                    print(json.dumps(run), flush=True)
    summary = {}
    for parallel in levels:
        walls = [r["wall_s"] for r in runs if r["parallel"] == parallel]
        summary[parallel] = {"wall_s": statistics.median(walls)}
    records = runs[0]["records"]
    base = summary[levels[0]]["wall_s"]
    rows = []
    for parallel in levels:
        wall = summary[parallel]["wall_s"]
        summary[parallel].update(records_per_s=round(records / wall),
                                 speedup=round(base / wall, 2))
        cpu = statistics.median(r["children_cpu_s"] for r in runs if r["parallel"] == parallel)
        pg_cpu = statistics.median(r["postgres_cpu_s"] for r in runs if r["parallel"] == parallel)
        rows.append((parallel, f"{wall:.1f}", f"{records / wall:,.0f}",
                     f"{base / wall:.2f}", f"{cpu:.1f}", f"{pg_cpu:.1f}"))
    print(harness.table(rows, ["days at once", "wall s", "records/s", "vs 1",
                               "tap+target CPU s", "PostgreSQL CPU s"]))
    command = "python -m benchmarks.scale_out " + " ".join(argv if argv is not None else
                                                           __import__("sys").argv[1:])
    harness.write_report(args.json, {
        "command": command.strip(), "finished_utc": dt.datetime.now(dt.UTC).isoformat(
            timespec="seconds"),
        "machine": {**harness.machine(), "load_avg_1m_start": round(load_before, 2)},
        "days": args.days, "scale": args.scale, "countries": countries,
        "latency_ms": args.latency_ms, "records": records, "runs": runs,
        "summary": {str(k): v for k, v in summary.items()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
