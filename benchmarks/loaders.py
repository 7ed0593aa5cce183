"""Loaders side by side: the same day of Bulk records into PostgreSQL (and DuckDB), one run.

    python -m benchmarks.loaders [--records 120000] [--repeat 1] [--target PATH]
                                 [--pipelinewise PATH] [--sling PATH]

Needs PostgreSQL (`scripts/postgres` starts it), the orchestrate extra (psycopg; the COPY
lane is `tap_spotify_bulk_dagster.loading.copy_load`), DuckDB (the dev extra) and target-postgres
(meltanolabs 0.8.1: `meltano install loader target-postgres`, or `--target PATH`).
pipelinewise-target-postgres and Sling run only when their executables are given.

The sandbox serves one day of the Streams report (at least `--records` lines over its
countries). Before anything is timed, the tap reads it twice: RECORD messages into a file,
and BATCH messages with their jsonl.gz files (`batch_config`, 100,000 records a file); the
`streams` stream and its `bulk_loads` manifest are selected. So every loader gets the same
records (two reads: their load_id differs), and the tap's own time is not counted. Every PostgreSQL
candidate loads into a fresh schema whose tables target-postgres created first (not timed),
except pipelinewise, which creates its own. The candidates, interleaved `--repeat` times:

  copy                PostgreSQL's `COPY` of the same rows as CSV (exported from a load
                      before timing) into the empty `streams` table: the floor
  lane                the COPY lane reading the RECORD messages (`copy_load`)
  lane_batch          the COPY lane reading the BATCH messages and files
  lane_rerun          the COPY lane loading the same day again (the upsert path)
  tp_project          target-postgres with this project's settings (use_copy, no
                      validation, no metadata columns), RECORD messages
  tp_batch            the same target reading the SDK's BATCH messages and files
  tp_defaults         target-postgres with its own defaults
  pipelinewise        pipelinewise-target-postgres, RECORD messages (with --pipelinewise)
  sling               Sling reading the BATCH files into its own table, upsert on the keys
                      (with --sling: the binary of the sling-linux-amd64 wheel)
  duckdb              DuckDB's `read_json` of the BATCH files into a DuckDB database file

Measured per candidate: wall seconds of the loading process, its CPU seconds (user + sys,
with its children), PostgreSQL's CPU seconds (every server process: an upper bound), the
records/s, and CPU seconds per million records (loader + PostgreSQL). Every load must land
the lines the sandbox served, and the `streams` table of every PostgreSQL candidate but
pipelinewise and Sling (their own tables and types) must hold exactly the rows
target-postgres (project settings) landed (a checksum over every column but load_id). Results in
`benchmarks/results/loaders.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import typing as t
import uuid
from pathlib import Path

from benchmarks import harness
from benchmarks.cpu import postgres_cpu_s
from benchmarks.meltano_postgres import postgres
from benchmarks.slices import measured
from benchmarks.throughput import FIRST_DAY, expected_streams

RESULTS = Path(__file__).resolve().parent / "results" / "loaders.json"
TARGET = harness.REPO / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / \
    "target-postgres"
PROJECT = {"use_copy": True, "validate_records": False, "add_record_metadata": False,
           "activate_version": False}
STREAMS_KEY = ("report_date", "country", "row_number")
LABELS = {
    "copy": "PostgreSQL COPY of the rows (CSV), the floor",
    "lane": "COPY lane, RECORD messages",
    "lane_batch": "COPY lane, BATCH files",
    "lane_rerun": "COPY lane, the same day again (upsert)",
    "tp_project": "target-postgres 0.8.1, project settings",
    "tp_batch": "target-postgres 0.8.1, project settings, BATCH files",
    "tp_defaults": "target-postgres 0.8.1, defaults",
    "pipelinewise": "pipelinewise-target-postgres",
    "sling": "Sling, BATCH files, upsert",
    "duckdb": "DuckDB read_json of the BATCH files (own file)",
}


class Bench:
    """The prepared inputs and the PostgreSQL connection of one benchmark run."""

    def __init__(self, args: argparse.Namespace, pg: dict[str, str], work: Path) -> None:
        self.args, self.pg, self.work = args, pg, work
        self.records_file = work / "records.singer"
        self.batch_file = work / "batch.singer"
        self.rows_csv = work / "streams.csv"
        self.day = FIRST_DAY.isoformat()
        self.reference = ""  # checksum of target-postgres's streams table

    def connect(self) -> t.Any:
        import psycopg  # noqa: PLC0415

        return psycopg.connect(host=self.pg["PGHOST"], port=self.pg["PGPORT"],
                               user=self.pg["PGUSER"], password=self.pg["PGPASSWORD"],
                               dbname=self.pg["PGDATABASE"], autocommit=True)

    def target_config(self, schema: str, settings: dict[str, t.Any]) -> Path:
        return harness.write_config(self.work / f"target-{schema}.json", {
            "host": self.pg["PGHOST"], "port": int(self.pg["PGPORT"]),
            "user": self.pg["PGUSER"], "password": self.pg["PGPASSWORD"],
            "database": self.pg["PGDATABASE"], "default_target_schema": schema, **settings})

    def lane_config(self, schema: str) -> Path:
        return harness.write_config(self.work / f"lane-{schema}.json", {
            "host": self.pg["PGHOST"], "port": int(self.pg["PGPORT"]),
            "user": self.pg["PGUSER"], "password": self.pg["PGPASSWORD"],
            "database": self.pg["PGDATABASE"], "schema": schema})

    def create_tables(self, schema: str) -> None:
        """target-postgres fed the SCHEMA messages alone creates the tables (not timed)."""
        schemas = b"".join(line for line in self.records_file.open("rb")
                           if line.startswith(b'{"type":"SCHEMA"'))
        subprocess.run([str(self.args.target), "--config",
                        str(self.target_config(schema, PROJECT))], input=schemas,
                       capture_output=True, check=True, timeout=300)

    def checksum(self, schema: str) -> tuple[int, str]:
        """(rows, md5 over the tap's columns but load_id, every row in key order) of
        schema.streams."""
        schema_line = next(line for line in self.records_file.open("rb")
                           if line.startswith(b'{"type":"SCHEMA","stream":"streams"'))
        columns = [c for c in json.loads(schema_line)["schema"]["properties"] if c != "load_id"]
        row = ", ".join(f'"{c}"' for c in columns)
        with self.connect() as conn:
            return conn.execute(
                f"SELECT count(*), md5(string_agg(row({row})::text, '|' ORDER BY "
                f'{", ".join(STREAMS_KEY)})) FROM "{schema}".streams').fetchone()

    def drop(self, schema: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def prepare(bench: Bench, config: dict[str, t.Any]) -> None:
    """The tap's RECORD and BATCH output of the day, and the rows as CSV (not timed)."""
    work = bench.work
    config = {**config, "start_date": bench.day, "end_date": bench.day}
    config_path = harness.write_config(work / "tap.json", config)
    catalog = harness.streams_catalog(config_path, work / "catalog.json",
                                      frozenset({"streams", "bulk_loads"}))
    tap = [*harness.TAP, "--catalog", str(catalog), "--config"]
    with bench.records_file.open("wb") as out:
        subprocess.run([*tap, str(config_path)], stdout=out, stderr=subprocess.DEVNULL,
                       check=True, timeout=600, cwd=harness.REPO)
    batch = {**config, "batch_config": {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": f"file://{work / 'batches'}", "prefix": "bench-"},
        "batch_size": 100_000}}
    (work / "batches").mkdir()
    with bench.batch_file.open("wb") as out:
        subprocess.run([*tap, str(harness.write_config(work / "tap-batch.json", batch))],
                       stdout=out, stderr=subprocess.DEVNULL, check=True, timeout=600,
                       cwd=harness.REPO)
    schema = f"bench_ref_{uuid.uuid4().hex[:8]}"
    bench.create_tables(schema)
    with bench.records_file.open("rb") as records:
        subprocess.run([str(bench.args.target), "--config",
                        str(bench.target_config(schema, PROJECT))], stdin=records,
                       capture_output=True, check=True, timeout=1800)
    bench.reference = bench.checksum(schema)[1]
    with bench.connect() as conn, bench.rows_csv.open("wb") as out, conn.cursor().copy(
            f'COPY "{schema}".streams TO STDOUT (FORMAT csv)') as copy:
        for block in copy:
            out.write(block)
    bench.drop(schema)


def command(bench: Bench, name: str, schema: str) -> tuple[list[str], Path | None]:
    """The measured command of candidate `name` into `schema`, and its stdin."""
    python = harness.PYTHON
    if name == "copy":
        sql = f"\\copy \"{schema}\".streams FROM '{bench.rows_csv}' WITH (FORMAT csv)"
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], None
    if name in ("lane", "lane_rerun", "lane_batch"):
        source = bench.batch_file if name == "lane_batch" else bench.records_file
        return [python, "-m", "tap_spotify_bulk_dagster.loading.copy_load", "--config",
                str(bench.lane_config(schema)), "--day", bench.day], source
    if name in ("tp_project", "tp_batch", "tp_defaults"):
        settings = {} if name == "tp_defaults" else PROJECT
        source = bench.batch_file if name == "tp_batch" else bench.records_file
        return [str(bench.args.target), "--config",
                str(bench.target_config(schema, settings))], source
    if name == "pipelinewise":
        config = harness.write_config(bench.work / f"pw-{schema}.json", {
            "host": bench.pg["PGHOST"], "port": int(bench.pg["PGPORT"]),
            "user": bench.pg["PGUSER"], "password": bench.pg["PGPASSWORD"],
            "dbname": bench.pg["PGDATABASE"], "default_target_schema": schema})
        return [str(bench.args.pipelinewise), "--config", str(config)], bench.records_file
    if name == "sling":
        return [str(bench.args.sling), "run", "--src-stream",
                f"file://{bench.work / 'batches'}/*--streams-*.json.gz", "--src-options",
                json.dumps({"format": "jsonlines", "compression": "gzip", "flatten": 1}),
                "--tgt-conn", "BENCH_PG", "--tgt-object", f"{schema}.streams",
                "--mode", "incremental", "--primary-key", ",".join(STREAMS_KEY)], None
    if name == "duckdb":
        database = bench.work / f"{schema}.duckdb"
        files = f"{bench.work / 'batches'}/*--streams-*.json.gz"
        script = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                  "c.execute(\"CREATE TABLE streams AS SELECT * FROM read_json(?, "
                  "format='newline_delimited')\", [sys.argv[2]]); "
                  "print(c.execute('SELECT count(*) FROM streams').fetchone()[0])")
        return [python, "-c", script, str(database), files], None
    raise ValueError(name)


