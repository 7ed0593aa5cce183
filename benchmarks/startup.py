"""What a small run costs: start-up of the tap, and of `meltano run` per partition.

    python -m benchmarks.startup [--repeat 5]

Times, as medians of `--repeat` interleaved runs (wall and CPU seconds of each process):

  about        `tap-spotify-bulk --about`
  one file     a sync of one `users` file (one day) from the sandbox (a subprocess,
               not counted), output to /dev/null
  tap to jsonl the same partition piped by hand into the project's installed target-jsonl
  meltano run  the same partition through `meltano run tap-spotify-bulk target-jsonl`
               (the repository's Meltano project, its installed plugins, a private
               system database per run)

The per-partition overhead of Meltano is `meltano run` minus `tap | jsonl`. The two
Meltano rows need `meltano install` done in the repository (they are skipped otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from benchmarks import harness
from benchmarks.meltano_postgres import MELTANO, env_of

DAY = dt.date(2024, 3, 1)
RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
JSONL = harness.REPO / ".meltano" / "loaders" / "target-jsonl" / "venv" / "bin" / "target-jsonl"


def timed(cmd: list[str], *, env: dict[str, str] | None = None, shell: bool = False,
          timeout: float = 300) -> tuple[float, float]:
    """(wall s, CPU s of it and its children) of one run; fails on a non-zero exit."""
    before = os.times()
    started = time.perf_counter()
    done = subprocess.run(cmd if not shell else " ".join(cmd), shell=shell, cwd=harness.REPO,
                          env=env, capture_output=True, timeout=timeout, check=False)
    wall = time.perf_counter() - started
    after = os.times()
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-1500:].decode(errors="replace")
        msg = f"{cmd[0]} exited {done.returncode}:\n{tail}"
        raise RuntimeError(msg)
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    started_utc = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    runs: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp, \
            harness.sandbox(Path(tmp), start=DAY, end=DAY, scale=2000) as sb:
        work = Path(tmp)
        config = dict(sb.config, start_date=DAY.isoformat(), end_date=DAY.isoformat())
        config_path = harness.write_config(work / "tap-config.json", config)
        catalog = harness.streams_catalog(config_path, work / "catalog.json",
                                          frozenset({"users"}))
        tap = [*harness.TAP, "--config", str(config_path)]
        commands: dict[str, tuple[list[str], dict[str, str] | None, bool]] = {
            "about": ([*harness.TAP, "--about"], None, False),
            "one file": ([*tap, "--catalog", str(catalog), ">", "/dev/null"], None, True),
        }
        if JSONL.exists() and Path(MELTANO).exists():
            jsonl_config = harness.write_config(work / "jsonl.json", {
                "destination_path": str(work / "out-hand"), "do_timestamp_file": False})
            (work / "out-hand").mkdir()
            commands["tap to jsonl"] = ([*tap, "--catalog", str(catalog), "|", str(JSONL),
                                        "--config", str(jsonl_config), ">", "/dev/null"],
                                       None, True)
            commands["meltano run"] = ([MELTANO, "run", "tap-spotify-bulk", "target-jsonl"],
                                       None, False)
        for repeat in range(args.repeat):
            for name, (cmd, _, shell) in commands.items():
                env = None
                if name == "meltano run":
                    out = work / f"out-meltano-{repeat}"
                    out.mkdir()
                    env = {k: v for k, v in os.environ.items()
                           if not k.startswith(("TAP_SPOTIFY_BULK_", "TARGET_JSONL_"))}
                    env.update({
                        "MELTANO_DATABASE_URI": f"sqlite:///{work}/meltano-{repeat}.db",
                        "MELTANO_ENVIRONMENT": "dev",
                        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                        "PATH": f"{Path(harness.PYTHON).parent}{os.pathsep}"
                                f"{os.environ.get('PATH', '')}",
                        "TAP_SPOTIFY_BULK__SELECT": json.dumps(["users.*"]),
                        "TARGET_JSONL_DESTINATION_PATH": str(out),
                    })
                    env.update(env_of("TAP_SPOTIFY_BULK_", config))
                runs.setdefault(name, []).append(timed(cmd, env=env, shell=shell))
                wall, cpu = runs[name][-1]
                print(f"  run {repeat + 1} {name:12} wall {wall:6.2f}s  cpu {cpu:6.2f}s",
                      flush=True)
    summary = {name: {"wall_s": round(statistics.median(w for w, _ in r), 3),
                      "cpu_s": round(statistics.median(c for _, c in r), 3), "runs": len(r)}
               for name, r in runs.items()}
    if "meltano run" in summary:
        summary["meltano overhead"] = {
            key: round(summary["meltano run"][key] - summary["tap to jsonl"][key], 3)
            for key in ("wall_s", "cpu_s")}
    rows = [[name, f"{s['wall_s']:.2f}", f"{s['cpu_s']:.2f}"] for name, s in summary.items()]
    print()
    print(harness.table(rows, ["run", "wall s (median)", "CPU s (median)"]))
    report: dict[str, t.Any] = {
        "benchmark": "startup", "command": " ".join(["python -m benchmarks.startup",
                                                     *(argv or sys.argv[1:])]),
        "started_utc": started_utc, "machine": harness.machine(), "summary": summary}
    harness.write_report(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
