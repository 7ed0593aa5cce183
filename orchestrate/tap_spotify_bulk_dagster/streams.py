"""The eight Bulk report streams (SPEC §5.1), one Dagster asset each."""

from __future__ import annotations

BULK_STREAMS: tuple[str, ...] = (
    "streams",
    "sub30sec_streams",
    "users",
    "tracks",
    "aggregated_streams_summary",
    "aggregated_streams_count",
    "aggregated_streams_skips",
    "aggregated_streams_saves",
)
