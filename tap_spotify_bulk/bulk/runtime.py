"""Per-tap shared state of the Bulk streams: settings, token client, HTTP client.

One `BulkRuntime` per tap instance (never a module-level singleton), created by
`bulk_streams(tap)` and shared by the eight streams and the download threads. Everything
is built lazily, so discovery needs no credentials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

from tap_spotify_bulk import shared_settings
from tap_spotify_bulk.auth import TokenClient
from tap_spotify_bulk.bulk import dates, settings
from tap_spotify_bulk.bulk.client import BulkClient
from tap_spotify_bulk.bulk.pipeline import LISTINGS_AHEAD, DownloadScope
from tap_spotify_bulk.bulk.spool import ByteBudget
from tap_spotify_bulk.errors import ConfigError
from tap_spotify_bulk.temp_files import new_file, temp_directory

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")


def new_load_id(now: dt.datetime | None = None) -> str:
    """UTC start time to the microsecond plus a random suffix, fixed width, so ids sort in
    time order across runs and machines: `20261130T094512.123456Z-1a2b3c4d`."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(4)}"


class BulkRuntime:
    """Settings and clients shared by one tap's Bulk streams."""

    def __init__(self, config: Mapping[str, t.Any]) -> None:
        self.config = config
        self._load_id: str | None = None

    @property
    def load_id(self) -> str:
        """The `load_id` of this run's Bulk records (see `loads`); one per sync."""
        if self._load_id is None:
            self._load_id = new_load_id()
        return self._load_id

    def start_load(self) -> None:
        """A new sync starts: its records get a new `load_id`."""
        self._load_id = new_load_id()

    @cached_property
    def licensor(self) -> str:
        return str(settings.LICENSOR.value(self.config))

    @cached_property
    def window(self) -> dates.Window:
        return settings.window(self.config)

    @cached_property
    def lookback_days(self) -> int:
        return settings.lookback_days(self.config)

    @cached_property
    def max_workers(self) -> int:
        return settings.max_workers(self.config)

    @cached_property
    def countries(self) -> frozenset[str] | None:
        return settings.countries(self.config)

    @cached_property
    def tokens(self) -> TokenClient:
        return TokenClient(
            token_url=shared_settings.token_url(self.config),
            client_id=str(shared_settings.CLIENT_ID.value(self.config)),
            client_secret=str(shared_settings.CLIENT_SECRET.value(self.config)),
            api_name="Bulk API",
        )

    @cached_property
    def client(self) -> BulkClient:
        return BulkClient(tokens=self.tokens, base_url=settings.api_url(self.config),
                          licensor=self.licensor)

    @property
    def lookahead(self) -> int:
        """Downloads in flight at most (bounds temporary disk use)."""
        return self.max_workers + 2

    @cached_property
    def temp_dir(self) -> Path | None:
        """Where downloads are written (None: TMPDIR, else the system default)."""
        return shared_settings.temp_dir(self.config)

    @cached_property
    def budget_bytes(self) -> int:
        return settings.download_budget_bytes(self.config)

    @contextlib.contextmanager
    def downloads(self) -> Iterator[DownloadScope]:
        """Thread pools for listings and downloads and a byte budget, for one block; downloads
        still running when it ends (the run failed or stopped early) are cancelled. The files
        have no name on disk (see `spool`), so nothing is left behind, even after kill -9."""
        try:
            new_file(self.temp_dir).close()  # fail before any download when unusable
        except OSError as exc:
            msg = (f"`temp_dir`: cannot create a temporary file in "
                   f"{temp_directory(self.temp_dir)} ({exc.strerror or exc}); set `temp_dir` "
                   "(or TMPDIR) to a writable directory.")
            raise ConfigError(msg) from None
        cancelled = threading.Event()
        budget = ByteBudget(self.budget_bytes, cancelled)
        listings = ThreadPoolExecutor(LISTINGS_AHEAD, thread_name_prefix="bulk-listing")
        downloader = ThreadPoolExecutor(self.max_workers, thread_name_prefix="bulk-download")
        scope = DownloadScope(listings, self.temp_dir, cancelled, downloader, budget)
        try:
            yield scope
        finally:
            cancelled.set()
            downloader.shutdown(wait=True, cancel_futures=True)
            listings.shutdown(wait=True, cancel_futures=True)
            LOGGER.info("downloads: at most %d bytes of files waiting on temporary disk "
                        "(budget %d)", budget.peak, budget.limit)

    def holds_bookmark(self, day: dt.date) -> bool:
        return dates.holds_bookmark(day, self.window.end, self.lookback_days)
