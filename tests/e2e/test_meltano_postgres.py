"""`meltano run tap-spotify-bulk target-postgres` against the sandbox, into a real PostgreSQL:
every table equals the sandbox truth; a second run resumes from Meltano's saved state,
re-reads only the lookback window, duplicates nothing and brings the new days."""

from __future__ import annotations

import datetime as dt
import re
import typing as t

import psycopg
from meltano_e2e import (
    BULK_KEYS,
    bookmarks,
    compare_bulk,
    pg_connect_kwargs,
    plugin_env,
    postgres_rows,
    target_postgres_env,
)

if t.TYPE_CHECKING:
    from meltano_e2e import MeltanoProject

START = dt.date(2024, 3, 1)
FIRST_END = dt.date(2024, 3, 4)
END = dt.date(2024, 3, 6)
LOOKBACK = 3
COUNTRIES = ("SE", "NO", "DE", "US", "BR")
DATA_FILE = re.compile(r"/enhanced/[a-z_0-9]+/(\d{4})/(\d{2})/(\d{2})(/[A-Z]{2})?/?$")


def requested_days(request_log: list[dict[str, t.Any]]) -> set[dt.date]:
    """Report days whose data files (or per-day listings) the tap asked for."""
    days = set()
    for entry in request_log:
        match = DATA_FILE.search(entry["path"].split("?")[0])
        if match:
            days.add(dt.date(*map(int, match.groups()[:3])))
    return days


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
    assert {table: tuple(cols) for table, cols in enforced.items()} == BULK_KEYS
