"""The Dagster code location against the sandbox and a real PostgreSQL: table creation does
not race; a 14-day backfill of all eight Bulk streams, four days at once, lands exactly the
sandbox's truth; running three days again changes nothing."""

from __future__ import annotations

import datetime as dt
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest

dg = pytest.importorskip("dagster", reason="the orchestrate extra is not installed")

from helpers.dagster import Location, materialized_days, recorded_counts, target_postgres  # noqa: E402
from tap_spotify_bulk_dagster.loading.day_slice import create_tables  # noqa: E402
from tap_spotify_bulk_dagster.streams import BULK_STREAMS, BULK_TABLES  # noqa: E402

if t.TYPE_CHECKING:
    from pathlib import Path

    from helpers.meltano import MeltanoProject

pytestmark = pytest.mark.slow

START, END = dt.date(2024, 3, 1), dt.date(2024, 3, 14)
COUNTRIES = ("SE", "NO", "DE", "US")


def test_backfill_of_14_days_lands_the_truth_and_reruns_change_nothing(
    sandbox_factory: t.Callable[..., t.Any], meltano_project: MeltanoProject,
    postgres: dict[str, str], pg_schema: str, tmp_path: Path,
) -> None:
    sb = sandbox_factory(seed=21, start=START, end=END, scale=300, countries=COUNTRIES,
                         empty_day_rate=0.0)
    where = Location(sb, postgres, pg_schema, target_postgres(meltano_project), tmp_path,
                     max_parallel=4, today=(END + dt.timedelta(days=1)).isoformat())
    days = [(START + dt.timedelta(days=n)).isoformat() for n in range(14)]

    # Loaders that start together on an empty schema race to create the tables: under the
    # warehouse's advisory lock exactly one creates them, the others find them.
    with ThreadPoolExecutor(3) as pool:
        created = list(pool.map(lambda _: create_tables(where.tap, where.warehouse,
                                                        list(BULK_STREAMS)), range(3)))
    assert sorted(map(sorted, created)) == [[], [], sorted(BULK_TABLES)]

    with dg.instance_for_test() as instance:
        # The backfill as one run (BackfillPolicy.multi_run) with four days at once, each
        # day its own tap | target-postgres processes.
        result = where.run_range(instance, days[0], days[13])
        assert result.success
        assert materialized_days(instance) == {s: set(days) for s in BULK_STREAMS}
        assert where.problems(days[0], days[13]) == {}

        # The counts shown in Dagster are the records that landed.
        truth = sb.bulk_truth(days[0], days[13])
        assert recorded_counts(result) == {s: summary["count"] for s, summary in truth.items()}

        # Three days again, at once: no report row changes; the manifest records the
        # three newer finished reads of each stream.
        before = where.row_counts()
        assert where.run_range(instance, days[5], days[7]).success
        after = where.row_counts()
        assert {s: after[s] for s in BULK_STREAMS} == {s: before[s] for s in BULK_STREAMS}
        assert after["bulk_loads"] > before["bulk_loads"]
        assert where.problems(days[0], days[13]) == {}
