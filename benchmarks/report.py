"""Render benchmarks/results/*.json as the Markdown tables quoted in README.md.

    python -m benchmarks.report > figures.md
"""

from __future__ import annotations

import json
import sys
import typing as t
from pathlib import Path

from benchmarks.harness import table

RESULTS = Path(__file__).resolve().parent / "results"
LABELS = {"tap": "(a) tap, fast path", "sdk": "(b) tap, SDK defaults",
          "sdkfast": "(b2) SDK stream, msgspec, no conformance",
          "floor": "(c) floor, no SDK", "batch": "(d) tap, BATCH jsonl.gz"}


def _load(name: str) -> dict[str, t.Any] | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _when(report: dict[str, t.Any]) -> str:
    machine = report["machine"]
    load = machine.get("load_avg_1m")
    if "load_avg_1m_end" in machine:  # throughput: at its start and at its end
        load = f"{load} to {machine['load_avg_1m_end']}"
    when = (f"started {report['started_utc']}" if "started_utc" in report
            else f"finished {report['finished_utc']}")
    return (f"`{report['command']}`, {when}, {machine['cpus']} cores, "
            f"Python {machine['python']}, load average {load}")


def throughput(report: dict[str, t.Any]) -> list[str]:
    out = [f"Throughput: {_when(report)}."]
    for key, kind in (("throughput", ""), ("throughput_untidy", "untidy ")):
        data = report.get(key)
        if not data:
            continue
        runs = max(s["runs"] for s in data["summary"].values())
        if kind:
            out.append("")
        seed = f" (seed {data['untidy_seed']})" if data.get("untidy_seed") is not None else ""
        out.append(f"Streams report, {kind or 'tidy '}files{seed}: {data['lines']:,} lines in "
                   f"{data['files']} files, sandbox: {data.get('sandbox', 'live')}; medians of "
                   f"{runs} interleaved runs.")
        rows = [[LABELS[m], f"{s['records_per_s']:,}", f"{s['wall_s']:.2f}", f"{s['cpu_s']:.2f}",
                 f"{s['records_per_cpu_s']:,}", f"{s['max_rss_mb']:.0f}"]
                for m, s in data["summary"].items()]
        out += ["", table(rows, ["mode", "records/s", "wall s", "CPU s", "records/CPU s",
                                 "peak RSS MB"])]
    memory = report.get("memory")
    if memory:
        rows = [[f"{int(size):,}", f"{m['max_rss_mb']:.1f}", f"{m['records_per_s']:,}"]
                for size, m in memory.items()]
        out += ["", table(rows, ["lines in one file", "tap peak RSS MB", "records/s"])]
    ratios = report.get("ratios", {})
    pairs = report.get("pairs", {})
    if ratios:
        out += ["", "Ratios (median of the interleaved pairs' ratios; the pairs in brackets): "
                + ", ".join(f"{k} = {v}" + (f" ({', '.join(map(str, pairs[k]))})"
                                            if k in pairs else "")
                            for k, v in ratios.items()) + "."]
    checks = report.get("targets_met", {})
    if checks:
        out += ["", "| target | met |", "|---|---|"]
        out += [f"| {name} | {'yes' if ok else '**no**'} |" for name, ok in checks.items()]
    return out


def latency(report: dict[str, t.Any]) -> list[str]:
    out = [f"Latency: {_when(report)}; {report['files']} files, "
           f"{report['latency_ms']:g} ms per request."]
    rows = [[r["serving"], r["max_workers"], f"{r.get('plain_downloads_s', 0):.2f}",
             f"{r['wall_s']:.2f}", r["sync_s"],
             f"{r['bound_s']:.2f}", "yes" if r["within_bound"] else "no",
             f"{r['bound_per_request_s']:.2f}", "yes" if r["within_bound_per_request"] else "no"]
            for r in report["runs"]]
    out += ["", table(rows, ["files served as", "max_workers", "plain downloads s", "wall s",
                             "sync s", "bound s",
                             "within", "bound x requests/file", "within"])]
    return out


def meltano(report: dict[str, t.Any]) -> list[str]:
    out = [f"End to end: {_when(report)}; {report['records']:,} Streams records."]
    rows = [[r["variant"], r["repeat"], f"{r['wall_s']:.1f}", f"{r['records_per_s']:,}",
             ", ".join(f"{k}={json.dumps(v)}" for k, v in r["settings"].items())]
            for r in report["runs"]]
    out += ["", table(rows, ["target-postgres", "run", "wall s", "records/s", "settings"]), "",
            f"Faster: **{report['recommended']}**."]
    return out


def startup(report: dict[str, t.Any]) -> list[str]:
    out = [f"Start-up: {_when(report)}."]
    rows = [[name, f"{s['wall_s']:.2f}", f"{s['cpu_s']:.2f}"]
            for name, s in report["summary"].items()]
    out += ["", table(rows, ["run", "wall s (median)", "CPU s (median)"])]
    return out


def main() -> int:
    parts = []
    for name, render in (("latest.json", throughput), ("throughput_untidy.json", throughput),
                         ("latency.json", latency),
                         ("meltano_postgres.json", meltano),
                         ("meltano_postgres_settings.json", meltano),
                         ("startup.json", startup)):
        report = _load(name)
        if report:
            parts.append("\n".join(render(report)))
    print("\n\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
