"""What the Bulk date driver shares with the code it drives: the stream it needs
(`ReportStream`), how a file becomes records (`Emitter`), where one stream's records of a
read go (`Target`) and what was read of one date so far (`DayRead`). The emitters and the
manifest take these; only `sync` makes them.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections import Counter
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from pathlib import Path

    from tap_spotify_bulk.bulk.pipeline import FileJob
    from tap_spotify_bulk.bulk.runtime import BulkRuntime
    from tap_spotify_bulk.output import RecordSink


class Emitter(t.Protocol):
    """How one downloaded file becomes records (see `bulk.emit`)."""

    def __init__(self, licensor: str, load_id: str, lead: ReportStream) -> None: ...

    def emit(self, job: FileJob, path: Path, targets: list[Target]) -> None:
        """Write the records of one file to `targets` (the streams that read its date)."""


class ReportStream(t.Protocol):
    """What the driver needs of a Bulk report stream (see `bulk.streams`)."""

    name: str
    resource: str
    partition_country: bool
    runtime: BulkRuntime
    records_written: int
    emitter: type[Emitter]

    @property
    def selected(self) -> bool: ...
    def first_day(self) -> dt.date: ...
    def set_bookmark(self, day: dt.date) -> None: ...


@dataclass(eq=False)
class Target:
    """One stream a read feeds: where its records go and how far its bookmark may move."""

    stream: ReportStream
    sink: RecordSink
    start: dt.date
    held: bool = False  # a recent date 404'd: the bookmark stays before it this run
    stopped: bool = False  # reached its dry-run record limit
    day_records: Counter[str | None] = field(default_factory=Counter)  # by country

    def count(self, country: str | None, records: int) -> None:
        self.day_records[country] += records
        self.stream.records_written += records


@dataclass
class DayRead:
    """What was read of one date so far."""

    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    missing: bool = False  # a listing or a file answered 404
    files: Counter[str | None] = field(default_factory=Counter)  # by country
    bytes: Counter[str | None] = field(default_factory=Counter)
