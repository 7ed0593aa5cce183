"""Ground truth for the Bulk streams: what a correct tap emits for a date range.

It re-reads the very line chunks the server gzips (same generator), or the test content a
path override serves instead, parses them and builds the output records of api-contract §5.1
independently of the tap's code (every field, typed, with `extra`), then tallies them.
"""

from __future__ import annotations

import datetime as dt
import gzip
import threading
from typing import TYPE_CHECKING, Any

import orjson

from spotify_sandbox.tally import (
    AGE_COLUMNS,
    BULK_FIELDS,
    GENDER_COLUMNS,
    LINE_FIELDS,
    MASK64,
    SUMMARY_DEMOGRAPHICS,
    Tally,
)

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


_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,),
                                        "boolean": (bool,)}


def line_record(stream: str, line: dict[str, Any], base: dict[str, Any],
                country: str | None) -> dict[str, Any]:
    """The output record of one line of a line-per-record report (api-contract §4.5, §5.1): known
    fields of the right JSON type as columns; unknown keys, wrongly typed values and a line
    `country` other than the file's partition in `extra`."""
    known = LINE_FIELDS[stream]
    record: dict[str, Any] = dict.fromkeys(known)
    extra: dict[str, Any] = {}
    for key, value in line.items():
        if key not in known:
            extra[key] = value
        elif value is None or type(value) in _TYPES[known[key]]:
            record[key] = value
        else:
            extra[key] = value
    if country is not None:
        own = record.get("country")
        if own is not None and own != country:
            extra["country"] = own
        record["country"] = country
    return {**record, **base, "extra": extra or None}


# api-contract §4.5: the documented nesting of an aggregatedstreams line. "*" stands for the map
# levels (countries, genders, age groups, products); None for a value.
_ANY = "*"
_AGGREGATED_SHAPE: dict[str, Any] = {
    "date": None,
    "trackv2": {"name": None, "href": None, "isrc": None},
    "album": {"name": None, "href": None},
    "streams": {"country": {_ANY: {"total": None,
                                   "gender": {_ANY: {"total": None, "age": {_ANY: None}}}}}},
    "skips": {"country": {_ANY: {"total": None}}},
    "saves": {"country": {_ANY: {"total": None, "product": {_ANY: None}}}},
}


def undocumented(value: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
    """What of `value` the documented shape does not describe, under its own path: unknown
    keys at any depth, and a documented key holding another kind of thing (an object or
    array where a value belongs, a non-object where an object belongs) whole."""
    out: dict[str, Any] = {}
    for key, child in value.items():
        below = shape[key] if key in shape else shape.get(_ANY, KeyError)
        if below is KeyError:
            out[key] = child
        elif below is None:
            if isinstance(child, dict | list):
                out[key] = child
        elif isinstance(child, dict):
            if nested := undocumented(child, below):
                out[key] = nested
        elif child is not None:
            out[key] = child
    return out


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | None:
    return value if type(value) is int else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _block_total(line: dict, name: str) -> int | None:
    """Sum of a block's per-country totals; null without the block, or when one total is
    there but not an integer (no sum is better than a wrong one)."""
    block = line.get(name)
    if not isinstance(block, dict):
        return None
    total = 0
    for entry in _object(block.get("country")).values():
        value = _object(entry).get("total")
        if value is not None and type(value) is not int:
            return None
        total += value or 0
    return total


def _demographic_columns(line: dict) -> dict[str, Any]:
    """The summary's demographic columns, from the Count rows the line gives: per known
    gender and age group the sum of its leaves (a null leaf adds nothing, a leaf of another
    type makes that sum null); the countries of the streams block; every leaf nested as
    {country: {gender: {age group: value as served}}}. All null without a streams block."""
    block = line.get("streams")
    if not isinstance(block, dict):
        return dict.fromkeys(SUMMARY_DEMOGRAPHICS)
    leaves: list[tuple[str, str, str, Any]] = []
    countries = [(country, entry) for country, entry
                 in _object(block.get("country")).items() if isinstance(entry, dict)]
    for country, entry in countries:
        for gender, g_entry in _object(entry.get("gender")).items():
            leaves += [(country, gender, age_group, value) for age_group, value
                       in _object(_object(g_entry).get("age")).items()]

    def total(values: list[Any]) -> int | None:
        present = [value for value in values if value is not None]
        if any(type(value) is not int for value in present):
            return None
        return sum(present)

    nested: dict[str, dict[str, dict[str, Any]]] = {}
    by_gender: dict[str, list[Any]] = {}
    by_age: dict[str, list[Any]] = {}
    for country, gender, age_group, value in leaves:
        nested.setdefault(country, {}).setdefault(gender, {})[age_group] = value
        by_gender.setdefault(gender, []).append(value)
        by_age.setdefault(age_group, []).append(value)
    return {
        **{column: total(by_gender.get(gender, []))
           for gender, column in GENDER_COLUMNS.items()},
        **{column: total(by_age.get(age, [])) for age, column in AGE_COLUMNS.items()},
        "country_count": len(countries),
        "demographics": nested,
    }


def aggregated_records(line: dict, base: dict[str, Any],
                       row_number: int) -> dict[str, list[dict[str, Any]]]:
    """The four aggregated output shapes of one aggregatedstreams line."""
    track = _object(line.get("trackv2"))
    album = _object(line.get("album"))
    isrc = _text(track.get("isrc"))
    href = _text(track.get("href")) or (f"isrc:{isrc}" if isrc else f"row:{row_number}")
    key = {**base, "track_href": href, "track_isrc": isrc}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in AGGREGATED}
    out["aggregated_streams_summary"].append({
        **key, "track_name": _text(track.get("name")), "album_name": _text(album.get("name")),
        "album_href": _text(album.get("href")), "streams": _block_total(line, "streams"),
        "skips": _block_total(line, "skips"), "saves": _block_total(line, "saves"),
        **_demographic_columns(line), "extra": undocumented(line, _AGGREGATED_SHAPE) or None,
    })

    def countries(name: str) -> Iterable[tuple[str, dict]]:
        for country, entry in _object(_object(line.get(name)).get("country")).items():
            yield country, _object(entry)

    for country, entry in countries("streams"):
        for gender, g_entry in _object(entry.get("gender")).items():
            for age_group, value in _object(_object(g_entry).get("age")).items():
                out["aggregated_streams_count"].append({
                    **key, "country": country, "gender": gender, "age_group": age_group,
                    "streams": _count(value),
                })
    for country, entry in countries("skips"):
        out["aggregated_streams_skips"].append({**key, "country": country,
                                                 "skips": _count(entry.get("total"))})
    for country, entry in countries("saves"):
        for product, value in _object(entry.get("product")).items():
            out["aggregated_streams_saves"].append({**key, "country": country,
                                                     "product": product,
                                                     "saves": _count(value)})
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
        names = list(streams) if streams is not None else list(BULK_FIELDS)
        unknown = [n for n in names if n not in BULK_FIELDS]
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
                        self._merge(totals, options, day, country)
                self._merge(totals, options, day, None)
            day += dt.timedelta(days=1)
        return {name: tally.summary() for name, tally in totals.items()}

    def _merge(self, totals: dict[str, Tally], options: SandboxOptions, day: dt.date,
               country: str | None) -> None:
        """Add the tallies of one day (country files, or the day-level files); cached unless
        a path override serves other content for one of them."""
        if country is None and not totals.keys() - COUNTRY_STREAMS:
            return
        if country is not None and not totals.keys() & COUNTRY_STREAMS:
            return
        files = _FileLines(self.data, options, day, country)
        key = (options.licensor, day, country, self.data.generation(day))
        with self._lock:
            parts = None if files.overridden else self._cache.get(key)
        if parts is None:
            parts = _tally_files(files, options.licensor, day, country)
            if not files.overridden:
                with self._lock:
                    self._cache[key] = parts
        for name, total in totals.items():
            part = parts.get(name)
            if part is not None and options.is_published(day, STREAM_REPORTS[name]):
                total.count += part.count
                total.checksum = (total.checksum + part.checksum) & MASK64
                for metric, value in part.sums.items():
                    total.sums[metric] += value


