"""Baseline (b2): the Streams report through the Singer SDK's documented fastest path.

`python -m benchmarks.sdk_fast_tap --config ... --catalog ...` is a plain singer-sdk tap
with one `streams` stream, written the way the SDK documents: `get_records` yields record
dicts and the SDK's own `Stream` machinery does the rest (selection, state, RECORD
messages), with its fastest documented settings: `MsgSpecWriter` (`singer-sdk[msgspec]`)
and `TYPE_CONFORMANCE_LEVEL = NONE`. No private SDK method is overridden.

Downloads (`max_workers` threads ahead of the reader, in plan order), gunzip, parsing and
record building are the tap's own (`bulk.pipeline`, `bulk.files`, `bulk.records`), so the
difference to (a) is the output path: the SDK's per-record work against the tap's writer.
"""

from __future__ import annotations

import logging
import time
import typing as t

from singer_sdk import Stream, StreamSchema, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_spotify_bulk.bulk import dates
from tap_spotify_bulk.bulk.files import read_lines
from tap_spotify_bulk.bulk.pipeline import FileJob, plan_country_files, prefetch
from tap_spotify_bulk.bulk.records import LineShape
from tap_spotify_bulk.bulk.runtime import BulkRuntime
from tap_spotify_bulk.bulk.streams import SCHEMAS

LOGGER = logging.getLogger("benchmarks.sdk_fast_tap")


class StreamsReport(Stream):
    """The Streams report (api-contract §5.1) as a plain SDK stream."""

    name = "streams"
    primary_keys = ("report_date", "country", "row_number")
    replication_key = "report_date"
    is_sorted = True
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    schema = StreamSchema(SCHEMAS)

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        runtime = BulkRuntime(self.config)
        window = runtime.window
        start = dates.stream_start(window, None, runtime.lookback_days)
        shape = LineShape(self.schema, partition_country=True)
        started, count = time.monotonic(), 0
        with runtime.downloads() as scope:
            jobs = plan_country_files(runtime.client, scope.executor, "streams",
                                      list(dates.days(start, window.end)), runtime.countries)
            for job, path in prefetch(runtime.client, scope, jobs, limit=runtime.lookahead):
                if not isinstance(job, FileJob) or path is None:
                    continue
                build = shape.builder(licensor=runtime.licensor,
                                      report_date=job.day.isoformat(),
                                      load_id=runtime.load_id, country=job.country,
                                      path=job.relative)
                try:
                    for row, line in read_lines(path, job.relative):
                        count += 1
                        yield build(line, row)
                finally:
                    path.unlink(missing_ok=True)
        LOGGER.info("streams: done, %d records in %.1fs", count, time.monotonic() - started)


class SdkFastTap(Tap):
    """One stream, the SDK's fastest documented settings."""

    name = "tap-spotify-bulk-sdk-fast"
    message_writer_class = MsgSpecWriter
    config_jsonschema: t.ClassVar[dict] = {"type": "object", "properties": {}}

    def discover_streams(self) -> list[Stream]:
        return [StreamsReport(self)]


if __name__ == "__main__":
    SdkFastTap.cli()
