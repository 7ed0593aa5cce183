"""Ads API settings (api-contract §2, §5.3): their declarations and the checks across settings.

`SETTINGS` feeds the tap's JSON schema, `meltano.yml`, `plugin.yml` and the README table
(see `tap_spotify_bulk.shared_settings`); `validate` runs before any request and raises a one-line
`ConfigError` that names the setting to fix. `report_specs` turns `ads_report_list` into
checked `ReportSpec`s (also used by discovery, which needs no credentials but does need
valid report objects to build schemas).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_spotify_bulk.ads import fields as report_fields
from tap_spotify_bulk.ads import times, windows
from tap_spotify_bulk.ads.fields import E_CPM, INSIGHT_REFUSED_FIELDS
from tap_spotify_bulk.ads.token_store import ADS_TOKEN_STORE
from tap_spotify_bulk.errors import ConfigError, MissingSettingError, did_you_mean
from tap_spotify_bulk.shared_settings import CLIENT_ID, CLIENT_SECRET, Setting
from tap_spotify_bulk.stream_names import ADS_ENTITIES, BULK_TABLES

if t.TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_ADS_API_URL = "https://api-partner.spotify.com/ads/v3"

SYNC_MODES = ("ALL_ACCOUNTS", "SPECIFIC_ACCOUNTS")
TIMEFRAMES = {"THREE": 3, "SIX": 6, "TWELVE": 12, "TWENTY_FOUR": 24, "ALL_TIME": None}
ENTITY_DIMENSIONS = ("AD", "AD_SET", "CAMPAIGN", "AD_ACCOUNT")
# InsightDimensionType of the v3 specification: the fifteen breakdowns of insight reports.
INSIGHT_DIMENSIONS = (
    "AGE", "COUNTRY", "GENDER", "GENRE", "PLATFORM", "ACT_AND_SET", "AUDIENCE", "CITY",
    "FORMAT", "INTERESTS", "METRO", "PLACEMENT", "PODCAST_EPISODE_TOPIC", "REGION", "TONE",
)
INSIGHT_ENTITY_TYPES = ("AD_SET", "CAMPAIGN")  # insight reports' `entity_ids_type`
REPORT_KINDS = ("aggregate", "totals", "async")
ASYNC_STATUSES = ("ACTIVE", "PAUSED", "COMPLETED", "PENDING_APPROVAL", "REJECTED", "ARCHIVED")
# aggregate_reports/totals: reach and frequency deduplicated across up to 50 entities.
TOTALS_DIMENSIONS = ("CAMPAIGN", "AD_SET", "AD")
TOTALS_FIELDS = ("IMPRESSIONS", "CLICKS", "CTR", "REACH", "FREQUENCY")
TOTALS_MAX_ENTITIES = 50
GRANULARITIES = ("DAY", "HOUR", "LIFETIME")
_TABLE = re.compile(r"^[a-z0-9_]+$")

@dataclass(frozen=True)
class ReportSpec:
    """One checked `ads_report_list` item."""

    table: str
    dimension: str
    granularity: str
    fields: tuple[str, ...]  # as configured, upper case, E_CPM included
    entity_ids_type: str = "AD_SET"  # insight reports: one report per ad set or campaign
    kind: str = "aggregate"  # or "totals" (aggregate_reports/totals)
    entity_ids: tuple[str, ...] = ()  # totals: the entities to total (default: all)
    statuses: tuple[str, ...] = ()  # async: entity statuses (default: every status)

    @property
    def is_insight(self) -> bool:
        return self.dimension in INSIGHT_DIMENSIONS and self.kind == "aggregate"

    @property
    def is_totals(self) -> bool:
        return self.kind == "totals"

    @property
    def is_timeseries(self) -> bool:
        return self.granularity in {"DAY", "HOUR"}

    @property
    def columns(self) -> tuple[str, ...]:
        """Output metric columns, one per configured field, lower case."""
        return tuple(field.lower() for field in self.fields)

    @property
    def unknown_fields(self) -> tuple[str, ...]:
        """Configured fields the tap does not know: passed to the API as they are."""
        known = (report_fields.ASYNC_METRICS if self.kind == "async"
                 else report_fields.KNOWN_FIELDS)
        return tuple(f for f in self.fields if f not in known)

    @property
    def api_fields(self) -> tuple[str, ...]:
        """Fields to request: E_CPM replaced by SPEND and IMPRESSIONS."""
        wanted = [f for f in self.fields if f != E_CPM]
        if E_CPM in self.fields:
            wanted += [f for f in ("SPEND", "IMPRESSIONS") if f not in wanted]
        return tuple(wanted)


def _report_spec(item: t.Any, index: int) -> ReportSpec:
    where = f"`ads_report_list` item {index + 1}"
    if not isinstance(item, dict):
        msg = f"{where} must be an object with table, dimension, granularity and fields."
        raise ConfigError(msg)
    keys = ("table", "dimension", "granularity", "fields", "entity_ids_type", "kind",
            "entity_ids", "statuses")
    unknown = sorted(set(item) - set(keys))
    if unknown:
        named = ", ".join(f"{key}{did_you_mean(key, keys)}" for key in unknown)
        msg = f"{where} has unknown key(s) {named}."
        raise ConfigError(msg)
    table = item.get("table")
    if not isinstance(table, str) or not _TABLE.match(table):
        msg = f"{where}: `table` must be lower case letters, digits and _, got {table!r}."
        raise ConfigError(msg)
    where = f"`ads_report_list` table {table!r}"
    if table in BULK_TABLES or table in ADS_ENTITIES:
        api = "a Bulk API" if table in BULK_TABLES else "an Ads entity"
        msg = f"{where}: the name is taken by {api} stream; choose another."
        raise ConfigError(msg)
    dimension = str(item.get("dimension") or "").upper()
    if dimension not in ENTITY_DIMENSIONS + INSIGHT_DIMENSIONS:
        known = ENTITY_DIMENSIONS + INSIGHT_DIMENSIONS
        msg = (f"{where}: unknown dimension {item.get('dimension')!r}"
               f"{did_you_mean(dimension, known)} (use one of {', '.join(known)}).")
        raise ConfigError(msg)
    granularity = str(item.get("granularity") or "LIFETIME").upper()
    if granularity not in GRANULARITIES:
        msg = (f"{where}: unknown granularity {item.get('granularity')!r}"
               f"{did_you_mean(granularity, GRANULARITIES)} (DAY, HOUR, LIFETIME).")
        raise ConfigError(msg)
    if dimension in INSIGHT_DIMENSIONS and granularity != "LIFETIME":
        msg = f"{where}: insight dimension {dimension} only supports LIFETIME granularity."
        raise ConfigError(msg)
    fields = _fields(item, where, dimension)
    spec = ReportSpec(table, dimension, granularity, fields,
                      _entity_ids_type(item, where, dimension))
    kind = str(item.get("kind") or "aggregate").lower()
    if kind not in REPORT_KINDS:
        msg = f"{where}: unknown kind {item.get('kind')!r} (aggregate, totals or async)."
        raise ConfigError(msg)
    if "entity_ids" in item and kind != "totals":
        msg = f"{where}: `entity_ids` applies to totals (kind: totals) only; remove it."
        raise ConfigError(msg)
    if "statuses" in item and kind != "async":
        msg = f"{where}: `statuses` applies to async reports (kind: async) only; remove it."
        raise ConfigError(msg)
    if kind == "async":
        return _async_spec(spec, item, where)
    return _totals_spec(spec, item, where) if kind == "totals" else spec


def _async_spec(spec: ReportSpec, item: dict, where: str) -> ReportSpec:
    """A checked `kind: async` report object (async CSV reports)."""
    if spec.dimension not in ENTITY_DIMENSIONS:
        msg = (f"{where}: async reports take dimension AD, AD_SET, CAMPAIGN or AD_ACCOUNT, "
               f"not {spec.dimension}.")
        raise ConfigError(msg)
    if spec.granularity not in {"DAY", "LIFETIME"}:
        msg = f"{where}: async reports take granularity DAY or LIFETIME, not {spec.granularity}."
        raise ConfigError(msg)
    statuses = item.get("statuses", [])
    if not isinstance(statuses, list) or not all(
            isinstance(s, str) and s.upper() in ASYNC_STATUSES for s in statuses):
        msg = f"{where}: `statuses` must be a list of {', '.join(ASYNC_STATUSES)}."
        raise ConfigError(msg)
    return dataclasses.replace(spec, kind="async",
                               statuses=tuple(dict.fromkeys(s.upper() for s in statuses)))


def _fields(item: dict, where: str, dimension: str) -> tuple[str, ...]:
    raw_fields = item.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        msg = f"{where}: `fields` must be a non-empty list of report fields."
        raise ConfigError(msg)
    fields: list[str] = []
    for raw in raw_fields:
        field = raw.strip().upper() if isinstance(raw, str) else ""
        if not report_fields.FIELD_NAME.match(field):  # any other name goes to the API
            msg = (f"{where}: {raw!r} is not a report field name (letters, digits and _, "
                   "e.g. IMPRESSIONS).")
            raise ConfigError(msg)
        if field in fields:
            msg = f"{where}: field {field} is listed twice."
            raise ConfigError(msg)
        if dimension in INSIGHT_DIMENSIONS and field in INSIGHT_REFUSED_FIELDS:
            msg = f"{where}: field {field} is not available for insight dimension {dimension}."
            raise ConfigError(msg)
        fields.append(field)
    return tuple(fields)


def _totals_spec(spec: ReportSpec, item: dict, where: str) -> ReportSpec:
    """A checked `kind: totals` report object (aggregate_reports/totals)."""
    if spec.dimension not in TOTALS_DIMENSIONS:
        msg = f"{where}: totals take dimension CAMPAIGN, AD_SET or AD, not {spec.dimension}."
        raise ConfigError(msg)
    if spec.granularity not in {"DAY", "LIFETIME"}:
        msg = f"{where}: totals take granularity DAY or LIFETIME, not {spec.granularity}."
        raise ConfigError(msg)
    refused = [f for f in spec.fields if f not in TOTALS_FIELDS]
    if refused:
        msg = (f"{where}: totals serve {', '.join(TOTALS_FIELDS)} only, not "
               f"{', '.join(refused)}.")
        raise ConfigError(msg)
    ids = item.get("entity_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
        msg = f"{where}: `entity_ids` must be a list of entity ids."
        raise ConfigError(msg)
    unique = tuple(dict.fromkeys(i.strip() for i in ids))
    if len(unique) > TOTALS_MAX_ENTITIES:
        msg = f"{where}: totals take at most {TOTALS_MAX_ENTITIES} `entity_ids`."
        raise ConfigError(msg)
    return dataclasses.replace(spec, kind="totals", entity_ids=unique)


def _entity_ids_type(item: dict, where: str, dimension: str) -> str:
    """An insight report's `entity_ids_type` (AD_SET by default); other reports have none."""
    raw = item.get("entity_ids_type")
    if raw is None:
        return "AD_SET"
    if dimension not in INSIGHT_DIMENSIONS:
        msg = f"{where}: `entity_ids_type` applies to insight dimensions only; remove it."
        raise ConfigError(msg)
    value = str(raw).upper()
    if value not in INSIGHT_ENTITY_TYPES:
        msg = f"{where}: unknown entity_ids_type {raw!r} (use AD_SET or CAMPAIGN)."
        raise ConfigError(msg)
    return value


