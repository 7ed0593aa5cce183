"""The throughput benchmark harness keeps working (a tiny run; not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_throughput_harness_runs_every_mode(tmp_path):
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", "--lines", "5000", "--repeat", "1",
         "--modes", "abcd", "--json", str(out)],
        cwd=REPO, check=True, timeout=120, capture_output=True,
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
    assert set(report["ratios"]) >= {"a_over_b", "c_over_a"}
    assert "a >= 5x b" in report["targets_met"]
