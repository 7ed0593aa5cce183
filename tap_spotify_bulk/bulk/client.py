"""HTTP client for the Bulk API: listings and data-file downloads (api-contract §4).

Every API call carries the bearer token; a 401 invalidates it and the call is retried once
with a fresh one. Data files answer 303 to a signed URL, fetched here *without* any
Authorization header (the token never leaves the API host, and the signed URL refuses
requests that carry one), or 200 with the file. A signed URL that answers 403 has expired,
one that answers 404 names a file replaced meanwhile: the API is asked again. Transient
failures are retried by the tap's `http.RetryPolicy`. One `requests.Session` per thread.
Files are downloaded into unnamed temporary files within the run's byte budget (`spool`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import urljoin

import requests
import urllib3

from tap_spotify_bulk import http
from tap_spotify_bulk.bulk.files import CorruptGzip, GzipCheck
from tap_spotify_bulk.bulk.spool import DownloadCancelled, SpooledFile, Ticket, unlimited_ticket
from tap_spotify_bulk.errors import AccessError, ApiError, AuthError, DataError
from tap_spotify_bulk.temp_files import disk_error, new_file

if t.TYPE_CHECKING:
    from tap_spotify_bulk.auth import TokenClient

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")

REDIRECTS = frozenset({301, 302, 303, 307, 308})
DOWNLOAD_CHUNK = 1 << 20
DOWNLOAD_TRIES = 4  # downloads of one file before a corrupt file fails the run
SIGNED_URL_TRIES = 4  # expired signed URLs before giving up
BROKEN_BODY = (*http.TRANSIENT_EXCEPTIONS, urllib3.exceptions.HTTPError)


def day_path(resource: str, day: dt.date) -> str:
    return f"{resource}/{day:%Y/%m/%d}"


class BulkClient:
    """Listings and file downloads for one licensor. Safe to share between threads."""

    def __init__(self, *, tokens: TokenClient, base_url: str, licensor: str) -> None:
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.licensor = licensor
        self.retry = http.RetryPolicy(tokens=tokens)
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def url(self, relative: str) -> str:
        return f"{self.base_url}/{self.licensor}/enhanced/{relative}"

    # API calls

    def _api_get(self, relative: str, what: str, **kwargs: t.Any) -> requests.Response:
        """GET an API path with the bearer token (the retry policy renews it once on 401)."""
        response = self.retry.send(self.session, "GET", self.url(relative), what=what,
                                   allow_redirects=False, **kwargs)
        if response.status_code == 401:
            response.close()
            msg = (
                "Bulk API rejected a freshly issued access token (HTTP 401): check "
                "`client_id`, `client_secret` and `token_url`."
            )
            raise AuthError(msg)
        if response.status_code == 403:
            response.close()
            msg = (
                f"Bulk API refused access to licensor `{self.licensor}` (HTTP 403): check "
                "`licensor` (the slug from the welcome email) and that these credentials "
                "are granted for it."
            )
            raise AccessError(msg)
        return response

    def list_children(self, relative: str) -> list[str] | None:
        """Names of the children listed under `relative` (e.g. countries of a streams day);
        None when the API answers 404 (no data, or not published yet) or lists nothing, so
        an empty day in the lookback tail holds the bookmark like a 404 does."""
        what = f"Bulk listing {relative}"
        response = self._api_get(relative, what)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unexpected(what, response)
        try:
            items = response.json()
        except ValueError:
            msg = f"{what}: the API answered 200 with a body that is not JSON."
            raise ApiError(msg) from None
        if not isinstance(items, list):
            msg = f"{what}: the API answered 200 with a body that is not a JSON array."
            raise ApiError(msg)
        names = []
        for item in items:
            uri = item.get("uri") if isinstance(item, dict) else None
            if not isinstance(uri, str) or not uri.strip("/"):
                # Skipping it could skip a file while the bookmark moves on: fail instead.
                msg = f"{what}: the API listed an item without a `uri`: {str(item)[:100]}"
                raise ApiError(msg)
            names.append(uri.rstrip("/").rsplit("/", 1)[-1])
        return names or None

    # Data files

    def download(self, relative: str, temp_dir: Path | str | None = None,
                 cancelled: threading.Event | None = None, *,
                 ticket: Ticket | None = None) -> SpooledFile | None:
        """Download and verify one data file into an unnamed temporary file; None on 404.

        The caller closes (or `unlink`s) the returned file once read. `ticket` is the file's
        share of the run's byte budget (none: unbounded). Retries truncated or corrupt
        downloads and broken connections; raises DataError when the file stays corrupt and
        TempDiskFullError when `temp_dir` fills up.
        """
        ticket = ticket or unlimited_ticket()
        problem = ""
        for attempt in range(1, DOWNLOAD_TRIES + 1):
            sink = _Sink(ticket, cancelled, temp_dir, relative)
            try:
                found = self._fetch_into(relative, sink)
                if not found:
                    sink.discard()
                    ticket.release()
                    return None
                sink.check.finish()
                out = sink.file()
            except CorruptGzip as exc:
                problem = str(exc)
            except BROKEN_BODY as exc:
                problem = f"connection broken during download ({type(exc).__name__})"
            except BaseException:
                sink.discard()
                ticket.release()
                raise
            else:
                return SpooledFile(out, sink.written, ticket)
            sink.discard()
            ticket.reset()
            if attempt < DOWNLOAD_TRIES:
                LOGGER.warning("%s: %s (download %d/%d), downloading again",
                               relative, problem, attempt, DOWNLOAD_TRIES)
                time.sleep(http.backoff_delay(attempt))
        ticket.release()
        msg = (
            f"{relative}: corrupt gzip after {DOWNLOAD_TRIES} downloads ({problem}); nothing "
            "of this date was committed to state, run again later."
        )
        raise DataError(msg)

    def _fetch_into(self, relative: str, sink: _Sink) -> bool:
        """Write the file's bytes into `sink`; False on 404."""
        what = f"Bulk file {relative}"
        for _ in range(SIGNED_URL_TRIES):
            response = self._api_get(relative, what, stream=True)
            if response.status_code == 404:
                response.close()
                return False
            if response.status_code == 200:
                sink.copy(response)
                return True
            location = response.headers.get("Location")
            response.close()
            if response.status_code not in REDIRECTS or not location:
                raise _unexpected(what, response)
            signed_url = urljoin(response.url, location)
            # No Authorization header here, ever: the token stays with the API host.
            signed = http.PLAIN.send(self.session, "GET", signed_url,
                                     what=f"{what} (signed URL)", stream=True,
                                     allow_redirects=False)
            if signed.status_code == 200:
                sink.copy(signed)
                return True
            signed.close()
            if signed.status_code in {401, 403}:  # expired signature: ask the API again
                LOGGER.info("%s: signed URL expired (HTTP %d), asking the API again",
                            what, signed.status_code)
                continue
            if signed.status_code == 404:  # the file was replaced (restated) meanwhile
                LOGGER.info("%s: signed URL names a file that is gone (HTTP 404), asking the "
                            "API again", what)
                continue
            raise _unexpected(f"{what} (signed URL)", signed)
        msg = (f"{what}: the signed download URL kept expiring or naming a missing file "
               f"({SIGNED_URL_TRIES} times).")
        raise ApiError(msg)


