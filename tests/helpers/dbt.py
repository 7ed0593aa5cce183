"""Running the dbt project (transform/) through the repository's Meltano utilities, and
reading its `current_*` models back for comparison with the sandbox truth."""

from __future__ import annotations

import typing as t

import yaml
from spotify_sandbox.tally import BULK_FIELDS

from helpers.meltano import REPO, postgres_rows

if t.TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from helpers.meltano import MeltanoProject


def dbt_env(tmp_path: Path) -> dict[str, str]:
    """dbt's target and log directories private to one test (concurrent runs share the
    project directory)."""
    return {"DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
            "DBT_LOG_PATH": str(tmp_path / "dbt-logs")}


def dbt_build(project: MeltanoProject, utility: str, env: Mapping[str, str]) -> str:
    """`meltano run <utility>:build`; its output (dbt's log) when it succeeds."""
    done = project.meltano("run", f"{utility}:build", env=env)
    return done.stdout + done.stderr


def tally_columns(stream: str) -> list[str]:
    """Every fingerprinted column of a Bulk stream (as in its current_ model)."""
    return list(BULK_FIELDS[stream])


def current_rows_duckdb(conn: t.Any, schema: str, stream: str) -> list[dict[str, t.Any]]:
    columns = tally_columns(stream)
    select = ", ".join(f'"{c}"' for c in columns)
    rows = conn.execute(f'SELECT {select} FROM "{schema}"."current_{stream}"').fetchall()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def current_rows_postgres(conn: t.Any, schema: str, stream: str) -> list[dict[str, t.Any]]:
    return postgres_rows(conn, schema, f"current_{stream}", tally_columns(stream)) or []



def described_columns() -> dict[str, dict[str, str]]:
    """{model: {column: description}} of the described columns in transform/'s schema yml."""
    models: dict[str, dict[str, str]] = {}
    for path in sorted((REPO / "transform" / "models").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            models[model["name"]] = {c["name"]: c["description"] for c in model.get("columns", [])
                                     if str(c.get("description") or "").strip()}
    return models
