"""Generate docs/data-model.md and its relationship diagram from the tap's stream schemas
and the dbt project (transform/), so the documented data model cannot drift from the code.

    python scripts/data_model_docs.py           # write docs/data-model.md, .dot and .svg
    python scripts/data_model_docs.py --check   # exit 1 when the committed files are stale

The diagram's source (docs/data-model.dot) is checked; the picture (docs/data-model.svg) is
rendered from it with Graphviz (`apt-get install -y graphviz`) when `dot` is available.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tap_spotify_bulk.tap import TapSpotifyBulk

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TRANSFORM = REPO / "transform"
MANIFEST = "bulk_loads"

# How the raw tables join (the dbt marts use the same keys). (left, right, condition, why)
JOINS: tuple[tuple[str, str, str, str], ...] = (
    ("streams", "users", "report_date, user_id", "the listener of a stream event"),
    ("streams", "tracks", "report_date, isrc (or track_id)", "the track of a stream event"),
    ("sub30sec_streams", "tracks", "report_date, isrc (or track_id)",
     "the track of a short stream"),
    ("aggregated_streams_count", "aggregated_streams_summary", "report_date, track_href",
     "a track-day's breakdown by country, gender and age group"),
    ("aggregated_streams_skips", "aggregated_streams_summary", "report_date, track_href",
     "a track-day's skips by country"),
    ("aggregated_streams_saves", "aggregated_streams_summary", "report_date, track_href",
     "a track-day's saves by country and product"),
    ("aggregated_streams_summary", "tracks", "report_date, track_isrc = isrc",
     "track metadata (artist, label) of an aggregated track"),
    ("aggregated_streams_count", "streams", "report_date, track_isrc = isrc, country",
     "aggregated counts next to stream events"),
)
MANIFEST_JOIN = "stream = '<table>', report_date, load_id (country_scope '*' or country)"

PROMISES = """\
## What raw tables can and cannot promise

The raw tables hold what the loader upserted on each stream's primary key. Keys are
positions in a file (`row_number`) or aggregate coordinates (track x country ...), so a
re-read of an unchanged day rewrites the same rows. When Spotify corrects a day that the
`lookback_days` window reads again, a corrected file that is shorter, a country file that
disappears, or tracks dropped from the aggregated report leave their old rows behind: the
raw tables then hold the union of every read, and their totals overstate the corrected
day. A raw table is exact for days that were never restated; it cannot say which rows are
gone, and deletion requires knowing what a new read no longer contains.

