"""The dbt project on small hand-made raw tables in DuckDB, through `meltano run
dbt-duckdb:build`: the current_* rule (latest complete read per day and country scope,
nothing lost while a read is unfinished), the marts and the optional Ads mart."""

from __future__ import annotations

import typing as t

import duckdb
import pytest
from helpers.dbt import dbt_build, dbt_env
from helpers.meltano import plugin_env

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

L1, L2, L3 = (f"2024010{n}T000000.000000Z-{c * 8}" for n, c in ((1, "a"), (2, "b"), (3, "c")))
EVENT = ("licensor", "report_date", "country", "row_number", "user_id", "track_id", "isrc",
         "ms_played", "completion", "source", "load_id")
AGGREGATED = ("licensor", "report_date", "track_href", "track_isrc")


def events() -> list[tuple]:
    rows = []

    def add(day: str, country: str, numbers: range, load: t.Callable[[int], str]) -> None:
        rows.extend(("g", day, country, n, f"u{n}", "t1", "ISRC1", 1000, n % 2 == 0, "album",
                     load(n)) for n in numbers)

    add("2024-03-01", "SE", range(1, 6), lambda n: L2 if n <= 3 else L1)  # re-read shorter
    add("2024-03-01", "NO", range(1, 4), lambda n: L1)  # country gone in the re-read
    add("2024-03-02", "SE", range(1, 5), lambda n: L2 if n <= 2 else L1)  # re-read unfinished
    add("2024-03-03", "SE", range(1, 3), lambda n: L1)  # first read unfinished
    add("2024-03-04", "SE", range(1, 3), lambda n: L3 if n == 1 else L1)  # `countries` scopes
    add("2024-03-04", "NO", range(1, 2), lambda n: L1)
    return rows


DEMOGRAPHICS = '{"SE": {"female": {"18-22": 60}, "male": {"60+": 40}}}'

MANIFEST = [("streams", "2024-03-01", "*", L1), ("streams", "2024-03-01", "*", L2),
            ("streams", "2024-03-02", "*", L1), ("streams", "2024-03-04", "SE", L1),
            ("streams", "2024-03-04", "NO", L1), ("streams", "2024-03-04", "SE", L3)] + [
    (stream, "2024-03-01", "*", load)
    for stream in ("users", "tracks", "aggregated_streams_summary", "aggregated_streams_count",
                   "aggregated_streams_skips", "aggregated_streams_saves")
    for load in (L1, L2)]

TABLES: dict[str, tuple[tuple[str, ...], list[tuple]]] = {
    "streams": (EVENT, events()),
    "sub30sec_streams": (EVENT, []),
    "bulk_loads": (("stream", "report_date", "country_scope", "load_id"), MANIFEST),
    "users": (("licensor", "report_date", "row_number", "user_id", "country", "birth_year",
               "gender", "load_id"),
              [("g", "2024-03-01", 1, "u1", "SE", 1990, "female", L2),
               ("g", "2024-03-01", 2, "u2", "SE", None, "male", L2),
               ("g", "2024-03-01", 3, "u3", "NO", 2010, "male", L1)]),  # stale
    "tracks": (("licensor", "report_date", "row_number", "track_id", "isrc", "track_name",
                "artist_name", "label", "load_id"),
               [("g", "2024-03-01", 1, "t1", "ISRC1", "One", "Ann", "Lbl", L2),
                ("g", "2024-03-01", 2, "t2", "ISRC2", "Two", "Bo", "Lbl", L1)]),
    "aggregated_streams_summary": (
        (*AGGREGATED, "track_name", "album_name", "streams", "skips", "saves",
         "streams_gender_female", "streams_age_60_plus", "country_count", "demographics",
         "load_id"),
        [("g", "2024-03-01", "h1", "ISRC1", "One", "Al", 100, 10, 5, 60, 40, 1, DEMOGRAPHICS,
          L2),
         ("g", "2024-03-01", "h2", "ISRC2", "Two", "Al", 500, 5, 1, 0, 500, 1,
          '{"SE": {"male": {"60+": 500}}}', L1)]),  # track removed
    "aggregated_streams_count": (
        (*AGGREGATED, "country", "gender", "age_group", "streams", "load_id"),
        [("g", "2024-03-01", "h1", "ISRC1", "SE", "female", "18-22", 60, L2),
         ("g", "2024-03-01", "h1", "ISRC1", "SE", "male", "60+", 40, L2),
         ("g", "2024-03-01", "h2", "ISRC2", "SE", "male", "60+", 500, L1)]),
    "aggregated_streams_skips": ((*AGGREGATED, "country", "skips", "load_id"),
                                 [("g", "2024-03-01", "h1", "ISRC1", "SE", 10, L2),
                                  ("g", "2024-03-01", "h2", "ISRC2", "SE", 5, L1)]),
    "aggregated_streams_saves": ((*AGGREGATED, "country", "product", "saves", "load_id"),
                                 [("g", "2024-03-01", "h1", "ISRC1", "SE", "free", 5, L2),
                                  ("g", "2024-03-01", "h2", "ISRC2", "SE", "free", 1, L1)]),
    "campaign_day": (("ad_account_id", "currency_code", "entity_type", "granularity",
                      "entity_id", "entity_name", "start_time", "impressions", "clicks", "spend",
                      "streams"),
                     [("acc", "SEK", "CAMPAIGN", "DAY", "c1", "Spring", "2024-03-01T00:00:00Z",
                       2000, 50, 10.0, 400),
                      ("acc2", "JPY", "CAMPAIGN", "DAY", "c2", "Tokyo", "2024-03-01T00:00:00Z",
                       1000, 10, 1500.0, 100)]),
}
TYPES = {"row_number": "BIGINT", "ms_played": "BIGINT", "birth_year": "BIGINT",
         "streams": "BIGINT", "skips": "BIGINT", "saves": "BIGINT", "impressions": "BIGINT",
         "streams_gender_female": "BIGINT", "streams_age_60_plus": "BIGINT",
         "country_count": "BIGINT",
         "clicks": "BIGINT", "spend": "DOUBLE", "completion": "BOOLEAN", "report_date": "DATE"}