def run_candidate(bench: Bench, name: str, expected: int) -> dict[str, t.Any]:
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    env_extra = {}
    try:
        if name not in ("pipelinewise", "duckdb", "sling"):
            bench.create_tables(schema)
        if name == "lane_rerun":  # the day is there already: measure the upsert path
            argv, source = command(bench, "lane", schema)
            measured(argv, stdin=source, cwd=bench.work)
        if name == "sling":
            env_extra["BENCH_PG"] = (
                f"postgresql://{bench.pg['PGUSER']}:{bench.pg['PGPASSWORD']}@"
                f"{bench.pg['PGHOST']}:{bench.pg['PGPORT']}/{bench.pg['PGDATABASE']}"
                "?sslmode=disable")
            env_extra["SLING_DISABLE_TELEMETRY"] = "true"
        argv, source = command(bench, name, schema)
        saved = {k: os.environ.get(k) for k in env_extra}
        os.environ.update(env_extra)
        try:
            pg_before = postgres_cpu_s()
            run = measured(argv, stdin=source, cwd=bench.work)
            pg_cpu = postgres_cpu_s() - pg_before
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if name == "duckdb":
            import duckdb  # noqa: PLC0415

            with duckdb.connect(str(bench.work / f"{schema}.duckdb"), read_only=True) as conn:
                landed, exact = conn.execute("SELECT count(*) FROM streams").fetchone()[0], None
            pg_cpu = 0.0
        else:
            landed, digest = bench.checksum(schema)
            exact = None if name in ("pipelinewise", "sling") else digest == bench.reference
    finally:
        bench.drop(schema)
        (bench.work / f"{schema}.duckdb").unlink(missing_ok=True)
    if landed != expected or exact is False:
        msg = f"{name}: {landed} of {expected} rows landed, same rows as target-postgres: {exact}"
        raise RuntimeError(msg)
    cpu = run["cpu_s"] + pg_cpu
    return {"candidate": name, "records": landed, "wall_s": round(run["wall_s"], 3),
            "records_per_s": round(landed / run["wall_s"]),
            "loader_cpu_s": round(run["cpu_s"], 3), "postgres_cpu_s": round(pg_cpu, 3),
            "cpu_s_per_million": round(cpu / landed * 1e6, 2), "same_rows": exact}


