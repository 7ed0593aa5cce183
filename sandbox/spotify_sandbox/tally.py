"""Order-independent fingerprints of a stream's records: the ground-truth contract.

The sandbox tallies the records a correct tap must emit; tests tally what actually landed
(Singer stdout, JSONL files, DuckDB or PostgreSQL rows) and compare the two `Tally.summary()`
dicts. A Bulk fingerprint covers every field of the record (api-contract §5.1 columns, every line
field of api-contract §4.5 and `extra` exactly), so a record that lands under the right key with one
wrong, missing or wrongly typed value is caught; `sums` adds the key metrics. So do the Ads
fingerprints: every column of a report table (`ads_report_fields`) and of an entity stream
(`ADS_ENTITY_FIELDS`: every field of the v3 list object, `ad_account_id` and `extra`).

Values are made canonical first, keeping their JSON type: `date(2024, 3, 7)` from PostgreSQL
and `"2024-03-07"` from JSON tally the same, as do `Decimal("1.50")` and `1.5`, and
timestamps are compared as instants; but the string `"1985"` never equals the number `1985`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import typing as t
from decimal import Decimal

from spotify_sandbox.ads_data import INSIGHT_VALUES
from spotify_sandbox.ads_fields import ENTITY_FIELDS

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MASK64 = (1 << 64) - 1
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# api-contract §5.1: primary key of each Bulk output stream.
BULK_PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "streams": ("report_date", "country", "row_number"),
    "sub30sec_streams": ("report_date", "country", "row_number"),
    "users": ("report_date", "row_number"),
    "tracks": ("report_date", "row_number"),
    "aggregated_streams_summary": ("report_date", "track_href"),
    "aggregated_streams_count": ("report_date", "track_href", "country", "gender", "age_group"),
    "aggregated_streams_skips": ("report_date", "track_href", "country"),
    "aggregated_streams_saves": ("report_date", "track_href", "country", "product"),
}

# api-contract §4.5: the known fields of each line-per-record report and their JSON types. A line
# value of another type is not a column value: the tap emits null and keeps it in `extra`.
STRING, INTEGER, BOOLEAN = "string", "integer", "boolean"
EVENT_FIELDS: dict[str, str] = {
    "timestamp": STRING, "user_id": STRING, "track_id": STRING, "isrc": STRING,
    "country": STRING, "source": STRING, "source_uri": STRING, "ms_played": INTEGER,
    "cached": BOOLEAN, "shuffle": BOOLEAN, "offline_timestamp": STRING,
    "device_type": STRING, "os": STRING, "product": STRING, "completion": BOOLEAN,
}
LINE_FIELDS: dict[str, dict[str, str]] = {
    "streams": EVENT_FIELDS,
    "sub30sec_streams": EVENT_FIELDS,
    "users": {"user_id": STRING, "country": STRING, "region": STRING,
              "birth_year": INTEGER, "gender": STRING, "product": STRING,
              "device_type": STRING, "os": STRING},
    "tracks": {"track_id": STRING, "isrc": STRING, "track_name": STRING, "album_id": STRING,
               "album_name": STRING, "upc": STRING, "artist_name": STRING, "label": STRING,
               "duration_ms": INTEGER, "release_date": STRING},
}
_AGGREGATED_BASE = ("licensor", "report_date", "track_href", "track_isrc")
# api-contract §4.5: the genders and age groups of the aggregated report; the summary carries a
# streams total per known one (column name: the key, "-" as "_", "+" as "_plus").
GENDERS = ("male", "female", "neutral", "unknown")
AGE_GROUPS = ("0-17", "18-22", "23-27", "28-34", "35-44", "45-59", "60+", "unknown")
GENDER_COLUMNS = {gender: "streams_gender_" + gender for gender in GENDERS}
AGE_COLUMNS = {age: "streams_age_" + age.replace("-", "_").replace("+", "_plus")
               for age in AGE_GROUPS}
SUMMARY_DEMOGRAPHICS = (*GENDER_COLUMNS.values(), *AGE_COLUMNS.values(), "country_count",
                        "demographics")
# Object columns: a target may hand them back as JSON text.
OBJECT_FIELDS = frozenset({"extra", "demographics"})

# Every output column of each Bulk stream (api-contract §5.1), all of them fingerprinted.
BULK_FIELDS: dict[str, tuple[str, ...]] = {
    **{name: tuple(dict.fromkeys(("licensor", *BULK_PRIMARY_KEYS[name], *fields, "extra")))
       for name, fields in LINE_FIELDS.items()},
    "aggregated_streams_summary": (*_AGGREGATED_BASE, "track_name", "album_name",
                                   "album_href", "streams", "skips", "saves",
                                   *SUMMARY_DEMOGRAPHICS, "extra"),
    "aggregated_streams_count": (*_AGGREGATED_BASE, "country", "gender", "age_group",
                                 "streams"),
    "aggregated_streams_skips": (*_AGGREGATED_BASE, "country", "skips"),
    "aggregated_streams_saves": (*_AGGREGATED_BASE, "country", "product", "saves"),
}
BULK_METRICS: dict[str, tuple[str, ...]] = {
    "streams": ("ms_played",), "sub30sec_streams": ("ms_played",), "users": ("birth_year",),
    "tracks": ("duration_ms",), "aggregated_streams_summary": ("streams", "skips", "saves"),
    "aggregated_streams_count": ("streams",), "aggregated_streams_skips": ("skips",),
    "aggregated_streams_saves": ("saves",),
}
# Per Bulk output stream: (fingerprinted fields, metric fields to sum).
BULK_TALLY_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    name: (fields, BULK_METRICS[name]) for name, fields in BULK_FIELDS.items()
}

# What the truth leaves out by name: `load_id` differs on every run, and the `bulk_loads`
# manifest stream is checked against the truth's counts separately. Columns a loader adds
# (`_sdc_*`) are not the tap's either.
NOT_IN_TRUTH_FIELDS = frozenset({"load_id"})
NOT_IN_TRUTH_STREAMS = frozenset({"bulk_loads"})
LOADER_PREFIX = "_sdc_"

# Ads report tables: primary key columns by report shape (api-contract §5.3); every column of the
# table is fingerprinted (`ads_report_fields`), every requested field column also summed.
ADS_KEYS_TIMESERIES = ("ad_account_id", "entity_id", "start_time")
ADS_KEYS_LIFETIME = ("ad_account_id", "entity_id")
ADS_KEYS_INSIGHT = ("ad_account_id", "entity_id", "insight_value")
ADS_KEYS_TOTALS_DAY = ("ad_account_id", "start_time")
ADS_KEYS_TOTALS_LIFETIME = ("ad_account_id",)
# The columns of a report record besides its key and metrics: aggregate, insight and async
# reports, and totals.
ADS_REPORT_COLUMNS = ("currency_code", "table", "granularity", "dimension", "entity_type",
                      "entity_id", "entity_name", "entity_status", "parent_entity_id",
                      "start_time", "end_time")
ADS_TOTALS_COLUMNS = ("currency_code", "table", "granularity", "dimension", "entity_count",
                      "start_time", "end_time")

# Ads entity streams (api-contract §5.3): `id`, `ad_account_id` (businesses have none), every
# field of the v3 list object and `extra`, all fingerprinted; objects and arrays as objects.
ADS_ENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    stream: ("id", *(("ad_account_id",) if stream != "businesses" else ()),
             *(name for name in fields if name != "id"), "extra")
    for stream, fields in ENTITY_FIELDS.items()
}
ADS_ENTITY_OBJECTS: dict[str, frozenset[str]] = {
    stream: frozenset(name for name, kind in fields.items() if kind in {"o", "a"})
    for stream, fields in ENTITY_FIELDS.items()
}


def ads_report_keys(report: Mapping[str, t.Any]) -> tuple[str, ...]:
    """api-contract §5.3 primary key of an `ads_report_list` item's table."""
    granularity = str(report.get("granularity") or "LIFETIME").upper()
    if str(report.get("kind") or "aggregate").lower() == "totals":
        return ADS_KEYS_TOTALS_DAY if granularity == "DAY" else ADS_KEYS_TOTALS_LIFETIME
    if str(report["dimension"]).upper() in INSIGHT_VALUES:
        return ADS_KEYS_INSIGHT
    return ADS_KEYS_LIFETIME if granularity == "LIFETIME" else ADS_KEYS_TIMESERIES


