"""Ground truth for the Bulk streams: what a correct tap emits for a date range.

It re-reads the very line chunks the server gzips (same generator), parses them and builds
the output records of SPEC §5.1 independently of the tap's code, then tallies them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import orjson

from tap_spotify_bulk.sandbox.tally import BULK_TALLY_FIELDS, Tally

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_spotify_bulk.sandbox.bulk_data import BulkData
    from tap_spotify_bulk.sandbox.options import SandboxOptions

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


def bulk_truth(
    data: BulkData,
    options: SandboxOptions,
    start: dt.date | str,
    end: dt.date | str,
    *,
    streams: Iterable[str] | None = None,
    countries: Iterable[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """{stream: Tally.summary()} for published days in [start, end] (countries: streams and
    sub30sec_streams only)."""
    names = list(streams) if streams is not None else list(BULK_TALLY_FIELDS)
    unknown = [n for n in names if n not in BULK_TALLY_FIELDS]
    if unknown:
        raise ValueError(f"unknown Bulk streams: {unknown}")
    tallies = {name: Tally.for_bulk_stream(name) for name in names}
    wanted_countries = {c.upper() for c in countries} if countries is not None else None
    day, last = _as_date(start), _as_date(end)
    while day <= last:
        plan = data.day(day)
        if plan is not None and options.is_published(day):
            _tally_day(data, options.licensor, day, tallies, wanted_countries)
        day += dt.timedelta(days=1)
    return {name: tally.summary() for name, tally in tallies.items()}


def _tally_day(data: BulkData, licensor: str, day: dt.date, tallies: dict[str, Tally],
               wanted_countries: set[str] | None) -> None:
    plan = data.day(day)
    assert plan is not None
    base = {"licensor": licensor, "report_date": day.isoformat()}
    for name in ("streams", "sub30sec_streams"):
        if name not in tallies:
            continue
        for country in plan.countries:
            if wanted_countries is not None and country not in wanted_countries:
                continue
            lines = file_lines(data.line_chunks(STREAM_REPORTS[name], day, country))
            for row, line in enumerate(lines, start=1):
                tallies[name].add({**line, **base, "country": country, "row_number": row})
    for name in ("users", "tracks"):
        if name in tallies:
            for row, line in enumerate(file_lines(data.line_chunks(name, day)), start=1):
                tallies[name].add({**line, **base, "row_number": row})
    if any(name in tallies for name in AGGREGATED):
        for line in file_lines(data.line_chunks("aggregatedstreams", day)):
            for name, records in aggregated_records(line, base).items():
                if name in tallies:
                    tallies[name].add_all(records)
