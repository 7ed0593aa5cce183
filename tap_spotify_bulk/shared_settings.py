"""One declaration per setting, and the value checks every setting of a kind shares.

A `Setting` is declared once (in `bulk/settings.py`, `ads/settings.py`, `ads/token_store.py`,
or here for the settings both APIs read: `TOKEN_URL`, the Bulk app's credentials, `TEMP_DIR`)
and drives everything else: the tap's JSON schema (`property`), the one-line check and typed
value (`value`), the Meltano definition in `meltano.yml` and `plugin.yml` (`meltano`), and the
README settings table (`tap_spotify_bulk.plugin_definition`).

Every check raises a one-line `ConfigError` that names the setting; values of sensitive
settings are never quoted.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_spotify_bulk.auth import DEFAULT_TOKEN_URL
from tap_spotify_bulk.errors import ConfigError, did_you_mean

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Kind = t.Literal["string", "integer", "number", "date", "url", "options", "array"]

# Meltano's `kind` for each declared kind.
MELTANO_KINDS: dict[str, str] = {
    "string": "string", "integer": "integer", "number": "decimal", "date": "date_iso8601",
    "url": "string",
    "options": "options", "array": "array",
}


def unset(value: t.Any) -> bool:
    """None and "" mean "not configured" (UIs and env files produce empty strings)."""
    return value is None or value == ""


def integer(value: t.Any, setting: str, minimum: int) -> int:
    """A whole number >= `minimum`; JSON numbers only (no bools, no digit strings)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"`{setting}` must be an integer >= {minimum}, got {value!r}."
        raise ConfigError(msg)
    return value


def number(value: t.Any, setting: str, minimum: float) -> float:
    """A number > `minimum` (JSON numbers only, which the SDK may read as `Decimal`; no
    bools, no digit strings)."""
    if (isinstance(value, bool) or not isinstance(value, int | float | Decimal)
            or not value > minimum):
        msg = f"`{setting}` must be a number > {minimum}, got {value!r}."
        raise ConfigError(msg)
    return float(value)


def url(value: t.Any, setting: str) -> str:
    """An http(s) URL, without a trailing slash."""
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.netloc:
        msg = f"`{setting}` must be an http(s) URL, got {value!r}."
        raise ConfigError(msg)
    return value.rstrip("/")


def date(value: t.Any, setting: str) -> dt.date:
    """A `YYYY-MM-DD` date; a full timestamp is accepted (some UIs add T00:00:00Z), but
    only its date part is used."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10] if len(text) >= 10 else text)
    except ValueError:
        msg = f"`{setting}` must be a date like 2024-03-07, got {text!r}."
        raise ConfigError(msg) from None


@dataclass(frozen=True)
class Setting:
    """One tap setting: its name, kind, default and documentation.

    `parse` refines an array's (or string's) value after the kind check: element checks
    and normalisation, with its own one-line messages. `schema` overrides the JSON schema
    type of an array whose items are objects.
    """

    name: str
    kind: Kind
    label: str
    description: str
    group: str  # "Bulk API", "Ads API" or "Both APIs": the README table's grouping
    default: t.Any = None
    sensitive: bool = False
    minimum: int = 0  # integers: at least this; numbers: more than this
    options: tuple[str, ...] = ()
    parse: Callable[[t.Any], t.Any] | None = None
    schema: th.JSONTypeHelper | None = None

    # -- the JSON schema ------------------------------------------------------------------

    def property(self) -> th.Property:
        json_type: t.Any = {
            "string": th.StringType,
            "integer": th.IntegerType,
            "number": th.NumberType,
            "date": th.DateType,
            "url": th.URIType,
            "options": th.StringType(allowed_values=list(self.options)),
            "array": th.ArrayType(th.StringType),
        }[self.kind]
        return th.Property(self.name, self.schema or json_type, default=self.default,
                           secret=self.sensitive or None, title=self.label,
                           description=self.description)

    # -- the checked value ----------------------------------------------------------------

    def value(self, config: Mapping[str, t.Any]) -> t.Any:
        """The setting's checked value, or its default when unset."""
        raw = config.get(self.name)
        if unset(raw):
            raw = self.default
            if unset(raw):
                return None
        checked = KIND_CHECKS[self.kind](raw, self)
        return self.parse(checked) if self.parse else checked

    # -- Meltano ------------------------------------------------------------------------------

    def meltano(self) -> dict[str, t.Any]:
        """The setting as Meltano declares it (`meltano.yml`, `plugin.yml`)."""
        entry: dict[str, t.Any] = {"name": self.name, "kind": MELTANO_KINDS[self.kind]}
        if not unset(self.default) and self.default != []:
            entry["value"] = self.default
        entry["label"] = self.label
        entry["description"] = self.description
        if self.sensitive:
            entry["sensitive"] = True
        if self.options:
            entry["options"] = [{"label": option.replace("_", " ").title(), "value": option}
                                for option in self.options]
        return entry


def _option(value: t.Any, setting: Setting) -> str:
    if value not in setting.options:
        hint = did_you_mean(value, setting.options) if isinstance(value, str) else ""
        msg = (f"`{setting.name}` must be one of {', '.join(setting.options)}, got "
               f"{value!r}{hint}.")
        raise ConfigError(msg)
    return value


def _text(value: t.Any, setting: Setting) -> str:
    if not isinstance(value, str):
        shown = "" if setting.sensitive else f", got {value!r}"
        msg = f"`{setting.name}` must be text{shown}."
        raise ConfigError(msg)
    return value.strip()  # pasted values often end with a newline


# The check of each kind; an array's own `parse` says what its items must be.
KIND_CHECKS: dict[str, Callable[[t.Any, Setting], t.Any]] = {
    "string": _text,
    "integer": lambda value, s: integer(value, s.name, s.minimum),
    "number": lambda value, s: number(value, s.name, s.minimum),
    "date": lambda value, s: date(value, s.name),
    "url": lambda value, s: url(value, s.name),
    "options": _option,
    "array": lambda value, _s: value,
}

TOKEN_URL = Setting(
    "token_url", "url", "Token URL",
    "Spotify OAuth token endpoint, used by both the Bulk and the Ads API.",
    group="Both APIs", default=DEFAULT_TOKEN_URL,
)


def token_url(config: Mapping[str, t.Any]) -> str:
    """The checked token endpoint, the default when unset."""
    return str(TOKEN_URL.value(config))


# Declared here because both APIs read them: the Bulk app's credentials (the Ads app's
# fall back to them) and the directory for temporary files. They show in the Bulk group.
_BULK_GROUP = "Bulk API"


def _existing_dir(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        msg = f"`temp_dir` must be an existing directory, got {value!r}."
        raise ConfigError(msg)
    return path


CLIENT_ID = Setting(
    "client_id", "string", "Client ID",
    "Bulk API app client id (client-credentials grant). Required when a Bulk stream is "
    "selected.", group=_BULK_GROUP, sensitive=True)
CLIENT_SECRET = Setting(
    "client_secret", "string", "Client Secret",
    "Bulk API app client secret. Required when a Bulk stream is selected.",
    group=_BULK_GROUP, sensitive=True)
TEMP_DIR = Setting(
    "temp_dir", "string", "Temporary Directory",
    "Directory for files being downloaded (default: TMPDIR, else the system temporary "
    "directory). The files have no name there and vanish with the process.", group=_BULK_GROUP,
    parse=_existing_dir)


def temp_dir(config: Mapping[str, t.Any]) -> Path | None:
    """`temp_dir` as an existing directory (None: TMPDIR)."""
    return TEMP_DIR.value(config)
