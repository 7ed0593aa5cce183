"""Bulk API settings (api-contract §2) and their validation.

`PROPERTIES` feeds the tap's `config_jsonschema`; `validate` runs before any request and
raises a one-line `ConfigError` that names the setting to fix.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_spotify_bulk.bulk import countries as country_codes
from tap_spotify_bulk.bulk import dates
from tap_spotify_bulk.errors import ConfigError

if t.TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_BULK_API_URL = "https://provider-api.spotify.com/v1/analytics"
DEFAULT_END_DAYS_BACK = 1
DEFAULT_LOOKBACK_DAYS = 3
DEFAULT_MAX_WORKERS = 8
DEFAULT_DOWNLOAD_BUDGET_MB = 2000
MAX_MAX_WORKERS = 64  # larger values are capped (api-contract §2 sets no upper limit)

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_LICENSOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

PROPERTIES: tuple[th.Property, ...] = (
    th.Property(
        "client_id",
        th.StringType,
        secret=True,
        title="Client ID",
        description="Bulk API app client id (client-credentials grant). Required when a "
        "Bulk stream is selected.",
    ),
    th.Property(
        "client_secret",
        th.StringType,
        secret=True,
        title="Client Secret",
        description="Bulk API app client secret. Required when a Bulk stream is selected.",
    ),
    th.Property(
        "licensor",
        th.StringType,
        title="Licensor",
        description="Licensor name slug from the Spotify welcome email, e.g. `gyrostream`. "
        "Required when a Bulk stream is selected.",
    ),
    th.Property(
        "start_date",
        th.DateType,
        title="Start Date",
        description="First report date to extract (YYYY-MM-DD, inclusive). Wins over "
        "`start_days_back`. Without either (and without a bookmark) the run starts 7 days "
        "before the end date.",
    ),
    th.Property(
        "end_date",
        th.DateType,
        title="End Date",
        description="Last report date to extract (YYYY-MM-DD, inclusive). Wins over "
        "`end_days_back`.",
    ),
    th.Property(
        "start_days_back",
        th.IntegerType,
        title="Start Days Back",
        description="Relative start date in UTC days: 0 = today, 1 = yesterday, 7 = a week ago.",
    ),
    th.Property(
        "end_days_back",
        th.IntegerType,
        default=DEFAULT_END_DAYS_BACK,
        title="End Days Back",
        description="Relative end date in UTC days (default 1 = yesterday).",
    ),
    th.Property(
        "lookback_days",
        th.IntegerType,
        default=DEFAULT_LOOKBACK_DAYS,
        title="Lookback Days",
        description="Days before each stream's bookmark to read again on every run, for "
        "late or restated data. 0 starts the day after the bookmark.",
    ),
    th.Property(
        "countries",
        th.ArrayType(th.StringType),
        title="Countries",
        description="ISO 3166 alpha-2 codes limiting the country-partitioned reports "
        "(streams, sub30sec_streams). Default: every country the API lists.",
    ),
    th.Property(
        "max_workers",
        th.IntegerType,
        default=DEFAULT_MAX_WORKERS,
        title="Max Workers",
        description="Concurrent file downloads (at most 64 are used). Output order stays "
        "deterministic.",
    ),
    th.Property(
        "bulk_api_url",
        th.URIType,
        default=DEFAULT_BULK_API_URL,
        title="Bulk API URL",
        description="Base URL of the Spotify Bulk API.",
    ),
    th.Property(
        "temp_dir",
        th.StringType,
        title="Temporary Directory",
        description="Directory for files being downloaded (default: TMPDIR, else the system "
        "temporary directory). The files have no name there and vanish with the process.",
    ),
    th.Property(
        "download_budget_mb",
        th.NumberType,
        default=DEFAULT_DOWNLOAD_BUDGET_MB,
        title="Download Budget (MB)",
        description="Most megabytes of downloaded files waiting on temporary disk; a single "
        "larger file still goes through alone.",
    ),
)


def temp_dir(config: Mapping[str, t.Any]) -> Path | None:
    """`temp_dir` as an existing directory (None: TMPDIR)."""
    value = config.get("temp_dir")
    if value is None or value == "":
        return None
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        msg = f"`temp_dir` must be an existing directory, got {str(value)!r}."
        raise ConfigError(msg)
    return path


def download_budget_bytes(config: Mapping[str, t.Any]) -> int:
    """`download_budget_mb` in bytes."""
    value = config.get("download_budget_mb", DEFAULT_DOWNLOAD_BUDGET_MB)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not value > 0:
        msg = f"`download_budget_mb` must be a number of megabytes > 0, got {value!r}."
        raise ConfigError(msg)
    return max(1, int(float(value) * 1_000_000))


def parse_date(value: t.Any, setting: str) -> dt.date | None:
    """A `YYYY-MM-DD` setting as a date (None when unset)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        # Accept a full timestamp too (some UIs add T00:00:00Z), but only its date part.
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(
            text
        )
    except ValueError:
        msg = f"`{setting}` must be a date like 2024-03-07, got {text!r}."
        raise ConfigError(msg) from None


