"""Concurrent downloads ahead of an in-order consumer.

`plan_*` functions describe, in emission order, the files of each date followed by a
`DayEnd` marker. `prefetch` keeps up to `limit` downloads in flight on a thread pool (so
temporary disk stays bounded) and yields each file's local path in plan order, so the
output order is deterministic whatever `max_workers` is. Day listings (countries of a
streams day) are requested a few days ahead on the same pool.
"""

from __future__ import annotations

import datetime as dt
import threading
import typing as t
from collections import deque
from dataclasses import dataclass

from tap_spotify_bulk.bulk.client import day_path

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from concurrent.futures import Executor, Future
    from pathlib import Path

    from tap_spotify_bulk.bulk.client import BulkClient

LISTINGS_AHEAD = 4


@dataclass(frozen=True)
class DownloadScope:
    """Where one run's downloads happen; `cancelled` stops in-flight ones early."""

    executor: Executor
    temp_dir: Path
    cancelled: threading.Event


@dataclass(frozen=True)
class FileJob:
    day: dt.date
    country: str | None
    relative: str  # e.g. "streams/2024/03/07/SE"


@dataclass(frozen=True)
class DayEnd:
    """All of `day`'s files were yielded; `missing` when the day's listing 404'd."""

    day: dt.date
    missing: bool = False


Job = FileJob | DayEnd


def plan_day_files(resource: str, days: Iterable[dt.date]) -> Iterator[Job]:
    """One file per day (users, tracks, aggregatedstreams)."""
    for day in days:
        yield FileJob(day, None, day_path(resource, day))
        yield DayEnd(day)


def plan_country_files(
    client: BulkClient, executor: Executor, resource: str, days: Iterable[dt.date],
    countries: frozenset[str] | None,
) -> Iterator[Job]:
    """The day's country listing, then one file per listed (and wanted) country."""
    pending_days = iter(days)
    listings: deque[tuple[dt.date, Future[list[str] | None]]] = deque()

    def request_more() -> None:
        while len(listings) < LISTINGS_AHEAD:
            day = next(pending_days, None)
            if day is None:
                return
            listings.append((day, executor.submit(client.list_children,
                                                  day_path(resource, day))))

    request_more()
    while listings:
        day, listing = listings.popleft()
        request_more()
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
) -> Iterator[tuple[FileJob, Path | None] | tuple[DayEnd, None]]:
    """Yield (job, local file or None for 404) in plan order, downloading ahead.

    The caller deletes each yielded file once read. Files downloaded but never yielded
    (the consumer stopped early) are left in `scope.temp_dir`, which the caller removes.
    """
    queue: deque[tuple[Job, Future[Path | None] | None]] = deque()
    in_flight = 0
    pending = iter(jobs)

    def fill() -> None:
        nonlocal in_flight
        while in_flight < limit:
            job = next(pending, None)
            if job is None:
                return
            if isinstance(job, FileJob):
                queue.append((job, scope.executor.submit(
                    client.download, job.relative, scope.temp_dir, scope.cancelled)))
                in_flight += 1
            else:
                queue.append((job, None))

    fill()
    try:
        while queue:
            job, future = queue.popleft()
            if future is None:
                yield job, None  # type: ignore[misc]
                continue
            in_flight -= 1
            fill()
            yield job, future.result()  # type: ignore[misc]
    finally:
        for _, future in queue:
            if future is not None:
                future.cancel()
