"""The eight Bulk API streams (SPEC §5.1) on singer-sdk.

Each stream reads its dates in ascending order, emits all records of a date, then moves its
bookmark (`report_date`) to that date and writes STATE, so an interrupted run resumes at
the next date. A run reads `[bookmark + 1 day - lookback_days, end]`; the SDK's own
bookmarking (`increment_state`, `is_sorted`) is not used, because re-reading the lookback
window would trip its sort check and it writes STATE in the middle of a date.

The four aggregated streams share one `aggregatedstreams` file per day: the first of them
to sync reads each day's file once and emits records for every selected aggregated stream;
the others then only have their state to finalise.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import typing as t

from singer_sdk import SchemaDirectory, Stream, StreamSchema
from singer_sdk.exceptions import AbortedSyncFailedException, AbortedSyncPausedException
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_spotify_bulk.bulk import aggregated, dates
from tap_spotify_bulk.bulk import schemas as schema_files
from tap_spotify_bulk.bulk.files import read_lines
from tap_spotify_bulk.bulk.pipeline import (
    DayEnd,
    FileJob,
    plan_country_files,
    plan_day_files,
    prefetch,
)
from tap_spotify_bulk.bulk.records import LineShape
from tap_spotify_bulk.bulk.runtime import BulkRuntime
from tap_spotify_bulk.output import BatchRecords, FastRecords, fast_path_possible

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from singer_sdk import Tap
    from singer_sdk.helpers._batch import BatchConfig

    from tap_spotify_bulk.bulk.pipeline import Job

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")


SCHEMAS = SchemaDirectory(schema_files)
Write = t.Callable[[dict[str, t.Any]], None]


class BulkStream(Stream):
    """Shared date loop, bookmark handling and record output of the Bulk streams."""

    resource: t.ClassVar[str]
    replication_key = "report_date"
    is_sorted = False
    # Records are built JSON-ready and schema-valid (a test checks every one against its
    # schema), so the SDK's per-record type conformance pass is skipped.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    schema = StreamSchema(SCHEMAS)

    def __init__(self, tap: Tap, runtime: BulkRuntime) -> None:
        super().__init__(tap)
        self.runtime = runtime
        self.records_written = 0
        self.batcher: BatchRecords | None = None

    # State

    def get_replication_key_signpost(self, context: t.Any = None) -> None:
        return None  # bookmarks are dates we set ourselves, never "now"

    def bookmark(self) -> dt.date | None:
        return dates.parse_bookmark(self.stream_state.get("replication_key_value"))

    def first_day(self) -> dt.date:
        return dates.stream_start(self.runtime.window, self.bookmark(), self.runtime.lookback_days)

    def set_bookmark(self, day: dt.date) -> None:
        state = self.stream_state
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = day.isoformat()
        self.state_manager.is_flushed = False

    def write_state(self) -> None:
        self._tap.state_writer.write_state(self.tap_state)
        self.state_manager.is_flushed = True

    def flush_batches(self) -> None:
        """BATCH mode: announce the date's batch files (before the date's STATE)."""
        if self.batcher is not None:
            manifest = self.batcher.finish()
            if manifest:
                self._write_batch_message(self.batcher.config.encoding, manifest)

    # Records

    def record_writer(self) -> tuple[Write, Callable[[], None]]:
        """(write, start_file): the fast path when the SDK would not change records.

        `records_written` is counted by the callers per file, not here per record.
        """
        limit = self.ABORT_AT_RECORD_COUNT
        if limit is None and fast_path_possible(self):
            batch = self.batch_config()
            if batch is not None:
                self.batcher = BatchRecords(batch, self._tap.name, self.name)
                return self.batcher.write, lambda: None
            fast = FastRecords(self._tap.message_writer, self.name)  # type: ignore[arg-type]
            return fast.write, fast.start_file
        if limit is None:
            return self._write_record_message, lambda: None
        written = 0

        def write_limited(record: dict[str, t.Any]) -> None:
            nonlocal written
            self._check_max_record_limit(written)  # dry runs and the SDK test suite
            self._write_record_message(record)
            written += 1

        return write_limited, lambda: None

    # Sync (overrides an internal SDK method; singer-sdk is pinned to 0.54.9 for this)

    def _sync_records(  # type: ignore[override]
        self, context: t.Any = None, *, write_messages: bool = True,
    ) -> t.Iterator[dict]:
        started = time.monotonic()
        with self.get_record_counter() as counter, self.get_sync_timer():
            self.sync_dates()
            counter.increment(self.records_written)  # one METRIC line, not one per record
        if not self.state_manager.is_flushed:
            self.write_state()
        LOGGER.info("%s: done, %d records in %.1fs", self.name, self.records_written,
                    time.monotonic() - started)
        yield from ()

    def get_batch_config(self, config: t.Mapping) -> None:
        """Always None, so the SDK calls `_sync_records`; BATCH mode is handled there."""

    def batch_config(self) -> BatchConfig | None:
        """The `batch_config` setting when it asks for JSON Lines files (BATCH mode)."""
        config = Stream.get_batch_config(self, self.config)
        if config is not None and config.encoding.format != "jsonl":
            LOGGER.warning("%s: batch format %r is not offered; writing RECORD messages",
                           self.name, config.encoding.format)
            return None
        return config

    def get_records(self, context: t.Any) -> t.Iterable[dict]:
        """Not used: `_sync_records` drives the Bulk streams (BATCH mode is not offered)."""
        msg = f"{self.name}: records are emitted by the date loop, not by get_records()"
        raise NotImplementedError(msg)

    def sync_dates(self) -> None:
        raise NotImplementedError

    def day_range(self) -> list[dt.date]:
        start, end = self.first_day(), self.runtime.window.end
        if start > end:
            LOGGER.info("%s: nothing to read (next date %s is after the end date %s)",
                        self.name, start, end)
            return []
        LOGGER.info("%s: reading %s to %s", self.name, start, end)
        return list(dates.days(start, end))


class LineStream(BulkStream):
    """One record per line: streams, sub30sec_streams (day x country), users, tracks (day)."""

    partition_country: t.ClassVar[bool] = False

    def plan(self, executor: t.Any, days: list[dt.date]) -> Iterable[Job]:
        if self.partition_country:
            return plan_country_files(self.runtime.client, executor, self.resource, days,
                                      self.runtime.countries)
        return plan_day_files(self.resource, days)

    def sync_dates(self) -> None:
        days = self.day_range()
        if days:
            LineSync(self).run(days)


class LineSync:
    """One run of a line stream: files in (date, country) order, STATE after each date."""

    def __init__(self, stream: LineStream) -> None:
        self.stream = stream
        self.runtime = stream.runtime
        self.shape = LineShape(stream.schema, partition_country=stream.partition_country)
        self.write, self.start_file = stream.record_writer()
        self.held = False  # a recent day 404'd: the bookmark stays before it for this run
        self.day_missing = False
        self.day_records = 0
        self.day_started = time.monotonic()

    def run(self, days: list[dt.date]) -> None:
        runtime = self.runtime
        with runtime.downloads() as scope:
            jobs = self.stream.plan(scope.executor, days)
            for job, path in prefetch(runtime.client, scope, jobs, limit=runtime.lookahead):
                if isinstance(job, DayEnd):
                    self.end_day(job)
                elif path is None:
                    self.day_missing = True
                else:
                    try:
                        self.emit_file(job, path)
                    finally:
                        path.unlink(missing_ok=True)

    def emit_file(self, job: FileJob, path: Path) -> None:
        self.start_file()
        build = self.shape.builder(licensor=self.runtime.licensor,
                                   report_date=job.day.isoformat(),
                                   country=job.country, path=job.relative)
        write = self.write
        rows = 0
        for rows, line in read_lines(path, job.relative):
            write(build(line, rows))
        self.day_records += rows
        self.stream.records_written += rows
        LOGGER.info("%s: %s: %d records", self.stream.name, job.relative, rows)

    def end_day(self, job: DayEnd) -> None:
        name = self.stream.name
        self.stream.flush_batches()
        missing = self.day_missing or job.missing
        if missing and not self.held and self.runtime.holds_bookmark(job.day):
            self.held = True
            LOGGER.info("%s: %s is not published yet (404); the bookmark stays before it so "
                        "the next run reads it again", name, job.day)
        elif missing:
            LOGGER.info("%s: %s has no data (404)", name, job.day)
        if not self.held:
            self.stream.set_bookmark(job.day)
            self.stream.write_state()
        elapsed = max(time.monotonic() - self.day_started, 1e-6)
        LOGGER.info("%s: %s done, %d records, %.0f records/s", name, job.day,
                    self.day_records, self.day_records / elapsed)
        self.day_missing, self.day_records, self.day_started = False, 0, time.monotonic()


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


class AggregatedStream(BulkStream):
    """One shape of the aggregated report; all selected shapes are read together."""

    resource = "aggregatedstreams"

    def sync_dates(self) -> None:
        runtime = self.runtime
        if runtime.aggregated_driven:
            return  # records and bookmarks were written by the first aggregated stream
        runtime.aggregated_driven = True
        group = [s for s in self._tap.streams.values()
                 if isinstance(s, AggregatedStream) and (s.selected or s is self)]
        for other in group:
            if other is not self:
                other._write_schema_message()
        AggregatedDriver(runtime, group).run()


class AggregatedDriver:
    """Reads each day's aggregatedstreams file once and fans it out to the group."""

    def __init__(self, runtime: BulkRuntime, group: list[AggregatedStream]) -> None:
        self.runtime = runtime
        self.group = group
        self.starts = {s.name: s.first_day() for s in group}
        self.writers: dict[str, tuple[Write, Callable[[], None]]] = {}
        self.stopped: set[str] = set()  # streams that reached ABORT_AT_RECORD_COUNT

    def run(self) -> None:
        runtime = self.runtime
        end = runtime.window.end
        begin = min(self.starts.values())
        if begin > end:
            LOGGER.info("aggregated streams: nothing to read (next date %s is after %s)",
                        begin, end)
            return
        LOGGER.info("aggregated streams %s: reading %s to %s",
                    ", ".join(s.name for s in self.group), begin, end)
        self.writers = {s.name: s.record_writer() for s in self.group}
        held: set[str] = set()
        day_missing = False
        with runtime.downloads() as scope:
            jobs = plan_day_files(AggregatedStream.resource, dates.days(begin, end))
            for job, path in prefetch(runtime.client, scope, jobs, limit=runtime.lookahead):
                if isinstance(job, DayEnd):
                    self.end_day(job.day, missing=day_missing, held=held)
                    day_missing = False
                    continue
                if path is None:
                    day_missing = True
                    continue
                active = [s.name for s in self.group
                          if self.starts[s.name] <= job.day and s.name not in self.stopped]
                try:
                    self.emit_file(path, job.relative, job.day, active)
                finally:
                    path.unlink(missing_ok=True)
                if len(self.stopped) == len(self.group):
                    return  # every stream reached its dry-run record limit

    def emit_file(self, path: Path, where: str, day: dt.date, active: list[str]) -> None:
        pairs = []
        for name in active:
            write, start_file = self.writers[name]
            start_file()
            pairs.append((write, aggregated.FAN_OUT[name]))
        licensor, report_date = self.runtime.licensor, day.isoformat()
        counts = [0] * len(pairs)
        stopped: set[int] = set()
        lines = 0
        for lines, line in read_lines(path, where):
            base = aggregated.base_record(line, licensor, report_date, lines)
            for index, (write, shape) in enumerate(pairs):
                if index in stopped:
                    continue
                try:
                    for record in shape(line, base):
                        write(record)
                        counts[index] += 1
                except (AbortedSyncFailedException, AbortedSyncPausedException):
                    stopped.add(index)  # this stream hit its dry-run record limit
                    self.stopped.add(active[index])
            if len(stopped) == len(pairs):
                break
        by_name = {s.name: s for s in self.group}
        for name, count in zip(active, counts, strict=True):
            by_name[name].records_written += count
        LOGGER.info("aggregated streams: %s: %d lines, %s", where, lines,
                    ", ".join(f"{n} {c}" for n, c in zip(active, counts, strict=True)))

    def end_day(self, day: dt.date, *, missing: bool, held: set[str]) -> None:
        if missing:
            LOGGER.info("aggregated streams: %s has no data (404)%s", day,
                        "; not published yet?" if self.runtime.holds_bookmark(day) else "")
        for stream in self.group:
            if self.starts[stream.name] > day:
                continue
            stream.flush_batches()
            if missing and self.runtime.holds_bookmark(day):
                held.add(stream.name)
            if stream.name not in held:
                stream.set_bookmark(day)
        self.group[0].write_state()


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


STREAM_CLASSES: tuple[type[BulkStream], ...] = (
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
    """The eight Bulk streams of `tap`, sharing one runtime (settings, tokens, client)."""
    runtime = BulkRuntime(tap.config)
    return [cls(tap, runtime) for cls in STREAM_CLASSES]