def ads_report_fields(report: Mapping[str, t.Any]) -> tuple[str, ...]:
    """Every column of an `ads_report_list` item's table: key first, then the record's
    other columns, one per requested field, and `extra`."""
    kind = str(report.get("kind") or "aggregate").lower()
    keys = ads_report_keys(report)
    columns = ADS_TOTALS_COLUMNS if kind == "totals" else ADS_REPORT_COLUMNS
    metrics = tuple(str(f).lower() for f in report["fields"])
    return tuple(dict.fromkeys((*keys, *columns, *metrics, "extra")))


def _number(value: float | Decimal) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.6f}".rstrip("0")


def _instant(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return "t:" + value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: t.Any) -> str:  # noqa: PLR0911
    """A text form of a value that keeps its JSON type and is equal across every target we
    load into: `n:` numbers, `s:` strings, `b:` booleans, `d:` dates, `t:` instants,
    `o:`/`a:` objects and arrays (keys sorted), `""` for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "b:true" if value else "b:false"
    if isinstance(value, dt.datetime):
        return _instant(value)
    if isinstance(value, dt.date):
        return "d:" + value.isoformat()
    if isinstance(value, int | float | Decimal):
        return "n:" + _number(value)
    if isinstance(value, str):
        if _ISO_DATE.match(value):
            return "d:" + value
        if _ISO_DATETIME.match(value):
            text = value.replace(" ", "T").replace("Z", "+00:00")
            if re.search(r"[+-]\d{2}$", text):
                text += ":00"
            try:
                return _instant(dt.datetime.fromisoformat(text))
            except ValueError:  # shaped like a time but not one (month 13): a string
                pass
        return "s:" + value
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{canonical(v)}" for k, v in sorted(value.items()))
        return "o:{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "a:[" + ",".join(canonical(v) for v in value) + "]"
    return "?:" + repr(value)


def fingerprint(values: Iterable[t.Any]) -> int:
    """64-bit hash of the canonical forms of `values`, in order."""
    text = "\x1f".join(canonical(v) for v in values)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _loaded_object(value: t.Any) -> t.Any:
    """An object or array column as a target returns it: some hand back JSON text."""
    if isinstance(value, str) and value.startswith(("{", "[")):
        return json.loads(value)
    return value


class Tally:
    """Count, order-independent checksum and metric sums over a stream's records.

    With `closed`, a record key outside `fields` that holds a value is fingerprinted too,
    so a column the contract does not define cannot slip through (except the names in
    `NOT_IN_TRUTH_FIELDS` and loader columns). `objects` names object and array columns
    besides `OBJECT_FIELDS`, read back from JSON text when a target returns them so.
    """

    def __init__(self, fields: Sequence[str], metrics: Sequence[str] = (), *,
                 closed: bool = False, objects: Iterable[str] = ()) -> None:
        self.fields = tuple(fields)
        self.metrics = tuple(metrics)
        self.closed = closed
        self._known = frozenset(self.fields) | NOT_IN_TRUTH_FIELDS
        objects = OBJECT_FIELDS | frozenset(objects)
        self._objects_at = [i for i, f in enumerate(self.fields) if f in objects]
        self.count = 0
        self.checksum = 0
        self.sums: dict[str, float] = dict.fromkeys(self.metrics, 0.0)

    @classmethod
    def for_bulk_stream(cls, stream: str) -> Tally:
        return cls(BULK_FIELDS[stream], BULK_METRICS[stream], closed=True)

    @classmethod
    def for_ads_entity_stream(cls, stream: str) -> Tally:
        return cls(ADS_ENTITY_FIELDS[stream], closed=True, objects=ADS_ENTITY_OBJECTS[stream])

    @classmethod
    def for_ads_report(cls, report: Mapping[str, t.Any]) -> Tally:
        """Every column of the report's table, its field columns summed."""
        metrics = tuple(str(f).lower() for f in report["fields"])
        return cls(ads_report_fields(report), metrics, closed=True)

    def add(self, record: Mapping[str, t.Any]) -> None:
        self.count += 1
        values = [record.get(f) for f in self.fields]
        for at in self._objects_at:
            values[at] = _loaded_object(values[at])
        if self.closed:
            values += [(k, record[k]) for k in sorted(record) if k not in self._known
                       and record[k] is not None and not k.startswith(LOADER_PREFIX)]
        self.checksum = (self.checksum + fingerprint(values)) & MASK64
        for metric in self.metrics:
            value = record.get(metric)
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                self.sums[metric] += float(value)

    def add_all(self, records: Iterable[Mapping[str, t.Any]]) -> Tally:
        for record in records:
            self.add(record)
        return self

    def summary(self) -> dict[str, t.Any]:
        """JSON-ready comparison form: sums rounded so float addition order cannot matter."""
        return {
            "count": self.count,
            "checksum": f"{self.checksum:016x}",
            "sums": {k: round(v, 4) for k, v in self.sums.items()},
        }
