"""The eight Bulk report streams (api-contract §5.1), one Dagster asset each, and the `bulk_loads`
manifest (one record per finished read of a stream and day) that every slice loads with
them: the warehouse's current rows of a day are those of its newest finished read.

The code location imports nothing of the tap (it runs it as a command), so the names are
written here again; tests/tap/test_stream_names.py holds them against the tap's registry."""

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

LOADS_STREAM = "bulk_loads"
BULK_TABLES: tuple[str, ...] = (*BULK_STREAMS, LOADS_STREAM)