def _report_list(items: t.Any) -> list[ReportSpec]:
    if not isinstance(items, list):
        msg = "`ads_report_list` must be a list of report objects."
        raise ConfigError(msg)
    specs = [_report_spec(item, i) for i, item in enumerate(items)]
    seen: set[str] = set()
    for spec in specs:
        if spec.table in seen:
            msg = f"`ads_report_list`: table {spec.table!r} is used twice."
            raise ConfigError(msg)
        seen.add(spec.table)
    return specs




def _accounts(value: t.Any) -> list[str]:
    if isinstance(value, str):  # tolerate "a,b" from an env var or a UI
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        msg = "`ads_accounts` must be a list of ad account ids."
        raise ConfigError(msg)
    return list(dict.fromkeys(v.strip() for v in value))


def _not_in_future(day: dt.date) -> dt.date:
    if day > times.utc_now().date():
        msg = f"`ads_start_date` ({day}) is in the future; use a past day or leave it unset."
        raise ConfigError(msg)
    return day


_GROUP = "Ads API"

ADS_CLIENT_ID = Setting(
    "ads_client_id", "string", "Ads Client ID",
    "Spotify Ads API app client id. Defaults to `client_id`.", group=_GROUP, sensitive=True)
ADS_CLIENT_SECRET = Setting(
    "ads_client_secret", "string", "Ads Client Secret",
    "Spotify Ads API app client secret. Defaults to `client_secret`.", group=_GROUP,
    sensitive=True)
