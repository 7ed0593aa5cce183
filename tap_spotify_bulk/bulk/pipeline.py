"""Concurrent downloads ahead of an in-order consumer.

`plan_*` functions describe, in emission order, the files of each date followed by a
`DayEnd` marker. `prefetch` keeps up to `limit` downloads in flight on the download pool
and yields each downloaded file in plan order, so the output order is deterministic
whatever `max_workers` is. Temporary disk is bounded by count (`limit`) and by bytes (the
scope's `ByteBudget`, see `spool`). Day listings (countries of a streams day) are requested
a few days ahead on the scope's `executor`, a pool of its own: a download waiting for
budget never holds up the listing the consumer waits for.
"""

from __future__ import annotations

import datetime as dt
import threading
import typing as t
from collections import deque
from dataclasses import dataclass

from tap_spotify_bulk.bulk.client import day_path
from tap_spotify_bulk.bulk.spool import ByteBudget

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from concurrent.futures import Executor, Future
    from pathlib import Path

    from tap_spotify_bulk.bulk.client import BulkClient
    from tap_spotify_bulk.bulk.spool import SpooledFile, Ticket

LISTINGS_AHEAD = 4


@dataclass(frozen=True)
class DownloadScope:
    """Where one run's downloads happen; `cancelled` stops in-flight ones early.

    `executor` runs listings (and downloads, when there is no `downloader`); `temp_dir`
    None is TMPDIR; `budget` bounds the bytes of files downloaded and not yet read."""

    executor: Executor
    temp_dir: Path | None
    cancelled: threading.Event
    downloader: Executor | None = None
    budget: ByteBudget | None = None


@dataclass(frozen=True)
class FileJob:
    day: dt.date
    country: str | None
    relative: str  # e.g. "streams/2024/03/07/SE"


@dataclass(frozen=True)
class DayEnd:
    """All of `day`'s files were yielded; `missing` when the day's listing 404'd or the
    day was not listed (see `day_plan`); `first` starts a run of unlisted days ending on `day`
    (none of them was asked for)."""

    day: dt.date
    missing: bool = False
    first: dt.date | None = None


Job = FileJob | DayEnd
Step = dt.date | DayEnd  # a date to request, or a date ended without a request


def plan_day_files(resource: str, days: Iterable[Step]) -> Iterator[Job]:
    """One file per day (users, tracks, aggregatedstreams)."""
    for day in days:
        if isinstance(day, DayEnd):
            yield day
            continue
        yield FileJob(day, None, day_path(resource, day))
        yield DayEnd(day)


def plan_country_files(
    client: BulkClient, executor: Executor, resource: str, days: Iterable[Step],
    countries: frozenset[str] | None,
) -> Iterator[Job]:
    """The day's country listing, then one file per listed (and wanted) country."""
    pending_days = iter(days)
    listings: deque[tuple[Step, Future[list[str] | None] | None]] = deque()

    def request_more() -> None:
        while len(listings) < LISTINGS_AHEAD:
            day = next(pending_days, None)
            if day is None:
                return
            listings.append((day, None if isinstance(day, DayEnd) else executor.submit(
                client.list_children, day_path(resource, day))))

    request_more()
    while listings:
        day, listing = listings.popleft()
        request_more()
        if listing is None:
            assert isinstance(day, DayEnd)
            yield day
            continue
        assert not isinstance(day, DayEnd)
        names = listing.result()
        if names is None:
            yield DayEnd(day, missing=True)
            continue
        codes = sorted({name.upper() for name in names})
        for code in codes:
            if countries is None or code in countries:
                yield FileJob(day, code, f"{day_path(resource, day)}/{code}")
        yield DayEnd(day)


def prefetch(
    client: BulkClient, scope: DownloadScope, jobs: Iterable[Job], *, limit: int,
) -> Iterator[tuple[FileJob, SpooledFile | None] | tuple[DayEnd, None]]:
    """Yield (job, downloaded file or None for 404) in plan order, downloading ahead.

    The caller closes (or `unlink`s) each yielded file once read; it is closed here at the
    latest when the next one is asked for. Files downloaded but never yielded (the consumer
    stopped early) are closed here too: none has a name on disk.
    """
    budget = scope.budget or ByteBudget(None)
    pool = scope.downloader or scope.executor
    queue: deque[tuple[Job, Future[SpooledFile | None] | None, Ticket | None]] = deque()
    in_flight = 0
    pending = iter(jobs)

    def fill() -> None:
        nonlocal in_flight
        while in_flight < limit:
            job = next(pending, None)
            if job is None:
                return
            if isinstance(job, FileJob):
                ticket = budget.ticket()  # in plan order: the next file read goes first
                queue.append((job, pool.submit(client.download, job.relative, scope.temp_dir,
                                               scope.cancelled, ticket=ticket), ticket))
                in_flight += 1
            else:
                queue.append((job, None, None))

    previous: SpooledFile | None = None
    fill()
    try:
        while queue:
            job, future, _ = queue.popleft()
            if previous is not None:
                previous.close()
                previous = None
            if future is None:
                yield job, None  # type: ignore[misc]
                continue
            in_flight -= 1
            fill()
            previous = future.result()
            yield job, previous  # type: ignore[misc]
    finally:
        if previous is not None:
            previous.close()
        for _, future, ticket in queue:
            if future is not None and ticket is not None:
                _abandon(future, ticket)


def _abandon(future: Future[SpooledFile | None], ticket: Ticket) -> None:
    """Forget a download whose file will never be read, and free its disk."""
    if future.cancel():
        ticket.release()
        return

    def close(done: Future[SpooledFile | None]) -> None:
        if not done.cancelled() and done.exception() is None:
            file = done.result()
            if file is not None:
                file.close()

    future.add_done_callback(close)
