"""docs/data-model.md and its diagram source are generated from the stream schemas and the
dbt project: the committed files must equal a fresh generation."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "data_model_docs.py"


def load_script():
    spec = importlib.util.spec_from_file_location("data_model_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_generated_data_model_doc_is_current():
    docs = load_script()
    for path, text in docs.render().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run `python scripts/data_model_docs.py`")


def test_every_column_of_every_table_is_described():
    docs = load_script()
    raw = docs.raw_tables()
    tables = [*raw, *docs.dbt_tables({t.name: t for t in raw})]
    missing = [f"{t.name}.{name}" for t in tables for name, _type, text in t.columns
               if not text.strip()]
    assert missing == []
