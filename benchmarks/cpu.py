"""CPU seconds of the processes a scale-out run keeps busy, read before and after it: this
process (the orchestrator or the stdout counter), its reaped children (taps, targets), the
PostgreSQL server and the sandbox. On a machine with `os.cpu_count()` cores, their sum over
the cores is the least wall time the run could have taken (the CPU ceiling)."""

from __future__ import annotations

import os
import resource
import typing as t
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness


def children_cpu_s() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu_s() -> float:
    """CPU seconds of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu_s() -> float:
    """CPU seconds used so far by the machine's PostgreSQL server processes: the live ones
    plus the exited backends their postmaster has reaped (its children's time)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        stat = harness.proc_stat(path)
        if stat is not None and stat[0] == "postgres":
            fields = stat[1]
            procs[int(path.parent.name)] = (int(fields[1]), [int(f) for f in fields[11:15]])
    total = 0.0
    for ppid, (utime, stime, cutime, cstime) in procs.values():
        total += utime + stime
        if ppid not in procs:  # the postmaster: add its reaped children
            total += cutime + cstime
    return total / tick


@dataclass(frozen=True)
class Reading:
    children: float  # taps and targets (exited, waited for)
    own: float  # this process: Dagster's run, or the counter of the taps' stdout
    postgres: float
    sandbox: float


class CpuMeter:
    """Readings of the four CPU counters; `since(before)` gives what a run used."""

    def __init__(self, sandbox_pid: int) -> None:
        self.sandbox_pid = sandbox_pid

    def read(self) -> Reading:
        return Reading(children=children_cpu_s(), own=self_cpu_s(), postgres=postgres_cpu_s(),
                       sandbox=harness.process_cpu_s(self.sandbox_pid) or 0.0)

    def since(self, before: Reading) -> dict[str, float]:
        now = self.read()
        return {key: round(getattr(now, key) - getattr(before, key), 2)
                for key in ("children", "own", "postgres", "sandbox")}


def ceiling(cpu: dict[str, float], keys: t.Iterable[str], wall: float,
            cores: int | None = None) -> dict[str, float]:
    """The least wall time `cores` allow for the CPU of `keys`, and the measured wall's share
    of it (1.0: the run went as fast as the cores allow)."""
    cores = cores or os.cpu_count() or 1
    total = sum(cpu[key] for key in keys)
    least = total / cores
    return {"pipeline_cpu_s": round(total, 2), "ceiling_s": round(least, 2),
            "of_ceiling": round(least / wall, 2) if wall else 0.0}
