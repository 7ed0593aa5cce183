"""Ground truth for the Bulk streams: what a correct tap emits for a date range.

It re-reads the very line chunks the server gzips (same generator), parses them and builds
the output records of api-contract §5.1 independently of the tap's code, then tallies them.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

import orjson

from spotify_sandbox.tally import BULK_TALLY_FIELDS, MASK64, Tally

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from spotify_sandbox.bulk_data import BulkData
    from spotify_sandbox.options import SandboxOptions

STREAM_REPORTS = {
    "streams": "streams",
    "sub30sec_streams": "sub_30_sec_streams",
    "users": "users",
    "tracks": "tracks",
    "aggregated_streams_summary": "aggregatedstreams",
    "aggregated_streams_count": "aggregatedstreams",
    "aggregated_streams_skips": "aggregatedstreams",
    "aggregated_streams_saves": "aggregatedstreams",
}
AGGREGATED = tuple(name for name, report in STREAM_REPORTS.items() if report == "aggregatedstreams")
COUNTRY_STREAMS = frozenset({"streams", "sub30sec_streams"})


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def file_lines(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Parsed non-blank lines of a file given as uncompressed chunks of whole lines."""
    for chunk in chunks:
        for line in chunk.split(b"\n"):
            if line.strip():
                yield orjson.loads(line)


def _block_total(line: dict, name: str) -> int | None:
    block = line.get(name)
    if not isinstance(block, dict):
        return None
    entries = (block.get("country") or {}).values()
    return sum(int(e.get("total") or 0) for e in entries if isinstance(e, dict))


def aggregated_records(line: dict, base: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The four aggregated output shapes of one aggregatedstreams line."""
    track = line.get("trackv2") or {}
    album = line.get("album") or {}
    key = {**base, "track_href": track.get("href"), "track_isrc": track.get("isrc")}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in AGGREGATED}
    out["aggregated_streams_summary"].append({
        **base, "track_href": track.get("href"), "track_name": track.get("name"),
        "track_isrc": track.get("isrc"), "album_name": album.get("name"),
        "album_href": album.get("href"), "streams": _block_total(line, "streams"),
        "skips": _block_total(line, "skips"), "saves": _block_total(line, "saves"),
    })
    countries = lambda name: ((line.get(name) or {}).get("country") or {}).items()  # noqa: E731
    for country, entry in countries("streams"):
        for gender, g_entry in (entry.get("gender") or {}).items():
            for age_group, value in (g_entry.get("age") or {}).items():
                out["aggregated_streams_count"].append({
                    **key, "country": country, "gender": gender, "age_group": age_group,
                    "streams": value,
                })
    for country, entry in countries("skips"):
        out["aggregated_streams_skips"].append({**key, "country": country,
                                                 "skips": entry.get("total")})
    for country, entry in countries("saves"):
        for product, value in (entry.get("product") or {}).items():
            out["aggregated_streams_saves"].append({**key, "country": country,
                                                     "product": product, "saves": value})
    return out


class BulkTruth:
    """Ground truth over a `BulkData`, tallied per file once and cached (tallies add up)."""

    def __init__(self, data: BulkData) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._cache: dict[tuple, dict[str, Tally]] = {}

    def __call__(
        self,
        options: SandboxOptions,
        start: dt.date | str,
        end: dt.date | str,
        *,
        streams: Iterable[str] | None = None,
        countries: Iterable[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """{stream: Tally.summary()} for published days in [start, end] (countries: streams
        and sub30sec_streams only)."""
        names = list(streams) if streams is not None else list(BULK_TALLY_FIELDS)
        unknown = [n for n in names if n not in BULK_TALLY_FIELDS]
        if unknown:
            raise ValueError(f"unknown Bulk streams: {unknown}")
        totals = {name: Tally.for_bulk_stream(name) for name in names}
        wanted = {c.upper() for c in countries} if countries is not None else None
        day, last = _as_date(start), _as_date(end)
        while day <= last:
            plan = self.data.day(day)
            if plan is not None and options.is_published(day):
                for country in plan.countries:
                    if wanted is None or country in wanted:
                        self._merge(totals, options.licensor, day, country)
                self._merge(totals, options.licensor, day, None)
            day += dt.timedelta(days=1)
        return {name: tally.summary() for name, tally in totals.items()}

    def _merge(self, totals: dict[str, Tally], licensor: str, day: dt.date,
               country: str | None) -> None:
        """Add the cached tallies of one day (country files, or the day-level files)."""
        if country is None and not totals.keys() - COUNTRY_STREAMS:
            return
        if country is not None and not totals.keys() & COUNTRY_STREAMS:
            return
        key = (licensor, day, country, self.data.generation(day))
        with self._lock:
            parts = self._cache.get(key)
        if parts is None:
            parts = _tally_files(self.data, licensor, day, country)
            with self._lock:
                self._cache[key] = parts
        for name, total in totals.items():
            part = parts.get(name)
            if part is not None:
                total.count += part.count
                total.checksum = (total.checksum + part.checksum) & MASK64
                for metric, value in part.sums.items():
                    total.sums[metric] += value


def _tally_files(data: BulkData, licensor: str, day: dt.date,
                 country: str | None) -> dict[str, Tally]:
    """Tallies of every stream fed by one country's files, or by the day-level files."""
    base = {"licensor": licensor, "report_date": day.isoformat()}
    tallies: dict[str, Tally] = {}
    if country is not None:
        for name in sorted(COUNTRY_STREAMS):
            tally = tallies[name] = Tally.for_bulk_stream(name)
            lines = file_lines(data.line_chunks(STREAM_REPORTS[name], day, country))
            for row, line in enumerate(lines, start=1):
                tally.add({**line, **base, "country": country, "row_number": row})
        return tallies
    for name in ("users", "tracks"):
        tally = tallies[name] = Tally.for_bulk_stream(name)
        for row, line in enumerate(file_lines(data.line_chunks(name, day)), start=1):
            tally.add({**line, **base, "row_number": row})
    for name in AGGREGATED:
        tallies[name] = Tally.for_bulk_stream(name)
    for line in file_lines(data.line_chunks("aggregatedstreams", day)):
        for name, records in aggregated_records(line, base).items():
            tallies[name].add_all(records)
    return tallies