class _Sink:
    """One download attempt's destination: a temporary file (created with the first byte,
    once the byte budget has room), the gzip check, the file's budget ticket."""

    def __init__(self, ticket: Ticket, cancelled: threading.Event | None,
                 temp_dir: Path | str | None, relative: str) -> None:
        self.ticket = ticket
        self.cancelled = cancelled
        self.temp_dir = temp_dir
        self.relative = relative
        self.check = GzipCheck()
        self.written = 0
        self._out: t.BinaryIO | None = None

    def copy(self, response: requests.Response) -> None:
        """Copy the body as sent (the gzip is the file itself, so a `Content-Encoding: gzip`,
        as object stores may add, must not be undone here), verifying the gzip on the way.
        A `Content-Length` is reserved in the byte budget before the first byte."""
        with response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit():
                self.ticket.cover(self.written + int(length))
            for chunk in response.raw.stream(DOWNLOAD_CHUNK, decode_content=False):
                if self.cancelled is not None and self.cancelled.is_set():
                    raise DownloadCancelled
                self.ticket.cover(self.written + len(chunk))
                self._write(chunk)
                self.written += len(chunk)
                self.check.feed(chunk)

    def file(self) -> t.BinaryIO:
        if self._out is None:
            try:
                self._out = new_file(self.temp_dir)
            except OSError as exc:
                raise disk_error(exc, self.temp_dir, self.relative) from exc
        return self._out

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def _write(self, chunk: bytes) -> None:
        """All of `chunk`: a full disk or a file size limit first shortens a write, and
        only the next one raises."""
        out = self.file()
        view = memoryview(chunk)
        try:
            while view:
                view = view[out.write(view):]
        except OSError as exc:
            raise disk_error(exc, self.temp_dir, self.relative) from exc


def _unexpected(what: str, response: requests.Response) -> ApiError:
    return ApiError(f"{what}: unexpected HTTP {response.status_code} from the API.")


__all__ = ["BulkClient", "DataError", "DownloadCancelled", "day_path"]
