"""Kill and resume through Meltano: `kill -9` a whole `meltano run tap-spotify-bulk
target-postgres` (process group: Meltano, tap and target) at seeded-random moments, run it
again (`--force`), and show that the PostgreSQL tables equal the sandbox truth with no key
missing and none twice, and that the run after the kills resumed from the saved state.

target-postgres (singer-sdk targets) passes STATE on only when it drains every sink: at the
end of the input, or after 5 minutes. So a killed `meltano run` leaves the state of the
last completed run (Meltano saves each STATE the target passes on), and the next run reads
again from there, upserting the same keys.

Uses the Meltano helpers (`helpers.meltano`) and the session's Meltano project and
PostgreSQL fixtures (tests/conftest.py): like tests/e2e, it fails when PostgreSQL cannot be
started (CI has it). All 3 kills must land inside a run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import re
import signal
import subprocess
import time

import psycopg
import pytest
from helpers.meltano import (
    MELTANO,
    REPO,
    MeltanoProject,
    bookmarks,
    compare_bulk,
    pg_connect_kwargs,
    plugin_env,
    postgres_rows,
    target_postgres_env,
)
from helpers.secrets import secrets_of, unique_credentials

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

D = dt.date
START, FIRST_END, END = D(2024, 3, 1), D(2024, 3, 3), D(2024, 3, 6)
DATA_PATH = re.compile(r"/enhanced/[a-z_0-9]+/(\d{4})/(\d{2})/(\d{2})")
KILLS = 3
SEED = 8


def meltano_run_killed(project: MeltanoProject, env: dict[str, str], suffix: str,
                       after: float | None = None) -> tuple[bool, int, str]:
    """Run `meltano run`; SIGKILL its whole process group (Meltano, tap, target) after
    `after` seconds (never, when None). (killed?, exit code, output)."""
    argv = [MELTANO, "run", "--force", "--state-id-suffix", suffix, "tap-spotify-bulk",
            "target-postgres"]
    process = subprocess.Popen(argv, cwd=REPO, env=project.env(env), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=after if after is not None else 600)
        killed = False
    except subprocess.TimeoutExpired:
        if after is None:
            raise
        with contextlib.suppress(ProcessLookupError):  # it may just have finished
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        killed = process.returncode == -signal.SIGKILL
    return killed, process.returncode, output.decode(errors="replace")


def saved_bookmarks(project: MeltanoProject, suffix: str) -> dict[str, str]:
    """Bookmarks Meltano saved for this state id so far ({} when none yet)."""
    try:
        return bookmarks(project.state("target-postgres", suffix))
    except (AssertionError, ValueError):  # no state saved yet
        return {}


def test_meltano_run_killed_at_random_points_then_resumed(sandbox_factory, meltano_project,
                                                          postgres, pg_schema, tmp_path,
                                                          figures):
    sb = sandbox_factory(seed=11, start=START, end=END, scale=3000, latency_ms=10,
                         countries=("SE", "NO", "DE"), empty_day_rate=0.0,
                         **unique_credentials())
    suffix = f"faults-{tmp_path.name}"
    target = target_postgres_env(postgres, pg_schema)

    def env_until(end: dt.date) -> dict[str, str]:
        config = sb.tap_config(end_date=end.isoformat(), lookback_days=1, max_workers=2)
        return {**plugin_env("TAP_SPOTIFY_BULK_", config), **target}

    logs: list[str] = []
    # A completed run saves state up to FIRST_END...
    began = time.monotonic()
    killed, code, log = meltano_run_killed(meltano_project, env_until(FIRST_END), suffix)
    full_run = time.monotonic() - began  # the runs below read as many days, and one more
    logs.append(log)
    assert (killed, code) == (False, 0), log[-3000:]
    assert set(saved_bookmarks(meltano_project, suffix).values()) == {FIRST_END.isoformat()}
    # ...then the runs that extend it to END are killed at seeded-random moments.
    rng = random.Random(SEED)
    kills: list[str] = []
    for _ in range(KILLS):
        after = rng.uniform(0.3, 0.95) * full_run
        killed, code, log = meltano_run_killed(meltano_project, env_until(END), suffix, after)
        logs.append(log)
        assert killed, f"the run ended before its kill at {after:.1f}s: {log[-2000:]}"
        marks = sorted(set(saved_bookmarks(meltano_project, suffix).values())) or ["none"]
        kills.append(f"{after:.1f}s (saved bookmarks {marks[0]}..{marks[-1]})")
    # The resumed run starts from the saved bookmarks, not from scratch.
    sb.wait_idle()  # requests of the killed runs may still be in hand
    sb.reset_counters()
    killed, code, log = meltano_run_killed(meltano_project, env_until(END), suffix)
    logs.append(log)
    assert (killed, code) == (False, 0), log[-3000:]
    assert set(saved_bookmarks(meltano_project, suffix).values()) == {END.isoformat()}
    days = requested_days(sb.request_log)
    assert days
    assert min(days) >= FIRST_END  # bookmark + 1 day - lookback_days (1)

    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        problems = compare_bulk(sb.bulk_truth(START, END),
                                lambda stream: postgres_rows(conn, pg_schema, stream))
    assert problems == {}  # every key present, none twice, values equal the truth
    secrets = secrets_of(sb)
    assert not any(secret in log for secret in secrets for log in logs)
    assert len(kills) == KILLS
    figures("kill and resume, through Meltano", kills=len(kills))
    print(f"meltano kill points: {kills}")


def requested_days(request_log: list[dict]) -> set[dt.date]:
    """Report days whose data files or day listings the tap asked for."""
    days = set()
    for entry in request_log:
        match = DATA_PATH.search(entry["path"])
        if match:
            days.add(dt.date(*map(int, match.groups())))
    return days
