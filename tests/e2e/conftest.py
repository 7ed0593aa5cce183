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
