"""End to end: `meltano run tap-spotify-bulk target-postgres`, target defaults vs recommended.

    python -m benchmarks.meltano_postgres [--records 1000000] [--repeat 1]

Needs PostgreSQL: `scripts/postgres` starts it (installing it if missing) and prints the
connection. Starts the sandbox (subprocess, files kept on disk after one unmeasured
warm-up download) with a Streams report of at least `--records` lines, then runs the
repository's Meltano project (its installed plugins, a private system database per run so
no state is reused, only the `streams` stream selected) into a fresh PostgreSQL schema per
run, interleaving the settings variants:

  defaults     meltanolabs-target-postgres's own defaults (use_copy false,
               validate_records true, add_record_metadata true, activate_version true,
               SDK batch size)
  copy, no_validation  (on request) the defaults with only use_copy, or only
               validate_records false, changed
  project      meltano.yml's values: use_copy true, validate_records false,
               add_record_metadata false, activate_version false (SDK batch size)
  recommended  the same and batch_size_rows 100000

Reports wall time and records/s of the whole `meltano run` (the rows that landed are
counted in PostgreSQL and must equal the lines served) and recommends the faster one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import typing as t
import uuid
from pathlib import Path

from benchmarks import harness
from benchmarks.throughput import expected_streams, plan_range

MELTANO = str(Path(harness.PYTHON).with_name("meltano"))
RESULTS = Path(__file__).resolve().parent / "results" / "meltano_postgres.json"
VARIANTS: dict[str, dict[str, t.Any]] = {
    "defaults": {"use_copy": False, "validate_records": True, "add_record_metadata": True,
                 "activate_version": True},
    "copy": {"use_copy": True, "validate_records": True, "add_record_metadata": True,
             "activate_version": True},  # the defaults but COPY
    "no_validation": {"use_copy": False, "validate_records": False, "add_record_metadata": True,
                      "activate_version": True},  # the defaults but no validation
    "project": {"use_copy": True, "validate_records": False, "add_record_metadata": False,
                "activate_version": False},  # meltano.yml's values, the SDK's batch size
    "recommended": {"use_copy": True, "validate_records": False, "add_record_metadata": False,
                    "activate_version": False, "batch_size_rows": 100_000},
}
PLUGIN_PREFIXES = ("TAP_SPOTIFY_BULK_", "TARGET_POSTGRES_")


def postgres() -> dict[str, str]:
    """PG* connection variables from scripts/postgres (which starts the cluster)."""
    done = subprocess.run([str(harness.REPO / "scripts" / "postgres")], capture_output=True,
                          text=True, check=True, timeout=600)
    words = shlex.split(done.stdout.strip().removeprefix("export "))
    return dict(word.split("=", 1) for word in words)


def env_of(prefix: str, settings: dict[str, t.Any]) -> dict[str, str]:
    """Meltano's environment-variable form of plugin settings."""
    return {f"{prefix}{name.upper()}": json.dumps(value) if isinstance(value, bool | list | dict)
            else str(value) for name, value in settings.items()}


def run_env(tap_config: dict[str, t.Any], pg: dict[str, str], schema: str,
            target: dict[str, t.Any], database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLUGIN_PREFIXES)}
    env.update({
        "MELTANO_DATABASE_URI": f"sqlite:///{database}",
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": f"{Path(harness.PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TAP_SPOTIFY_BULK__SELECT": json.dumps(["streams.*"]),
    })
    env.update(env_of("TAP_SPOTIFY_BULK_", tap_config))
    env.update(env_of("TARGET_POSTGRES_", {
        "host": pg["PGHOST"], "port": pg["PGPORT"], "user": pg["PGUSER"],
        "password": pg["PGPASSWORD"], "database": pg["PGDATABASE"],
        "default_target_schema": schema, **target,
    }))
    return env


def landed_rows(pg: dict[str, str], schema: str, *, drop: bool) -> int:
    import psycopg  # noqa: PLC0415 (dev extra)

    with psycopg.connect(host=pg["PGHOST"], port=pg["PGPORT"], user=pg["PGUSER"],
                         password=pg["PGPASSWORD"], dbname=pg["PGDATABASE"],
                         autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."streams"',)).fetchone()
        count = conn.execute(f'SELECT count(*) FROM "{schema}"."streams"').fetchone()[0] \
            if found and found[0] else 0
        if drop:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return int(count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.meltano_postgres",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--variants", default="defaults,project,recommended",
                        help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--keep", action="store_true", help="keep the loaded schemas")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    started_utc = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    pg = postgres()
    start, end, scale = plan_range(args.records)
    lines, files = expected_streams(start, end, scale)
    print(f"Streams report: {lines} lines in {files} files; PostgreSQL on "
          f"{pg['PGHOST']}:{pg['PGPORT']}", flush=True)
    results: list[dict[str, t.Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-meltano-") as tmp, \
            harness.sandbox(Path(tmp), start=start, end=end, scale=scale,
                            file_cache=Path(tmp) / "file-cache") as sb:
        # Unmeasured warm-up: every file generated once, so each variant is served alike.
        config_path = harness.write_config(Path(tmp) / "tap-config.json", sb.config)
        harness.run_measured("floor", [harness.PYTHON, "-m", "benchmarks.floor",
                                       str(config_path)], log=Path(tmp) / "warm.log",
                             timeout=args.timeout)
        for repeat in range(1, args.repeat + 1):
            for name in variants:
                schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
                env = run_env(sb.config, pg, schema, VARIANTS[name],
                              Path(tmp) / f"meltano-{schema}.db")
                started = time.perf_counter()
                done = subprocess.run([MELTANO, "run", "tap-spotify-bulk", "target-postgres"],
                                      cwd=harness.REPO, env=env, capture_output=True,
                                      text=True, timeout=args.timeout, check=False)
                wall = time.perf_counter() - started
                landed = landed_rows(pg, schema, drop=not args.keep)
                if done.returncode != 0 or landed != lines:
                    tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
                    msg = (f"{name}: meltano exited {done.returncode}, {landed} of {lines} "
                           f"rows landed:\n{tail}")
                    raise RuntimeError(msg)
                result = {"variant": name, "repeat": repeat, "settings": VARIANTS[name],
                          "records": landed, "wall_s": round(wall, 2),
                          "records_per_s": round(landed / wall)}
                results.append(result)
                print(f"  run {repeat} {name:12} {landed:,} rows in {wall:7.1f}s = "
                      f"{landed / wall:8,.0f} records/s", flush=True)
    best: dict[str, float] = {}
    for name in variants:
        rates = sorted(r["records_per_s"] for r in results if r["variant"] == name)
        best[name] = rates[len(rates) // 2]
    winner = max(best, key=best.__getitem__)
    rows = [[name, f"{best[name]:,.0f}", json.dumps(VARIANTS[name])] for name in variants]
    print()
    print(harness.table(rows, ["target-postgres settings", "records/s (median)", "settings"]))
    print(f"Recommended: {winner}")
    report = {"benchmark": "meltano_postgres", "command": " ".join(
        ["python -m benchmarks.meltano_postgres", *(argv or sys.argv[1:])]),
        "started_utc": started_utc,
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": harness.machine(), "records": lines, "runs": results,
        "median_records_per_s": best, "recommended": winner}
    harness.write_report(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
