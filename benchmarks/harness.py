"""Shared pieces of the benchmarks: the sandbox as a subprocess, measured child processes,
the streams-only catalog, and plain-text tables.

Every measured program runs as its own process, waited for with `os.wait4`, so its CPU
seconds (user + sys, all threads) and peak RSS are its own: the sandbox runs in another
process and is not counted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import asdict, dataclass
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

PYTHON = sys.executable
BIN = Path(PYTHON).parent
REPO = Path(__file__).resolve().parents[1]
TAP = [str(BIN / "tap-spotify-bulk")] if (BIN / "tap-spotify-bulk").exists() \
    else [PYTHON, "-m", "tap_spotify_bulk"]
SANDBOX = [str(BIN / "tap-spotify-bulk-sandbox")] if (BIN / "tap-spotify-bulk-sandbox").exists() \
    else [PYTHON, "-m", "spotify_sandbox.cli"]
METRIC_PREFIX = b"METRIC: "


def metric_points(log: bytes) -> list[dict[str, t.Any]]:
    """The Singer SDK's metric points (`METRIC: {json}` log lines) a program logged."""
    points = []
    for line in log.splitlines():
        _, found, payload = line.partition(METRIC_PREFIX)
        if found:
            points.append(json.loads(payload))
    return points


def metric_total(points: list[dict[str, t.Any]], metric: str, stream: str) -> float | None:
    """Sum of one metric's points for `stream` (counters log increments), None if absent."""
    values = [p["value"] for p in points
              if p.get("metric") == metric and p.get("tags", {}).get("stream") == stream]
    return sum(values) if values else None


@dataclass
class Measurement:
    """One measured child process."""

    mode: str
    records: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    exit_code: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    @property
    def records_per_s(self) -> float:
        return self.records / self.wall_s if self.wall_s else 0.0

    def as_dict(self) -> dict[str, t.Any]:
        data = asdict(self)
        data.update(cpu_s=round(self.cpu_s, 3), records_per_s=round(self.records_per_s),
                    records_per_cpu_s=round(self.records / self.cpu_s) if self.cpu_s else 0)
        for key in ("wall_s", "user_s", "sys_s", "max_rss_mb"):
            data[key] = round(data[key], 3)
        return data


def run_measured(mode: str, cmd: Sequence[str], *, log: Path, timeout: float,
                 stdout: int | t.IO[bytes] = subprocess.DEVNULL,
                 stream: str = "streams") -> Measurement:
    """Run `cmd` with stdout to /dev/null (by default) and stderr to `log`; measure it.

    `records` is the child's own `record_count` metric for `stream` (the SDK's structured
    METRIC lines); a child that fails or logs no count raises RuntimeError with the log's
    tail.
    """
    with log.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err, cwd=REPO)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_bytes()
    found = metric_total(metric_points(text), "record_count", stream)
    if proc.returncode != 0 or found is None:
        tail = text[-2000:].decode(errors="replace")
        msg = f"{mode}: exit code {proc.returncode}, no record count in its log:\n{tail}"
        raise RuntimeError(msg)
    return Measurement(mode=mode, records=int(found), wall_s=wall, user_s=usage.ru_utime,
                       sys_s=usage.ru_stime, max_rss_mb=usage.ru_maxrss / 1024,
                       exit_code=proc.returncode)


@dataclass
class SandboxRun:
    """A sandbox subprocess and the files it wrote."""

    proc: subprocess.Popen[bytes]
    config_path: Path
    config: dict[str, t.Any]


@contextlib.contextmanager
def sandbox(workdir: Path, *, start: dt.date, end: dt.date, scale: int,
            countries: Sequence[str] | None = None, latency_ms: float = 0.0,
            direct_files: bool = False, file_cache: Path | None = None,
            untidy_seed: int | None = None, extra: Sequence[str] = ()) -> Iterator[SandboxRun]:
    """`tap-spotify-bulk-sandbox` on a free port, every day with data; stopped at the end.

    With `file_cache`, `benchmarks.cached_sandbox` keeps each generated file there and
    serves it from disk on later requests; with `untidy_seed`, it serves untidy event
    files (`benchmarks.untidy`)."""
    config_path = workdir / f"config-{scale}-{start}-{end}.json"
    config_path.unlink(missing_ok=True)
    program = SANDBOX
    if file_cache or untidy_seed is not None:
        program = [PYTHON, "-m", "benchmarks.cached_sandbox"]
        program += ["--file-cache", str(file_cache)] if file_cache else []
        program += ["--untidy", str(untidy_seed)] if untidy_seed is not None else []
    cmd = [*program, "--start", start.isoformat(), "--end", end.isoformat(),
           "--scale", str(scale), "--empty-day-rate", "0", "--config-out", str(config_path),
           "--latency-ms", str(latency_ms), *extra]
    if countries:
        cmd += ["--countries", ",".join(countries)]
    if direct_files:
        cmd.append("--direct-files")
    log = (workdir / "sandbox.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not config_path.exists() or not config_path.read_text().strip().endswith("}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start; see {workdir / 'sandbox.log'}")
            time.sleep(0.05)
        config = json.loads(config_path.read_text())
        yield SandboxRun(proc, config_path, config)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def proc_stat(path: Path) -> tuple[str, list[str]] | None:
    """A `/proc/<pid>/stat` file as (command name, the fields after it: state, ppid, ...,
    utime at index 11, stime, cutime, cstime); None when the process is gone."""
    try:
        head, rest = path.read_text().rsplit(")", 1)
    except OSError:
        return None
    return head.partition("(")[2], rest.split()


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + sys) a running process has used so far; None when unknown."""
    stat = proc_stat(Path(f"/proc/{pid}/stat"))
    if stat is None:
        return None
    fields = stat[1]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_config(path: Path, config: dict[str, t.Any]) -> Path:
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def streams_catalog(config_path: Path, out: Path, selected: frozenset[str]) -> Path:
    """Discover the tap's catalog and select only the `selected` streams."""
    result = subprocess.run([*TAP, "--config", str(config_path), "--discover"], cwd=REPO,
                            capture_output=True, check=True, timeout=120)
    catalog = json.loads(result.stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in selected
    out.write_text(json.dumps(catalog))
    return out


def table(rows: Sequence[Sequence[t.Any]], header: Sequence[str]) -> str:
    """A plain aligned text table (also valid Markdown)."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> dict[str, t.Any]:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "load_avg_1m": round(os.getloadavg()[0], 2), "platform": sys.platform}


def write_report(path: Path, report: dict[str, t.Any]) -> None:
    """Write a benchmark's JSON result (creating its folder) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"JSON: {path}")
