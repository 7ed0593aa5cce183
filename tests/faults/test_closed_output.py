"""The target stops reading: `tap-spotify-bulk ... | head -c 2000`, or a loader that crashes.

A reader closes its end of the pipe at several points of a multi-stream sync: before the
first STATE, in the middle of a date, and between two streams. Each time the tap ends with
one line in its error format saying so, exits 1 without a traceback, leaves no temporary
file, and a re-run from the last STATE the reader saw completes the data exactly.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import orjson
import pytest
from helpers.run import COMMAND, clean_env, command, write_inputs
from helpers.secrets import unique_credentials
from helpers.singer import BULK_KEYS, bookmarks_of, tally, upsert
from helpers.watched import run_watched

D = dt.date
START, END = D(2024, 3, 1), D(2024, 3, 3)
MESSAGE = (
    "tap-spotify-bulk: error: the output was closed: the target stopped reading or failed "
    "(look at the target's log). Nothing after the last STATE message was committed; a "
    "re-run resumes there."
)


def before_first_state():
    return lambda count, _line: "close" if count == 1 else None  # after the first SCHEMA


def mid_date():
    seen = {"state": False, "records": 0}

    def stop(_count: int, line: bytes) -> str | None:
        message = orjson.loads(line)
        if message["type"] == "STATE":
            seen["state"] = True
        elif message["type"] == "RECORD" and seen["state"]:
            seen["records"] += 1
            if seen["records"] == 50:  # 50 records into the date after the first STATE
                return "close"
        return None

    return stop


def between_streams():
    first: list[str] = []

    def stop(_count: int, line: bytes) -> str | None:
        message = orjson.loads(line)
        if message["type"] == "SCHEMA":
            first.append(message["stream"])
            if len(first) == 2:  # the second stream begins: the first one is complete
                return "close"
        return None

    return stop


@pytest.mark.parametrize("point", [before_first_state, mid_date, between_streams])
def test_reader_that_closes_early(sandbox_factory, tmp_path, point):
    sb = sandbox_factory(start=START, end=END, scale=600, countries=("SE", "NO", "DE"),
                         latency_ms=5, **unique_credentials())
    config = sb.tap_config(lookback_days=0, max_workers=4)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = clean_env({"TMPDIR": str(temp)})
    run = run_watched([*command(), *write_inputs(tmp_path / "in", config)], env, temp,
                      stop=point())
    assert run.closed
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert run.last_stderr_line() == MESSAGE
    assert run.stderr.count("tap-spotify-bulk: error:") == 1
    assert list(temp.iterdir()) == []
    if point is before_first_state:
        assert run.output.states == []

    # A re-run from the last STATE the reader saw completes the data exactly.
    state = run.output.state
    final = run_watched([*command(), *write_inputs(tmp_path / "in", config, state)], env, temp)
    assert final.returncode == 0, final.stderr[-3000:]
    assert set(bookmarks_of(final.output.state).values()) == {END.isoformat()}
    landed = upsert([run.output, final.output])
    truth = sb.bulk_truth(START, END)
    assert {name: tally(name, landed.get(name, {}).values()) for name in BULK_KEYS} == truth


def test_head_c_2000_with_the_debug_switch(sandbox_factory, tmp_path):
    """The user's own command, through a shell; the debug switch adds the traceback."""
    sb = sandbox_factory(start=START, end=END, scale=600)
    temp = tmp_path / "tmp"
    temp.mkdir()
    args = write_inputs(tmp_path / "in", sb.tap_config())
    for debug in ("", "1"):
        env = clean_env({"TMPDIR": str(temp), "TAP_SPOTIFY_BULK_DEBUG": debug})
        done = subprocess.run(
            ["bash", "-c", f'"{COMMAND}" "$@" | head -c 2000 >/dev/null; '
             'exit "${PIPESTATUS[0]}"', "tap", *args],
            capture_output=True, env=env, timeout=120, check=False)
        stderr = done.stderr.decode()
        assert done.returncode == 1, stderr[-3000:]
        assert stderr.rstrip("\n").splitlines()[-1] == MESSAGE
        assert ("Traceback" in stderr) == bool(debug)
        assert list(temp.iterdir()) == []
