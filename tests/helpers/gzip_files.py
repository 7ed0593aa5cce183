"""Gzip files in tests: the downloader's own check run over a local file."""

from __future__ import annotations

import typing as t

from tap_spotify_bulk.bulk.files import GzipCheck

if t.TYPE_CHECKING:
    from pathlib import Path


def verify_gzip(path: Path) -> None:
    """Run a local file through the downloader's check (`GzipCheck`) as if it had just
    arrived; raises CorruptGzip when the download would be retried."""
    check = GzipCheck()
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 16):
            check.feed(chunk)
    check.finish()
