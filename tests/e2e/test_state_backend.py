"""Production layout through Meltano: the system database (and so the state backend) in
PostgreSQL, the `prod` environment, and the Bulk and Ads jobs of meltano.yml, each with its
own extractor (`inherit_from: tap-spotify-bulk`) and its own state.

State written by one `meltano run` into PostgreSQL must be what the next run reads: the
second Bulk run asks the sandbox for no day up to the saved bookmark, and the tables still
equal the truth of the whole window.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t
import uuid
from urllib.parse import quote

import psycopg
import pytest
from helpers.meltano import (
    BULK_KEYS,
    bookmarks,
    compare_bulk,
    pg_connect_kwargs,
    plugin_env,
    postgres_rows,
    requested_days,
    target_postgres_env,
)

if t.TYPE_CHECKING:
    from helpers.meltano import MeltanoProject

START = dt.date(2024, 3, 1)
FIRST_END = dt.date(2024, 3, 3)
END = dt.date(2024, 3, 5)
COUNTRIES = ("SE", "NO", "DE")
BULK_JOB, ADS_JOB = "spotify-bulk-to-postgres", "spotify-ads-to-postgres"
BULK_STATE_ID = "prod:tap-spotify-bulk-licensor-to-target-postgres"
ADS_STATE_ID = "prod:tap-spotify-bulk-ads-to-target-postgres"
ADS_REPORT = {"table": "campaign_day", "dimension": "CAMPAIGN", "granularity": "DAY",
              "fields": ["IMPRESSIONS", "SPEND"]}


@pytest.fixture
def state_schema(postgres: dict[str, str]) -> t.Iterator[str]:
    """A private PostgreSQL schema holding Meltano's system database for one test."""
    schema = f"meltano_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(**pg_connect_kwargs(postgres), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def system_database_uri(postgres: dict[str, str], schema: str) -> str:
    """MELTANO_DATABASE_URI for PostgreSQL (psycopg 3 driver), tables in `schema`."""
    kw = pg_connect_kwargs(postgres)
    options = quote(f"-csearch_path={schema}")
    return (f"postgresql+psycopg://{quote(kw['user'])}:{quote(kw['password'])}@{kw['host']}:"
            f"{kw['port']}/{kw['dbname']}?options={options}")


def saved_states(postgres: dict[str, str], schema: str) -> dict[str, dict[str, t.Any]]:
    """{state_id: completed Singer state} as Meltano stored them in PostgreSQL."""
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        rows = conn.execute(f'SELECT state_id, completed_state FROM "{schema}".state').fetchall()
    return {state_id: (json.loads(s) if isinstance(s, str) else s) for state_id, s in rows}



def test_state_in_postgres_is_read_by_the_next_run_and_jobs_keep_their_own_state(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, state_schema: str,
) -> None:
    sb = sandbox_factory(seed=23, start=START, end=END, scale=200, countries=COUNTRIES,
                         empty_day_rate=0.0, ads={"n_businesses": 1, "accounts_per_business": 1,
                                                  "campaigns_per_account": 2})
    production = {"MELTANO_DATABASE_URI": system_database_uri(postgres, state_schema),
                  "MELTANO_ENVIRONMENT": "prod", **target_postgres_env(postgres, pg_schema)}

    def run_job(job: str, end: dt.date) -> None:
        config = sb.tap_config(start_date=START.isoformat(), end_date=end.isoformat(),
                               lookback_days=0, max_workers=4, ads_report_list=[ADS_REPORT],
                               ads_timeframe_months="THREE")
        meltano_project.meltano("run", "--refresh-catalog", job,
                                env={**production, **plugin_env("TAP_SPOTIFY_BULK_", config)})

    def landed(truth: dict[str, dict[str, t.Any]]) -> dict[str, t.Any]:
        with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
            return compare_bulk(truth, lambda stream: postgres_rows(conn, pg_schema, stream))

    # First Bulk run: its state lands in PostgreSQL under the prod environment's state id.
    run_job(BULK_JOB, FIRST_END)
    assert landed(sb.bulk_truth(START, FIRST_END)) == {}
    states = saved_states(postgres, state_schema)
    assert set(states) == {BULK_STATE_ID}
    assert bookmarks(states[BULK_STATE_ID]) == dict.fromkeys(BULK_KEYS, FIRST_END.isoformat())

    # Second Bulk run, two more days published: it starts from the bookmark it read back
    # from PostgreSQL (lookback_days 0: no day up to the bookmark is asked for again).
    sb.reset_counters()
    run_job(BULK_JOB, END)
    days = requested_days(sb.request_log)
    assert days, "the second run asked for no data file"
    assert min(days) == FIRST_END + dt.timedelta(days=1)
    assert max(days) == END
    assert landed(sb.bulk_truth(START, END)) == {}
    states = saved_states(postgres, state_schema)
    assert bookmarks(states[BULK_STATE_ID]) == dict.fromkeys(BULK_KEYS, END.isoformat())
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:  # the Bulk job's manifest
        loads = postgres_rows(conn, pg_schema, "bulk_loads", ["stream", "report_date"]) or []
    assert {row["stream"] for row in loads} == set(BULK_KEYS)
    assert {str(row["report_date"]) for row in loads} == {
        (START + dt.timedelta(days=n)).isoformat() for n in range((END - START).days + 1)}

    # The Ads job: its own extractor, its own state id, no Bulk stream's bookmark; the Bulk
    # job's state is left as it was.
    sb.reset_counters()
    run_job(ADS_JOB, END)
    assert not requested_days(sb.request_log), "the Ads job read Bulk files"
    states = saved_states(postgres, state_schema)
    assert set(states) == {BULK_STATE_ID, ADS_STATE_ID}
    ads_bookmarks = set(states[ADS_STATE_ID]["singer_state"]["bookmarks"])
    assert ADS_REPORT["table"] in ads_bookmarks  # the report table (and the entity lists)
    assert not ads_bookmarks & set(BULK_KEYS)
    assert bookmarks(states[BULK_STATE_ID]) == dict.fromkeys(BULK_KEYS, END.isoformat())
    with psycopg.connect(**pg_connect_kwargs(postgres)) as conn:
        rows = postgres_rows(conn, pg_schema, ADS_REPORT["table"], ["ad_account_id"])
    assert rows, "the Ads job loaded no rows"
