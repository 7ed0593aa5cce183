"""The tap: its settings and the streams it offers.

Bulk API streams live in `tap_spotify_bulk.bulk`, Ads API report streams in
`tap_spotify_bulk.ads`; each package declares its own settings and validates them.

Configuration is checked in two steps, both before any request: the settings' values when
the tap is built (one-line `ConfigError` naming the setting, instead of the SDK's schema
dump), and the credentials the *selected* streams need when a sync starts. Discovery
(`--discover`) needs no credentials.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_spotify_bulk import bookmarks
from tap_spotify_bulk.ads import settings as ads_settings
from tap_spotify_bulk.ads.streams import ads_streams
from tap_spotify_bulk.auth import DEFAULT_TOKEN_URL
from tap_spotify_bulk.bulk import settings as bulk_settings
from tap_spotify_bulk.bulk.streams import BulkStream, bulk_streams
from tap_spotify_bulk.output import BufferedWriter
from tap_spotify_bulk.sdk_seam import SeamTap, config_error

if t.TYPE_CHECKING:
    from collections.abc import Callable


COMMON_SETTINGS = (
    th.Property(
        "token_url",
        th.URIType,
        default=DEFAULT_TOKEN_URL,
        title="Token URL",
        description="Spotify OAuth token endpoint, used by both the Bulk and the Ads API.",
    ),
)


class TapSpotifyBulk(SeamTap):
    """Singer tap for Spotify's Bulk analytics API and the Spotify Ads API v3."""

    name = "tap-spotify-bulk"
    # One buffered writer for SDK messages and the Bulk streams' fast record path.
    message_writer_class = BufferedWriter

    config_jsonschema = th.PropertiesList(
        *bulk_settings.PROPERTIES,
        *COMMON_SETTINGS,
        *ads_settings.PROPERTIES,
    ).to_dict()

    def discover_streams(self) -> list:
        return [*bulk_streams(self), *ads_streams(self)]

    def check_settings(self) -> None:
        """The settings' values, as one-line errors (before the SDK's schema check)."""
        validate_settings(self.config, bulk_selected=False, ads_selected=False)

    def validate_selected_settings(self) -> None:
        """Check the settings, including the credentials the selected streams need."""
        selected = [s for s in self.streams.values() if s.selected]
        validate_settings(
            self.config,
            bulk_selected=any(isinstance(s, BulkStream) for s in selected),
            ads_selected=any(not isinstance(s, BulkStream) for s in selected),
        )

    def sync_all(self) -> None:
        self.validate_selected_settings()
        bookmarks.check_selected(self.streams.values())
        for runtime in {s.runtime for s in self.streams.values() if isinstance(s, BulkStream)}:
            runtime.start_load()
        try:
            super().sync_all()
        finally:
            if isinstance(self.message_writer, BufferedWriter):
                self.message_writer.drop_partial_line()
                self.message_writer.flush()

    def defer_termination(self, retry: Callable[[], None]) -> bool:
        """SIGTERM/SIGINT: the SDK writes the last STATE (bookmarks are complete dates) and
        exits. Deferred while output is being written; a half-appended record is dropped."""
        writer = self.message_writer
        if isinstance(writer, BufferedWriter):
            if writer.flushing:
                writer.after_flush = retry
                return True
            writer.drop_partial_line()
        return False


def validate_settings(config: dict | object, *, bulk_selected: bool, ads_selected: bool) -> None:
    """Both APIs' settings checks; raises a one-line `ConfigError`."""
    bulk_settings.validate(config, bulk_selected=bulk_selected)  # type: ignore[arg-type]
    token_url = config.get("token_url") or DEFAULT_TOKEN_URL  # type: ignore[attr-defined]
    bulk_settings.check_url(token_url, "token_url")
    ads_validate = getattr(ads_settings, "validate", None)
    if ads_validate is not None:
        ads_validate(config, ads_selected=ads_selected)


__all__ = ["TapSpotifyBulk", "config_error", "validate_settings"]

if __name__ == "__main__":
    TapSpotifyBulk.cli()
