"""Bulk API settings (api-contract §2): their declarations and the checks across settings.

`SETTINGS` feeds the tap's JSON schema, `meltano.yml`, `plugin.yml` and the README table
(see `tap_spotify_bulk.shared_settings`); `validate` runs before any request and raises a one-line
`ConfigError` that names the setting to fix. The accessors below return checked values.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import typing as t

from tap_spotify_bulk.bulk import countries as country_codes
from tap_spotify_bulk.bulk import dates
from tap_spotify_bulk.errors import ConfigError, MissingSettingError
from tap_spotify_bulk.shared_settings import CLIENT_ID, CLIENT_SECRET, TEMP_DIR, Setting

if t.TYPE_CHECKING:
    from collections.abc import Mapping

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")

DEFAULT_BULK_API_URL = "https://provider-api.spotify.com/v1/analytics"
WORKERS_CAP = 64  # larger `max_workers` values are capped (api-contract §2 sets no upper limit)

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_LICENSOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_GROUP = "Bulk API"


def _countries(value: t.Any) -> frozenset[str] | None:
    """The upper-cased `countries` filter, or None for every listed country."""
    if not isinstance(value, list | tuple):
        msg = "`countries` must be a list of ISO 3166 alpha-2 codes, e.g. [\"SE\", \"NO\"]."
        raise ConfigError(msg)
    codes = []
    for code in value:
        if not isinstance(code, str) or not _COUNTRY.match(code.strip()):
            msg = f"`countries` holds {code!r}, which is not an ISO 3166 alpha-2 code."
            raise ConfigError(msg)
        problem = country_codes.problem(code.strip().upper())
        if problem:
            msg = f"`countries` holds {code!r}, which is not an ISO 3166 alpha-2 code ({problem})."
            raise ConfigError(msg)
        codes.append(code.strip().upper())
    return frozenset(codes) if codes else None


def _licensor(value: str) -> str:
    if not _LICENSOR.match(value):
        msg = "`licensor` must be the licensor slug from the welcome email, e.g. gyrostream."
        raise ConfigError(msg)
    return value


LICENSOR = Setting(
    "licensor", "string", "Licensor",
    "Licensor name slug from the Spotify welcome email, e.g. `gyrostream`. Required when a "
    "Bulk stream is selected.", group=_GROUP, parse=_licensor)
START_DATE = Setting(
    "start_date", "date", "Start Date",
    "First report date to extract (YYYY-MM-DD, inclusive). Wins over `time_period` and "
    "`start_days_back`. Without any of them (and without a bookmark) the run starts 7 days "
    "before the end date.", group=_GROUP)
END_DATE = Setting(
    "end_date", "date", "End Date",
    "Last report date to extract (YYYY-MM-DD, inclusive). Wins over `time_period` and "
    "`end_days_back`.", group=_GROUP)
TIME_PERIOD = Setting(
    "time_period", "options", "Time Period",
    "A calendar window in UTC instead of dates: LAST_7_DAYS and LAST_30_DAYS (ending "
    "yesterday), LAST_WEEK (Monday to Sunday), LAST_MONTH, or MONTH_TO_DATE, "
    "QUARTER_TO_DATE, YEAR_TO_DATE (ending at `end_days_back`). `start_date` and `end_date` "
    "win over it, it wins over `start_days_back`. With a bookmark it only sets the first "
    "sync's start; later runs continue from the bookmark up to the period's end.",
    group=_GROUP, options=dates.PRESETS)
START_DAYS_BACK = Setting(
    "start_days_back", "integer", "Start Days Back",
    "Relative start date in UTC days: 0 = today, 1 = yesterday, 7 = a week ago.",
    group=_GROUP)
END_DAYS_BACK = Setting(
    "end_days_back", "integer", "End Days Back",
    "Relative end date in UTC days (default 1 = yesterday).", group=_GROUP, default=1)
LOOKBACK_DAYS = Setting(
    "lookback_days", "integer", "Lookback Days",
    "Days before each stream's bookmark to read again on every run, for late or restated "
    "data. 0 starts the day after the bookmark.", group=_GROUP, default=3)
COUNTRIES = Setting(
    "countries", "array", "Countries",
    "ISO 3166 alpha-2 codes limiting the country-partitioned reports (streams, "
    "sub30sec_streams). Default: every country the API lists.", group=_GROUP,
    parse=_countries)
MAX_WORKERS = Setting(
    "max_workers", "integer", "Max Workers",
    f"Concurrent file downloads (at most {WORKERS_CAP} are used). Output order stays "
    "deterministic.", group=_GROUP, default=8, minimum=1)
BULK_API_URL = Setting(
    "bulk_api_url", "url", "Bulk API URL", "Base URL of the Spotify Bulk API.",
    group=_GROUP, default=DEFAULT_BULK_API_URL)
DOWNLOAD_BUDGET_MB = Setting(
    "download_budget_mb", "number", "Download Budget (MB)",
    "Most megabytes of downloaded files waiting on temporary disk; a single larger file "
    "still goes through alone.", group=_GROUP, default=2000)

SETTINGS: tuple[Setting, ...] = (
    CLIENT_ID, CLIENT_SECRET, LICENSOR, START_DATE, END_DATE, TIME_PERIOD, START_DAYS_BACK,
    END_DAYS_BACK, LOOKBACK_DAYS, COUNTRIES, MAX_WORKERS, BULK_API_URL, TEMP_DIR,
    DOWNLOAD_BUDGET_MB,
)
CREDENTIALS = (CLIENT_ID, CLIENT_SECRET, LICENSOR)


def validate(config: Mapping[str, t.Any], *, bulk_selected: bool) -> None:
    """Check the Bulk settings; raise `ConfigError` naming the first bad setting."""
    if bulk_selected:
        for setting in CREDENTIALS:
            if not setting.value(config):
                msg = f"`{setting.name}` is required when a Bulk API stream is selected."
                raise MissingSettingError(msg, setting.name)
    for setting in SETTINGS:
        setting.value(config)
    start, end = START_DATE.value(config), END_DATE.value(config)
    if start is not None and end is not None and start > end:
        msg = f"`start_date` ({start}) is after `end_date` ({end})."
        raise ConfigError(msg)
    window(config)  # relative, preset or mixed dates: start after end is caught here
    batch = config.get("batch_config")
    size = batch.get("batch_size", 1) if isinstance(batch, dict) else 1
    if type(size) is not int or size < 1:
        msg = f"`batch_config`: `batch_size` must be a whole number of records, at least 1 " \
              f"({size!r})."
        raise ConfigError(msg)


def window(config: Mapping[str, t.Any], today: dt.date | None = None) -> dates.Window:
    """The configured date window (api-contract §2 date rules), in UTC days."""
    return dates.resolve_window(
        start_date=START_DATE.value(config),
        end_date=END_DATE.value(config),
        start_days_back=START_DAYS_BACK.value(config),
        end_days_back=END_DAYS_BACK.value(config),
        time_period=TIME_PERIOD.value(config),
        today=today,
    )


def lookback_days(config: Mapping[str, t.Any]) -> int:
    return int(LOOKBACK_DAYS.value(config))


def max_workers(config: Mapping[str, t.Any]) -> int:
    value = int(MAX_WORKERS.value(config))
    if value > WORKERS_CAP:
        LOGGER.warning("`max_workers` %d is more than %d: using %d concurrent downloads",
                       value, WORKERS_CAP, WORKERS_CAP)
        return WORKERS_CAP
    return value


def countries(config: Mapping[str, t.Any]) -> frozenset[str] | None:
    return COUNTRIES.value(config)


def api_url(config: Mapping[str, t.Any]) -> str:
    return str(BULK_API_URL.value(config))


def download_budget_bytes(config: Mapping[str, t.Any]) -> int:
    """`download_budget_mb` in bytes."""
    return max(1, int(DOWNLOAD_BUDGET_MB.value(config) * 1_000_000))
