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
