"""One slice of the Bulk reports: one day (the Dagster partition) of the selected streams,
tap | target, with no state: the partition is the bookmark, so a slice can run again (after
a failure, a kill, a restatement) and upserts onto the same keys."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tap_spotify_bulk_dagster.loading.catalog import discover, schema_messages, select
from tap_spotify_bulk_dagster.loading.pipe import PipeGroup, run_pipe
from tap_spotify_bulk_dagster.loading.tap_log import TapLog
from tap_spotify_bulk_dagster.resources.tap import write_private
from tap_spotify_bulk_dagster.streams import LOADS_STREAM

if TYPE_CHECKING:
    from tap_spotify_bulk_dagster.resources.tap import SpotifyTap
    from tap_spotify_bulk_dagster.resources.warehouse import PostgresWarehouse

LOADED, NO_DATA, NOT_PUBLISHED = "loaded", "no data", "not published yet"


class SliceFailedError(RuntimeError):
    """The tap or the target of one day's slice failed."""


@dataclass
class DayOutcome:
    """What one day's slice did: `status` is LOADED, NO_DATA or NOT_PUBLISHED; `late` names
    the streams whose report answered 404 while it may still be published (every stream of
    a NOT_PUBLISHED day, or some of a LOADED one)."""

    day: str
    status: str
    records: dict[str, int]
    seconds: float
    log_lines: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # streams whose report answered 404
    late: list[str] = field(default_factory=list)

    def stream_status(self, stream: str) -> str:
        if stream in self.late:
            return NOT_PUBLISHED
        return NO_DATA if stream in self.missing else self.status


def tap_catalog(tap: SpotifyTap, config: dict[str, Any]) -> dict[str, Any]:
    """The tap's discovered catalog for `config` (cached per config)."""
    with tempfile.TemporaryDirectory(prefix="spotify-discover-") as tmp:
        path = write_private(Path(tmp) / "tap.json", config)
        return discover(tap.command(), str(path), tap.config_key())


def create_tables(tap: SpotifyTap, warehouse: PostgresWarehouse,
                  streams: list[str]) -> list[str]:
    """Create the missing tables of `streams` and of the manifest before any slice loads
    (see warehouse)."""
    catalog = tap_catalog(tap, tap.bulk_day_config(tap.current_day().isoformat()))
    tables = [*streams, LOADS_STREAM]
    with tempfile.TemporaryDirectory(prefix="spotify-tables-") as tmp:
        return warehouse.ensure_tables(tables, schema_messages(catalog, tables), Path(tmp))


def day_tap_command(tap: SpotifyTap, day: str, streams: list[str], work: Path) -> list[str]:
    """The tap command of one day's slice: its config and a catalog selecting `streams` and
    their manifest, written into `work`."""
    config = tap.bulk_day_config(day)
    catalog = select(tap_catalog(tap, config), [*streams, LOADS_STREAM])
    return [*tap.command(),
            "--config", str(write_private(work / "tap.json", config)),
            "--catalog", str(write_private(work / "catalog.json", catalog))]


def run_day(tap: SpotifyTap, warehouse: PostgresWarehouse, day: str,
            streams: list[str], group: PipeGroup | None = None) -> DayOutcome:
    """Load `day` of `streams` (and their manifest records) into the warehouse; raises
    SliceFailedError on failure."""
    with tempfile.TemporaryDirectory(prefix=f"spotify-{day}-") as tmp:
        work = Path(tmp)
        result = run_pipe(day_tap_command(tap, day, streams, work),
                          warehouse.bulk_load_command(work, day), work, group=group)
    if not result.ok:
        raise SliceFailedError(f"{day}: {result.failure()}")
    log = TapLog.parse(result.tap_log)
    records = {name: log.records.get(name, 0) for name in streams}
    missing = [name for name in streams if day in log.missing.get(name, ())]
    late = missing if tap.may_be_unpublished(day) else []
    status = LOADED
    if len(missing) == len(streams):
        status = NOT_PUBLISHED if late else NO_DATA
    return DayOutcome(day=day, status=status, records=records, seconds=result.seconds,
                      log_lines=log.lines, missing=missing, late=late)
