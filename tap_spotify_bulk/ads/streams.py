"""Ads API report streams: one stream per `ads_report_list` item, partitioned by ad account.

Why a plain SDK `Stream` and not `RESTStream`: a DAY report is a sequence of 90-day windows,
each a chain of continuation-token pages, an insight report is one call per ad set or
campaign (`insights`), a totals object one call per account and window (`totals`), an async
report an order, polls and a CSV download (`async_reports`); every call also needs the
shared pacing and the Ads 429/401 rules of `AdsClient`. The SDK still owns catalog,
selection, conformance, stream maps and state. Every record gets its account's
`currency_code` here, whatever its kind.

State: DAY/HOUR streams bookmark `start_time` per ad account. Each window's rows are
emitted sorted by (start_time, entity_id) so the bookmark only grows within a window and
the state is resumable (the API serves them entity by entity: `sorted_window.SortedWindow` sorts
a window of any size in bounded memory); `check_sorted` is off because a run re-reads
the last `ads_lookback_days` days (default 90: late attribution) on purpose. Re-read rows
keep their primary keys, so a target that upserts replaces what it held.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

from singer_sdk import Stream
from singer_sdk import typing as th

from tap_spotify_bulk import bookmarks, sdk_seam
from tap_spotify_bulk.ads import (
    async_reports,
    insights,
    reports,
    sorted_window,
    times,
    totals,
    windows,
)
from tap_spotify_bulk.ads.entities import ENTITY_STREAM_NAMES, entity_streams
from tap_spotify_bulk.ads.fields import DEPRECATED_FIELDS, KNOWN_FIELDS
from tap_spotify_bulk.ads.runtime import AdsRuntime
from tap_spotify_bulk.errors import did_you_mean
from tap_spotify_bulk.progress import Progress, ProgressMetric

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from singer_sdk import Tap

    from tap_spotify_bulk.ads.settings import ReportSpec

LOGGER = logging.getLogger("tap_spotify_bulk.ads")


def report_schema(spec: ReportSpec) -> dict:
    text = th.StringType
    properties = [
        th.Property("ad_account_id", text, required=True),
        th.Property("currency_code", text),
        th.Property("table", text),
        th.Property("granularity", text),
        th.Property("dimension", text),
        th.Property("entity_type", text),
        th.Property("entity_id", text, required=True),
        th.Property("entity_name", text),
        th.Property("entity_status", text),
        th.Property("parent_entity_id", text),
        th.Property("start_time", th.DateTimeType, required=spec.is_timeseries),
        th.Property("end_time", th.DateTimeType),
    ]
    if spec.is_insight:
        properties.append(th.Property("insight_value", text, required=True))
    properties += [th.Property(column, th.NumberType) for column in spec.columns]
    # What the tap does not read into a column of its own: CSV columns of async reports;
    # row keys, stats not asked for and values of an unexpected type of the others.
    properties.append(th.Property("extra", th.ObjectType()))
    return th.PropertiesList(*properties).to_dict()


def primary_keys(spec: ReportSpec) -> list[str]:
    if spec.is_insight:
        return ["ad_account_id", "entity_id", "insight_value"]
    if spec.is_timeseries:
        return ["ad_account_id", "entity_id", "start_time"]
    return ["ad_account_id", "entity_id"]


class AdsReportStream(Stream):
    """One `ads_report_list` item."""

    is_sorted = True  # within a run, per ad account (see the module docstring)
    bookmark_parser = staticmethod(times.parse_time)

    def __init__(self, tap: Tap, spec: ReportSpec, runtime: AdsRuntime) -> None:
        self.spec = spec
        self.runtime = runtime
        schema = totals.schema(spec) if spec.is_totals else report_schema(spec)
        super().__init__(tap=tap, name=spec.table, schema=schema)
        self.primary_keys = totals.primary_keys(spec) if spec.is_totals else primary_keys(spec)
        if spec.is_timeseries:
            self.replication_key = "start_time"

    @property
    def check_sorted(self) -> bool:
        return False  # the re-read window starts before the bookmark on purpose

    @property
    def partitions(self) -> list[dict] | None:
        return [{"ad_account_id": account} for account in self.runtime.accounts]

    def get_records(self, context: Mapping[str, t.Any] | None) -> Iterable[dict]:
        if not context:
            return
        account = context["ad_account_id"]
        currency = self.runtime.currency(account)
        for record in self._records(account, context):
            record["currency_code"] = currency
            yield record

    def _records(self, account: str, context: Mapping[str, t.Any]) -> Iterable[dict]:
        if self.spec.kind == "async":
            yield from self._async_records(account, context)
        elif self.spec.is_totals:
            yield from self._totals_records(account, context)
        elif self.spec.is_insight:
            yield from self._insight_records(account)
        elif self.spec.granularity == "LIFETIME":
            seen: set[t.Any] = set()
            for row in reports.aggregate_rows(self.runtime.client, account, self.spec):
                record = reports.aggregate_record(self.spec, account, row)
                if record["entity_id"] not in seen:  # pages may overlap: one key once
                    seen.add(record["entity_id"])
                    yield record
        else:
            planned = self._windows(account, context)
            progress = Progress(self.name, len(planned), ProgressMetric.ADS_WINDOWS,
                                "window", ad_account_id=account)
            for first, last in planned:
                yield from self._window_records(account, first, last, progress)

    def _window_records(self, account: str, first: dt.date | dt.datetime,
                        last: dt.date | dt.datetime, progress: Progress) -> Iterable[dict]:
        """One DAY/HOUR window sorted by (start_time, entity_id), each key once (pages may
        overlap: the last served wins); held on disk past `sorted_window.SPILL_BYTES`."""
        span = f"{times.iso(first)}..{times.iso(last)}"
        what = f"Ads {self.name} report for ad account {account} {span}"
        with sorted_window.SortedWindow(self.runtime.temp_dir, what) as window:
            for row in reports.aggregate_rows(self.runtime.client, account, self.spec,
                                              start=first, end=last):
                record = reports.aggregate_record(self.spec, account, row)
                window.add((str(record["start_time"]), str(record["entity_id"])), record)
            yield from window.records()
            progress.step(span, window.emitted)

    def _async_records(self, account: str, context: Mapping[str, t.Any]) -> Iterable[dict]:
        """One async report per account (LIFETIME) or per 365 days (DAY); each window's rows
        sorted by (start_time, entity_id), each key once."""
        reader = async_reports.AsyncReader(self.runtime.client, self.spec)
        state = self.get_context_state(dict(context))

        def save() -> None:
            sdk_seam.write_state(self)

        if self.spec.granularity == "LIFETIME":
            seen: set[t.Any] = set()
            for record in reader.records(account, state, save):
                if record["entity_id"] not in seen:
                    seen.add(record["entity_id"])
                    yield record
            return
        planned = self._windows(account, context)
        if not planned:
            return
        for first, last in async_reports.report_windows(planned[0][0], planned[-1][1]):
            what = f"Ads {self.name} async report for ad account {account} {first}..{last}"
            with sorted_window.SortedWindow(self.runtime.temp_dir, what) as window:
                for record in reader.records(account, state, save, first, last):
                    window.add((str(record["start_time"]), str(record["entity_id"])), record)
                yield from window.records()

    def _totals_records(self, account: str, context: Mapping[str, t.Any]) -> Iterable[dict]:
        client = self.runtime.client
        ids = totals.entity_ids(client, account, self.spec)
        if self.spec.granularity == "LIFETIME":
            yield from totals.totals_records(client, account, self.spec, ids)
            return
        for first, last in self._windows(account, context):
            yield from totals.totals_records(client, account, self.spec, ids, start=first,
                                             end=last)

    def _insight_records(self, account: str) -> Iterable[dict]:
        state = self.get_context_state({"ad_account_id": account})
        today = times.utc_now().date()
        yield from insights.insight_records(self.runtime.client, account, self.spec, state,
                                            today)
        sdk_seam.write_state(self)  # the "not enough data" days, kept for the next run

    def _bookmark(self, context: Mapping[str, t.Any]) -> dt.datetime | None:
        state = self.get_context_state(dict(context))
        return bookmarks.read(self.name, self.replication_key, state, self.bookmark_parser)

    def _windows(self, account: str, context: Mapping[str, t.Any]) -> list[tuple]:
        """The report windows of this run: [first, last] pairs, inclusive, ascending (see
        `windows`)."""
        now = times.utc_now()
        bookmark = self._bookmark(context)
        runtime = self.runtime
        if self.spec.granularity == "HOUR":
            if windows.beyond_hour_history(now, bookmark):
                LOGGER.info("Ads %s (%s): HOUR reports reach back 14 days only; reading "
                            "from %s", self.name, account,
                            times.iso(windows.hour_bounds(now)[0]))
            return windows.hour_report_windows(now, bookmark, runtime.lookback_days,
                                               runtime.start_date)
        return windows.day_report_windows(now.date(), bookmark and bookmark.date(),
                                          runtime.lookback_days, runtime.start_date,
                                          runtime.timeframe_months)


def warn_deprecated(specs: Sequence[ReportSpec]) -> None:
    """One warning per deprecated field a report asks for (Spotify may stop serving it), and
    one per field the tap does not know, with the closest known one when there is one."""
    tables: dict[str, list[str]] = {}
    for spec in specs:
        for field in spec.fields:
            if field in DEPRECATED_FIELDS:
                tables.setdefault(field, []).append(spec.table)
    for field, names in sorted(tables.items()):
        LOGGER.warning("Ads report field %s (in %s) is deprecated by Spotify and may stop "
                       "being served; plan to drop it.", field, ", ".join(names))
    for spec in specs:
        for field in spec.unknown_fields:
            LOGGER.warning("Ads report field %s (in %s) is not one the tap knows; it is asked "
                           "of the API as it is%s.", field, spec.table,
                           did_you_mean(field, KNOWN_FIELDS))


def ads_streams(tap: Tap) -> list[Stream]:
    """The entity streams, then one stream per `ads_report_list` item (bad report objects
    raise `ConfigError`); all share one `AdsRuntime`.

    The entity streams are offered once an Ads refresh token is configured (or an input
    catalog names one, so that selecting it without the token is still a clear error):
    Meltano selects every discovered stream by default, and a Bulk-only project must not be
    asked for Ads credentials.
    """
    runtime = AdsRuntime(tap.config)
    specs = runtime.report_specs
    warn_deprecated(specs)
    catalog = tap.input_catalog
    named = catalog is not None and any(name in catalog for name in ENTITY_STREAM_NAMES)
    offered = runtime.refresh_token_configured or named
    entities = entity_streams(tap, runtime) if offered else []
    return [*entities, *(AdsReportStream(tap, spec, runtime) for spec in specs)]


__all__ = ["AdsReportStream", "AdsRuntime", "ads_streams"]
