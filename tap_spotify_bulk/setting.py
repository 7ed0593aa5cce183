"""One declaration per setting, and the value checks every setting of a kind shares.

A `Setting` is declared once (in `bulk/settings.py`, `ads/settings.py`, or `TOKEN_URL`
here) and drives everything else: the tap's JSON schema (`property`), the one-line check
and typed value (`value`), the Meltano definition in `meltano.yml` and `plugin.yml`
(`meltano`), and the README settings table (`tap_spotify_bulk.plugin_definition`).

Every check raises a one-line `ConfigError` that names the setting; values of sensitive
settings are never quoted.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_spotify_bulk.auth import DEFAULT_TOKEN_URL
from tap_spotify_bulk.errors import ConfigError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Kind = t.Literal["string", "integer", "date", "url", "options", "array"]

# Meltano's `kind` for each declared kind.
MELTANO_KINDS: dict[str, str] = {
    "string": "string", "integer": "integer", "date": "date_iso8601", "url": "string",
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
    minimum: int = 0
    options: tuple[str, ...] = ()
    parse: Callable[[t.Any], t.Any] | None = None
    schema: th.JSONTypeHelper | None = None

    # -- the JSON schema ------------------------------------------------------------------

    def property(self) -> th.Property:
        json_type: t.Any = {
            "string": th.StringType,
            "integer": th.IntegerType,
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
        checked = self._kind_check(raw)
        return self.parse(checked) if self.parse else checked

    def _kind_check(self, raw: t.Any) -> t.Any:
        name = self.name
        if self.kind == "integer":
            return integer(raw, name, self.minimum)
        if self.kind == "url":
            return url(raw, name)
        if self.kind == "date":
            return date(raw, name)
        if self.kind == "options":
            if raw not in self.options:
                msg = f"`{name}` must be one of {', '.join(self.options)}, got {raw!r}."
                raise ConfigError(msg)
            return raw
        if self.kind == "array":
            return raw  # each array's own `parse` says what its items must be
        if not isinstance(raw, str):
            shown = "" if self.sensitive else f", got {raw!r}"
            msg = f"`{name}` must be text{shown}."
            raise ConfigError(msg)
        return raw.strip()  # pasted values often end with a newline

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


TOKEN_URL = Setting(
    "token_url", "url", "Token URL",
    "Spotify OAuth token endpoint, used by both the Bulk and the Ads API.",
    group="Both APIs", default=DEFAULT_TOKEN_URL,
)


def token_url(config: Mapping[str, t.Any]) -> str:
    """The checked token endpoint, the default when unset."""
    return str(TOKEN_URL.value(config))
