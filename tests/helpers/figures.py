"""The fault suite's figures, printed by the run that proves them.

Tests of tests/faults record what they showed with the `figures` fixture (faults injected,
records compared, kills landed); every passed test of the suite counts as one case of its
module. At the end of the session pytest prints one summary, `fault suite figures`, which
is what tests/faults/README.md quotes. The figures travel in the test reports'
`user_properties`, so they add up under pytest-xdist too.
"""

from __future__ import annotations

import typing as t
from collections import defaultdict

import pytest

FIGURES = "fault_figures"
SUITE = "tests/faults/"
_cases: dict[str, int] = defaultdict(int)
_totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> t.Callable[..., None]:
    """`figures(area, **numbers)`: add `numbers` to `area`'s totals in the summary."""

    def record(area: str, **numbers: float) -> None:
        request.node.user_properties.append((FIGURES, {"area": area, **numbers}))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" or not report.passed or not report.nodeid.startswith(SUITE):
        return
    module = report.nodeid.split("::", 1)[0].removeprefix(SUITE)
    _cases[module] += 1
    for name, value in report.user_properties:
        if name == FIGURES:
            area = value["area"]
            _totals[area]["cases"] += 1
            for key, number in value.items():
                if key != "area":
                    _totals[area][key] += number


def summary_lines() -> list[str]:
    lines = [f"{module}: {n} passed" for module, n in sorted(_cases.items())]
    for area, numbers in sorted(_totals.items()):
        parts = [f"{k.replace('_', ' ')} {int(v) if float(v).is_integer() else round(v, 1):,}"
                 for k, v in numbers.items()]
        lines.append(f"{area}: " + ", ".join(parts))
    return lines


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    if not _cases:
        return
    terminalreporter.write_sep("=", "fault suite figures")
    for line in summary_lines():
        terminalreporter.write_line(line)
