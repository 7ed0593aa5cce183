"""Every stream name the tap emits, declared once, in a module that imports nothing.

The Bulk and Ads packages take their names from here, and so does no one else: the
orchestrator's assets, the dbt sources and macros, `meltano.yml` and the sandbox's truth
name the same streams in their own files, and `tests/tap/test_stream_names.py` holds each
of them against this module. A new Bulk report is added here and in its stream class and
schema; that test then names every other place still missing it.
"""

from __future__ import annotations

BULK_REPORTS: tuple[str, ...] = (
    "streams",
    "sub30sec_streams",
    "users",
    "tracks",
    "aggregated_streams_summary",
    "aggregated_streams_count",
    "aggregated_streams_skips",
    "aggregated_streams_saves",
)
BULK_LOADS = "bulk_loads"  # the manifest of finished reads (see `bulk.loads`)
BULK_TABLES: tuple[str, ...] = (*BULK_REPORTS, BULK_LOADS)

ADS_ENTITY_SNAPSHOTS: tuple[str, ...] = ("businesses", "ad_accounts")
ADS_ENTITY_INCREMENTAL: tuple[str, ...] = ("campaigns", "ad_sets", "ads")
ADS_ENTITIES: tuple[str, ...] = (*ADS_ENTITY_SNAPSHOTS, *ADS_ENTITY_INCREMENTAL)
