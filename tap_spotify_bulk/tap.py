"""The tap: its settings and the streams it offers.

Bulk API streams live in `tap_spotify_bulk.bulk`, Ads API report streams in
`tap_spotify_bulk.ads`; each package declares its own settings and validates them.
"""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th

from tap_spotify_bulk.ads import settings as ads_settings
from tap_spotify_bulk.ads.streams import ads_streams
from tap_spotify_bulk.bulk import settings as bulk_settings
from tap_spotify_bulk.bulk.streams import bulk_streams

DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"  # noqa: S105 (a URL)

COMMON_SETTINGS = (
    th.Property(
        "token_url",
        th.URIType,
        default=DEFAULT_TOKEN_URL,
        title="Token URL",
        description="Spotify OAuth token endpoint, used by both the Bulk and the Ads API.",
    ),
)


class TapSpotifyBulk(Tap):
    """Singer tap for Spotify's Bulk analytics API and the Spotify Ads API v3."""

    name = "tap-spotify-bulk"

    config_jsonschema = th.PropertiesList(
        *bulk_settings.PROPERTIES,
        *COMMON_SETTINGS,
        *ads_settings.PROPERTIES,
    ).to_dict()

    def discover_streams(self) -> list:
        return [*bulk_streams(self), *ads_streams(self)]


if __name__ == "__main__":
    TapSpotifyBulk.cli()
