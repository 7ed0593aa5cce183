"""End to end into PostgreSQL: RECORD messages vs BATCH files, `tap | target-postgres`.

    python -m benchmarks.batch_postgres [--records 300000] [--repeat 2] [--batch-size 100000]

Needs PostgreSQL (`scripts/postgres` starts it) and target-postgres as Meltano installs it
for this project (`meltano install loader target-postgres`: meltanolabs-target-postgres
0.8.1 in `.meltano/loaders/target-postgres/venv`), or `--target PATH`. Starts the sandbox
with a Streams report of at least `--records` lines (files cached on disk after one
unmeasured warm-up download), then pipes `tap-spotify-bulk` into `target-postgres` both
ways, interleaved (record, batch, batch, record, ...), each into a fresh schema:

  record  RECORD messages on the pipe (the tap's fast path)
  batch   `batch_config`: jsonl.gz files of `--batch-size` records in a local folder
          (`file://`), one BATCH message per date; the target reads them back

The target gets meltano.yml's settings (use_copy true, validate_records false,
add_record_metadata false, activate_version false) and `batch_size_rows` = `--batch-size`,
so both ways load blocks of the same size. Reports wall time of the whole pipeline (until
both processes exited), records/s, and each process's CPU seconds (less disturbed than
wall time on a shared machine); the rows that landed are counted in PostgreSQL and
must equal the lines served.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
import uuid
from pathlib import Path

from benchmarks import harness
from benchmarks.meltano_postgres import landed_rows, postgres
from benchmarks.throughput import expected_streams, plan_range

RESULTS = Path(__file__).resolve().parent / "results" / "batch_postgres.json"
TARGET = harness.REPO / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / \
    "target-postgres"
TARGET_SETTINGS = {"use_copy": True, "validate_records": False, "add_record_metadata": False,
                   "activate_version": False}
MODES = ("record", "batch")


def target_config(pg: dict[str, str], schema: str, batch_size: int) -> dict[str, t.Any]:
    return {"host": pg["PGHOST"], "port": int(pg["PGPORT"]), "user": pg["PGUSER"],
            "password": pg["PGPASSWORD"], "database": pg["PGDATABASE"],
            "default_target_schema": schema, "batch_size_rows": batch_size, **TARGET_SETTINGS}


class Pipeline(t.NamedTuple):
    wall_s: float
    tap_code: int
    target_code: int
    tap_cpu_s: float
    target_cpu_s: float


def waited(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """(exit code, CPU seconds user + sys over all its threads) of a child, once it ends."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def run_pipeline(tap_argv: list[str], target_argv: list[str], log: Path,
                 timeout: float) -> Pipeline:
    """`tap | target`, timed until both processes have exited."""
    with log.open("wb") as errors:
        started = time.perf_counter()
        tap = subprocess.Popen(tap_argv, stdout=subprocess.PIPE, stderr=errors, cwd=harness.REPO)
        assert tap.stdout is not None
        target = subprocess.Popen(target_argv, stdin=tap.stdout, stdout=subprocess.DEVNULL,
                                  stderr=errors, cwd=harness.REPO)
        tap.stdout.close()  # the target holds the only reading end
        watchdog = threading.Timer(timeout, lambda: (tap.kill(), target.kill()))
        watchdog.start()
        try:
            target_code, target_cpu = waited(target)
            tap_code, tap_cpu = waited(tap)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
    return Pipeline(wall, tap_code, target_code, tap_cpu, target_cpu)


