"""The throughput benchmark harness keeps working (a tiny run; not a timed test), on tidy and
on untidy files."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import orjson

from benchmarks.untidy import untidy_chunks

REPO = Path(__file__).resolve().parents[2]


def test_throughput_harness_runs_every_mode(tmp_path):
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", "--lines", "5000", "--repeat", "1",
         "--modes", "abcd", "--files", "tidy,untidy", "--json", str(out)],
        cwd=REPO, check=True, timeout=240, capture_output=True,
    )
    report = json.loads(out.read_text())
    summary = report["throughput"]["summary"]
    assert set(summary) == {"tap", "sdk", "floor", "batch"}
    served = report["throughput"]["lines"]
    assert served >= 5000
    for mode in summary.values():  # every mode emitted exactly what the sandbox served
        assert mode["records"] == served
        assert mode["cpu_s"] > 0
        assert 10 < mode["max_rss_mb"] < 1000
    untidy = report["throughput_untidy"]
    assert set(untidy["summary"]) == {"tap", "floor", "batch"}  # the fast modes only
    assert untidy["lines"] == served
    assert all(mode["records"] == served for mode in untidy["summary"].values())
    assert set(report["ratios"]) >= {"a_over_b", "c_over_a", "c_over_a_untidy"}
    assert len(report["pairs"]["c_over_a_untidy"]) == 1  # one repeat: one pair
    assert {"a >= 5x b", "a wall time <= 1.0x c on untidy files"} <= set(report["targets_met"])


def test_untidy_files_keep_every_record_and_carry_every_oddity():
    lines = [b'{"timestamp":"2024-03-01T10:00:00Z","isrc":"X","country":"SE","ms_played":%d,'
             b'"cached":true,"source_uri":null,"offline_timestamp":null,"device_type":"tv",'
             b'"os":"ios"}' % n for n in range(20_000)]
    # chunks of whole lines, the last one without a final newline
    chunks = [b"\n".join(lines[:7000]) + b"\n", b"\n".join(lines[7000:])]
    untidy = b"".join(untidy_chunks(iter(chunks), random.Random(5)))
    assert untidy == b"".join(untidy_chunks(iter(chunks), random.Random(5)))  # seeded
    assert not untidy.endswith(b"\n")
    out = untidy.split(b"\n")
    kept = [orjson.loads(line) for line in out if line]
    assert [int(line["ms_played"]) for line in kept] == list(range(len(lines)))  # all, in order
    blank = len(out) - len(kept)
    assert len(lines) / 60 < blank < len(lines) / 15
    missing = sum(len(line) < 9 for line in kept)
    unknown = sum(any(key.startswith("x_") for key in line) for line in kept)
    odd = sum(type(line.get("ms_played")) is str or type(line.get("cached")) is int
              or type(line.get("timestamp")) is int for line in kept)
    assert 0.02 < missing / len(kept) < 0.04
    assert 0.002 < unknown / len(kept) < 0.01
    assert 0.0005 < odd / len(kept) < 0.005
