"""The `tap-spotify-bulk-sandbox` command: starts, prints its URLs and config, stops on SIGTERM;
and serves a 1,000,000-line streams file in constant memory."""

import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import requests
from spotify_sandbox import Sandbox, SandboxOptions, cli

COMMAND = shutil.which("tap-spotify-bulk-sandbox") or str(
    Path(sys.executable).parent / "tap-spotify-bulk-sandbox")


ADS_FIXED = {"now": "2024-03-04T00:00:00Z", "today": "2024-03-04"}
REPORTS = [{"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
            "fields": ["IMPRESSIONS", "CLICKS"]}]


def start(*args):
    process = subprocess.Popen([COMMAND, "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    assert first.startswith("Sandbox listening on http://127.0.0.1:"), first
    return process, first.split()[-1]


def stop(process):
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=10)


def test_cli_prints_config_writes_truth_and_stops_on_sigterm(tmp_path):
    truth, config = tmp_path / "truth.json", tmp_path / "config.json"
    process, base = start("--seed", "7", "--start", "2024-03-01", "--end", "2024-03-03",
                          "--scale", "200", "--faults", "flaky", "--fault-rate-429", "0.5",
                          "--truth", str(truth), "--config-out", str(config),
                          "--ads", json.dumps(ADS_FIXED), "--ads-report-list", json.dumps(REPORTS))
    try:
        printed = [process.stdout.readline()]
        while printed[-1] and not printed[-1].startswith("Serving"):
            printed.append(process.stdout.readline())
        assert any(line.startswith("Bulk truth written to") for line in printed), printed
        written = json.loads(config.read_text())
        assert written["token_url"] == base + "/api/token"
        assert written["bulk_api_url"] == base + "/v1/analytics"
        assert written["start_date"] == "2024-03-01"
        same = Sandbox(SandboxOptions(start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 3),
                                      scale=200, ads=ADS_FIXED))
        in_process = {**same.bulk_truth(), **same.ads_truth(REPORTS)}
        assert json.loads(truth.read_text()) == in_process  # same in another process
        assert in_process["users"]["count"] > 0
        assert in_process["campaign_day"]["count"] > 0
        assert written["ads_report_list"] == REPORTS
        stats = requests.get(base + "/_sandbox/stats", timeout=10).json()
        assert "requests" in stats and "faults" in stats
    finally:
        assert stop(process) == 0


def _vm_hwm_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_million_line_streams_file_served_in_constant_memory():
    process, base = start("--start", "2024-03-01", "--end", "2024-03-01", "--countries", "SE",
                          "--scale", "1000000", "--empty-day-rate", "0", "--direct-files")
    try:
        token = requests.post(base + "/api/token", data={"grant_type": "client_credentials"},
                              auth=("sandbox-client", "sandbox-secret"), timeout=10).json()
        started = time.monotonic()
        response = requests.get(base + "/v1/analytics/gyrostream/enhanced/streams/2024/03/01/SE",
                                headers={"Authorization": f"Bearer {token['access_token']}"},
                                stream=True, timeout=120)
        assert response.status_code == 200
        inflate, lines, blank, last = zlib.decompressobj(31), 0, 0, b"\n"
        for chunk in response.iter_content(1 << 20):
            data = inflate.decompress(chunk)
            if data:
                lines += data.count(b"\n")
                blank += data.count(b"\n\n") + (last == b"\n" and data[:1] == b"\n")
                last = data[-1:]
        assert inflate.eof
        elapsed = time.monotonic() - started
        non_blank = lines - blank + (last != b"\n")
        assert non_blank == 1_000_000
        hwm_mb = _vm_hwm_kb(process.pid) / 1024
        print(f"1M lines served in {elapsed:.1f}s, server VmHWM {hwm_mb:.0f} MB")
        assert hwm_mb < 150
    finally:
        assert stop(process) == 0


@pytest.mark.parametrize("args", [["--countries", "SE,S1"], ["--start", "2024-03-05",
                                                             "--end", "2024-03-01"]])
def test_bad_options_exit_2_with_one_line(args, capsys):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("tap-spotify-bulk-sandbox: ") and err.count("\n") == 1