def make_warehouse(path: Path, ads: bool) -> None:
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA spotify")
        for table, (columns, rows) in TABLES.items():
            if table == "campaign_day" and not ads:
                continue
            typed = ", ".join(f"{c} {TYPES.get(c, 'VARCHAR')}" for c in columns)
            conn.execute(f"CREATE TABLE spotify.{table} ({typed})")
            if rows:
                marks = ", ".join("?" * len(columns))
                conn.executemany(f"INSERT INTO spotify.{table} VALUES ({marks})", rows)


@pytest.mark.parametrize("ads", [True, False], ids=["with-ads", "without-ads"])
def test_current_models_and_marts_on_hand_made_tables(
    meltano_project: MeltanoProject, tmp_path: Path, ads: bool,
) -> None:
    path = tmp_path / "warehouse.duckdb"
    make_warehouse(path, ads)
    env = {**plugin_env("TARGET_DUCKDB_", {"path": str(path), "default_target_schema": "spotify"}),
           **dbt_env(tmp_path)}
    log = dbt_build(meltano_project, "dbt-duckdb", env)
    assert "ERROR=0" in log
    assert "WARN=1" in log  # rows of the unfinished reads have no manifest yet: a warning

    with duckdb.connect(str(path), read_only=True) as conn:
        def query(sql: str) -> list[tuple]:
            return conn.execute(sql).fetchall()

        kept = query("SELECT strftime(report_date, '%d'), country, row_number, load_id "
                     "FROM spotify.current_streams ORDER BY 1, 2, 3")
        assert kept == [
            ("01", "SE", 1, L2), ("01", "SE", 2, L2), ("01", "SE", 3, L2),  # stale rows gone
            ("02", "SE", 1, L2), ("02", "SE", 2, L2), ("02", "SE", 3, L1), ("02", "SE", 4, L1),
            ("03", "SE", 1, L1), ("03", "SE", 2, L1),  # no manifest yet: kept
            ("04", "NO", 1, L1), ("04", "SE", 1, L3),  # per-country scopes
        ]
        assert query("SELECT user_id FROM spotify.current_users ORDER BY 1") == [("u1",), ("u2",)]
        assert query("SELECT track_href FROM spotify.current_aggregated_streams_count "
                     "GROUP BY 1") == [("h1",)]
        # The summary's demographic columns pass through the current model.
        assert query("SELECT track_href, streams_gender_female, streams_age_60_plus, "
                     "country_count, demographics FROM "
                     "spotify.current_aggregated_streams_summary") == [
            ("h1", 60, 40, 1, DEMOGRAPHICS)]
        assert query("SELECT stream_events, listeners, streams, skips, saves, skip_rate, "
                     "save_rate FROM spotify.mart_streams_daily WHERE report_date = "
                     "'2024-03-01'") == [(3, 3, 100, 10, 5, 0.1, 0.05)]
        assert query("SELECT gender, age_group, streams, listeners FROM "
                     "spotify.mart_listener_demographics ORDER BY 1, 2") == [
            ("female", "18-22", 60, 0), ("female", "28-34", 0, 1),
            ("male", "60+", 40, 0), ("male", "unknown", 0, 1)]
        assert query("SELECT track_rank, track_href, artist_name, streams FROM "
                     "spotify.mart_top_tracks") == [(1, "h1", "Ann", 100)]
        ads_rows = query("SELECT campaign_id, currency_code, report_date::VARCHAR, ctr, e_cpm, "
                         "cost_per_stream FROM spotify.mart_ads_campaign_daily ORDER BY 1")
        assert ads_rows == ([("c1", "SEK", "2024-03-01", 0.025, 5.0, 0.025),
                             ("c2", "JPY", "2024-03-01", 0.01, 1500.0, 15.0)] if ads else [])
