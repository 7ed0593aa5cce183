"""Baseline (b): the tap with the Singer SDK's defaults, for comparison only.

`python -m benchmarks.baseline_tap --config ... --catalog ...` runs `TapSpotifyBulk` with
the SDK's default message writer (`SingerWriter`) instead of the tap's `BufferedWriter`,
and with the SDK's default type conformance (`RECURSIVE`) on every stream. The Bulk
streams then take their SDK path (`fast_path_possible` is false without `BufferedWriter`):
each record goes through `Stream._write_record_message` (conformance, selection mask, one
`RecordMessage`, json serialisation and a flush per record). Downloads, gunzip, parsing
and record building are the tap's own, so the difference to (a) is the output path alone.
"""

from __future__ import annotations

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.io_base import SingerWriter

from tap_spotify_bulk.tap import TapSpotifyBulk


class BaselineTap(TapSpotifyBulk):
    """TapSpotifyBulk with the SDK's default writer and type conformance."""

    message_writer_class = SingerWriter

    def discover_streams(self) -> list:
        streams = super().discover_streams()
        for stream in streams:
            stream.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE
        return streams


if __name__ == "__main__":
    BaselineTap.cli()
