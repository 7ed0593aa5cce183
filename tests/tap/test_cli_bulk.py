"""The `tap-spotify-bulk` console command as a real subprocess against the sandbox."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess

import pytest
from helpers.run import COMMAND, clean_env, run_cli
from helpers.singer import Output, bookmarks_of, tally

D = dt.date
BULK_STREAMS = ("streams", "sub30sec_streams", "users", "tracks", "aggregated_streams_summary",
                "aggregated_streams_count", "aggregated_streams_skips",
                "aggregated_streams_saves")  # api-contract §5.1


def test_sync_from_the_command_line_matches_truth(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 3))  # 2024-03-02 has no data (404) with seed 7
    result = run_cli(tmp_path, sb.tap_config(lookback_days=1), sandbox=sb)
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.output
    assert output.tallies() == sb.bulk_truth()
    assert set(output.bookmarks()) == set(BULK_STREAMS)
    assert set(output.bookmarks().values()) == {"2024-03-03"}  # the 404 is outside the tail


def test_discover_needs_no_credentials(tmp_path):
    result = run_cli(tmp_path, None, args=["--discover"])
    assert result.returncode == 0, result.stderr
    names = {entry["tap_stream_id"] for entry in json.loads(result.stdout)["streams"]}
    assert set(BULK_STREAMS) <= names


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
    result = run_cli(tmp_path, config, sandbox=sb)
    assert result.returncode == 2
    assert f"`{setting}`" in result.error_line()
    assert len(result.stderr.splitlines()) == 1  # nothing else: checked before the SDK logs
    assert sb.stats["requests_total"] == 0
    assert b"RECORD" not in result.stdout


def test_runtime_failures_are_one_line_exit_1_without_secrets(sandbox_factory, tmp_path):
    sb = sandbox_factory(end=D(2024, 3, 1))
    # run_cli scans stdout and stderr for the wrong secret and its Basic credentials too.
    result = run_cli(tmp_path, sb.tap_config(client_secret="not-the-secret"), sandbox=sb)
    assert result.returncode == 1
    assert "invalid_client" in result.error_line()
    result = run_cli(tmp_path, sb.tap_config(licensor="someoneelse"), sandbox=sb)
    assert result.returncode == 1
    assert "`licensor`" in result.error_line()


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
    env = clean_env()
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
    output = Output.parse(b"".join(lines))  # every line is whole JSON
    bookmarks = output.bookmarks()
    assert bookmarks
    assert min(bookmarks.values()) < "2024-03-06"  # it was stopped before the end
    for name, bookmark in bookmarks.items():
        done = [r for r in output.records[name] if r["report_date"] <= bookmark]
        truth = sb.bulk_truth(end=D.fromisoformat(bookmark), streams=[name])[name]
        assert tally(name, done) == truth, name

    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(output.state))
    second = subprocess.run([COMMAND, "--config", str(path), "--state", str(state_path)],
                            capture_output=True, timeout=120, env=env, check=True)
    rest = Output.parse(second.stdout)
    assert bookmarks_of(rest.state) == dict.fromkeys(BULK_STREAMS, "2024-03-06")
    for name in BULK_STREAMS:
        bookmark = bookmarks.get(name)
        start = D.fromisoformat(bookmark) + dt.timedelta(days=1) if bookmark else D(2024, 3, 1)
        truth = sb.bulk_truth(start=start, streams=[name])[name]
        assert tally(name, rest.records[name]) == truth, name
