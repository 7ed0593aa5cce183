"""Fan-out of one `aggregatedstreams` line into the four aggregated output streams.

Shapes (see the common record rules):

* summary: one per line: track/album metadata, streams/skips/saves totals (sum of the
  per-country `total`s; null when the block is absent), the demographics of the streams
  block (`demographics`), and in `extra` every key the contract does not know, at any
  depth, under its own path (nothing is dropped);
* count: one per `streams.country[CC].gender[G].age[A]` leaf;
* skips: one per `skips.country[CC]` (its `total`);
* saves: one per `saves.country[CC].product[P]`.

Any level may be missing or malformed: a missing or non-object level yields nothing below
it, a value that is not an integer becomes null (with a warning, the first few times), and
so does a summary total that would have to add one up. Nothing raises on odd data.
"""

from __future__ import annotations

import logging
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SUMMARY = "aggregated_streams_summary"
COUNT = "aggregated_streams_count"
SKIPS = "aggregated_streams_skips"
SAVES = "aggregated_streams_saves"
SHAPES = (SUMMARY, COUNT, SKIPS, SAVES)

# The nested shape api-contract §4.5 documents: key -> shape below it; ANY stands for the map levels
# (country codes, genders, age groups, products) and LEAF for values.
ANY = "*"
LEAF: dict[str, t.Any] = {}
KNOWN_SHAPE: dict[str, t.Any] = {
    "date": LEAF,
    "trackv2": {"name": LEAF, "href": LEAF, "isrc": LEAF},
    "album": {"name": LEAF, "href": LEAF},
    "streams": {"country": {ANY: {
        "total": LEAF, "gender": {ANY: {"total": LEAF, "age": {ANY: LEAF}}}}}},
    "skips": {"country": {ANY: {"total": LEAF}}},
    "saves": {"country": {ANY: {"total": LEAF, "product": {ANY: LEAF}}}},
}

Record = dict[str, t.Any]

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")
ODD_VALUE_WARNINGS = 5  # per process; odd data tends to repeat on every line
_odd_values_seen = [0]


def _obj(value: t.Any) -> dict[str, t.Any]:
    return value if isinstance(value, dict) else {}


def _int(value: t.Any) -> int | None:
    if type(value) is int:
        return value
    if value is not None:
        _odd_values_seen[0] += 1
        if _odd_values_seen[0] <= ODD_VALUE_WARNINGS:
            LOGGER.warning("aggregatedstreams: a count is %s %.40r, not an integer; emitted "
                           "as null%s", type(value).__name__, value,
                           " (further ones are not logged)"
                           if _odd_values_seen[0] == ODD_VALUE_WARNINGS else "")
    return None


def _str(value: t.Any) -> str | None:
    return value if isinstance(value, str) else None


def _countries(line: dict[str, t.Any], block: str) -> dict[str, t.Any]:
    return _obj(_obj(line.get(block)).get("country"))


def _total(line: dict[str, t.Any], block: str) -> int | None:
    """Sum of the per-country totals (a missing one counts 0, a malformed one makes the
    sum unknown: null rather than a wrong number)."""
    if not isinstance(line.get(block), dict):
        return None
    total = 0
    for entry in _countries(line, block).values():
        value = _obj(entry).get("total")
        if value is None:
            continue
        number = _int(value)
        if number is None:
            return None
        total += number
    return total


def unknown_parts(value: dict[str, t.Any], shape: dict[str, t.Any]) -> dict[str, t.Any]:
    """The parts of `value` that `shape` does not describe, nested under their own keys.

    `{"trackv2": {"name": "x", "x_explicit": true}}` gives `{"trackv2": {"x_explicit": true}}`.
    A known key holding something other than what is documented there (a scalar where an
    object belongs, an object or array where a number or text belongs) is kept whole.
    """
    unknown: dict[str, t.Any] = {}
    wildcard = shape.get(ANY)
    for key, child in value.items():
        below = shape.get(key, wildcard)
        if below is None or (not below and isinstance(child, dict | list)):
            unknown[key] = child
        elif below:  # an object level
            if isinstance(child, dict):
                if nested := unknown_parts(child, below):
                    unknown[key] = nested
            elif child is not None:
                unknown[key] = child
    return unknown


# api-contract §4.5: the genders and age groups the report knows, each a typed summary column.
# Other keys still count in `streams`, in `demographics` and as Count rows.
GENDERS = ("male", "female", "neutral", "unknown")
AGE_GROUPS = ("0-17", "18-22", "23-27", "28-34", "35-44", "45-59", "60+", "unknown")
GENDER_COLUMNS = {gender: f"streams_gender_{gender}" for gender in GENDERS}
AGE_COLUMNS = {age: "streams_age_" + age.replace("-", "_").replace("+", "_plus")
               for age in AGE_GROUPS}
