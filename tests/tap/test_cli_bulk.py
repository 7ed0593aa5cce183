"""The `tap-spotify-bulk` console command as a real subprocess against the sandbox."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from spotify_sandbox.tally import Tally

from tap_spotify_bulk.bulk.streams import BULK_STREAM_NAMES

D = dt.date
COMMAND = str(Path(sys.executable).parent / "tap-spotify-bulk")


def run_cli(tmp_path: Path, config: dict | None, *args: str) -> subprocess.CompletedProcess:
    argv = [COMMAND, *args]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        argv += ["--config", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SPOTIFY_BULK")}
    return subprocess.run(argv, capture_output=True, timeout=120, env=env, check=False)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one error line; also checks there is no traceback."""
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "error:" in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tap-spotify-bulk: error: ")
    return lines[0]


def test_sync_from_the_command_line_matches_truth(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 3))  # 2024-03-02 has no data (404) with seed 7
    result = run_cli(tmp_path, sb.tap_config(lookback_days=1))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    tallies: dict[str, Tally] = {}
    last_state = None
    for line in result.stdout.splitlines():
        message = orjson.loads(line)
        if message["type"] == "RECORD" and message["stream"] != "bulk_loads":
            stream = message["stream"]
            tallies.setdefault(stream, Tally.for_bulk_stream(stream)).add(message["record"])
        elif message["type"] == "STATE":
            last_state = message["value"]
    assert {k: v.summary() for k, v in tallies.items()} == sb.bulk_truth()
    assert last_state is not None
    assert {last_state["bookmarks"][name]["replication_key_value"]
            for name in BULK_STREAM_NAMES} == {"2024-03-03"}  # the 404 is outside the tail
    assert "sandbox-secret" not in result.stderr.decode()


def test_discover_needs_no_credentials(tmp_path):
    result = run_cli(tmp_path, None, "--discover")
    assert result.returncode == 0, result.stderr.decode()
    names = {entry["tap_stream_id"] for entry in json.loads(result.stdout)["streams"]}
    assert set(BULK_STREAM_NAMES) <= names


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"client_secret": None}, "client_secret"),
        ({"licensor": ""}, "licensor"),
        ({"start_date": "2024-03-09", "end_date": "2024-03-01"}, "start_date"),
        ({"end_date": "03/01/2024"}, "end_date"),
        ({"lookback_days": -2}, "lookback_days"),
        ({"max_workers": "many"}, "max_workers"),
        ({"countries": ["Sweden"]}, "countries"),
        ({"bulk_api_url": "not a url"}, "bulk_api_url"),
        ({"token_url": "accounts spotify"}, "token_url"),
        ({"client_id": 12345}, "client_id"),
    ],
)
def test_config_errors_are_one_line_exit_2_and_send_nothing(sandbox_factory, tmp_path,
                                                             change, setting):
    sb = sandbox_factory()
    config = {k: v for k, v in {**sb.tap_config(), **change}.items() if v is not None}
    result = run_cli(tmp_path, config)
    assert result.returncode == 2
    assert f"`{setting}`" in error_line(result)
    assert len(result.stderr.splitlines()) == 1  # nothing else: checked before the SDK logs
    assert sb.stats["requests_total"] == 0
    assert b"RECORD" not in result.stdout


def test_runtime_failures_are_one_line_exit_1_without_secrets(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 1))
    result = run_cli(tmp_path, sb.tap_config(client_secret="not-the-secret"))
    assert result.returncode == 1
    line = error_line(result)
    assert "invalid_client" in line
    assert "not-the-secret" not in result.stderr.decode()
    result = run_cli(tmp_path, sb.tap_config(licensor="someoneelse"))
    assert result.returncode == 1
    assert "`licensor`" in error_line(result)


def test_debug_env_shows_the_traceback(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 1))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(sb.tap_config(lookback_days=-1)))
    result = subprocess.run([COMMAND, "--config", str(path)], capture_output=True, timeout=60,
                            env={**os.environ, "TAP_SPOTIFY_BULK_DEBUG": "1"}, check=False)
    assert result.returncode == 2
    assert b"Traceback" in result.stderr


def test_terminated_run_leaves_complete_dates_and_the_next_run_resumes(sandbox_factory,
                                                                       tmp_path):
    """SIGTERM mid-run: every output line is whole, the last STATE covers only complete
    dates, and a second run from it brings exactly the rest."""
    sb = sandbox_factory(end=D(2024, 3, 6), empty_day_rate=0.0, latency_ms=20, scale=300)
    config = sb.tap_config(lookback_days=0, max_workers=2)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SPOTIFY_BULK")}
    process = subprocess.Popen([COMMAND, "--config", str(path)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(b'{"type":"STATE"') and len(lines) > 2000:
            process.send_signal(signal.SIGTERM)
            break
    lines += process.stdout.readlines()
    process.wait(timeout=60)
    messages = [orjson.loads(line) for line in lines]  # every line is whole JSON
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    bookmarks = {name: value["replication_key_value"]
                 for name, value in state["bookmarks"].items()}
    assert bookmarks
    assert min(bookmarks.values()) < "2024-03-06"  # it was stopped before the end
    first: dict[str, list[dict]] = {}
    for m in messages:
        if m["type"] == "RECORD" and m["stream"] != "bulk_loads":
            first.setdefault(m["stream"], []).append(m["record"])
    for name, bookmark in bookmarks.items():
        done = [r for r in first.get(name, []) if r["report_date"] <= bookmark]
        truth = sb.bulk_truth(end=D.fromisoformat(bookmark), streams=[name])[name]
        assert Tally.for_bulk_stream(name).add_all(done).summary() == truth, name

    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))
    second = subprocess.run([COMMAND, "--config", str(path), "--state", str(state_path)],
                            capture_output=True, timeout=120, env=env, check=True)
    rest: dict[str, list[dict]] = {}
    for line in second.stdout.splitlines():
        m = orjson.loads(line)
        if m["type"] == "RECORD":
            rest.setdefault(m["stream"], []).append(m["record"])
    for name in BULK_STREAM_NAMES:
        bookmark = bookmarks.get(name)
        start = D.fromisoformat(bookmark) + dt.timedelta(days=1) if bookmark else D(2024, 3, 1)
        truth = sb.bulk_truth(start=start, streams=[name])[name]
        assert Tally.for_bulk_stream(name).add_all(rest.get(name, [])).summary() == truth, name