def medians(results: list[dict[str, t.Any]]) -> dict[str, dict[str, float]]:
    """{mode: {measure: median over the repeats}}."""
    keys = ("wall_s", "records_per_s", "tap_cpu_s", "target_cpu_s")
    return {mode: {key: round(statistics.median(r[key] for r in results if r["mode"] == mode), 2)
                   for key in keys} for mode in MODES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch_postgres",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100_000)
    parser.add_argument("--target", type=Path, default=TARGET, help=f"default {TARGET}")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    if not args.target.exists():
        parser.error(f"{args.target} not found: run `meltano install loader target-postgres` "
                     "or pass --target")
    started_utc = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    pg = postgres()
    start, end, scale = plan_range(args.records)
    lines, files = expected_streams(start, end, scale)
    print(f"Streams report: {lines} lines in {files} files; PostgreSQL on "
          f"{pg['PGHOST']}:{pg['PGPORT']}; target {args.target}", flush=True)
    results: list[dict[str, t.Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp_name, \
            harness.sandbox(Path(tmp_name), start=start, end=end, scale=scale,
                            file_cache=Path(tmp_name) / "file-cache") as sb:
        tmp = Path(tmp_name)
        config_path = harness.write_config(tmp / "tap-config.json", sb.config)
        catalog = harness.streams_catalog(config_path, tmp / "catalog.json",
                                          frozenset({"streams"}))
        harness.run_measured("floor", [harness.PYTHON, "-m", "benchmarks.floor",
                                       str(config_path)], log=tmp / "warm.log",
                             timeout=args.timeout, count_re=harness.FLOOR_RE)
        for repeat in range(1, args.repeat + 1):
            order = MODES if repeat % 2 else MODES[::-1]
            for mode in order:
                schema = f"bench_{mode}_{uuid.uuid4().hex[:8]}"
                files_dir = tmp / f"batches-{schema}"
                tap_config = dict(sb.config)
                if mode == "batch":
                    tap_config["batch_config"] = {
                        "encoding": {"format": "jsonl", "compression": "gzip"},
                        "storage": {"root": f"file://{files_dir}", "prefix": "streams-"},
                        "batch_size": args.batch_size}
                tap_path = harness.write_config(tmp / f"tap-{schema}.json", tap_config)
                target_path = harness.write_config(
                    tmp / f"target-{schema}.json", target_config(pg, schema, args.batch_size))
                run = run_pipeline(
                    [*harness.TAP, "--config", str(tap_path), "--catalog", str(catalog)],
                    [str(args.target), "--config", str(target_path)],
                    tmp / f"{schema}.log", args.timeout)
                landed = landed_rows(pg, schema, drop=True)
                shutil.rmtree(files_dir, ignore_errors=True)
                if run.tap_code or run.target_code or landed != lines:
                    tail = "\n".join((tmp / f"{schema}.log").read_text(
                        errors="replace").splitlines()[-30:])
                    msg = (f"{mode}: tap exited {run.tap_code}, target {run.target_code}, "
                           f"{landed} of "
                           f"{lines} rows landed:\n{tail}")
                    raise RuntimeError(msg)
                results.append({"mode": mode, "repeat": repeat, "records": landed,
                                "wall_s": round(run.wall_s, 2),
                                "records_per_s": round(landed / run.wall_s),
                                "tap_cpu_s": round(run.tap_cpu_s, 2),
                                "target_cpu_s": round(run.target_cpu_s, 2)})
                print(f"  run {repeat} {mode:6} {landed:,} rows in {run.wall_s:6.1f}s = "
                      f"{landed / run.wall_s:8,.0f} records/s; CPU s tap {run.tap_cpu_s:5.1f}, "
                      f"target {run.target_cpu_s:5.1f}", flush=True)
    median = medians(results)
    print()
    print(harness.table([[mode, f"{median[mode]['wall_s']:.1f}",
                          f"{median[mode]['records_per_s']:,.0f}",
                          f"{median[mode]['tap_cpu_s']:.1f}",
                          f"{median[mode]['target_cpu_s']:.1f}"] for mode in MODES],
                        ["tap | target-postgres", "wall s", "records/s", "tap CPU s",
                         "target CPU s"]))
    print("(medians over the repeats)")
    ratio = median["batch"]["records_per_s"] / median["record"]["records_per_s"]
    print(f"BATCH / RECORD: {ratio:.2f}x")
    report = {"benchmark": "batch_postgres", "command": " ".join(
        ["python -m benchmarks.batch_postgres", *(argv if argv is not None else sys.argv[1:])]),
        "started_utc": started_utc,
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(), "records": lines, "batch_size": args.batch_size,
        "target_settings": TARGET_SETTINGS, "runs": results, "median": median,
        "batch_over_record": round(ratio, 3)}
    harness.write_report(args.json, report)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    sys.exit(main())
