"""What the test suites share: where the schemas are, and checks on a tap's Singer output."""

from __future__ import annotations

import typing as t
from importlib import resources
from pathlib import Path

from tap_spotify_bulk.bulk.files import GzipCheck

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SCHEMA_DIR = Path(str(resources.files("tap_spotify_bulk.bulk.schemas")))


def assert_state_follows_data(
    messages: Iterable[Mapping[str, t.Any]], *, resumed: bool
) -> None:
    """Once a STATE moved a Bulk stream's bookmark to a date, no record of that stream at or
    before that date follows: a date is never committed before all its records are out.

    With `resumed`, the first STATE is the input state echoed back, not progress.
    """
    moved: dict[str, str] = {}
    previous: dict[str, str | None] = {}
    first_state = True
    for message in messages:
        if message["type"] == "STATE":
            echo = resumed and first_state
            first_state = False
            for name, value in message["value"].get("bookmarks", {}).items():
                current = value.get("replication_key_value")
                if not echo and current != previous.get(name):
                    moved[name] = current
                previous[name] = current
        elif message["type"] == "RECORD" and message["stream"] in moved:
            record = message["record"]
            assert record["report_date"] > moved[message["stream"]], (
                f"{message['stream']}: record of {record['report_date']} after STATE "
                f"moved the bookmark to {moved[message['stream']]}"
            )


def verify_gzip(path: Path) -> None:
    """Run a local file through the downloader's check (`GzipCheck`) as if it had just
    arrived; raises CorruptGzip when the download would be retried."""
    check = GzipCheck()
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 16):
            check.feed(chunk)
    check.finish()
