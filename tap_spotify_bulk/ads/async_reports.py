"""Async CSV reports of an ad account (api-contract §5.3, §6 `async_reports`): up to 365
days of DAY rows (or LIFETIME rows) in one report, with metrics the JSON reports lack.

One report per account and window: create it (POST), poll its status with a bounded
backoff while it is PROCESSING, download the CSV from its signed `report_url` (no token),
and read it by header name into typed records. FAILED or EXPIRED means "create it again"
(at most `MAX_CREATES` times per window); a `report_url` that has expired means "poll again
for a fresh one". The pending report's id and window are kept in the account's state
(`PENDING_KEY`) as soon as it is created, so a run killed while Spotify prepares it picks
the same report up instead of ordering another.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
import typing as t

import requests

from tap_spotify_bulk import http
from tap_spotify_bulk.ads.reports import utc_time
from tap_spotify_bulk.ads.settings import ASYNC_STATUSES
from tap_spotify_bulk.ads.times import iso
from tap_spotify_bulk.errors import ApiError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, MutableMapping

    from tap_spotify_bulk.ads.client import AdsClient
    from tap_spotify_bulk.ads.settings import ReportSpec

LOGGER = logging.getLogger("tap_spotify_bulk.ads")

PENDING_KEY = "async_report"  # partition state: {"id", "start", "end"} of a pending report
MAX_SPAN = dt.timedelta(days=364)  # report_end - report_start: 365 days, both included
POLL_FIRST = 2.0  # seconds before the second status call, doubling ...
POLL_MAX = 60.0  # ... up to this
POLL_BUDGET = 3600.0  # seconds of PROCESSING before the run stops (the report is kept)
MAX_CREATES = 3
MAX_FRESH_URLS = 3
LEVELS = ("AD_ACCOUNT", "CAMPAIGN", "AD_SET", "AD")
GONE = {400, 403, 404, 410}  # what an expired signed URL may answer


def report_windows(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Inclusive windows of at most 365 days covering first..last, ascending."""
    out = []
    while first <= last:
        end = min(first + MAX_SPAN, last)
        out.append((first, end))
        first = end + dt.timedelta(days=1)
    return out


def request_body(spec: ReportSpec, start: dt.date | None, end: dt.date | None) -> dict:
    body: dict[str, t.Any] = {
        "name": f"tap-spotify-bulk {spec.table}",
        "granularity": spec.granularity,
        "dimensions": [f"{spec.dimension}_NAME"],
        "metrics": list(spec.fields),
        # The API's default is ACTIVE only: the tap names every status unless told.
        "statuses": list(spec.statuses or ASYNC_STATUSES),
    }
    if start is not None and end is not None:
        body |= {"report_start": iso(start), "report_end": iso(end)}
    return body


def _number(text: str | None) -> int | float | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def csv_records(spec: ReportSpec, account: str, text: str) -> Iterator[dict]:
    """The records of one CSV (read by header name; a missing column reads as null; the
    columns not read into a record column land in its `extra` object, as text)."""
    level = LEVELS.index(spec.dimension)
    parent = f"{LEVELS[level - 1]}_ID" if level > 0 else None
    read = {"AD_ACCOUNT_ID", f"{spec.dimension}_ID", f"{spec.dimension}_NAME",
            f"{spec.dimension}_STATUS", "START_TIME", "END_TIME", parent, *spec.fields}
    for row in csv.DictReader(io.StringIO(text)):
        extra = {k: v for k, v in row.items() if k not in read and k is not None and v}
        yield {
            "ad_account_id": account,
            "table": spec.table,
            "granularity": spec.granularity,
            "dimension": spec.dimension,
            "entity_type": spec.dimension,
            "entity_id": row.get(f"{spec.dimension}_ID") or None,
            "entity_name": row.get(f"{spec.dimension}_NAME") or None,
            "entity_status": row.get(f"{spec.dimension}_STATUS") or None,
            "parent_entity_id": (row.get(parent) or None) if parent else None,
            "start_time": utc_time(row.get("START_TIME") or None),
            "end_time": utc_time(row.get("END_TIME") or None),
            **{field.lower(): _number(row.get(field)) for field in spec.fields},
            "extra": extra or None,
        }


