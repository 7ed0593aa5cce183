"""The Bulk API streams (api-contract §5.1) on singer-sdk: declarations only.

The eight report streams are read by the date driver (`bulk.sync`): dates in ascending
order, STATE only after a completed date, the four aggregated streams from one read of
the `aggregatedstreams` file. The SDK's own bookmarking (`increment_state`, `is_sorted`)
is not used, because re-reading the lookback window would trip its sort check and it
writes STATE in the middle of a date. Records leave through `output.RecordSink`: RECORD
lines, or batch files announced before each date's STATE when `batch_config` asks for them.

`bulk_loads` is the load manifest (see `bulk.loads`), written by the driver as well.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import typing as t

from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_spotify_bulk import bookmarks, sdk_seam
from tap_spotify_bulk.bulk import aggregated, dates, sync
from tap_spotify_bulk.bulk import schemas as schema_files
from tap_spotify_bulk.bulk.emit import FanOutEmitter, LineEmitter
from tap_spotify_bulk.bulk.loads import LOADS_STREAM
from tap_spotify_bulk.bulk.runtime import BulkRuntime

if t.TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_spotify_bulk.bulk.day_read import Emitter

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")
SCHEMAS = SchemaDirectory(schema_files)


class BulkStream(sdk_seam.DrivenStream):
    """A Bulk API stream: records written by the date driver, not by `get_records`."""

    # Records are built JSON-ready and schema-valid (a test checks every one against its
    # schema), so the SDK's per-record type conformance pass is skipped.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    schema = StreamSchema(SCHEMAS)

    def __init__(self, tap: Tap, runtime: BulkRuntime) -> None:
        super().__init__(tap)
        self.runtime = runtime
        self.records_written = 0

    def get_batch_config(self, config: t.Mapping) -> None:
        """None, so the SDK takes `_sync_records`; batch files are written by the driver."""

    def get_records(self, context: t.Any) -> t.Iterable[dict]:
        msg = f"{self.name}: records are emitted by the date driver, not by get_records()"
        raise NotImplementedError(msg)

    def drive(self) -> None:
        started = time.monotonic()
        with self.get_record_counter() as counter, self.get_sync_timer():
            self.read()
            counter.increment(self.records_written)  # one METRIC line, not one per record
        if sdk_seam.state_pending(self):
            sdk_seam.write_state(self)
        LOGGER.info("%s: done, %d records in %.1fs", self.name, self.records_written,
                    time.monotonic() - started)

    def read(self) -> None:
        raise NotImplementedError


class BulkLoadsStream(BulkStream):
    """The load manifest: one record per finished (stream, report date) read, written by
    the report streams' reads (see `bulk.loads`); it has no state of its own."""

    name = LOADS_STREAM
    primary_keys = ("stream", "report_date", "country_scope", "load_id")
    announced_load: str | None = None  # the load whose records its SCHEMA already precedes

    def drive(self) -> None:
        return None

    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        return None  # no bookmark, so no entry in the state either


class ReportStream(BulkStream):
    """A Bulk report stream: incremental on `report_date`, read by `sync.DateDriver`."""

    resource: t.ClassVar[str]
    emitter: t.ClassVar[type[Emitter]]
    partition_country: t.ClassVar[bool] = False
    replication_key = "report_date"
    is_sorted = False
    bookmark_parser = staticmethod(dates.parse_bookmark)

    def get_replication_key_signpost(self, context: t.Any = None) -> None:
        return None  # bookmarks are dates we set ourselves, never "now"

    def bookmark(self) -> dt.date | None:
        """The stream's bookmark; a value that is not a date is a `ConfigError`."""
        return bookmarks.read(self.name, self.replication_key, self.stream_state,
                              self.bookmark_parser)

    def first_day(self) -> dt.date:
        return dates.stream_start(self.runtime.window, self.bookmark(), self.runtime.lookback_days)

    def set_bookmark(self, day: dt.date) -> None:
        state = self.stream_state
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = day.isoformat()
        sdk_seam.mark_state_changed(self)

    def read(self) -> None:
        sync.sync_report(self)


class LineStream(ReportStream):
    """One record per line: streams, sub30sec_streams (day x country), users, tracks (day)."""

    emitter = LineEmitter


class StreamsStream(LineStream):
    """Stream events (one per line of a streams file), partitioned by day and country."""

    name = "streams"
    resource = "streams"
    primary_keys = ("report_date", "country", "row_number")
    partition_country = True


class Sub30SecStreamsStream(LineStream):
    """Stream events shorter than 30 s, partitioned by day and country."""

    name = "sub30sec_streams"
    resource = "sub_30_sec_streams"
    primary_keys = ("report_date", "country", "row_number")
    partition_country = True


class UsersStream(LineStream):
    """Users active on a day."""

    name = "users"
    resource = "users"
    primary_keys = ("report_date", "row_number")


class TracksStream(LineStream):
    """Tracks streamed on a day."""

    name = "tracks"
    resource = "tracks"
    primary_keys = ("report_date", "row_number")


class AggregatedStream(ReportStream):
    """One shape of the aggregated report; all selected shapes share one read."""

    resource = "aggregatedstreams"
    emitter = FanOutEmitter


class AggregatedStreamsSummaryStream(AggregatedStream):
    """Track-day totals and metadata of the aggregated report."""

    name = aggregated.SUMMARY
    primary_keys = ("report_date", "track_href")


class AggregatedStreamsCountStream(AggregatedStream):
    """Streams per track, country, gender and age group."""

    name = aggregated.COUNT
    primary_keys = ("report_date", "track_href", "country", "gender", "age_group")


class AggregatedStreamsSkipsStream(AggregatedStream):
    """Skips per track and country."""

    name = aggregated.SKIPS
    primary_keys = ("report_date", "track_href", "country")


class AggregatedStreamsSavesStream(AggregatedStream):
    """Saves per track, country and product."""

    name = aggregated.SAVES
    primary_keys = ("report_date", "track_href", "country", "product")


STREAM_CLASSES: tuple[type[ReportStream], ...] = (
    StreamsStream,
    Sub30SecStreamsStream,
    UsersStream,
    TracksStream,
    AggregatedStreamsSummaryStream,
    AggregatedStreamsCountStream,
    AggregatedStreamsSkipsStream,
    AggregatedStreamsSavesStream,
)
BULK_STREAM_NAMES = tuple(cls.name for cls in STREAM_CLASSES)


def bulk_streams(tap: Tap) -> list[BulkStream]:
    """The Bulk streams of `tap`, sharing one runtime (settings, tokens, client)."""
    runtime = BulkRuntime(tap.config)
    return [BulkLoadsStream(tap, runtime), *(cls(tap, runtime) for cls in STREAM_CLASSES)]
