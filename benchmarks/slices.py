"""One day's slice taken apart: the tap alone (its stdout counted, not loaded) and the
loader's fixed cost (`target-postgres --about`, and one day's output loaded on its own).

Each day's tap runs exactly as the Dagster code location runs a partition
(`day_slice.run_day`): `SpotifyTap.bulk_day_config(day)` and the discovered catalog with the
eight Bulk streams and the `bulk_loads` manifest selected. Every process is waited for
with `os.wait4`, so its CPU seconds are its own.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

RECORD_PREFIX = b'{"type":"RECORD","stream":"'

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
    from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse


def day_tap_command(tap: SpotifyTap, day: str, work: Path) -> list[str]:
    """The tap command of one partition of every Bulk stream, as the code location runs it."""
    from tap_spotify_bulk_dagster.loading.day_slice import day_tap_command as slice_command  # noqa: PLC0415
    from tap_spotify_bulk_dagster.streams import BULK_STREAMS  # noqa: PLC0415

    return slice_command(tap, day, list(BULK_STREAMS), work)


def count_records(stream: t.IO[bytes], keep: t.IO[bytes] | None = None) -> dict[str, int]:
    """RECORD lines per stream read from `stream` (copied to `keep` when given)."""
    counts: dict[str, int] = {}
    tail = b""
    while chunk := stream.read(1 << 20):
        if keep is not None:
            keep.write(chunk)
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for line in lines:
            if line.startswith(RECORD_PREFIX):
                name = line[len(RECORD_PREFIX):line.index(b'"', len(RECORD_PREFIX))]
            elif b'"RECORD"' in line:  # another writer's spelling: parse it
                message = orjson.loads(line)
                if message.get("type") != "RECORD":
                    continue
                name = message["stream"].encode()
            else:
                continue
            key = name.decode()
            counts[key] = counts.get(key, 0) + 1
    return counts


def extract_day(tap: SpotifyTap, day: str, keep: Path | None = None) -> dict[str, t.Any]:
    """Run one day's tap with its stdout counted; its wall and CPU seconds and counts."""
    with tempfile.TemporaryDirectory(prefix=f"extract-{day}-") as tmp:
        work = Path(tmp)
        command = day_tap_command(tap, day, work)
        started = time.perf_counter()
        with (work / "tap.log").open("wb") as err, \
                (keep.open("wb") if keep else open(os.devnull, "wb")) as out:  # noqa: PTH123
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err,
                                    stdin=subprocess.DEVNULL, cwd=work)
            assert proc.stdout is not None
            counts = count_records(proc.stdout, out if keep else None)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            tail = (work / "tap.log").read_bytes()[-2000:].decode(errors="replace")
            raise RuntimeError(f"tap for {day} exited {proc.returncode}:\n{tail}")
    return {"day": day, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "records": counts}


def extract_range(tap: SpotifyTap, days: list[str], parallel: int,
                  keep: dict[str, Path] | None = None) -> list[dict[str, t.Any]]:
    """Every day its own tap process, `parallel` at once (worker threads, as a Dagster run
    runs its slices); the results in day order."""
    keep = keep or {}
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="extract") as pool:
        return list(pool.map(lambda day: extract_day(tap, day, keep.get(day)), days))


def measured(command: list[str], *, stdin: Path | None = None,
             cwd: Path | None = None) -> dict[str, float]:
    """Run `command` (stdin from a file, output discarded); its wall and CPU seconds."""
    with (stdin.open("rb") if stdin else open(os.devnull, "rb")) as source, \
            tempfile.TemporaryFile() as err:  # noqa: PTH123
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdin=source, stdout=subprocess.DEVNULL,
                                stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{command[0]} failed:\n{tail}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def loader_cost(tap: SpotifyTap, warehouse: Callable[[], PostgresWarehouse], day_output: Path,
                expected: dict[str, int], repeat: int = 3) -> dict[str, t.Any]:
    """`target-postgres --about`, the tap's `--about` (for comparison) and one day's tap
    output loaded into a fresh schema (one `warehouse()` each) whose tables exist, as in a
    backfill; `repeat` times each, interleaved; medians."""
    from tap_spotify_bulk_dagster.loading import day_slice  # noqa: PLC0415
    from tap_spotify_bulk_dagster.streams import BULK_STREAMS  # noqa: PLC0415

    from benchmarks.cpu import postgres_cpu_s  # noqa: PLC0415

    about, tap_about, loads = [], [], []
    with tempfile.TemporaryDirectory(prefix="loader-cost-") as tmp:
        work = Path(tmp)
        for _ in range(repeat):
            target = warehouse()
            schema = target.schema_name
            about.append(measured([*target.target_command(work)[:1], "--about"], cwd=work))
            tap_about.append(measured([*tap.command(), "--about"], cwd=work))
            try:
                day_slice.create_tables(tap, target, list(BULK_STREAMS))  # setup, not timed
                pg_before = postgres_cpu_s()
                load = measured(target.target_command(work), stdin=day_output, cwd=work)
                load["postgres_cpu_s"] = postgres_cpu_s() - pg_before
                with target.connect() as conn:
                    landed = {s: conn.execute(f'SELECT count(*) FROM "{schema}"."{s}"')
                              .fetchone()[0] for s in BULK_STREAMS}
            finally:
                with target.connect(autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            if landed != expected:
                raise RuntimeError(f"one day's load landed {landed}, the tap emitted {expected}")
            loads.append(load)

    def median(runs: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)

    return {"about_cpu_s": median(about, "cpu_s"), "about_wall_s": median(about, "wall_s"),
            "tap_about_cpu_s": median(tap_about, "cpu_s"),
            "tap_about_wall_s": median(tap_about, "wall_s"),
            "load_cpu_s": median(loads, "cpu_s"), "load_wall_s": median(loads, "wall_s"),
            "load_postgres_cpu_s": median(loads, "postgres_cpu_s"),
            "load_records": sum(expected.values()), "repeat": repeat}

