"""docs/architecture.dot (and the picture drawn from it) is generated from the tap's imports:
the committed file must equal a fresh generation, so the picture never shows an old shape."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "architecture_graph.py"


def test_generated_import_graph_is_current():
    spec = importlib.util.spec_from_file_location("architecture_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    assert module.DOT.read_text() == module.dot_source(), (
        "docs/architecture.dot is stale: run `python scripts/architecture_graph.py`")


def _graph():
    spec = importlib.util.spec_from_file_location("architecture_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.edges(module.modules())


def _circle(edges) -> list[str]:
    """One import circle of `edges` (type-checking imports included), or []."""
    after: dict[str, set[str]] = {}
    for importer, imported in edges:
        after.setdefault(importer, set()).add(imported)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(after.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(after):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_circle_inside_the_tap():
    circle = _circle(_graph())
    assert not circle, "import circle: " + " -> ".join(circle)


def test_circle_finder_finds_a_planted_circle():
    planted = {("a", "b"): False, ("b", "c"): True, ("c", "a"): False, ("c", "d"): False}
    assert _circle(planted) == ["a", "b", "c", "a"]


def test_the_ads_package_imports_nothing_of_the_bulk_package():
    crossing = sorted(f"{a} -> {b}" for a, b in _graph()
                      if a.startswith("tap_spotify_bulk.ads") and
                      b.startswith("tap_spotify_bulk.bulk"))
    assert not crossing, crossing
