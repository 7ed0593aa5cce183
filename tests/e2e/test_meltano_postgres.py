"""`meltano run tap-spotify-bulk target-postgres` against the sandbox, into a real PostgreSQL:
every table equals the sandbox truth; a second run resumes from Meltano's saved state,
re-reads only the lookback window, duplicates nothing and brings the new days."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import psycopg
import pytest
from helpers.ads import months_before, stored_refresh_token
from helpers.meltano import (
    BULK_KEYS,
    bookmarks,
    compare_ads,
    compare_bulk,
    pg_connect_kwargs,
    plugin_env,
    postgres_rows,
    requested_days,
    target_postgres_env,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

START = dt.date(2024, 3, 1)
FIRST_END = dt.date(2024, 3, 4)
END = dt.date(2024, 3, 6)
LOOKBACK = 3
COUNTRIES = ("SE", "NO", "DE", "US", "BR")



def landed_problems(postgres: dict[str, str], schema: str,
                    truth: dict[str, dict[str, t.Any]]) -> dict[str, t.Any]:
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        return compare_bulk(truth, lambda stream: postgres_rows(conn, schema, stream))


def primary_key_constraints(postgres: dict[str, str], schema: str) -> dict[str, list[str]]:
    """{table: primary key columns} as PostgreSQL enforces them."""
    query = """
        SELECT tc.table_name, kcu.column_name
        FROM information_schema.table_constraints tc
        JOIN information_schema.key_column_usage kcu
          ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
        WHERE tc.table_schema = %s AND tc.constraint_type = 'PRIMARY KEY'
        ORDER BY tc.table_name, kcu.ordinal_position"""
    keys: dict[str, list[str]] = {}
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        for table, column in conn.execute(query, (schema,)).fetchall():
            keys.setdefault(table, []).append(column)
    return keys


def test_postgres_round_trip_then_incremental_rerun(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, state_suffix: str,
) -> None:
    sb = sandbox_factory(seed=11, start=START, end=END, scale=300, countries=COUNTRIES,
                         empty_day_rate=0.0)
    target_env = target_postgres_env(postgres, pg_schema)

    def run_until(end: dt.date) -> str:
        config = sb.tap_config(start_date=START.isoformat(), end_date=end.isoformat(),
                               lookback_days=LOOKBACK, max_workers=4)
        done = meltano_project.run("target-postgres", state_suffix,
                                   {**plugin_env("TAP_SPOTIFY_BULK_", config), **target_env})
        return done.stdout + done.stderr

    # First run: 2024-03-01 .. 2024-03-04.
    truth = sb.bulk_truth(START, FIRST_END)
    assert all(summary["count"] > 0 for summary in truth.values())  # a test worth its name
    log = run_until(FIRST_END)
    assert landed_problems(postgres, pg_schema, truth) == {}
    state = bookmarks(meltano_project.state("target-postgres", state_suffix))
    assert state == dict.fromkeys(BULK_KEYS, FIRST_END.isoformat())
    assert "record_count" in log  # the SDK's metrics reach Meltano's log
    for stream in BULK_KEYS:  # so do the tap's progress lines and per-stream summaries
        assert f"{stream}: done" in log, stream
    for stream in ("streams", "sub30sec_streams", "users", "tracks"):
        assert f"{stream}: {FIRST_END.isoformat()} done" in log, stream
    assert "aggregated streams: " in log
    assert sb.options.client_secret not in log

    # Second run from the saved state, two more days published: only the lookback window
    # (bookmark + 1 - lookback_days) and the new days are read; upserts keep keys unique.
    sb.reset_counters()
    run_until(END)
    assert landed_problems(postgres, pg_schema, sb.bulk_truth(START, END)) == {}
    state = bookmarks(meltano_project.state("target-postgres", state_suffix))
    assert state == dict.fromkeys(BULK_KEYS, END.isoformat())
    first_reread = FIRST_END + dt.timedelta(days=1 - LOOKBACK)
    days = requested_days(sb.request_log)
    assert min(days) == first_reread
    assert max(days) == END

    enforced = primary_key_constraints(postgres, pg_schema)
    # Meltano selects every stream by default, so the Ads entity lists land as well.
    assert {table: tuple(cols) for table, cols in enforced.items()} == {
        **BULK_KEYS, "bulk_loads": ("stream", "report_date", "country_scope", "load_id"),
        **dict.fromkeys(("businesses", "ad_accounts", "campaigns", "ad_sets", "ads"), ("id",))}


ADS_REPORTS = [
    {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
     "fields": ["IMPRESSIONS", "SPEND", "E_CPM"]},
    {"table": "ad_set_lifetime", "dimension": "AD_SET", "granularity": "LIFETIME",
     "fields": ["IMPRESSIONS", "CLICKS"]},
    {"table": "age_insights", "dimension": "AGE", "granularity": "LIFETIME",
     "fields": ["IMPRESSIONS", "REACH"]},
]
ADS_WORLD = {"n_businesses": 1, "accounts_per_business": 2, "shared_account": False,
             "campaigns_per_account": 2, "ad_sets_per_campaign": 2, "ads_per_ad_set": 1}


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_postgres_ads_reports_then_rerun_from_state(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, state_suffix: str, state_home: Path,
) -> None:
    """Ads report tables only (selected through Meltano's `select`), on the real clock; the
    token endpoint rotates the refresh token at every refresh and revokes the old one, and
    the second run, with the same settings, gets the rotated token from the token store."""
    sb = sandbox_factory(seed=5, ads=ADS_WORLD, rotate_refresh_token=True)
    config = sb.tap_config(ads_report_list=ADS_REPORTS, ads_timeframe_months="THREE")
    env = {**plugin_env("TAP_SPOTIFY_BULK_", config),
           "TAP_SPOTIFY_BULK__SELECT": json.dumps([f"{r['table']}.*" for r in ADS_REPORTS]),
           **target_postgres_env(postgres, pg_schema)}

    def truth() -> dict[str, dict[str, t.Any]]:
        today = utc_today()
        day = [r for r in ADS_REPORTS if r["granularity"] == "DAY"]
        snapshots = [r for r in ADS_REPORTS if r["granularity"] != "DAY"]
        return {**sb.ads_truth(day, start=months_before(today, 3),
                               end=today - dt.timedelta(days=1)),
                **sb.ads_truth(snapshots)}

    asked_before = 0
    for _ in range(2):  # the second run starts from the saved state and upserts
        asked_before = len(sb.ads_api.report_log)
        day_of_run = utc_today()
        meltano_project.run("target-postgres", state_suffix, env)
        if utc_today() != day_of_run:  # the tap's DAY window moved mid-run
            pytest.skip("UTC midnight passed during the run: the Ads DAY truth is ambiguous")
        expected = truth()
        assert all(summary["count"] > 0 for summary in expected.values())
        with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
            def rows_of(table: str, cols: list[str]) -> list[dict[str, t.Any]] | None:
                return postgres_rows(conn, pg_schema, table, cols)
            assert compare_ads(expected, ADS_REPORTS, rows_of) == {}
        saved = meltano_project.state("target-postgres", state_suffix)["singer_state"]
        assert "campaign_day" in saved["bookmarks"]
    assert set(primary_key_constraints(postgres, pg_schema)) == {r["table"] for r in ADS_REPORTS}
    # The second run read the last 90 DAY-report days again (the default ads_lookback_days,
    # for late attribution): one window per ad account, ending yesterday.
    second_run_windows = {(e["account"], e["report_start"][:10], e["report_end"][:10])
                          for e in sb.ads_api.report_log[asked_before:]
                          if e["kind"] == "aggregate" and e["granularity"] == "DAY"}
    today = utc_today()
    assert {(start, end) for _, start, end in second_run_windows} == {
        (str(today - dt.timedelta(days=90)), str(today - dt.timedelta(days=1)))}
    assert len(second_run_windows) == len({account for account, _, _ in second_run_windows})
    assert config["ads_refresh_token"] != sb.refresh_token  # the configured one was revoked
    assert stored_refresh_token(state_home, config) == sb.refresh_token
