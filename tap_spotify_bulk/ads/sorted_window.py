"""One report window in key order, with memory that does not grow with the window.

The Ads API serves an aggregate report entity by entity (each entity's days in turn), while
the stream must emit a window in (start_time, entity_id) order for its bookmark to be
resumable, with a key served twice (overlapping pages) emitted once, as last served.
`SortedWindow` is an external merge sort that does both:

* `add` pickles each record at once and keeps about `SPILL_BYTES` of them in memory; a full
  buffer is sorted and written as one run to a temporary file without a name on disk (like
  the Bulk downloads, `temp_files.new_file`: whatever ends the process, the kernel frees it);
* `records` merges the runs (fewer than `FAN_IN`: when a spill makes `FAN_IN`, they are
  first merged into one run in a new file) and yields each key once. Ties are ordered by
  arrival, so the last record of a key wins and a duplicate is dropped holding one record,
  however far apart the two were served. A window that fits the buffer is sorted in
  memory and never touches the disk.

Only this process can reach the files (no name, mode 0600), so unpickling them is safe.
"""

from __future__ import annotations

import heapq
import io
import os
import pickle
import typing as t

from tap_spotify_bulk.temp_files import disk_error, new_file

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

SPILL_BYTES = 4 << 20  # records held in memory (pickled) before a sorted run goes to disk
ENTRY_BYTES = 320  # what an entry costs besides its pickled record (key, tuple, list slot)
FAN_IN = 64  # runs read at once while merging, at most
READ_BLOCK = 32 * 1024  # read buffer per run while merging
WRITE_BLOCK = 1 << 20

Entry = tuple[t.Any, int, t.Any]  # (key, arrival number, record)


class _Run(io.RawIOBase):
    """Bytes [start, end) of a file, read with `pread` (many runs share one descriptor)."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        super().__init__()
        self.fd, self.pos, self.end = fd, start, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        size = min(len(buffer), self.end - self.pos)
        data = os.pread(self.fd, size, self.pos) if size > 0 else b""
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def _entries(fd: int, start: int, end: int) -> Iterator[Entry]:
    reader = io.BufferedReader(_Run(fd, start, end), READ_BLOCK)
    while reader.peek(1):
        yield pickle.load(reader)  # noqa: S301 (this process's own unnamed file)


def _last_of_each_key(entries: Iterable[Entry]) -> Iterator[Entry]:
    """Entries sorted by (key, arrival): the last entry of each key."""
    previous: Entry | None = None
    for entry in entries:
        if previous is not None and previous[0] != entry[0]:
            yield previous
        previous = entry
    if previous is not None:
        yield previous


class SortedWindow:
    """Records in, the same records out sorted by key, one per key (the last added)."""

    def __init__(self, directory: str | Path | None, what: str) -> None:
        self.directory = directory
        self.what = what  # names the window in a disk error
        self.spill_bytes = SPILL_BYTES
        self.fan_in = FAN_IN
        self.runs_written = 0
        self.emitted = 0
        self._buffer: list[tuple[t.Any, int, bytes]] = []
        self._buffered = 0  # bytes, estimated
        self._arrivals = 0
        self._file: t.BinaryIO | None = None
        self._runs: list[tuple[int, int]] = []  # [start, end) byte ranges in `_file`

    def __enter__(self) -> SortedWindow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._buffer = []
        self._runs = []
        if self._file is not None:
            self._file.close()
            self._file = None

    def add(self, key: t.Any, record: t.Any) -> None:
        self._arrivals += 1
        frame = pickle.dumps((key, self._arrivals, record), pickle.HIGHEST_PROTOCOL)
        self._buffer.append((key, self._arrivals, frame))
        self._buffered += len(frame) + ENTRY_BYTES
        if self._buffered >= self.spill_bytes:
            self._spill()

    def records(self) -> Iterator[t.Any]:
        """Every key's last record, in key order; the window is empty afterwards."""
        if self._file is None:
            self._buffer.sort(key=_order)
            entries: Iterable[Entry] = (pickle.loads(frame)  # noqa: S301 (our own bytes)
                                        for *_, frame in self._buffer)
        else:
            if self._buffer:
                self._spill()
            entries = heapq.merge(*self._readers(), key=_order)
        for _, _, record in _last_of_each_key(entries):
            self.emitted += 1
            yield record
        self.close()

    def _spill(self) -> None:
        """Write the buffer, sorted, as one run."""
        self._buffer.sort(key=_order)
        frames = (frame for *_, frame in self._buffer)
        if self._file is None:
            self._file = self._new_file()
        self._runs.append(self._write(self._file, frames))
        self._buffer, self._buffered = [], 0
        self.runs_written += 1
        self._compact(self.fan_in - 1)

    def _compact(self, most: int) -> None:
        """Merge the runs into one in a new file when there are more than `most`."""
        if len(self._runs) <= most:
            return
        merged = _last_of_each_key(heapq.merge(*self._readers(), key=_order))
        target = self._new_file()
        try:
            run = self._write(target, (pickle.dumps(e, pickle.HIGHEST_PROTOCOL) for e in merged))
        except BaseException:
            target.close()
            raise
        assert self._file is not None
        self._file.close()
        self._file, self._runs = target, [run]

    def _readers(self) -> list[Iterator[Entry]]:
        assert self._file is not None
        fd = self._file.fileno()
        return [_entries(fd, start, end) for start, end in self._runs]

    def _new_file(self) -> t.BinaryIO:
        try:
            return new_file(self.directory)
        except OSError as exc:
            raise disk_error(exc, self.directory, self.what) from exc

    def _write(self, file: t.BinaryIO, frames: Iterable[bytes]) -> tuple[int, int]:
        """Append `frames` to `file`; the byte range they fill."""
        try:
            start = file.seek(0, os.SEEK_END)
            out = io.BufferedWriter(t.cast(io.RawIOBase, file), WRITE_BLOCK)
            for frame in frames:
                out.write(frame)
            out.flush()
            out.detach()
            return start, file.seek(0, os.SEEK_END)
        except OSError as exc:
            raise disk_error(exc, self.directory, self.what) from exc


def _order(entry: tuple[t.Any, int, t.Any]) -> tuple[t.Any, int]:
    return entry[0], entry[1]
