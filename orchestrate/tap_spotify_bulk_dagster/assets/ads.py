"""The Ads report asset: the tables of `ads_report_list`, incremental from the Singer state
kept in the warehouse."""

# No `from __future__ import annotations`: Dagster reads these annotations at runtime.
import json
import tempfile
from pathlib import Path

import dagster as dg

from tap_spotify_bulk_dagster.assets.retry import RETRY
from tap_spotify_bulk_dagster.loading.catalog import ads_stream_names, select
from tap_spotify_bulk_dagster.loading.day_slice import tap_catalog
from tap_spotify_bulk_dagster.loading.pipe import run_pipe
from tap_spotify_bulk_dagster.loading.tap_log import TapLog
from tap_spotify_bulk_dagster.resources.tap import SpotifyTap, write_private
from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse

ADS_GROUP = "spotify_ads"
ADS_STATE_ID = "tap-spotify-bulk:ads"


@dg.asset(key=["spotify", "ads_reports"], group_name=ADS_GROUP, retry_policy=RETRY,
          description="Ads report tables (`ads_report_list`), incremental from the Singer "
                      "state kept in the warehouse.")
def ads_reports(context: dg.AssetExecutionContext, tap: SpotifyTap,
                warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    config = tap.ads_config()
    catalog = tap_catalog(tap, config)
    streams = ads_stream_names(catalog)
    if not streams:
        raise dg.Failure(description="the tap's config has no `ads_report_list`: no Ads "
                                     "report to extract")
    state = warehouse.get_state(ADS_STATE_ID)
    with tempfile.TemporaryDirectory(prefix="spotify-ads-") as tmp:
        work = Path(tmp)
        command = [*tap.command(), "--config", str(write_private(work / "tap.json", config)),
                   "--catalog", str(write_private(work / "catalog.json",
                                                  select(catalog, streams)))]
        if state:
            command += ["--state", str(write_private(work / "state.json", state))]
        result = run_pipe(command, warehouse.target_command(work), work)
    if not result.ok:
        raise dg.Failure(description=f"Ads reports: {result.failure()}")
    if result.last_state:
        warehouse.put_state(ADS_STATE_ID, json.loads(result.last_state))
    records = TapLog.parse(result.tap_log).records
    counts = {name: records.get(name, 0) for name in streams}
    context.log.info(f"Ads reports: {counts} in {result.seconds:.1f}s")
    return dg.MaterializeResult(metadata={
        "records": sum(counts.values()), "tables": ", ".join(streams),
        "seconds": round(result.seconds, 2), "resumed_from_state": bool(state),
        **{f"records_{name}": count for name, count in counts.items()}})