class AsyncReader:
    """Reads async reports for one stream (see the module docstring)."""

    def __init__(self, client: AdsClient, spec: ReportSpec, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.spec = spec
        self.sleep = sleep
        self.session = requests.Session()  # signed URLs: never the API's Authorization

    def records(self, account: str, state: MutableMapping[str, t.Any],
                save: Callable[[], None], start: dt.date | None = None,
                end: dt.date | None = None) -> Iterator[dict]:
        """Every record of the report for `account` over start..end (LIFETIME: None)."""
        window = {"start": start.isoformat() if start else None,
                  "end": end.isoformat() if end else None}
        pending = state.get(PENDING_KEY)
        report_id = None
        if isinstance(pending, dict) and {k: pending.get(k) for k in window} == window:
            report_id = str(pending.get("id") or "") or None
            if report_id:
                LOGGER.info("Ads %s (%s): resuming async report %s", self.spec.table, account,
                            report_id)
        what = f"Ads {self.spec.table} async report for ad account {account}"
        for _ in range(MAX_CREATES):
            if report_id is None:
                report_id = self._create(account, start, end, what)
                state[PENDING_KEY] = {"id": report_id, **window}
                save()
            text = self._fetch(account, report_id, what)
            if text is not None:
                yield from csv_records(self.spec, account, text)
                state.pop(PENDING_KEY, None)
                return
            report_id = None  # FAILED or EXPIRED: order it again
        msg = (f"{what}: Spotify failed to produce it {MAX_CREATES} times (FAILED or "
               "EXPIRED); run again later.")
        raise ApiError(msg)

    def _create(self, account: str, start: dt.date | None, end: dt.date | None,
                what: str) -> str:
        response = self.client.request(
            "POST", f"/ad_accounts/{account}/async_reports", what=what,
            json=request_body(self.spec, start, end))
        if response.status_code not in {200, 201}:
            raise self.client.failure(response, what)
        report_id = self.client.json_object(response, what).get("id")
        if not report_id:
            msg = f"{what}: the Ads API created a report without an id."
            raise ApiError(msg)
        return str(report_id)

    def _fetch(self, account: str, report_id: str, what: str) -> str | None:
        """The CSV of a READY report; None when it FAILED or EXPIRED."""
        path = f"/ad_accounts/{account}/async_reports/{report_id}"
        for _ in range(MAX_FRESH_URLS):
            url = self._ready_url(path, what)
            if url is None:
                return None
            response = http.PLAIN.send(self.session, "GET", url, what=f"{what}: download")
            if response.status_code == 200:
                response.encoding = response.encoding or "utf-8"
                return response.text
            if response.status_code not in GONE:
                msg = f"{what}: the report download answered HTTP {response.status_code}."
                raise ApiError(msg)
            LOGGER.info("%s: the report URL has expired; asking for a fresh one", what)
        return None

    def _ready_url(self, path: str, what: str) -> str | None:
        """Poll until READY (its `report_url`) or FAILED/EXPIRED (None), with a bounded
        backoff; ApiError once `POLL_BUDGET` seconds of PROCESSING have passed."""
        delay, waited = POLL_FIRST, 0.0
        while True:
            body = self.client.get_json(path, what=what)
            status = str(body.get("status") or "")
            if status == "READY" and body.get("report_url"):
                return str(body["report_url"])
            if status in {"FAILED", "EXPIRED"}:
                LOGGER.warning("%s: the report is %s; ordering it again", what, status)
                return None
            if waited >= POLL_BUDGET:
                msg = (f"{what}: still {status or 'not ready'} after {int(waited)} s; run "
                       "again later (the report is kept in the state and picked up).")
                raise ApiError(msg)
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, POLL_MAX)
