"""End-to-end tests: marked `e2e`; each test gets its own Meltano state-id suffix (the
Meltano project and PostgreSQL fixtures are in tests/conftest.py)."""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from pathlib import Path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def state_suffix(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state-id suffix unique to this test."""
    return f"{request.node.name[:40]}-{tmp_path.name}"


@pytest.fixture(autouse=True)
def live_dagster_instance(request: pytest.FixtureRequest) -> t.Iterator[None]:
    """Each Dagster test runs with a live ephemeral instance entered. Dagster keeps the state
    storage of the instance entered last in a context variable, which building a code
    location reads; a context an earlier test made from its instance can leave it pointing
    at a disposed instance ("undefined DagsterInstance weakref") when the tests share one
    process."""
    if not request.node.path.name.startswith("test_dagster"):
        yield
        return
    import dagster as dg  # noqa: PLC0415 (the orchestrate extra, Dagster tests only)

    with dg.DagsterInstance.ephemeral():
        yield
