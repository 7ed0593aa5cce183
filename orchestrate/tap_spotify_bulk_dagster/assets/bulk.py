"""The Bulk report assets: one asset per stream, daily partitions, and the table setup that
runs before partitions fan out."""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import dagster as dg

from tap_spotify_bulk_dagster.assets.retry import RETRY
from tap_spotify_bulk_dagster.loading import day_slice
from tap_spotify_bulk_dagster.loading.pipe import PipeGroup
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse
from tap_spotify_bulk_dagster.streams import BULK_STREAMS

BULK_GROUP = "spotify_bulk"


def bulk_key(stream: str) -> dg.AssetKey:
    return dg.AssetKey(["spotify", stream])


@dg.asset(key=["spotify", "bulk_tables"], group_name=BULK_GROUP, retry_policy=RETRY,
          description="Creates the eight Bulk tables and `bulk_loads` (zero rows) before "
                      "partitions load them in parallel, so that no two loaders race to "
                      "create a table.")
def bulk_tables(context: dg.AssetExecutionContext, tap: SpotifyTap,
                warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    created = day_slice.create_tables(tap, warehouse, list(BULK_STREAMS))
    context.log.info(f"created {created}" if created else "every Bulk table exists")
    return dg.MaterializeResult(metadata={"created": ", ".join(created) or "none",
                                          "schema": warehouse.schema_name})


# The manifest of loaded days: written by every Bulk run (a row per day and report, after
# that day's rows), read by the `current_*` models. Each Bulk run reports it materialized,
# with the days whose rows it recorded.
bulk_loads = dg.AssetSpec(
    ["spotify", "bulk_loads"], group_name=BULK_GROUP, deps=[bulk_tables],
    description="Manifest of the Bulk days loaded: one row per day and report, written by "
                "each Bulk run after that day's rows; the `current_*` models read a day "
                "only as far as it records.")


def bulk_reports(partitions: dg.PartitionsDefinition,
                 partitions_per_run: int = 4) -> dg.AssetsDefinition:
    """The Bulk report assets over `partitions`; a backfill batches `partitions_per_run`
    days into one run, whose days run as parallel slices (`SpotifyTap.max_parallel`)."""
    specs = [dg.AssetSpec(bulk_key(stream), partitions_def=partitions, group_name=BULK_GROUP,
                          deps=[bulk_tables], skippable=True,
                          description=f"Bulk report `{stream}` in PostgreSQL, one day per "
                                      "partition (SPEC 5.1 keys; re-runs upsert)")
             for stream in BULK_STREAMS]

    @dg.multi_asset(specs=specs, name="spotify_bulk", can_subset=True, retry_policy=RETRY,
                    backfill_policy=dg.BackfillPolicy.multi_run(partitions_per_run))
    def spotify_bulk(context: dg.AssetExecutionContext, tap: SpotifyTap,
                     warehouse: PostgresWarehouse) -> Iterator[Any]:
        streams = [key.path[-1] for key in bulk_specs_order(context.selected_asset_keys)]
        created = day_slice.create_tables(tap, warehouse, streams)
        if created:
            context.log.info(f"created the tables {created} before loading")
        days = context.partition_keys
        outcomes: list[day_slice.DayOutcome] = []
        failed: list[str] = []
        group = PipeGroup()
        pool = ThreadPoolExecutor(max(1, min(tap.max_parallel, len(days))))
        try:
            futures = {pool.submit(day_slice.run_day, tap, warehouse, day, streams, group): day
                       for day in days}
            for future in as_completed(futures):
                try:
                    outcomes.append(future.result())
                except day_slice.SliceFailedError as exc:
                    failed.append(futures[future])
                    context.log.error(str(exc))
        except BaseException:  # the run is stopped: leave no tap or target behind
            group.stop()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        yield from run_events(context, streams, sorted(outcomes, key=lambda o: o.day),
                              complete=not failed)
        if failed:
            raise dg.Failure(description=f"{len(failed)} of {len(days)} days failed: "
                                         f"{', '.join(sorted(failed))} (the others loaded)",
                             metadata={"failed_days": sorted(failed)})

    return spotify_bulk


def bulk_specs_order(keys: set[dg.AssetKey]) -> list[dg.AssetKey]:
    return [bulk_key(s) for s in BULK_STREAMS if bulk_key(s) in keys]


def run_events(context: dg.AssetExecutionContext, streams: list[str],
               outcomes: list[day_slice.DayOutcome], complete: bool) -> Iterator[Any]:
    """What the run reports per stream. Loaded days are materialized; a report that answered
    404 while it may still be published is observed instead (its partition stays missing:
    the retry sensor asks for it again). A stream loaded on every day of the run gets one
    result (the step's output: assets downstream in the same run, the dbt models, then run);
    else one materialization per loaded day, and the dbt models skip this run."""
    for outcome in outcomes:
        for line in outcome.log_lines:
            context.log.debug(line)
        context.log.info(f"{outcome.day}: {outcome.status}, {sum(outcome.records.values())} "
                         f"records in {outcome.seconds:.1f}s ({outcome.records})"
                         + (f"; not published yet: {outcome.late}" if outcome.late else ""))
    manifest_days = sorted(o.day for o in outcomes if set(streams) - set(o.late))
    if manifest_days:
        context.log_event(dg.AssetMaterialization(
            asset_key=bulk_loads.key, metadata={"days": manifest_days, "streams": streams}))
    for stream in streams:
        loaded = [o for o in outcomes if stream not in o.late]
        for outcome in outcomes:
            if stream in outcome.late:
                context.log_event(dg.AssetObservation(
                    asset_key=bulk_key(stream), partition=outcome.day,
                    metadata=day_metadata(outcome, stream)))
        if complete and outcomes and len(loaded) == len(outcomes):
            yield dg.MaterializeResult(asset_key=bulk_key(stream),
                                       metadata=run_metadata(outcomes, stream))
        else:
            for outcome in loaded:
                yield dg.AssetMaterialization(asset_key=bulk_key(stream), partition=outcome.day,
                                              metadata=day_metadata(outcome, stream))


def day_metadata(outcome: day_slice.DayOutcome, stream: str) -> dict[str, Any]:
    return {"records": outcome.records[stream], "status": outcome.stream_status(stream),
            "seconds": round(outcome.seconds, 2),
            "day_records": sum(outcome.records.values()),
            "records_by_day": {outcome.day: outcome.records[stream]}}


def run_metadata(outcomes: list[day_slice.DayOutcome], stream: str) -> dict[str, Any]:
    """One day: that day's metadata. Several (one result materializes every day of the
    run): per-day records and statuses, and the run's totals."""
    if len(outcomes) == 1:
        return day_metadata(outcomes[0], stream)
    return {"run_records": sum(o.records[stream] for o in outcomes), "run_days": len(outcomes),
            "records_by_day": {o.day: o.records[stream] for o in outcomes},
            "status_by_day": {o.day: o.stream_status(stream) for o in outcomes},
            "seconds": round(max(o.seconds for o in outcomes), 2)}
