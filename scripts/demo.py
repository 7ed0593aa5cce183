"""The demo behind scripts/demo: sandbox -> `meltano run tap-spotify-bulk target-duckdb` ->
a summary of the DuckDB tables next to the sandbox's ground truth.

The sandbox runs in this process (a thread); Meltano, the tap and the target run as
child processes that reach it over 127.0.0.1, exactly as they would reach Spotify.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from spotify_sandbox import Sandbox, SandboxOptions
from spotify_sandbox.tally import BULK_TALLY_FIELDS, Tally

REPO = Path(__file__).resolve().parents[1]
DATABASE = REPO / "output" / "warehouse.duckdb"
SCHEMA = "spotify"
BIN = Path(sys.executable).parent


def meltano(*args: str, env: dict[str, str]) -> None:
    """Run meltano with its output on this terminal; stop the demo if it fails."""
    done = subprocess.run([str(BIN / "meltano"), *args], cwd=REPO, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"demo: `meltano {' '.join(args)}` failed with exit code {done.returncode}")


def landed(conn: duckdb.DuckDBPyConnection, stream: str) -> dict | None:
    """Tally.summary() of a DuckDB table, None when the table does not exist."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
        "AND table_name = ?", [SCHEMA, stream]).fetchone()[0]
    if not exists:
        return None
    fields, metrics = BULK_TALLY_FIELDS[stream]
    columns = list(dict.fromkeys((*fields, *metrics)))
    select = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.execute(f'SELECT {select} FROM "{SCHEMA}"."{stream}"')  # noqa: S608
    tally = Tally(fields, metrics)
    while rows := cursor.fetchmany(10_000):
        tally.add_all(dict(zip(columns, row, strict=True)) for row in rows)
    return tally.summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="report days to serve and load")
    parser.add_argument("--scale", type=int, default=2000, help="stream events per day")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    start = dt.date(2024, 3, 1)
    end = start + dt.timedelta(days=args.days - 1)
    options = SandboxOptions(seed=args.seed, start=start, end=end, scale=args.scale)
    DATABASE.parent.mkdir(exist_ok=True)
    DATABASE.unlink(missing_ok=True)  # a fresh warehouse, loaded with --full-refresh below

    with Sandbox(options) as sb:
        print(f"demo: sandbox on {sb.base_url}, serving {start} .. {end} "
              f"({len(options.countries)} countries, {args.scale} stream events a day)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SPOTIFY_BULK_")}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        for name, value in sb.tap_config().items():
            env[f"TAP_SPOTIFY_BULK_{name.upper()}"] = (
                json.dumps(value) if isinstance(value, list | dict) else str(value))
        env["TARGET_DUCKDB_PATH"] = str(DATABASE)
        env["TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA"] = SCHEMA

        meltano("install", env=env)
        began = time.monotonic()
        meltano("run", "--full-refresh", "tap-spotify-bulk", "target-duckdb", env=env)
        seconds = time.monotonic() - began
        truth = sb.bulk_truth(start, end)

    print(f"\ndemo: `meltano run tap-spotify-bulk target-duckdb` took {seconds:.1f} s; "
          f"landed in {DATABASE.relative_to(REPO)} (schema {SCHEMA}):\n")
    print(f"  {'table':<28} {'rows':>9} {'expected':>9}  matches sandbox truth")
    failures = 0
    total = 0
    with duckdb.connect(str(DATABASE), read_only=True) as conn:
        for stream, expected in truth.items():
            got = landed(conn, stream)
            rows = got["count"] if got else 0
            total += rows
            ok = (got or {"count": 0, "checksum": f"{0:016x}",
                          "sums": dict.fromkeys(expected["sums"], 0.0)}) == expected
            failures += not ok
            verdict = "yes" if ok else "NO (count, checksum or metric sums differ)"
            print(f"  {stream:<28} {rows:>9} {expected['count']:>9}  {verdict}")
    print(f"\ndemo: {total} rows in {len(truth)} tables; "
          + ("every table matches the truth." if not failures
             else f"{failures} table(s) differ from the truth."))
    print(f"demo: explore it with: {BIN / 'python'} -c \"import duckdb; "
          f"print(duckdb.connect('{DATABASE.relative_to(REPO)}').sql('SHOW ALL TABLES'))\"")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