class _FileLines:
    """The parsed lines of one day's files (one country's, or the day-level ones): the
    generated content, or the gzip bytes a path override serves in its place."""

    def __init__(self, data: BulkData, options: SandboxOptions, day: dt.date,
                 country: str | None) -> None:
        self.data, self.day, self.country = data, day, country
        self.prefix = f"/{options.licensor}/enhanced"
        self.overrides = options.overrides
        reports = [STREAM_REPORTS[n] for n in sorted(COUNTRY_STREAMS)] if country else [
            "users", "tracks", "aggregatedstreams"]
        self.overridden = any(self._path(r) in self.overrides for r in reports)

    def _path(self, report: str) -> str:
        path = f"{self.prefix}/{report}/{self.day:%Y/%m/%d}"
        return f"{path}/{self.country}" if self.country else path

    def __call__(self, report: str) -> Iterator[dict[str, Any]]:
        override = self.overrides.get(self._path(report))
        if override is not None:
            if override[:2] != b"\x1f\x8b":
                raise ValueError(f"{self._path(report)}: the override is no gzip file")
            return file_lines([gzip.decompress(override)])
        return file_lines(self.data.line_chunks(report, self.day, self.country))


def _tally_files(lines_of: _FileLines, licensor: str, day: dt.date,
                 country: str | None) -> dict[str, Tally]:
    """Tallies of every stream fed by one country's files, or by the day-level files."""
    base = {"licensor": licensor, "report_date": day.isoformat()}
    tallies: dict[str, Tally] = {}
    if country is not None:
        for name in sorted(COUNTRY_STREAMS):
            tally = tallies[name] = Tally.for_bulk_stream(name)
            for row, line in enumerate(lines_of(STREAM_REPORTS[name]), start=1):
                tally.add(line_record(name, line, {**base, "row_number": row}, country))
        return tallies
    for name in ("users", "tracks"):
        tally = tallies[name] = Tally.for_bulk_stream(name)
        for row, line in enumerate(lines_of(name), start=1):
            tally.add(line_record(name, line, {**base, "row_number": row}, None))
    for name in AGGREGATED:
        tallies[name] = Tally.for_bulk_stream(name)
    for row, line in enumerate(lines_of("aggregatedstreams"), start=1):
        for name, records in aggregated_records(line, base, row).items():
            tallies[name].add_all(records)
    return tallies
