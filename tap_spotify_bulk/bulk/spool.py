"""Temporary disk for downloaded files: files without a name, and a byte budget.

Each download is written into a file that has no name on disk (`temp_files.new_file`) and
is kept by its descriptor until it has been read.

Files waiting to be read are bounded by bytes as well as by count: `ByteBudget` lets a
download write only while the bytes on disk stay within the budget (`Content-Length` is
reserved up front when the server sends one, otherwise bytes are counted as they arrive).
The oldest file still needed (the one the output reads next) is never held back, so a file
larger than the whole budget still goes through, while the downloads behind it wait.
"""

from __future__ import annotations

import os
import threading
import typing as t

if t.TYPE_CHECKING:
    pass

WAKE_EVERY = 0.2  # seconds between checks for a cancelled run while waiting for budget


class DownloadCancelled(Exception):  # noqa: N818 (a condition, not an error to report)
    """The run stopped while this file was downloading."""


class ByteBudget:
    """Bytes of downloaded files on disk, shared by one run's downloads."""

    def __init__(self, limit: int | None, cancelled: threading.Event | None = None) -> None:
        self.limit = limit  # None: no limit
        self.used = 0
        self.peak = 0
        self._cancelled = cancelled
        self._live: set[int] = set()
        self._next = 0
        self._cond = threading.Condition()

    def ticket(self) -> Ticket:
        """A claim for one file; tickets must be taken in the order files are read."""
        with self._cond:
            self._next += 1
            self._live.add(self._next)
            return Ticket(self, self._next)

    def _take(self, ticket: Ticket, size: int) -> None:
        with self._cond:
            while (self.limit is not None and self.used + size > self.limit
                   and ticket.seq != min(self._live, default=ticket.seq)):
                if self._cancelled is not None and self._cancelled.is_set():
                    raise DownloadCancelled
                self._cond.wait(WAKE_EVERY)
            self.used += size
            ticket.taken += size
            self.peak = max(self.peak, self.used)

    def _give_back(self, ticket: Ticket, *, done: bool) -> None:
        with self._cond:
            self.used -= ticket.taken
            ticket.taken = 0
            if done:
                self._live.discard(ticket.seq)
            self._cond.notify_all()


class Ticket:
    """One file's share of a `ByteBudget`."""

    def __init__(self, budget: ByteBudget, seq: int) -> None:
        self.budget = budget
        self.seq = seq
        self.taken = 0

    def cover(self, size: int) -> None:
        """Make sure `size` bytes are reserved for this file, waiting for room if needed."""
        if size > self.taken:
            self.budget._take(self, size - self.taken)

    def reset(self) -> None:
        """The file was thrown away (a retry follows): its bytes are free again."""
        self.budget._give_back(self, done=False)

    def release(self) -> None:
        """The file is gone for good."""
        self.budget._give_back(self, done=True)


def unlimited_ticket() -> Ticket:
    return ByteBudget(None).ticket()


class SpooledFile:
    """A downloaded file with no name on disk, read through `open` like a `Path`."""

    def __init__(self, file: t.BinaryIO, size: int, ticket: Ticket) -> None:
        self._file: t.BinaryIO | None = file
        self.size = size
        self._ticket = ticket

    def open(self, mode: str = "rb", buffering: int = 0) -> t.BinaryIO:
        """A new reader from the start of the file (its own descriptor; close it)."""
        if self._file is None or mode != "rb":
            msg = "a spooled file is read once, in binary mode"
            raise ValueError(msg)
        fd = os.dup(self._file.fileno())
        os.lseek(fd, 0, os.SEEK_SET)
        return os.fdopen(fd, "rb", buffering=buffering)

    def stat(self) -> os.stat_result:
        """Like `Path.stat`: the downloaded file's size and the rest, from its descriptor."""
        if self._file is None:
            msg = "the spooled file was closed"
            raise ValueError(msg)
        return os.fstat(self._file.fileno())

    def close(self) -> None:
        """Free the file's disk space and its share of the budget."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._ticket.release()

    def unlink(self, missing_ok: bool = True) -> None:
        """Like `Path.unlink` for the code that deletes a file once read: `close`."""
        self.close()

    def __repr__(self) -> str:
        return f"SpooledFile(size={self.size})"
