"""Temporary disk: nothing left behind after `kill -9`, a byte budget for files downloaded
ahead, and a temporary directory that fills up.

The tap runs as a real subprocess with TMPDIR set to a directory of the test's own, read by
a reader that can be slow (a slow loader), and is watched from outside (`/proc`): the
bytes of the files it holds open there are sampled, since they have no name on disk.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import resource
import signal
import time

import orjson
import pytest
from helpers.run import clean_env, command, write_inputs
from helpers.secrets import unique_credentials
from helpers.singer import BULK_KEYS, bookmarks_of, duplicate_keys, tally, upsert
from helpers.watched import run_until_killed, run_watched

from tap_spotify_bulk.bulk.client import day_path
from tap_spotify_bulk.bulk.runtime import BulkRuntime

D = dt.date
START, END = D(2024, 3, 1), D(2024, 3, 4)
KILLS = 20
SEED = 20261130


def file_sizes(config: dict, resource_name: str, days: list[D]) -> list[int]:
    """Compressed size of every file of `resource_name` on `days`, as the tap downloads it."""
    client = BulkRuntime(config).client
    sizes = []
    for day in days:
        for code in client.list_children(day_path(resource_name, day)) or []:
            downloaded = client.download(f"{day_path(resource_name, day)}/{code}")
            assert downloaded is not None
            sizes.append(downloaded.size)
            downloaded.close()
    return sizes


def reported_peak(stderr: str) -> int:
    """The tap's own count: 'downloads: at most N bytes of files waiting ...' (max over
    the stream groups of the run)."""
    marks = [line.split("at most ", 1)[1].split()[0] for line in stderr.splitlines()
             if "downloads: at most " in line]
    assert marks, stderr[-2000:]
    return max(int(mark) for mark in marks)


def test_kill_9_at_20_points_leaves_no_temporary_file(sandbox_factory, tmp_path):
    sb = sandbox_factory(start=START, end=END, scale=300, countries=("SE", "NO", "DE"),
                         latency_ms=15, **unique_credentials())
    config = sb.tap_config(lookback_days=0, max_workers=4)
    truth = sb.bulk_truth(START, END)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = clean_env({"TMPDIR": str(temp)})
    # An uninterrupted run first: time-based kills fall inside its duration, so they land
    # inside a run however fast the machine is.
    started = time.monotonic()
    whole = run_watched([*command(), *write_inputs(tmp_path / "inputs", config, None)], env, temp)
    duration = time.monotonic() - started
    assert whole.returncode == 0, whole.stderr[-3000:]
    rng = random.Random(SEED)
    outputs, state, kills, holding, runs = [], None, 0, 0, 0
    while kills < KILLS:
        runs += 1
        assert runs <= 4 * KILLS, f"only {kills} of {KILLS} kills landed inside a run"
        argv = [*command(), *write_inputs(tmp_path / "inputs", config, state)]
        if kills % 2:
            run = run_until_killed(argv, env, seconds=rng.uniform(0.1, 0.9) * duration)
        else:
            run = run_until_killed(argv, env, lines=rng.randint(1, 1500))
        outputs.append(run.output)
        assert list(temp.iterdir()) == [], "a killed run left files behind"
        if not run.killed:  # finished before its kill point: start over from scratch
            assert run.returncode == 0, run.stderr[-3000:]
            state = None
            continue
        assert run.returncode == -signal.SIGKILL
        kills += 1
        holding += run.held_at_kill > 0
        state = run.output.state or state
    final = run_watched([*command(), *write_inputs(tmp_path / "inputs", config, state)],
                        env, temp)
    assert final.returncode == 0, final.stderr[-3000:]
    assert list(temp.iterdir()) == []
    outputs.append(final.output)
    assert set(bookmarks_of(final.output.state).values()) == {END.isoformat()}
    for stream, rows in final.output.records.items():
        assert not duplicate_keys(stream, rows)
    landed = upsert(outputs)
    assert {name: tally(name, landed.get(name, {}).values()) for name in BULK_KEYS} == truth
    # The kills did land while downloaded files were open, not only between them.
    assert holding >= 1, f"none of {KILLS} kills happened with files on disk"
    print(f"{holding} of {KILLS} kills landed while downloaded files were open")


@pytest.mark.parametrize("share", [0.9, 0.0])
def test_byte_budget_bounds_files_waiting_for_a_slow_target(sandbox_factory, tmp_path, share):
    """A budget of 0.9 times the three smallest files, and one of 1 byte (each file then is
    the only one on disk), against a reader slower than the downloads; a run without a
    budget is the control that shows the bound is not met by chance."""
    sb = sandbox_factory(start=START, end=END, scale=1200, countries=("SE", "NO", "DE"))
    days = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
    sizes = file_sizes(sb.tap_config(), "streams", days)
    budget = max(1, int(share * sum(sorted(sizes)[:3])))  # smaller than any three files
    bound = budget + max(sizes) if share else max(sizes)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = clean_env({"TMPDIR": str(temp)})
    runs = {}
    for name, extra in {"budget": {"download_budget_mb": budget / 1e6}, "none": {}}.items():
        config = sb.tap_config(max_workers=8, **extra)
        argv = [*command(), *write_inputs(tmp_path / name, config, None, ["streams"])]
        run = run_watched(argv, env, temp, read_delay=0.001)
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.output.tallies()["streams"] == sb.bulk_truth(START, END)["streams"]
        runs[name] = run
    limited = runs["budget"]
    assert limited.watch.peak_temp_bytes <= bound
    assert reported_peak(limited.stderr) <= bound
    if not share:
        assert limited.watch.peak_temp_files <= 1
    assert runs["none"].watch.peak_temp_bytes > bound  # the control did hold more
    assert list(temp.iterdir()) == []


def test_temporary_directory_that_fills_up(sandbox_factory, tmp_path):
    """A file size limit (RLIMIT_FSIZE) smaller than one day's file: the run stops with one
    line naming the directory and the settings; nothing of that date is emitted or
    committed, and the dates before it are complete."""
    sb = sandbox_factory(start=START, end=END, empty_day_rate=0.0)
    rng = random.Random(SEED)
    lines = b"".join(orjson.dumps({"user_id": f"{rng.getrandbits(128):032x}"}) + b"\n"
                     for _ in range(20_000))
    big = gzip.compress(lines)
    sb.options.overrides = {f"/gyrostream/enhanced/{day_path('users', D(2024, 3, 3))}": big}
    limit = 128 * 1024
    assert len(big) > 2 * limit
    temp = tmp_path / "tmp"
    temp.mkdir()
    config = sb.tap_config(lookback_days=0)
    argv = [*command(), *write_inputs(tmp_path / "inputs", config, None, ["users"])]

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = run_watched(argv, clean_env({"TMPDIR": str(temp)}), temp, preexec_fn=limit_file_size)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    line = run.last_stderr_line()
    assert line.startswith("tap-spotify-bulk: error: users/2024/03/03: the temporary "
                           f"directory {temp} is full"), line
    for phrase in ("Nothing of this date was committed", "`temp_dir`", "`download_budget_mb`"):
        assert phrase in line
    users = run.output.records["users"]
    assert {r["report_date"] for r in users} == {"2024-03-01", "2024-03-02"}
    assert run.output.tallies()["users"] == sb.bulk_truth(START, D(2024, 3, 2))["users"]
    assert max(bookmarks_of(s).get("users", "") for s in run.output.states) == "2024-03-02"
    assert list(temp.iterdir()) == []


def test_temp_dir_that_does_not_exist_fails_before_any_request(sandbox_factory, tmp_path):
    sb = sandbox_factory(start=START, end=END)
    missing = tmp_path / "no-such-dir"
    config = sb.tap_config(temp_dir=str(missing))
    run = run_watched([*command(), *write_inputs(tmp_path / "inputs", config, None, ["users"])],
                      clean_env(), tmp_path)
    assert run.returncode == 2, run.stderr[-3000:]
    assert run.last_stderr_line() == (
        f"tap-spotify-bulk: error: `temp_dir` must be an existing directory, got '{missing}'.")
    assert sb.request_log == []
