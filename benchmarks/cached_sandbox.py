"""`tap-spotify-bulk-sandbox` serving each generated data file from a disk cache.

    python -m benchmarks.cached_sandbox [--file-cache DIR] [--untidy SEED] [sandbox options...]

The sandbox generates every file afresh on each request, in Python, costing about as much
CPU as the tap spends reading it. On a 2-core machine that CPU competes with the tap's and
the wall-clock figures would partly measure the generator. Here the first download of a
file writes its gzip bytes to DIR as they are generated; later downloads stream them from
DIR (faults that cut a body short still go through the generator). The bytes served are
identical, so the data, listings and truth do not change. The throughput benchmark
downloads everything once (an unmeasured warm-up) before it measures.

`--untidy SEED` serves the event files (streams, sub_30_sec_streams) with the oddities of
`benchmarks.untidy` (blank lines, missing optional keys, unknown keys, odd types), seeded;
the record counts (and so the truth's counts) do not change.
"""

from __future__ import annotations

import argparse
import os
import sys
import typing as t
from pathlib import Path

from spotify_sandbox import cli
from spotify_sandbox.bulk_data import COUNTRY_REPORTS, BulkData
from spotify_sandbox.bulk_lines import seeded

from benchmarks.untidy import untidy_chunks

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

READ_CHUNK = 1 << 18


def install(cache_dir: Path) -> None:
    """Make every BulkData of this process serve whole files through `cache_dir`."""
    generate = BulkData.gzip_chunks

    def gzip_chunks(self: BulkData, report: str, day: dt.date, country: str | None = None,
                    *, truncate: bool = False) -> Iterator[bytes]:
        if truncate:
            return generate(self, report, day, country, truncate=True)
        path = cache_dir / f"{report}-{day}-{country or 'all'}.gz"
        if path.exists():
            return _read(path)
        return _write_through(generate(self, report, day, country), path)

    BulkData.gzip_chunks = gzip_chunks  # type: ignore[method-assign]


def install_untidy(seed: int) -> None:
    """Make every BulkData of this process serve untidy event files (`benchmarks.untidy`)."""
    lines = BulkData.line_chunks

    def line_chunks(self: BulkData, report: str, day: dt.date,
                    country: str | None = None) -> Iterator[bytes]:
        chunks = lines(self, report, day, country)
        if report not in COUNTRY_REPORTS:
            return chunks
        return untidy_chunks(chunks, seeded(seed, "untidy", report, day, country))

    BulkData.line_chunks = line_chunks  # type: ignore[method-assign]


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(READ_CHUNK):
            yield chunk


def _write_through(chunks: Iterator[bytes], path: Path) -> Iterator[bytes]:
    """Yield the generated chunks, keeping them; the cache file appears only when whole."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.{id(chunks)}.part")
    with partial.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            yield chunk
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--file-cache", type=Path)
    parser.add_argument("--untidy", type=int, metavar="SEED")
    known, rest = parser.parse_known_args(argv)
    if known.untidy is not None:
        install_untidy(known.untidy)
    if known.file_cache is not None:
        known.file_cache.mkdir(parents=True, exist_ok=True)
        install(known.file_cache)
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