ADS_REFRESH_TOKEN = Setting(
    "ads_refresh_token", "string", "Ads Refresh Token",
    "Refresh token from the Ads API authorization-code flow. Required when "
    "`ads_report_list` is not empty. Spotify refresh tokens expire 6 months after "
    "authorization. A token the API rotates is kept in `ads_token_store` and used from "
    "then on; a newly configured token wins over the stored one.",
    group=_GROUP, sensitive=True)
ADS_API_URL = Setting(
    "ads_api_url", "url", "Ads API URL", "Base URL of the Spotify Ads API v3.",
    group=_GROUP, default=DEFAULT_ADS_API_URL)
ADS_SYNC_MODE = Setting(
    "ads_sync_mode", "options", "Ads Sync Mode",
    "ALL_ACCOUNTS: every ad account of every business the token can see (de-duplicated). "
    "SPECIFIC_ACCOUNTS: only the ids in `ads_accounts`.", group=_GROUP,
    default="ALL_ACCOUNTS", options=SYNC_MODES)
ADS_ACCOUNTS = Setting(
    "ads_accounts", "array", "Ads Accounts",
    "Ad account ids to extract when `ads_sync_mode` is SPECIFIC_ACCOUNTS.", group=_GROUP,
    default=[], parse=_accounts)
