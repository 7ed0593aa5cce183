"""Session fixtures of the end-to-end tests: the Meltano project (plugins installed once) and
a running PostgreSQL (started by scripts/postgres, which installs it when missing)."""

from __future__ import annotations

import shlex
import subprocess
import typing as t
import uuid

import pytest
from meltano_e2e import REPO, MeltanoProject, pg_connect_kwargs

if t.TYPE_CHECKING:
    from pathlib import Path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def meltano_project(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    """The repository's Meltano project with a private system database; `meltano install`
    runs once per session (with the Hub unreachable, as on CI)."""
    project = MeltanoProject(tmp_path_factory.mktemp("meltano") / "meltano.db")
    project.meltano("install", timeout=900)
    return project


@pytest.fixture(scope="session")
def postgres() -> dict[str, str]:
    """libpq connection settings of a running PostgreSQL with the test role and database."""
    done = subprocess.run(
        [str(REPO / "scripts" / "postgres")], capture_output=True, text=True, check=False,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/postgres failed:\n{done.stderr[-2000:]}")
    words = shlex.split(done.stdout.strip().removeprefix("export "))
    return dict(word.split("=", 1) for word in words)


@pytest.fixture
def pg_schema(postgres: dict[str, str]) -> t.Iterator[str]:
    """A fresh PostgreSQL schema name for one test, dropped afterwards."""
    import psycopg  # noqa: PLC0415 (dev extra)

    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    yield schema
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def state_suffix(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state-id suffix unique to this test."""
    return f"{request.node.name[:40]}-{tmp_path.name}"
