"""The `bulk_loads` manifest of finished reads, and why every record carries a `load_id`
(one per tap run, made by `runtime.new_load_id`).

Re-reading a day (lookback, restatements) upserts onto the same keys, so rows that a
corrected file no longer holds would stay behind. Every Bulk record therefore carries the
`load_id` of the run that read it, and once a (stream, report date) read finished, the
manifest says so: a warehouse keeps, per stream and date, the rows of the newest finished
read (and all rows of a date with no finished read yet, so nothing is lost meanwhile).

With a `countries` setting a read of a country-partitioned stream covers only those
countries, so it gets one manifest record per configured country (`country_scope`), even
for a country the API did not list that day: that country is then known to be empty.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_spotify_bulk import sdk_seam, stream_names
from tap_spotify_bulk.output import RecordSink
from tap_spotify_bulk.sdk_seam import ABORTED

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Stream

    from tap_spotify_bulk.bulk.day_read import DayRead, Target
    from tap_spotify_bulk.bulk.runtime import BulkRuntime

LOADS_STREAM = stream_names.BULK_LOADS
ALL_COUNTRIES = "*"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Manifest:
    """Writes the `bulk_loads` records of one read (one stream or a group sharing a read)."""

    def __init__(self, stream: Stream, runtime: BulkRuntime, partition_country: bool) -> None:
        self.stream = stream
        self.sink = RecordSink(stream)
        self.load_id = runtime.load_id
        self.licensor = runtime.licensor
        self.countries = runtime.countries if partition_country else None
        self.partition_country = partition_country
        self.stopped = False  # reached its dry-run record limit

    def write(self, day: dt.date, read: DayRead, targets: list[Target]) -> None:
        """The records for a date whose every listed file was emitted to `targets`."""
        finished = dt.datetime.now(dt.UTC)
        self.announce()
        for target in targets:
            for record in self.records(day, read, target, finished):
                if self.stopped:
                    return
                try:
                    self.sink.write(record)
                except ABORTED:
                    self.stopped = True
        self.sink.end_day()

    def announce(self) -> None:
        """The manifest's SCHEMA message, once per load, before its first record (the SDK
        syncs streams by name, so its own SCHEMA for `bulk_loads` may come later)."""
        if getattr(self.stream, "announced_load", None) != self.load_id:
            sdk_seam.write_schema(self.stream)
            self.stream.announced_load = self.load_id  # type: ignore[attr-defined]

    def records(self, day: dt.date, read: DayRead, target: Target,
                finished: dt.datetime) -> Iterator[dict[str, t.Any]]:
        # None: one record for all countries read
        scopes: list[str | None] = [None] if self.countries is None else sorted(self.countries)
        for scope in scopes:
            if scope is None:
                countries = sorted(c for c in read.files if c is not None)
                files, size = sum(read.files.values()), sum(read.bytes.values())
                records = sum(target.day_records.values())
            else:
                countries = [scope] if read.files[scope] else []
                files, size = read.files[scope], read.bytes[scope]
                records = target.day_records[scope]
            yield {
                "stream": target.stream.name,
                "report_date": day.isoformat(),
                "country_scope": scope or ALL_COUNTRIES,
                "load_id": self.load_id,
                "licensor": self.licensor,
                "countries": countries if self.partition_country else None,
                "files": files,
                "records": records,
                "bytes": size,
                "started_at": _iso(read.started_at),
                "finished_at": _iso(finished),
            }