Every Bulk row therefore carries `load_id`, the read (tap run) that wrote it, and the
manifest `bulk_loads` records each completed read of a (stream, report_date) (per country
with a `countries` setting). The `current_<stream>` models keep a row only when its
`load_id` is at least the latest complete read of its day (and country): exactly the
latest complete read, with no stale row. A day whose re-read was interrupted keeps the
previous complete read, partly overwritten by the new one: nothing is lost, and the next
complete run makes it exact. This relies on the loader writing a day's records before the
manifest record that follows them in the tap's output; Singer SDK targets such as
target-postgres drain record batches before the manifest's small batch in practice, but
no Singer target guarantees an order across streams. Use the `current_*` models and the
marts for reporting; use raw tables for history and debugging.
"""


@dataclass
class Table:
    name: str
    kind: str  # "raw", "current" or "mart"
    description: str
    columns: list[tuple[str, str, str]]  # (name, type, description)
    keys: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()


def _type(schema: dict[str, Any]) -> str:
    types = schema.get("type", "object")
    names = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
    name = "/".join(names) or "null"
    return f"{name} ({schema['format']})" if "format" in schema else name


def raw_tables() -> list[Table]:
    """The Bulk streams as the tap discovers them (no settings needed)."""
    tap = TapSpotifyBulk(config={}, parse_env_config=False, validate_config=False)
    tables = []
    for stream in tap.discover_streams():
        props = stream.schema["properties"]
        columns = [(name, _type(spec), spec.get("description", "")) for name, spec in
                   props.items()]
        tables.append(Table(stream.name, "raw", stream.schema.get("description", ""),
                            columns, tuple(stream.primary_keys or ())))
    return tables


def _inputs(sql: str) -> tuple[str, ...]:
    """Tables a model's SQL selects from: refs, sources, the current_rows macro's source and
    manifest, and the Ads table named by a variable."""
    found = re.findall(r"(?:from|join)\s+\{\{\s*(?:ref\('|source\('spotify', ')(\w+)'\)", sql)
    current = re.search(r"current_rows\('(\w+)'", sql)
    if current:
        found += [current.group(1), MANIFEST]
    variables = yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text())["vars"]
    found += [str(variables[v]) for v in re.findall(r"var\('(\w+_table)'\)", sql)]
    return tuple(dict.fromkeys(found))


def dbt_tables(raw: dict[str, Table]) -> list[Table]:
    """Models of transform/ with their yml descriptions, tests' keys and SQL inputs."""
    tables = []
    for yml in sorted((TRANSFORM / "models").rglob("*.yml")):
        for model in (yaml.safe_load(yml.read_text()) or {}).get("models", []):
            name = model["name"]
            sql = (yml.parent / f"{name}.sql").read_text(encoding="utf-8")
            keys: tuple[str, ...] = ()
            for test in model.get("data_tests", []):
                if isinstance(test, dict) and "unique_key" in test:
                    keys = keys or tuple(test["unique_key"]["arguments"]["columns"])
            described = {c["name"]: c.get("description", "") for c in model.get("columns", [])}
            kind = "current" if name.startswith("current_") else "mart"
            base = raw.get(name.removeprefix("current_")) if kind == "current" else None
            if base is not None:  # same columns as the raw table
                columns = [(n, t, described.get(n) or d) for n, t, d in base.columns]
            else:
                columns = [(n, "", d) for n, d in described.items()]
            description = " ".join(str(model.get("description", "")).split())
            tables.append(Table(name, kind, description, columns, keys, _inputs(sql)))
    return tables


def _column_table(table: Table) -> list[str]:
    typed = any(t for _n, t, _d in table.columns)
    head = "| column | type | key | description |" if typed else "| column | key | description |"
    lines = [head, "|---|---|---|---|" if typed else "|---|---|---|"]
    for name, kind, description in table.columns:
        key = "yes" if name in table.keys else ""
        text = " ".join(description.split()).replace("|", "\\|")
        cells = [f"`{name}`", kind, key, text] if typed else [f"`{name}`", key, text]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(tables: list[Table]) -> str:
    out = [
        "# Data model",
        "",
        "<!-- Generated by scripts/data_model_docs.py from the tap's stream schemas and the dbt",
        "     project (transform/). Do not edit by hand: edit those and run the script. -->",
        "",
        "Raw tables are what `meltano run tap-spotify-bulk target-postgres` (or target-duckdb)",
        "loads, one per stream, in the loader's schema. The dbt project in `transform/`",
        "(`meltano run tap-spotify-bulk target-postgres dbt-postgres:build`, or `dbt-duckdb`)",
        "builds `current_<stream>` models (the latest complete read of each day) and marts on",
        "them, in the same schema unless `DBT_SCHEMA` names another. Ads report tables are",
        "named by `ads_report_list` and documented in the README.",
        "",
        "The warehouse is configured once, for the loader: dbt's profiles",
        "(`transform/profiles/profiles.yml`) read `TARGET_POSTGRES_HOST`, `_PORT`, `_USER`,",
        "`_PASSWORD`, `_DATABASE` and `_DEFAULT_TARGET_SCHEMA` (or `TARGET_DUCKDB_PATH` and",
        "`TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA`) from the environment or Meltano's `.env`, with",
        "the loader's defaults from `meltano.yml`.",
        "",
        "![Tables, how they are built and how they join](data-model.svg)",
        "",
        "Solid arrows: built from (dbt). Dashed lines: join keys. Every Bulk table joins the",
        f"manifest `{MANIFEST}` on {MANIFEST_JOIN}.",
        "",
        PROMISES,
        "## How tables join",
        "",
        "| table | joins | on | meaning |",
        "|---|---|---|---|",
    ]
    out += [f"| `{a}` | `{b}` | {on} | {why} |" for a, b, on, why in JOINS]
    out += [f"| every Bulk table | `{MANIFEST}` | {MANIFEST_JOIN} | the read that wrote the row |",
            "", "Dates are UTC report dates (`report_date`, the file's partition date);",
            "countries are ISO 3166 alpha-2 codes of the file partition (streams, sub-30 streams)",
            "or of the aggregated report's country level.", ""]
    sections = (("raw", "Raw tables (the tap's streams)"),
                ("current", "current_* models (dbt)"), ("mart", "Marts (dbt)"))
    for kind, title in sections:
        out += [f"## {title}", ""]
        for table in (t for t in tables if t.kind == kind):
            out += [f"### `{table.name}`", "", table.description, ""]
            if table.keys:
                out += [f"Key: {', '.join(f'`{k}`' for k in table.keys)}.", ""]
            if table.inputs:
                out += [f"Built from: {', '.join(f'`{i}`' for i in table.inputs)}.", ""]
            if kind == "current":
                out += [f"Columns: those of the raw `{table.name.removeprefix('current_')}`"
                        " table.", ""]
            else:
                out += [*_column_table(table), ""]
    return "\n".join(out).rstrip() + "\n"


