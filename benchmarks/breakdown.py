"""Where the tap's CPU time goes per million Streams lines, stage by stage.

    python -m benchmarks.breakdown [--lines 300000] [--repeat 3] [--untidy SEED]

Generates one Streams file with the sandbox's generator (no server; with `--untidy`, with
the oddities of `benchmarks.untidy`: blank lines, missing optional keys, unknown keys, odd
types), then times, in this
process and in CPU seconds (`time.process_time`, median of `--repeat`), the stages of the
tap's read of it, each run adding one stage to the one before:

  check      the download-time gzip check (`files.GzipCheck`; in the download threads)
  inflate    inflating the file in bounded pieces (`files._inflate`)
  split      + splitting the text into lines
  parse      + orjson parse of every line (`files.read_lines`, the whole reader)
  build      + typing each line and adding the columns (`records.LineShape.builder`)
  serialise  + RECORD lines into the output buffer, written to /dev/null
             (`output.FastRecords`, `output.BufferedWriter`)
  splice     instead of build + serialise: the line's own text with the added columns
             appended (`records.LineShape.splicer`, `files.read_records`), into the buffer
  batch      instead of parse + splice: batches of lines, each line checked by msgspec in
             one C loop per run of clean lines, spliced at once
             (`records.LineShape.batch_splicer`, `files.line_batches`); odd lines are
             skipped here (the emitter reads each on its own)
  emit       the tap's own per-file loop (`emit.LineEmitter.emit`), to compare with the sum

Each stage's cost is the difference to the previous line; figures are per million lines.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import typing as t
import zlib
from pathlib import Path
from types import SimpleNamespace

import orjson
from spotify_sandbox.bulk_data import BulkData
from spotify_sandbox.bulk_lines import seeded
from spotify_sandbox.options import SandboxOptions

from benchmarks.untidy import untidy_chunks
from tap_spotify_bulk.bulk import files
from tap_spotify_bulk.bulk.emit import LineEmitter
from tap_spotify_bulk.bulk.pipeline import FileJob
from tap_spotify_bulk.bulk.records import LineShape
from tap_spotify_bulk.output import BufferedWriter, FastRecords

DAY = dt.date(2024, 3, 1)
WHERE = "streams/2024/03/01/US"


def generate(path: Path, lines: int, untidy_seed: int | None = None) -> int:
    """Write one Streams file of about `lines` lines (untidy with a seed); return its
    record count."""
    data = BulkData(SandboxOptions(start=DAY, end=DAY, scale=lines, countries=("US",),
                                   empty_day_rate=0.0))
    text = data.line_chunks("streams", DAY, "US")
    if untidy_seed is not None:
        text = untidy_chunks(text, seeded(untidy_seed, "untidy", "streams", DAY, "US"))
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # as the sandbox serves it
    with path.open("wb") as out:
        for chunk in text:
            out.write(compressor.compress(chunk))
        out.write(compressor.flush())
    return sum(1 for _ in files.read_lines(path, WHERE))


def stages(path: Path) -> dict[str, t.Callable[[], None]]:
    schema = orjson.loads((Path(files.__file__).parent / "schemas" / "streams.json")
                          .read_bytes())
    shape = LineShape(schema, partition_country=True)

    def check() -> None:
        gz = files.GzipCheck()
        with path.open("rb") as raw:
            while chunk := raw.read(1 << 20):
                gz.feed(chunk)
        gz.finish()

    def inflate() -> None:
        for _ in files._inflate(path):
            pass

    def split() -> None:
        pending = b""
        for data in files._inflate(path):
            lines = (pending + data).split(b"\n")
            pending = lines.pop()

    def parse() -> None:
        for _ in files.read_lines(path, WHERE):
            pass

    def build() -> None:
        make = shape.builder(licensor="gyrostream", report_date="2024-03-01", load_id="x",
                             country="US", path=WHERE)
        for row, line in files.read_lines(path, WHERE):
            make(line, row)

    writer = BufferedWriter()

    def serialise() -> None:
        fast = FastRecords(writer, "streams")
        fast.start_file()
        make = shape.builder(licensor="gyrostream", report_date="2024-03-01", load_id="x",
                             country="US", path=WHERE)
        write = fast.write
        for row, line in files.read_lines(path, WHERE):
            write(make(line, row))
        writer.flush()

    def splice() -> None:
        fast = FastRecords(writer, "streams")
        fast.start_file()
        make = shape.splicer(licensor="gyrostream", report_date="2024-03-01", load_id="x",
                             country="US")
        build = shape.builder(licensor="gyrostream", report_date="2024-03-01", load_id="x",
                              country="US", path=WHERE)
        write, write_text = fast.write, fast.write_text
        for row, text, line in files.read_records(path, WHERE):
            body = make(text, line, row)
            if body is None:
                write(build(line, row))
            else:
                write_text(body)
        writer.flush()

    def batch() -> None:
        fast = FastRecords(writer, "streams")
        fast.start_file()
        splice_many = shape.batch_splicer(licensor="gyrostream", report_date="2024-03-01",
                                          load_id="x", country="US")
        rows = 0
        for _, lines in files.line_batches(path, WHERE):
            texts, odd = splice_many(lines, rows + 1)  # (the emitter reads `odd` on its own)
            fast.write_texts(texts)
            rows += len(texts) + len(odd)
        writer.flush()

    def emit() -> None:
        fast = FastRecords(writer, "streams")
        sink = SimpleNamespace(start_file=fast.start_file, write=fast.write,
                               write_text=fast.write_text, write_texts=fast.write_texts)
        stream = SimpleNamespace(name="streams", schema=schema, partition_country=True)
        target = SimpleNamespace(sink=sink, stream=stream, count=lambda *_: None)
        emitter = LineEmitter("gyrostream", "x", stream)  # type: ignore[arg-type]
        emitter.emit(FileJob(DAY, "US", WHERE), path, [target])  # type: ignore[list-item]
        writer.flush()

    return {"check": check, "inflate": inflate, "split": split, "parse": parse,
            "build": build, "serialise": serialise, "splice": splice, "batch": batch,
            "emit": emit}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.breakdown",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--untidy", type=int, metavar="SEED",
                        help="an untidy file (benchmarks.untidy), seeded")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-breakdown-") as tmp:
        path = Path(tmp) / "streams.gz"
        count = generate(path, args.lines, args.untidy)
        size = path.stat().st_size
        kind = "tidy" if args.untidy is None else f"untidy (seed {args.untidy})"
        print(f"one {kind} Streams file: {count:,} lines, {size / 1e6:.1f} MB gzip")
        runs = stages(path)
        timings: dict[str, list[float]] = {name: [] for name in runs}
        with Path(os.devnull).open("w") as devnull, contextlib.redirect_stdout(devnull):
            for _ in range(args.repeat):  # interleaved
                for name, run in runs.items():
                    started = time.process_time()
                    run()
                    timings[name].append(time.process_time() - started)
    per_million = {name: statistics.median(v) * 1e6 / count for name, v in timings.items()}
    previous = 0.0
    print(f"{'stage':10} {'CPU s / 1M lines':>17} {'this stage':>11}")
    for name, value in per_million.items():
        base = {"splice": per_million["parse"], "batch": per_million["split"]}.get(name,
                                                                                     previous)
        own = value if name in {"check", "inflate", "emit"} else value - base
        print(f"{name:10} {value:17.3f} {own:11.3f}")
        if name not in {"check", "splice", "batch"}:
            previous = value
    return 0


if __name__ == "__main__":
    sys.exit(main())