NO_DEMOGRAPHICS: Record = {**dict.fromkeys(GENDER_COLUMNS.values()),
                           **dict.fromkeys(AGE_COLUMNS.values()),
                           "country_count": None, "demographics": None}


def demographics(line: dict[str, t.Any]) -> Record:
    """The summary's demographic columns: stream totals per known gender and age group, the
    number of countries, and `demographics` ({country: {gender: {age group: value}}}).

    The totals add up exactly the leaves the Count stream emits as rows (a null leaf adds
    nothing; one that is not an integer makes the gender and age totals it belongs to
    null). `demographics` holds every leaf with its value as in the file, and no level that
    has none below it. All null when the line has no streams block.
    """
    block = line.get("streams")
    if not isinstance(block, dict):
        return NO_DEMOGRAPHICS
    by_gender: dict[str, int | None] = dict.fromkeys(GENDERS, 0)
    by_age: dict[str, int | None] = dict.fromkeys(AGE_GROUPS, 0)
    nested: dict[str, t.Any] = {}
    countries = 0
    for country, entry in _obj(block.get("country")).items():
        if not isinstance(entry, dict):
            continue
        countries += 1
        genders: dict[str, t.Any] = {}
        for gender, g_entry in _obj(entry.get("gender")).items():
            ages = _obj(_obj(g_entry).get("age"))
            if not ages:
                continue
            genders[gender] = ages
            for age_group, value in ages.items():
                if value is None:
                    continue
                number = _int(value)
                if gender in by_gender and (known := by_gender[gender]) is not None:
                    by_gender[gender] = None if number is None else known + number
                if age_group in by_age and (known := by_age[age_group]) is not None:
                    by_age[age_group] = None if number is None else known + number
        if genders:
            nested[country] = genders
    return {**{GENDER_COLUMNS[g]: n for g, n in by_gender.items()},
            **{AGE_COLUMNS[a]: n for a, n in by_age.items()},
            "country_count": countries, "demographics": nested}


def summary(line: dict[str, t.Any], base: Record) -> Iterator[Record]:
    track = _obj(line.get("trackv2"))
    album = _obj(line.get("album"))
    extra = unknown_parts(line, KNOWN_SHAPE)
    yield {
        **base,
        "track_name": _str(track.get("name")),
        "track_isrc": base["track_isrc"],
        "album_name": _str(album.get("name")),
        "album_href": _str(album.get("href")),
        "streams": _total(line, "streams"),
        "skips": _total(line, "skips"),
        "saves": _total(line, "saves"),
        **demographics(line),
        "extra": extra or None,
    }


def count(line: dict[str, t.Any], base: Record) -> Iterator[Record]:
    for country, entry in _countries(line, "streams").items():
        for gender, g_entry in _obj(_obj(entry).get("gender")).items():
            for age_group, value in _obj(_obj(g_entry).get("age")).items():
                yield {**base, "country": country, "gender": gender,
                       "age_group": age_group, "streams": _int(value)}


def skips(line: dict[str, t.Any], base: Record) -> Iterator[Record]:
    for country, entry in _countries(line, "skips").items():
        yield {**base, "country": country, "skips": _int(_obj(entry).get("total"))}


def saves(line: dict[str, t.Any], base: Record) -> Iterator[Record]:
    for country, entry in _countries(line, "saves").items():
        for product, value in _obj(_obj(entry).get("product")).items():
            yield {**base, "country": country, "product": product, "saves": _int(value)}


FAN_OUT: dict[str, Callable[[dict[str, t.Any], Record], Iterator[Record]]] = {
    SUMMARY: summary, COUNT: count, SKIPS: skips, SAVES: saves,
}


def base_record(
    line: dict[str, t.Any], licensor: str, report_date: str, row_number: int, *, load_id: str
) -> Record:
    """The key columns every aggregated shape starts with.

    `track_href` is part of every aggregated primary key, and api-contract §4.5 allows any level
    to be missing: without `trackv2.href` the key falls back to `isrc:<ISRC>`, then to
    `row:<row_number>`, so the record still lands (a null key part breaks upserts).
    """
    track = _obj(line.get("trackv2"))
    isrc = _str(track.get("isrc"))
    href = _str(track.get("href")) or (f"isrc:{isrc}" if isrc else f"row:{row_number}")
    return {
        "licensor": licensor,
        "report_date": report_date,
        "load_id": load_id,
        "track_href": href,
        "track_isrc": isrc,
    }
