"""The tap's catalog: discovered once per tap config, then narrowed to the streams a run
selects; its schemas also create the target's tables before any data arrives."""

from __future__ import annotations

import copy
import json
import subprocess
import threading
from typing import Any

from tap_spotify_bulk_dagster.streams import BULK_TABLES

_CACHE: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()


def discover(command: list[str], config_path: str, cache_key: str) -> dict[str, Any]:
    """`tap --discover` (no request is sent), cached per `cache_key`."""
    with _LOCK:
        if cache_key not in _CACHE:
            done = subprocess.run(  # noqa: S603 (the tap's own executable)
                [*command, "--config", config_path, "--discover"], capture_output=True,
                text=True, check=False, timeout=300)
            if done.returncode != 0:
                tail = " ".join(done.stderr.strip().splitlines()[-1:])
                msg = f"tap --discover exited {done.returncode}: {tail}"
                raise RuntimeError(msg)
            _CACHE[cache_key] = json.loads(done.stdout)
        return copy.deepcopy(_CACHE[cache_key])


def stream_names(catalog: dict[str, Any]) -> list[str]:
    return [entry["tap_stream_id"] for entry in catalog["streams"]]


def ads_stream_names(catalog: dict[str, Any]) -> list[str]:
    """The Ads report streams (one per `ads_report_list` item) of a discovered catalog."""
    return [name for name in stream_names(catalog) if name not in BULK_TABLES]


def select(catalog: dict[str, Any], names: set[str] | list[str]) -> dict[str, Any]:
    """The catalog with exactly `names` selected (every field of them, as discovered)."""
    wanted = set(names)
    unknown = wanted - set(stream_names(catalog))
    if unknown:
        msg = f"the tap's catalog has no stream {sorted(unknown)}"
        raise ValueError(msg)
    chosen = copy.deepcopy(catalog)
    for entry in chosen["streams"]:
        for item in entry.get("metadata", []):
            if item.get("breadcrumb") == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return chosen


def schema_messages(catalog: dict[str, Any], names: list[str]) -> bytes:
    """Singer SCHEMA messages for `names`: fed alone to a target, they create the tables."""
    lines = []
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] not in names:
            continue
        top = next((m["metadata"] for m in entry.get("metadata", []) if m["breadcrumb"] == []),
                   {})
        message = {"type": "SCHEMA", "stream": entry["tap_stream_id"],
                   "schema": entry["schema"],
                   "key_properties": entry.get("key_properties") or [],
                   "bookmark_properties": [top["replication-key"]]
                   if top.get("replication-key") else []}
        lines.append(json.dumps(message))
    return ("\n".join(lines) + "\n").encode()
