"""Wall-clock throughput of `meltano run tap-spotify-bulk <loader>` against the sandbox.

    .venv/bin/python scripts/meltano_throughput.py --scale 20000 --days 3

Runs each loader once on the same sandbox data (a private Meltano directory, full refresh),
checks what landed in PostgreSQL against the sandbox truth, and prints records per second
including Meltano's own start-up. PostgreSQL comes from scripts/postgres.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))  # the end-to-end helpers double as a library

import psycopg  # noqa: E402
from meltano_e2e import (  # noqa: E402
    MeltanoProject,
    compare_bulk,
    pg_connect_kwargs,
    plugin_env,
    postgres_rows,
    target_postgres_env,
)
from spotify_sandbox import Sandbox, SandboxOptions  # noqa: E402


def start_postgres() -> dict[str, str]:
    out = subprocess.run([str(REPO / "scripts" / "postgres")], capture_output=True,  # noqa: S603
                         text=True, check=True).stdout
    return dict(w.split("=", 1) for w in shlex.split(out.strip().removeprefix("export ")))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="meltano-throughput-") as work:
        return measure(Path(work))


def measure(work: Path) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20000, help="stream events per day")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--loaders", nargs="+", default=["target-postgres", "target-duckdb"])
    args = parser.parse_args()

    postgres = start_postgres()
    schema = f"throughput_{uuid.uuid4().hex[:8]}"
    project = MeltanoProject(work / "meltano.db")
    project.meltano("install", timeout=900)
    start = dt.date(2024, 3, 1)
    end = start + dt.timedelta(days=args.days - 1)
    targets = {
        "target-postgres": target_postgres_env(postgres, schema),
        "target-duckdb": plugin_env("TARGET_DUCKDB_", {"path": str(work / "w.duckdb"),
                                                      "default_target_schema": "spotify"}),
        "target-jsonl": plugin_env("TARGET_JSONL_", {"destination_path": str(work / "jsonl")}),
    }
    failed = False
    with Sandbox(SandboxOptions(seed=3, start=start, end=end, scale=args.scale,
                                empty_day_rate=0.0)) as sb:
        truth = sb.bulk_truth(start, end)
        records = sum(summary["count"] for summary in truth.values())
        tap_env = plugin_env("TAP_SPOTIFY_BULK_", sb.tap_config())
        for loader in args.loaders:
            began = time.monotonic()
            project.run(loader, f"throughput-{uuid.uuid4().hex[:8]}",
                        {**tap_env, **targets[loader]})
            seconds = time.monotonic() - began
            print(f"{loader}: {records} records ({args.days} days, scale {args.scale}) in "
                  f"{seconds:.1f} s = {records / seconds:,.0f} records/s")
    if "target-postgres" in args.loaders:
        with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
            problems = compare_bulk(truth, lambda s: postgres_rows(conn, schema, s))
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        print("target-postgres: every table matches the sandbox truth" if not problems
              else f"target-postgres: tables differ from the truth: {sorted(problems)}")
        failed = bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
