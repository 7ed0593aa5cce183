"""Every place that names the streams agrees with the tap's one registry
(`tap_spotify_bulk.stream_names`): the stream classes, the Dagster assets, the dbt sources
and macro, `meltano.yml`'s production extractors and the sandbox's truth. A new Bulk report
added to the registry fails here, naming each place that still lacks it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from spotify_sandbox import tally
from tap_spotify_bulk_dagster import streams as dagster_streams

from tap_spotify_bulk import stream_names
from tap_spotify_bulk.ads.entities import ENTITY_STREAM_NAMES
from tap_spotify_bulk.bulk.loads import LOADS_STREAM
from tap_spotify_bulk.bulk.streams import BULK_STREAM_NAMES

REPO = Path(__file__).resolve().parents[2]


def test_the_tap_streams_are_the_registry() -> None:
    assert BULK_STREAM_NAMES == stream_names.BULK_REPORTS
    assert LOADS_STREAM == stream_names.BULK_LOADS
    assert ENTITY_STREAM_NAMES == stream_names.ADS_ENTITIES


def test_the_dagster_assets_are_the_registry() -> None:
    assert dagster_streams.BULK_STREAMS == stream_names.BULK_REPORTS
    assert dagster_streams.LOADS_STREAM == stream_names.BULK_LOADS


def test_the_dbt_macro_and_sources_name_every_bulk_table() -> None:
    macro = (REPO / "transform" / "macros" / "bulk_streams.sql").read_text(encoding="utf-8")
    body = re.search(r"macro bulk_stream_names\(\) %}(.*?){% endmacro", macro, re.S)
    assert body, "transform/macros/bulk_streams.sql has no bulk_stream_names macro"
    assert tuple(re.findall(r"'(\w+)'", body.group(1))) == stream_names.BULK_TABLES

    sources = yaml.safe_load((REPO / "transform" / "models" / "sources.yml").read_text())
    tables = {table["name"] for source in sources["sources"] for table in source["tables"]}
    missing = set(stream_names.BULK_TABLES) - tables
    assert not missing, f"transform/models/sources.yml lacks {sorted(missing)}"


def test_meltano_production_extractors_split_every_bulk_table() -> None:
    project = yaml.safe_load((REPO / "meltano.yml").read_text(encoding="utf-8"))
    extractors = {e["name"]: e for e in project["plugins"]["extractors"]}
    licensor = extractors["tap-spotify-bulk-licensor"]["select"]
    ads = extractors["tap-spotify-bulk-ads"]["select"]
    assert licensor == [f"{name}.*" for name in stream_names.BULK_TABLES]
    assert ads == ["*.*", *(f"!{name}.*" for name in stream_names.BULK_TABLES)]


def test_the_sandbox_truth_covers_every_bulk_report() -> None:
    assert tuple(tally.BULK_PRIMARY_KEYS) == stream_names.BULK_REPORTS
    assert tuple(tally.BULK_FIELDS) == stream_names.BULK_REPORTS
    assert {stream_names.BULK_LOADS} == tally.NOT_IN_TRUTH_STREAMS
