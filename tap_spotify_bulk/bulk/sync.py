"""The Bulk date driver: one day loop and one bookmark rule for every Bulk report stream.

A read covers the dates from the earliest start of the streams it feeds to the window's
end, in ascending order (api-contract §5.2: `[bookmark + 1 day - lookback_days, end]`, lookback
days are read again). Each file of a date is emitted in plan order while later ones
download (`pipeline.prefetch`); how a file becomes records is the emitter's business
(`emit.LineEmitter`: one record per line; `emit.FanOutEmitter`: one aggregatedstreams file
into the selected aggregated streams). Then the date ends, in this order:

1. BATCH mode announces the date's batch files (see `output.RecordSink`);
2. when every file the date listed was emitted, its `bulk_loads` manifest records
   (`loads.Manifest`); a date that answered 404 gets none, nor does one never ended;
3. the bookmark moves to the date and STATE is written, unless a 404 within the last
   `lookback_days` of the window held it (api-contract §4.4): then it stays before that date for
   the rest of the run, so the next run reads the date again.

Streams that read the same resource share one read: the first selected one leads it, and
the others find their records written when the SDK syncs them.
"""

from __future__ import annotations

import logging
import typing as t

from tap_spotify_bulk import sdk_seam
from tap_spotify_bulk.bulk.day_plan import day_steps
from tap_spotify_bulk.bulk.day_read import DayRead, ReportStream, Target
from tap_spotify_bulk.bulk.loads import LOADS_STREAM, Manifest
from tap_spotify_bulk.bulk.pipeline import DayEnd, plan_country_files, plan_day_files, prefetch
from tap_spotify_bulk.output import RecordSink
from tap_spotify_bulk.progress import Progress, ProgressMetric

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk import Stream

    from tap_spotify_bulk.bulk.pipeline import Job, Step

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")


def sync_report(stream: ReportStream) -> None:
    """Sync `stream`: read its dates, or nothing when another stream leads its read."""
    siblings = list(sdk_seam.tap_of(stream).streams.values())  # type: ignore[arg-type]
    group = [s for s in siblings if getattr(s, "resource", None) == stream.resource
             and (s.selected or s is stream)]
    if group[0] is not stream:
        return  # the leader of this resource's read wrote this stream's records too
    for other in group[1:]:
        sdk_seam.write_schema(other)  # type: ignore[arg-type]
    loads = next((s for s in siblings if s.name == LOADS_STREAM and s.selected), None)
    DateDriver(group, loads).run()


class DateDriver:
    """One read of a resource's dates for a group of streams (one stream, or the selected
    aggregated ones)."""

    def __init__(self, group: list[ReportStream], loads: Stream | None) -> None:
        self.lead = group[0]
        self.runtime = self.lead.runtime
        self.targets = [Target(s, RecordSink(s), s.first_day())  # type: ignore[arg-type]
                        for s in group]
        for target in self.targets:
            target.stream.records_written = 0
        self.label = ", ".join(s.name for s in group)
        self.emitter = self.lead.emitter(self.runtime.licensor, self.runtime.load_id,
                                         self.lead)
        self.manifest = (Manifest(loads, self.runtime, self.lead.partition_country)
                         if loads is not None else None)
        self.progress: Progress | None = None

    def plan(self, executor: t.Any, days: list[Step]) -> Iterable[Job]:
        lead = self.lead
        if lead.partition_country:
            return plan_country_files(self.runtime.client, executor, lead.resource, days,
                                      self.runtime.countries)
        return plan_day_files(lead.resource, days)

    def run(self) -> None:
        runtime = self.runtime
        begin, end = min(target.start for target in self.targets), runtime.window.end
        if begin > end:
            LOGGER.info("%s: nothing to read (next date %s is after the end date %s)",
                        self.label, begin, end)
            return
        LOGGER.info("%s: reading %s to %s", self.label, begin, end)
        with runtime.downloads() as scope:
            days = day_steps(runtime.client, scope.executor, self.lead.resource,
                             begin=begin, end=end, holds=runtime.holds_bookmark)
            self.progress = Progress(self.label, len(days), ProgressMetric.BULK_DATES, "date")
            read = DayRead()
            for job, path in prefetch(runtime.client, scope, self.plan(scope.executor, days),
                                      limit=runtime.lookahead):
                if isinstance(job, DayEnd):
                    self.end_day(job, read)
                    read = DayRead()
                elif path is None:
                    read.missing = True
                else:
                    active = [target for target in self.targets
                              if target.start <= job.day and not target.stopped]
                    try:
                        read.files[job.country] += 1
                        read.bytes[job.country] += path.stat().st_size
                        self.emitter.emit(job, path, active)
                    finally:
                        path.unlink(missing_ok=True)
                    if all(target.stopped for target in self.targets):
                        return  # every stream reached its dry-run record limit

    def end_day(self, job: DayEnd, read: DayRead) -> None:
        day = job.day
        active = [target for target in self.targets if target.start <= day]
        for target in active:
            target.sink.end_day()
        missing = read.missing or job.missing
        holds = missing and self.runtime.holds_bookmark(day)
        if holds and any(not target.held for target in active):
            LOGGER.info("%s: %s is not published yet (404); the bookmark stays before it so "
                        "the next run reads it again", self.label, day)
        elif job.first is not None:
            LOGGER.info("%s: %s to %s are not listed (no data)", self.label, job.first, day)
        elif missing:
            LOGGER.info("%s: %s has no data (404)", self.label, day)
        elif self.manifest is not None:
            self.manifest.write(day, read, [target for target in active if not target.stopped])
        moved = False
        for target in active:
            target.held = target.held or holds
            if not target.held and not target.stopped:
                target.stream.set_bookmark(day)
                moved = True
        if moved:
            sdk_seam.write_state(self.lead)  # type: ignore[arg-type]
        assert self.progress is not None
        self.progress.step(day.isoformat(),
                           sum(sum(target.day_records.values()) for target in active))
        for target in active:
            target.day_records.clear()
