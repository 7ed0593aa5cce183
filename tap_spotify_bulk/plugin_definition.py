"""The tap described for Meltano and for readers, from the settings declared once.

`plugin_definition()` is the Hub-format definition in `plugin.yml` (what `meltano add
--from-ref plugin.yml` reads), `extractor_settings()` the settings `meltano.yml` must
declare, and `settings_table()` the README's settings table. `scripts/settings_docs.py`
writes the files; tests fail when a file drifts from these.
"""

from __future__ import annotations

import copy
import typing as t

from tap_spotify_bulk import __version__
from tap_spotify_bulk.tap import SETTINGS, TapSpotifyBulk

README_START = "<!-- settings:start -->"
README_END = "<!-- settings:end -->"

# The SDK's built-in settings declared to Meltano (so TAP_SPOTIFY_BULK_STREAM_MAPS and friends
# reach the tap). `faker_config` is left out: it needs an extra the tap does not install.
SDK_SETTINGS = (
    "stream_maps", "stream_map_config", "flattening_enabled", "flattening_max_depth",
    "flattening_max_key_length", "flattening_separator", "batch_config",
)

# Meltano accepts the configuration when every setting of one group is set.
SETTINGS_GROUP_VALIDATION = (
    ("client_id", "client_secret", "licensor"),  # Bulk API
    ("ads_client_id", "ads_client_secret", "ads_refresh_token"),  # Ads API, its own app
    ("client_id", "client_secret", "ads_refresh_token"),  # Ads API, the Bulk app's keys
)


def capabilities() -> list[str]:
    """The capabilities `tap-spotify-bulk --about` reports."""
    return [str(capability.value) for capability in TapSpotifyBulk.capabilities]


def _sdk_setting(name: str, prop: dict[str, t.Any]) -> dict[str, t.Any]:
    kinds = [kind for kind in prop.get("type", ["object"]) if kind != "null"]
    entry: dict[str, t.Any] = {"name": name, "kind": kinds[0] if kinds else "object"}
    if prop.get("title"):
        entry["label"] = prop["title"]
    if prop.get("description"):
        entry["description"] = prop["description"]
    return entry


def extractor_settings() -> list[dict[str, t.Any]]:
    """Every setting as Meltano declares it: the tap's own, then the SDK's built-in ones."""
    schema = copy.deepcopy(TapSpotifyBulk.config_jsonschema)
    TapSpotifyBulk.append_builtin_config(schema)
    builtin = [_sdk_setting(name, schema["properties"][name]) for name in SDK_SETTINGS]
    return [setting.meltano() for setting in SETTINGS] + builtin


def plugin_definition() -> dict[str, t.Any]:
    """The Hub-format plugin definition (`plugin.yml`)."""
    return {
        "name": TapSpotifyBulk.name,
        "namespace": "tap_spotify_bulk",
        "label": "Spotify Bulk and Ads",
        "description": "Spotify's Bulk analytics API (licensor streams, users, tracks, "
        "aggregated streams) and the Spotify Ads API v3 reports",
        "pip_url": f"tap-spotify-bulk=={__version__}",
        "executable": TapSpotifyBulk.name,
        "capabilities": capabilities(),
        "settings_group_validation": [list(group) for group in SETTINGS_GROUP_VALIDATION],
        "settings": extractor_settings(),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """The README table of the tap's own settings, in declaration order."""
    lines = ["| setting | API | kind | default | description |", "|---|---|---|---|---|"]
    for setting in SETTINGS:
        kind = setting.kind + (": " + ", ".join(setting.options) if setting.options else "")
        if setting.sensitive:
            kind += " (secret)"
        default = "" if setting.default in (None, []) else f"`{setting.default}`"
        lines.append(f"| `{setting.name}` | {setting.group} | {_cell(kind)} | {default} | "
                     f"{_cell(setting.description)} |")
    return "\n".join(lines)


def with_settings_table(readme: str) -> str:
    """`readme` with the text between the settings markers replaced by the table."""
    start, end = readme.index(README_START), readme.index(README_END)
    return f"{readme[:start]}{README_START}\n{settings_table()}\n{readme[end:]}"