def dot(tables: list[Table]) -> str:
    """Graphviz source of the diagram: clusters per kind, lineage and join edges."""
    lines = ["digraph data_model {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica",'
             ' fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];']
    colours = {"raw": "#dbe9f6", "current": "#e3f4dd", "mart": "#fbe7c6"}
    labels = {"raw": "raw tables (tap)", "current": "current_* (dbt)", "mart": "marts (dbt)"}
    for kind in ("raw", "current", "mart"):
        lines += [f"  subgraph cluster_{kind} {{", f'    label="{labels[kind]}";',
                  f'    node [style=filled, fillcolor="{colours[kind]}"];']
        lines += [f'    "{t.name}";' for t in tables if t.kind == kind]
        if kind == "raw":  # inputs that are no stream of the tap: the Ads report tables
            named = {t.name for t in tables}
            others = dict.fromkeys(i for t in tables for i in t.inputs if i not in named)
            lines += [f'    "{i}" [label="{i}\\n(Ads report table)", style="filled,dashed"];'
                      for i in others]
        lines.append("  }")
    for table in tables:
        lines += [f'  "{source}" -> "{table.name}";' for source in table.inputs]
    for left, right, on, _why in JOINS:
        lines.append(f'  "{left}" -> "{right}" [dir=none, style=dashed, label="{on}", '
                     "constraint=false];")
    return "\n".join(lines) + "\n}\n"


def render() -> dict[Path, str]:
    raw = raw_tables()
    tables = [*raw, *dbt_tables({t.name: t for t in raw})]
    return {DOCS / "data-model.md": markdown(tables), DOCS / "data-model.dot": dot(tables)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the files are stale")
    args = parser.parse_args()
    files = render()
    if args.check:
        stale = [p for p, text in files.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"{path.relative_to(REPO)} is stale: run scripts/data_model_docs.py")
        return 1 if stale else 0
    DOCS.mkdir(exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    if shutil.which("dot") is None:
        print("Graphviz `dot` not found: docs/data-model.svg not rendered", file=sys.stderr)
        return 1
    subprocess.run(["dot", "-Tsvg", "-o", str(DOCS / "data-model.svg"),  # noqa: S603, S607
                    str(DOCS / "data-model.dot")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
