"""Ads API report streams: one stream per `ads_report_list` item, partitioned by ad account.

Why a plain SDK `Stream` and not `RESTStream`: a DAY report is a sequence of 90-day windows,
each a chain of continuation-token pages, and an insight report is one call per ad set;
every call also needs the shared pacing and the Ads 429/401 rules of `AdsClient`. The
SDK still owns catalog, selection, conformance, stream maps and state.

State: DAY/HOUR streams bookmark `start_time` per ad account. Each window's rows are
emitted sorted by (start_time, entity_id) so the bookmark only grows within a window and
the state is resumable; `check_sorted` is off because a run re-reads `ads_lookback_days`
before the bookmark on purpose.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
from functools import cached_property

from singer_sdk import Stream
from singer_sdk import typing as th

from tap_spotify_bulk import bookmarks
from tap_spotify_bulk.ads import reports, settings, windows
from tap_spotify_bulk.ads.client import AdsClient
from tap_spotify_bulk.auth import DEFAULT_TOKEN_URL, TokenClient
from tap_spotify_bulk.errors import AccessError
from tap_spotify_bulk.progress import Progress, ProgressMetric

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap

    from tap_spotify_bulk.ads.settings import ReportSpec

LOGGER = logging.getLogger("tap_spotify_bulk.ads")


class AdsContext:
    """What every Ads stream of one tap shares: the token client, the paced HTTP client and
    the discovered ad accounts. Built on first use, so discovery needs no credentials."""

    def __init__(self, config: Mapping[str, t.Any]) -> None:
        self.config = config

    @cached_property
    def client(self) -> AdsClient:
        client_id, client_secret, refresh_token = settings.credentials(self.config)
        tokens = TokenClient(
            token_url=self.config.get("token_url") or DEFAULT_TOKEN_URL,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            api_name="Ads API",
            id_setting="ads_client_id",
            secret_setting="ads_client_secret",  # noqa: S106 (a setting name)
            refresh_setting="ads_refresh_token",
        )
        return AdsClient(base_url=settings.api_url(self.config), tokens=tokens)

    @cached_property
    def accounts(self) -> list[str]:
        """Ad account ids to extract, in a stable order, each once."""
        if settings.sync_mode(self.config) == "SPECIFIC_ACCOUNTS":
            listed = settings.accounts(self.config)
            for account in listed:
                self._check_account(account)
            return listed
        found: dict[str, None] = {}
        body = self.client.get_json("/businesses", what="Ads business list")
        for business in body.get("businesses") or []:
            business_id = business.get("id") if isinstance(business, dict) else None
            if not business_id:
                continue
            page = self._business_accounts(str(business_id))
            for account in page.get("ad_accounts") or []:
                if isinstance(account, dict) and account.get("id"):
                    found.setdefault(str(account["id"]), None)
        LOGGER.info("Ads: %d ad account(s) found across businesses", len(found))
        return list(found)

    def _business_accounts(self, business_id: str) -> dict:
        """One business's ad account list; {} when the token may not see it (403) or the
        business is gone (404): it then adds no account, which is not an error."""
        what = f"Ads ad account list of business {business_id}"
        response = self.client.get(f"/businesses/{business_id}/ad_accounts", what=what)
        if response.status_code in {403, 404}:
            LOGGER.warning("%s: HTTP %d, no ad account of this business is read",
                           what, response.status_code)
            return {}
        if response.status_code != 200:
            raise self.client.failure(response, what)
        return self.client.json_object(response, what)

    def _check_account(self, account: str) -> None:
        what = f"Ads ad account {account}"
        response = self.client.get(f"/ad_accounts/{account}", what=what)
        if response.status_code in {400, 403, 404}:  # 400: not even a well-formed id
            msg = (f"`ads_accounts`: ad account {account!r} was not found or is not "
                   f"accessible with this token (HTTP {response.status_code}).")
            raise AccessError(msg)
        if response.status_code != 200:
            raise self.client.failure(response, what)



def report_schema(spec: ReportSpec) -> dict:
    text = th.StringType
    properties = [
        th.Property("ad_account_id", text, required=True),
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
    bookmark_parser = staticmethod(windows.parse_time)

    def __init__(self, tap: Tap, spec: ReportSpec, shared: AdsContext) -> None:
        self.spec = spec
        self.shared = shared
        super().__init__(tap=tap, name=spec.table, schema=report_schema(spec))
        self.primary_keys = primary_keys(spec)
        if spec.is_timeseries:
            self.replication_key = "start_time"

    @property
    def check_sorted(self) -> bool:
        return False  # lookback re-reads days before the bookmark on purpose

    @property
    def partitions(self) -> list[dict] | None:
        return [{"ad_account_id": account} for account in self.shared.accounts]

    def get_records(self, context: Mapping[str, t.Any] | None) -> Iterable[dict]:
        if not context:
            return
        account = context["ad_account_id"]
        if self.spec.is_insight:
            yield from self._insight_records(account)
        elif self.spec.granularity == "LIFETIME":
            seen: set[t.Any] = set()
            for row in reports.aggregate_rows(self.shared.client, account, self.spec):
                record = reports.aggregate_record(self.spec, account, row)
                if record["entity_id"] not in seen:  # pages may overlap: one key once
                    seen.add(record["entity_id"])
                    yield record
        else:
            planned = self._windows(account, context)
            progress = Progress(self.name, len(planned), ProgressMetric.ADS_WINDOWS,
                                "window", ad_account_id=account)
            for first, last in planned:
                rows = {}  # (start_time, entity_id) -> record: overlapping pages count once
                for row in reports.aggregate_rows(self.shared.client, account, self.spec,
                                                  start=first, end=last):
                    record = reports.aggregate_record(self.spec, account, row)
                    rows[str(record["start_time"]), str(record["entity_id"])] = record
                yield from (rows[k] for k in sorted(rows))
                progress.step(f"{windows.iso(first)}..{windows.iso(last)}", len(rows))

    def _insight_records(self, account: str) -> Iterable[dict]:
        client = self.shared.client
        done: set[str] = set()  # a listing whose pages overlap names an ad set twice
        for ad_set in reports.listing(client, account, "ad_sets"):
            ad_set_id = str(ad_set.get("id") or "")
            if not ad_set_id or ad_set_id in done:
                continue
            done.add(ad_set_id)
            values: set[t.Any] = set()
            for row in reports.insight_rows(client, account, self.spec, ad_set_id):
                record = reports.insight_record(self.spec, account, ad_set, row)
                if record["insight_value"] not in values:
                    values.add(record["insight_value"])
                    yield record

    def _bookmark(self, context: Mapping[str, t.Any]) -> dt.datetime | None:
        state = self.get_context_state(dict(context))
        return bookmarks.read(self.name, self.replication_key, state, self.bookmark_parser)

    def _windows(self, account: str, context: Mapping[str, t.Any]) -> list[tuple]:
        """The report windows of this run: [first, last] pairs, inclusive, ascending."""
        now = windows.utc_now()
        bookmark = self._bookmark(context)
        lookback = dt.timedelta(days=settings.lookback_days(self.config))
        months = settings.timeframe_months(self.config)
        today = now.date()
        if self.spec.granularity == "HOUR":
            earliest, latest = windows.hour_bounds(now)
            start = earliest if bookmark is None else windows.floor_hour(bookmark - lookback)
            if bookmark is None or start < earliest:
                LOGGER.info("Ads %s (%s): HOUR reports reach back 14 days only; reading "
                            "from %s", self.name, account, windows.iso(earliest))
                start = earliest
            return [(start, latest)] if start <= latest else []
        if bookmark is not None:
            first_day = (bookmark - lookback).date()
        elif months is not None:
            first_day = windows.months_back(today, months)
        else:  # ALL_TIME: SPEC §5.3 reads from 2017-01-01, whatever the campaigns say
            first_day = windows.ALL_TIME_START
        return windows.day_windows(first_day, today - dt.timedelta(days=1))


def ads_streams(tap: Tap) -> list[Stream]:
    """One stream per `ads_report_list` item (bad report objects raise `ConfigError`)."""
    specs = settings.report_specs(tap.config)
    if not specs:
        return []
    shared = AdsContext(tap.config)
    return [AdsReportStream(tap, spec, shared) for spec in specs]


__all__ = ["AdsContext", "AdsReportStream", "ads_streams"]
