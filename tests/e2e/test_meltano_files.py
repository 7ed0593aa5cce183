"""`meltano run` into the embedded targets: DuckDB (upserts, default lookback) and JSONL
(append only, so with `lookback_days` 0 a second run from state must add exactly the new
days and repeat nothing)."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import duckdb
from helpers.meltano import (
    BULK_KEYS,
    bookmarks,
    compare_bulk,
    duckdb_rows,
    jsonl_rows,
    plugin_env,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

START = dt.date(2024, 3, 1)
FIRST_END = dt.date(2024, 3, 3)
END = dt.date(2024, 3, 5)
COUNTRIES = ("SE", "GB", "JP")


def two_runs(sb: t.Any, project: MeltanoProject, loader: str, suffix: str,
             target_env: dict[str, str], lookback_days: int,
             check: t.Callable[[dict[str, dict[str, t.Any]]], None]) -> None:
    """Run up to FIRST_END, check against the truth, run again up to END, check again."""
    for end in (FIRST_END, END):
        config = sb.tap_config(start_date=START.isoformat(), end_date=end.isoformat(),
                               lookback_days=lookback_days, max_workers=2)
        project.run(loader, suffix, {**plugin_env("TAP_SPOTIFY_BULK_", config), **target_env})
        check(sb.bulk_truth(START, end))
        assert bookmarks(project.state(loader, suffix)) == dict.fromkeys(BULK_KEYS,
                                                                          end.isoformat())


def test_duckdb_round_trip_then_incremental_rerun(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    tmp_path: Path, state_suffix: str,
) -> None:
    sb = sandbox_factory(seed=23, start=START, end=END, scale=200, countries=COUNTRIES)
    path = tmp_path / "warehouse.duckdb"  # file name != schema name
    target_env = plugin_env("TARGET_DUCKDB_", {"path": str(path),
                                               "default_target_schema": "spotify"})

    def check(truth: dict[str, dict[str, t.Any]]) -> None:
        with duckdb.connect(str(path), read_only=True) as conn:
            assert compare_bulk(truth, lambda s: duckdb_rows(conn, "spotify", s)) == {}

    two_runs(sb, meltano_project, "target-duckdb", state_suffix, target_env, 3, check)


def test_jsonl_appends_only_new_days_with_zero_lookback(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    tmp_path: Path, state_suffix: str,
) -> None:
    sb = sandbox_factory(seed=29, start=START, end=END, scale=200, countries=COUNTRIES)
    out = tmp_path / "jsonl"
    target_env = plugin_env("TARGET_JSONL_", {"destination_path": str(out),
                                              "do_timestamp_file": False})

    def check(truth: dict[str, dict[str, t.Any]]) -> None:
        # compare_bulk also fails on a repeated primary key: append-only files show a re-read.
        assert compare_bulk(truth, lambda s: jsonl_rows(out, s)) == {}

    two_runs(sb, meltano_project, "target-jsonl", state_suffix, target_env, 0, check)


def test_stream_maps_and_selection_through_meltano(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    tmp_path: Path, state_suffix: str,
) -> None:
    """Meltano's `select` limits the run to two streams; a stream map drops `user_id` (e.g.
    for privacy) and adds a computed column, with every record still delivered."""
    sb = sandbox_factory(seed=31, start=START, end=FIRST_END, scale=200, countries=COUNTRIES)
    out = tmp_path / "jsonl"
    config = sb.tap_config(max_workers=2, stream_maps={
        "streams": {"user_id": "__NULL__", "seconds_played": "int(ms_played // 1000)"}})
    env = {**plugin_env("TAP_SPOTIFY_BULK_", config),
           "TAP_SPOTIFY_BULK__SELECT": json.dumps(["streams.*", "tracks.*"]),
           **plugin_env("TARGET_JSONL_", {"destination_path": str(out),
                                          "do_timestamp_file": False})}
    meltano_project.run("target-jsonl", state_suffix, env)

    assert sorted(p.name for p in out.iterdir()) == ["streams.jsonl", "tracks.jsonl"]
    truth = sb.bulk_truth(START, FIRST_END, streams=["streams", "tracks"])
    assert compare_bulk({"tracks": truth["tracks"]}, lambda s: jsonl_rows(out, s)) == {}
    streams = jsonl_rows(out, "streams") or []
    assert len(streams) == truth["streams"]["count"] > 0
    assert all("user_id" not in row for row in streams)
    assert all(row["seconds_played"] == row["ms_played"] // 1000 for row in streams)
