"""How one downloaded Bulk file becomes records: the date driver's per-file strategies.

`LineEmitter`: one record per line (streams, sub30sec_streams, users, tracks).
`FanOutEmitter`: one aggregatedstreams line into the selected aggregated streams.

A stream that reaches its dry-run record limit (the SDK raises an abort exception from its
record path) stops receiving records; the others of the read go on.
"""

from __future__ import annotations

import logging
import typing as t

import orjson

from tap_spotify_bulk.bulk import aggregated
from tap_spotify_bulk.bulk.files import line_batches, parse_lines, read_lines, sent_this_way
from tap_spotify_bulk.bulk.records import LineShape
from tap_spotify_bulk.sdk_seam import ABORTED

if t.TYPE_CHECKING:
    from pathlib import Path

    from tap_spotify_bulk.bulk.day_read import ReportStream, Target
    from tap_spotify_bulk.bulk.pipeline import FileJob
    from tap_spotify_bulk.errors import DataError

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")


class LineEmitter:
    """One record per non-blank line, typed by the stream's schema (`records.LineShape`).
    A line that already is its record's JSON but for the added columns is written as
    its own text with those appended, when the way out takes text: a batch of such lines
    at once (`LineShape.batch_splicer`), else line by line (`LineShape.splicer`)."""

    def __init__(self, licensor: str, load_id: str, lead: ReportStream) -> None:
        self.licensor = licensor
        self.load_id = load_id
        self.shape = LineShape(lead.schema,  # type: ignore[attr-defined]
                               partition_country=lead.partition_country)

    def emit(self, job: FileJob, path: Path, targets: list[Target]) -> None:
        if not targets:
            return
        (target,) = targets
        target.sink.start_file()
        where = job.relative
        names = {"licensor": self.licensor, "report_date": job.day.isoformat(),
                 "load_id": self.load_id, "country": job.country}
        build = self.shape.builder(**names, path=where)
        write = target.sink.write
        write_text, write_texts = target.sink.write_text, target.sink.write_texts
        rows = 0
        try:
            if write_text is None or write_texts is None:
                for rows, line in read_lines(path, where):
                    write(build(line, rows))
            else:
                splice_many = self.shape.batch_splicer(**names)
                splice = self.shape.splicer(**names)
                for line_no, lines in line_batches(path, where):
                    texts = splice_many(lines, rows + 1)
                    if texts is not None:
                        write_texts(texts)
                        rows += len(texts)
                        continue
                    for text, line in parse_lines(lines, line_no, where):
                        rows += 1
                        body = splice(text, line, rows)
                        if body is None:
                            write(build(line, rows))
                        else:
                            write_text(body)
        except ABORTED:
            target.stopped = True
            rows -= 1  # the line that hit the limit was not written
        except orjson.JSONEncodeError as exc:
            raise unwritable(where, rows, exc) from None
        target.count(job.country, rows)
        LOGGER.info("%s: %s: %d records", target.stream.name, job.relative, rows)


class FanOutEmitter:
    """Each aggregatedstreams line into every target's shape (`aggregated.FAN_OUT`)."""

    def __init__(self, licensor: str, load_id: str, lead: ReportStream) -> None:
        self.licensor = licensor
        self.load_id = load_id

    def emit(self, job: FileJob, path: Path, targets: list[Target]) -> None:
        pairs = []
        for target in targets:
            target.sink.start_file()
            pairs.append((target.sink.write, aggregated.FAN_OUT[target.stream.name]))
        licensor, report_date, load_id = self.licensor, job.day.isoformat(), self.load_id
        counts = [0] * len(pairs)
        stopped: set[int] = set()
        lines = 0
        for lines, line in read_lines(path, job.relative):
            base = aggregated.base_record(line, licensor, report_date, lines, load_id=load_id)
            for index, (write, shape) in enumerate(pairs):
                if index in stopped:
                    continue
                try:
                    for record in shape(line, base):
                        write(record)
                        counts[index] += 1
                except ABORTED:
                    stopped.add(index)
                    targets[index].stopped = True
                except orjson.JSONEncodeError as exc:
                    raise unwritable(job.relative, lines, exc) from None
            if len(stopped) == len(pairs):
                break
        for target, count in zip(targets, counts, strict=True):
            target.count(None, count)
        LOGGER.info("aggregated streams: %s: %d lines, %s", job.relative, lines,
                    ", ".join(f"{t.stream.name} {c}" for t, c in zip(targets, counts,
                                                                      strict=True)))


def unwritable(where: str, row: int, exc: Exception) -> DataError:
    """A record JSON output cannot carry: a value the lenient parse read (an integer beyond
    64 bits, nesting deeper than 255 levels) that no Singer target would take either."""
    return sent_this_way(f"{where}: row {row} cannot be written as JSON ({exc})")