ADS_REPORT_LIST = Setting(
    "ads_report_list", "array", "Ads Report List",
    "Ads reports to extract; each becomes one stream named by its `table`: aggregate or "
    "insight reports (the default), `kind: totals` (deduplicated reach and frequency) or "
    "`kind: async` (async CSV reports, up to 365 days each). Every record carries its ad "
    "account's `currency_code`.", group=_GROUP,
    default=[], parse=_report_list,
    schema=th.ArrayType(th.ObjectType(
        th.Property("table", th.StringType, required=True,
                    description="Stream name: lower case, [a-z0-9_]+, unique."),
        # No JSON Schema enums here: values are matched case-insensitively and a bad one
        # gets `_report_spec`'s one-line message.
        th.Property("dimension", th.StringType, required=True,
                    description="AD, AD_SET, CAMPAIGN, AD_ACCOUNT, or an insight dimension "
                    f"({', '.join(INSIGHT_DIMENSIONS)}; LIFETIME only)."),
        th.Property("granularity", th.StringType,
                    description="DAY, HOUR or LIFETIME (default LIFETIME)."),
        th.Property("fields", th.ArrayType(th.StringType), required=True,
                    description=report_fields.describe()),
        th.Property("kind", th.StringType,
                    description="aggregate (default): aggregate or insight reports; async: "
                    "async CSV reports (DAY or LIFETIME, up to 365 days per report, metrics "
                    "of AsyncReportMetric); totals: "
                    "aggregate_reports/totals, reach and frequency deduplicated across the "
                    "entities of `dimension` (CAMPAIGN, AD_SET, AD), one row per account "
                    "(LIFETIME) or per account and day (DAY), fields IMPRESSIONS, CLICKS, "
                    "CTR, REACH, FREQUENCY."),
        th.Property("statuses", th.ArrayType(th.StringType),
                    description="Async reports only: entity statuses to include (default: "
                    "every status; the API's own default is ACTIVE only)."),
        th.Property("entity_ids", th.ArrayType(th.StringType),
                    description="Totals only: the entities to total (at most 50); default "
                    "every entity of `dimension` in each account."),
        th.Property("entity_ids_type", th.StringType,
                    description="Insight dimensions only: AD_SET (default) reads one insight "
                    "report per ad set, CAMPAIGN one per campaign."),
    )))
ADS_TIMEFRAME_MONTHS = Setting(
    "ads_timeframe_months", "options", "Ads Timeframe Months",
    "History read by DAY reports on the first sync: THREE, SIX, TWELVE, TWENTY_FOUR months, "
    "or ALL_TIME (from 2017-01-01). HOUR reports are limited by the API to the last 14 days.",
    group=_GROUP, default="SIX", options=tuple(TIMEFRAMES))
ADS_START_DATE = Setting(
    "ads_start_date", "date", "Ads Start Date",
    "First day of DAY report history on the first sync (YYYY-MM-DD). When set it wins over "
    "`ads_timeframe_months`; later syncs start from the bookmark, never before this day. HOUR "
    "reports still reach back 14 days at most. The Bulk `start_date` does not apply to Ads "
    "reports.", group=_GROUP, parse=_not_in_future)