def non_negative_int(config: Mapping[str, t.Any], setting: str, default: int | None,
                     *, minimum: int = 0) -> int | None:
    """An integer setting, checked against `minimum` (None when unset and no default)."""
    value = config.get(setting)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"`{setting}` must be an integer >= {minimum}, got {value!r}."
        raise ConfigError(msg)
    return value


def countries(config: Mapping[str, t.Any]) -> frozenset[str] | None:
    """The upper-cased `countries` filter, or None for every listed country."""
    value = config.get("countries")
    if value is None:
        return None
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


def check_url(value: t.Any, setting: str) -> str:
    """A http(s) URL setting, without a trailing slash."""
    parsed = urlparse(str(value)) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.netloc:
        msg = f"`{setting}` must be an http(s) URL, got {value!r}."
        raise ConfigError(msg)
    return str(value).rstrip("/")


def validate(config: Mapping[str, t.Any], *, bulk_selected: bool) -> None:
    """Check the Bulk settings; raise `ConfigError` naming the first bad setting."""
    if bulk_selected:
        for setting in ("client_id", "client_secret", "licensor"):
            value = config.get(setting)
            if not isinstance(value, str) or not value.strip():
                msg = f"`{setting}` is required when a Bulk API stream is selected."
                raise ConfigError(msg)
        if not _LICENSOR.match(config["licensor"]):
            msg = "`licensor` must be the licensor slug from the welcome email, e.g. gyrostream."
            raise ConfigError(msg)
    start = parse_date(config.get("start_date"), "start_date")
    end = parse_date(config.get("end_date"), "end_date")
    non_negative_int(config, "start_days_back", None)
    non_negative_int(config, "end_days_back", DEFAULT_END_DAYS_BACK)
    non_negative_int(config, "lookback_days", DEFAULT_LOOKBACK_DAYS)
    non_negative_int(config, "max_workers", DEFAULT_MAX_WORKERS, minimum=1)
    countries(config)
    download_budget_bytes(config)
    temp_dir(config)
    check_url(config.get("bulk_api_url", DEFAULT_BULK_API_URL), "bulk_api_url")
    if start is not None and end is not None and start > end:
        msg = f"`start_date` ({start}) is after `end_date` ({end})."
        raise ConfigError(msg)
    window(config)  # relative or mixed dates: start after end is caught here


def window(config: Mapping[str, t.Any], today: dt.date | None = None) -> dates.Window:
    """The configured date window (api-contract §2 date rules), in UTC days."""
    return dates.resolve_window(
        start_date=parse_date(config.get("start_date"), "start_date"),
        end_date=parse_date(config.get("end_date"), "end_date"),
        start_days_back=non_negative_int(config, "start_days_back", None),
        end_days_back=non_negative_int(config, "end_days_back", DEFAULT_END_DAYS_BACK),
        today=today,
    )
