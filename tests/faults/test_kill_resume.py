"""Kill and resume: `kill -9` the tap subprocess at seeded-random points of a multi-day sync
and resume each time from the last STATE it printed.

Kill points alternate between "after N output lines were read" and "after S seconds" (so
some land during start-up, before any STATE). What the dead process had written to the pipe
is still read, as a target would; a torn last line is dropped. Checked:

* after every kill, the STATE to resume from is never ahead of the data: for each stream,
  the records emitted so far up to its bookmark equal the truth up to that date;
* a run that finishes before its kill point completes a cycle: the outputs of that cycle
  (since the last start from empty state), upserted on the primary key, equal the ground
  truth, and the next run starts afresh;
* the last cycle alone (its killed runs and the final one) equals the ground truth: no key
  missing, no extra record, and no run emits a primary key twice;
* the last run exits 0 with every bookmark at the end date; nothing leaks a secret.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
import typing as t

from helpers.run import clean_env, command, write_inputs
from helpers.secrets import assert_no_secrets, secrets_of, unique_credentials
from helpers.singer import BULK_KEYS, Output, bookmarks_of, duplicate_keys, tally, upsert
from helpers.watched import run_until_killed

if t.TYPE_CHECKING:
    from pathlib import Path

D = dt.date
START, END = D(2024, 3, 1), D(2024, 3, 8)
KILLS = 20
SEED = 20240301


def truth_upto(sb, stream: str, day: str, cache: dict) -> dict:
    key = (stream, day)
    if key not in cache:
        cache[key] = sb.bulk_truth(START, day, streams=[stream])[stream]
    return cache[key]


def assert_exact(runs: list[Output], truth: dict) -> None:
    landed = upsert(runs)
    assert {name: tally(name, landed.get(name, {}).values()) for name in BULK_KEYS} == truth


def test_kill_9_at_20_random_points_and_resume(sandbox_factory, tmp_path: Path, figures):
    sb = sandbox_factory(start=START, end=END, scale=250, countries=("SE", "NO", "DE"),
                         latency_ms=3, **unique_credentials())
    config = sb.tap_config(lookback_days=1, max_workers=3)
    truth = sb.bulk_truth(START, END)
    total_records = sum(s["count"] for s in truth.values())
    env = clean_env({"TMPDIR": str(tmp_path)})  # temporary files a killed run leaves behind
    rng = random.Random(SEED)

    state: dict | None = None
    cycle: list[Output] = []  # runs since the last start from empty state
    outputs: list[Output] = []
    stderrs: list[str] = []
    cache: dict = {}
    kill_points: list[str] = []
    finished_cycles = 0
    while len(kill_points) < KILLS:
        assert len(outputs) < 10 * KILLS, f"only {len(kill_points)} of {KILLS} kills landed"
        if len(kill_points) % 2 == 0:
            limit = {"lines": rng.randint(1, max(2, total_records // 4))}
        else:
            limit = {"seconds": rng.uniform(0.3, 1.6)}
        argv = [*command(), *write_inputs(tmp_path / "inputs", config, state)]
        run = run_until_killed(argv, env, **limit)
        outputs.append(run.output)
        stderrs.append(run.stderr)
        cycle.append(run.output)
        for stream, rows in run.output.records.items():
            assert not duplicate_keys(stream, rows), f"{stream}: a key twice in one run"
        if not run.killed:  # it finished before its kill point: a whole cycle, exact
            assert run.returncode == 0, run.stderr[-3000:]
            assert set(bookmarks_of(run.output.state).values()) == {END.isoformat()}
            assert_exact(cycle, truth)
            finished_cycles += 1
            state, cycle = None, []
            continue
        assert run.returncode == -signal.SIGKILL
        state = run.output.state or state
        marks = sorted(set(bookmarks_of(state).values())) or ["none"]
        kill_points.append(f"{next(iter(limit))}={next(iter(limit.values())):.4g}"
                           f" (bookmarks {marks[0]}..{marks[-1]})")
        # The bookmark we resume from is never ahead of what was emitted.
        landed = upsert(cycle)
        for stream, day in bookmarks_of(state).items():
            rows = [r for r in landed.get(stream, {}).values() if r["report_date"] <= day]
            assert tally(stream, rows) == truth_upto(sb, stream, day, cache), (stream, day)

    final_argv = [*command(), *write_inputs(tmp_path / "inputs", config, state)]
    final = run_until_killed(final_argv, env, timeout=180)
    assert not final.killed
    assert final.returncode == 0, final.stderr[-3000:]
    assert "Traceback" not in final.stderr
    outputs.append(final.output)
    stderrs.append(final.stderr)
    assert set(bookmarks_of(final.output.state).values()) == {END.isoformat()}
    for stream, rows in final.output.records.items():
        assert not duplicate_keys(stream, rows)

    assert_exact([*cycle, final.output], truth)  # the last cycle alone
    assert all(truth[name]["count"] for name in BULK_KEYS)
    secrets = secrets_of(sb)
    for output, stderr in zip(outputs, stderrs, strict=True):
        assert_no_secrets(secrets, output.raw, stderr)
    assert len(kill_points) == KILLS
    figures("kill and resume, Bulk", kills=len(kill_points),
            kills_by_output_lines=sum(p.startswith("lines") for p in kill_points),
            kills_by_time=sum(p.startswith("seconds") for p in kill_points),
            kills_before_any_state=sum("none" in p for p in kill_points),
            completed_cycles_checked=finished_cycles + 1, records_in_the_truth=total_records)
    print(f"kill points: {kill_points}; completed cycles in between: {finished_cycles}")