ADS_LOOKBACK_DAYS = Setting(
    "ads_lookback_days", "integer", "Ads Lookback Days",
    "Days of DAY and HOUR reports read again on every run, counted back from today, so "
    "that figures Spotify credits late (conversions up to about 30 days after the day, "
    "streaming metrics 14 days) replace the ones read before; a run also reads from its "
    "bookmark on when that is earlier. The default, 90, re-reads the last 90 days of DAY "
    "reports (one request per report and ad account, plus pages) and the 14 days of HOUR "
    "reports the API serves. Lower it to read less; 0 reads from the bookmark on.",
    group=_GROUP, default=windows.DEFAULT_REREAD_DAYS)

SETTINGS: tuple[Setting, ...] = (
    ADS_CLIENT_ID, ADS_CLIENT_SECRET, ADS_REFRESH_TOKEN, ADS_API_URL, ADS_SYNC_MODE,
    ADS_ACCOUNTS, ADS_REPORT_LIST, ADS_TIMEFRAME_MONTHS, ADS_START_DATE, ADS_LOOKBACK_DAYS,
    ADS_TOKEN_STORE,
)


def report_specs(config: Mapping[str, t.Any]) -> list[ReportSpec]:
    """The checked `ads_report_list`; raises `ConfigError` on the first bad item."""
    return list(ADS_REPORT_LIST.value(config))


def lookback_days(config: Mapping[str, t.Any]) -> int:
    return int(ADS_LOOKBACK_DAYS.value(config))


def timeframe_months(config: Mapping[str, t.Any]) -> int | None:
    """Months of DAY history on a first sync; None for ALL_TIME."""
    return TIMEFRAMES[ADS_TIMEFRAME_MONTHS.value(config)]


def start_date(config: Mapping[str, t.Any]) -> dt.date | None:
    """`ads_start_date`, None when unset; a day after today is a configuration error."""
    return ADS_START_DATE.value(config)


def sync_mode(config: Mapping[str, t.Any]) -> str:
    return str(ADS_SYNC_MODE.value(config))


def accounts(config: Mapping[str, t.Any]) -> list[str]:
    return list(ADS_ACCOUNTS.value(config))


def api_url(config: Mapping[str, t.Any]) -> str:
    return str(ADS_API_URL.value(config))


def refresh_token_configured(config: Mapping[str, t.Any]) -> bool:
    """Whether `ads_refresh_token` is set at all (a malformed value is `validate`'s to
    report: discovery never fails on it)."""
    return bool(config.get(ADS_REFRESH_TOKEN.name))


# The Ads app's credentials, each with the setting it falls back to when unset: the Ads app
# may be the Bulk app. Declared once, for the tap's runs and for `ads-login`.
CREDENTIAL_FALLBACKS: tuple[tuple[Setting, Setting | None], ...] = (
    (ADS_CLIENT_ID, CLIENT_ID), (ADS_CLIENT_SECRET, CLIENT_SECRET), (ADS_REFRESH_TOKEN, None))


def credential(config: Mapping[str, t.Any], setting: Setting,
               fallback: Setting | None) -> str | None:
    """One Ads app credential, else the setting it falls back to (a pair of
    `CREDENTIAL_FALLBACKS`); None when neither is set."""
    return setting.value(config) or (fallback.value(config) if fallback else None)


def credentials(config: Mapping[str, t.Any]) -> tuple[str, str, str]:
    """(client id, client secret, refresh token) for the Ads API, defaults applied."""
    values = []
    for setting, fallback in CREDENTIAL_FALLBACKS:
        value = credential(config, setting, fallback)
        if not value:
            also = f" (or `{fallback.name}`)" if fallback else ""
            msg = (f"`{setting.name}`{also} is required when Ads API reports are selected (the "
                   "Ads entity streams need it too).")
            raise MissingSettingError(msg, *(s.name for s in (setting, fallback) if s))
        values.append(value)
    return values[0], values[1], values[2]


def validate(config: Mapping[str, t.Any], *, ads_selected: bool) -> None:
    """Check the Ads settings; raise `ConfigError` naming the first bad setting."""
    for setting in SETTINGS:
        setting.value(config)
    if sync_mode(config) == "SPECIFIC_ACCOUNTS" and not accounts(config):
        msg = "`ads_accounts` must list at least one ad account id with SPECIFIC_ACCOUNTS."
        raise MissingSettingError(msg, ADS_ACCOUNTS.name)
    if ads_selected:  # a report or entity stream is selected
        credentials(config)
