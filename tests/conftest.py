"""Shared fixtures: a real sandbox server on a free port, stopped at the end of the test."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
from spotify_sandbox import Sandbox, SandboxOptions

SMALL = {"seed": 7, "start": dt.date(2024, 3, 1), "end": dt.date(2024, 3, 10), "scale": 500}


@pytest.fixture
def sandbox_factory() -> t.Iterator[t.Callable[..., Sandbox]]:
    """Call with SandboxOptions keyword arguments; returns a started Sandbox."""
    started: list[Sandbox] = []

    def make(**options: t.Any) -> Sandbox:
        sandbox = Sandbox(SandboxOptions(**{**SMALL, **options})).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_factory: t.Callable[..., Sandbox]) -> Sandbox:
    """A small default sandbox: seed 7, 2024-03-01..2024-03-10, scale 500."""
    return sandbox_factory()