def summary(runs: list[dict[str, t.Any]], names: list[str]) -> dict[str, dict[str, t.Any]]:
    keys = ("wall_s", "records_per_s", "loader_cpu_s", "postgres_cpu_s", "cpu_s_per_million")
    return {name: {key: round(statistics.median(r[key] for r in runs if r["candidate"] == name),
                              3) for key in keys} for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loaders",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=120_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--target", type=Path, default=TARGET, help=f"default {TARGET}")
    parser.add_argument("--pipelinewise", type=Path, help="target-postgres of pipelinewise")
    parser.add_argument("--sling", type=Path, help="the sling executable")
    parser.add_argument("--only", help="comma-separated candidates (default: all available)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    if not args.target.exists():
        parser.error(f"{args.target} not found: `meltano install loader target-postgres` or "
                     "pass --target")
    names = [n for n in LABELS if (n != "pipelinewise" or args.pipelinewise)
             and (n != "sling" or args.sling)]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    started_utc = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    pg = postgres()
    os.environ.update(pg)  # psql (the COPY floor) connects with the PG* variables
    expected, files = expected_streams(FIRST_DAY, FIRST_DAY, args.records)
    print(f"Streams report: {expected:,} lines in {files} files (one day); PostgreSQL on "
          f"{pg['PGHOST']}:{pg['PGPORT']}; load average {os.getloadavg()[0]:.2f}", flush=True)
    runs: list[dict[str, t.Any]] = []
    load_after: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-loaders-") as tmp, \
            harness.sandbox(Path(tmp), start=FIRST_DAY, end=FIRST_DAY, scale=args.records,
                            file_cache=Path(tmp) / "file-cache") as sb:
        bench = Bench(args, pg, Path(tmp))
        prepare(bench, sb.config)
        for repeat in range(1, args.repeat + 1):
            for name in names if repeat % 2 else names[::-1]:
                result = run_candidate(bench, name, expected)
                result["repeat"] = repeat
                runs.append(result)
                load_after.append(round(os.getloadavg()[0], 2))
                print(f"  run {repeat} {name:12} {result['records_per_s']:9,} records/s "
                      f"wall {result['wall_s']:6.2f}s, CPU s loader {result['loader_cpu_s']:6.2f}"
                      f" PostgreSQL {result['postgres_cpu_s']:6.2f}", flush=True)
        shutil.rmtree(Path(tmp) / "batches", ignore_errors=True)
    median = summary(runs, names)
    floor = median["copy"]["records_per_s"] if "copy" in median else None
    rows = [[LABELS[n], f"{median[n]['records_per_s']:,.0f}",
             f"{median[n]['records_per_s'] / floor:.2f}" if floor else "",
             f"{median[n]['wall_s']:.2f}", f"{median[n]['loader_cpu_s']:.2f}",
             f"{median[n]['postgres_cpu_s']:.2f}", f"{median[n]['cpu_s_per_million']:.1f}"]
            for n in names]
    print()
    print(harness.table(rows, ["loader", "records/s", "of COPY", "wall s", "loader CPU s",
                               "PostgreSQL CPU s", "CPU s per 1M records"]))
    print(f"(medians of {args.repeat}; {expected:,} records; PostgreSQL CPU is every server "
          "process's, an upper bound; DuckDB loads its own file, no PostgreSQL)")
    report = {"benchmark": "loaders", "command": " ".join(
        ["python -m benchmarks.loaders", *(argv if argv is not None else sys.argv[1:])]),
        "started_utc": started_utc,
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(), "load_avg_after_runs": load_after,
        "records": expected, "labels": {n: LABELS[n] for n in names},
        "runs": runs, "median": median,
        "lane_of_copy": round(median["lane"]["records_per_s"] / floor, 3)
        if floor and "lane" in median else None}
    harness.write_report(args.json, report)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    sys.exit(main())
