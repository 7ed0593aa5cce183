"""Console entry point. PLACEHOLDER: the Bulk work (issue 4) turns this into the thin wrapper
that validates config up front and prints `TapError`s as one line."""

from __future__ import annotations

from tap_spotify_bulk.tap import TapSpotifyBulk


def main() -> None:
    TapSpotifyBulk.cli()
