"""Shared fixtures: a real sandbox server on a free port, stopped at the end of the test;
and, for the tests that load through Meltano, the Meltano project and a running PostgreSQL
(both fail, never skip, when they cannot be had: CI has PostgreSQL). Every test gets its own
state directory (`XDG_STATE_HOME`, where the tap keeps its Ads token store by default), so no
test writes into the home directory and parallel tests never share a stored token."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import typing as t
import uuid
from pathlib import Path

import pytest
from helpers.figures import figures, pytest_runtest_logreport, pytest_terminal_summary
from helpers.meltano import REPO, MeltanoProject, pg_connect_kwargs
from helpers.secrets import listen_for_authorization
from hypothesis import HealthCheck, Phase, settings
from spotify_sandbox import Sandbox, SandboxOptions

__all__ = ["figures", "pytest_runtest_logreport", "pytest_terminal_summary"]  # the suite's figures

# Property tests (Hypothesis): "ci", the default, is deterministic (the same examples on every
# run, no example database); HYPOTHESIS_PROFILE=long draws many more, at random, locally.
settings.register_profile("ci", max_examples=12, derandomize=True, database=None,
                          deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
# "mutation": the ci examples, stopping at the first failure without shrinking it (the
# mutation tool only needs to know that a test fails).
settings.register_profile("mutation", parent=settings.get_profile("ci"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.register_profile("long", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SMALL = {"seed": 7, "start": dt.date(2024, 3, 1), "end": dt.date(2024, 3, 10), "scale": 500}


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory,
               monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's `XDG_STATE_HOME`, in this process and every process it starts (outside
    `tmp_path`, whose files some tests scan for secrets)."""
    path = tmp_path_factory.mktemp("state-home")
    monkeypatch.setenv("XDG_STATE_HOME", str(path))
    return path


@pytest.fixture
def sandbox_factory() -> t.Iterator[t.Callable[..., Sandbox]]:
    """Call with SandboxOptions keyword arguments; returns a started Sandbox that keeps
    every Authorization header it receives (`sandbox.authorizations`, for secret scans)."""
    started: list[Sandbox] = []

    def make(**options: t.Any) -> Sandbox:
        sandbox = Sandbox(SandboxOptions(**{**SMALL, **options}))
        sandbox.authorizations = listen_for_authorization(sandbox)
        started.append(sandbox.start())
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_factory: t.Callable[..., Sandbox]) -> Sandbox:
    """A small default sandbox: seed 7, 2024-03-01..2024-03-10, scale 500."""
    return sandbox_factory()


@pytest.fixture(scope="session")
def meltano_project(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    """The repository's Meltano project with a private system database; `meltano install`
    runs once per session (with the Hub unreachable, as on CI)."""
    project = MeltanoProject(tmp_path_factory.mktemp("meltano") / "meltano.db")
    project.meltano("install", timeout=900)
    return project


@pytest.fixture(scope="session")
def postgres() -> t.Iterator[dict[str, str]]:
    """libpq connection settings of a running PostgreSQL with the test role and a database
    of this run's own: `PG_TEST_DB` when set (the caller keeps it, as `scripts/test` does),
    else `spotify_test_<pid>`, created here and dropped at the end, so two runs on one
    machine (or two pytest-xdist workers) never share one."""
    given = os.environ.get("PG_TEST_DB")
    env = {**os.environ, "PG_TEST_DB": given or f"spotify_test_{os.getpid()}"}
    done = subprocess.run(
        [str(REPO / "scripts" / "postgres")], capture_output=True, text=True, check=False,
        timeout=600, env=env,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/postgres failed:\n{done.stderr[-2000:]}")
    words = shlex.split(done.stdout.strip().removeprefix("export "))
    yield dict(word.split("=", 1) for word in words)
    if not given:
        subprocess.run([str(REPO / "scripts" / "postgres"), "--drop"], capture_output=True,
                       check=False, timeout=600, env=env)


@pytest.fixture
def pg_schema(postgres: dict[str, str]) -> t.Iterator[str]:
    """A fresh PostgreSQL schema name for one test, dropped afterwards."""
    import psycopg  # noqa: PLC0415 (dev extra)

    schema = f"test_{uuid.uuid4().hex[:10]}"
    yield schema
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> t.Callable[[Sandbox, dt.datetime], None]:
    """Call with a sandbox and a moment: the tap's Ads clock and the sandbox's are set to it."""
    from tap_spotify_bulk.ads import times  # noqa: PLC0415

    def set_to(sb: Sandbox, moment: dt.datetime) -> None:
        monkeypatch.setattr(times, "utc_now", lambda: moment)
        sb.ads_api.fixed_now = moment

    return set_to
