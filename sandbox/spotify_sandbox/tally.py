"""Order-independent fingerprints of a stream's records: the ground-truth contract.

The sandbox tallies the records a correct tap must emit; tests tally what actually landed
(Singer stdout, JSONL files, DuckDB or PostgreSQL rows) and compare the two `Tally.summary()`
dicts. A fingerprint covers the primary key plus a few content fields, so a record that
lands under the right key with the wrong data is caught too; `sums` adds the key metrics.

Values are made canonical first so that `date(2024, 3, 7)` from PostgreSQL, `"2024-03-07"`
from JSON, `Decimal("1.50")` and `1.5` all tally the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import typing as t
from decimal import Decimal

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MASK64 = (1 << 64) - 1
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)

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

# Per Bulk output stream: (fingerprint fields = primary key + content, metric fields to sum).
BULK_TALLY_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "streams": (("report_date", "country", "row_number", "track_id", "user_id", "ms_played"),
                ("ms_played",)),
    "sub30sec_streams": (("report_date", "country", "row_number", "track_id", "user_id",
                          "ms_played"), ("ms_played",)),
    "users": (("report_date", "row_number", "user_id", "birth_year"), ("birth_year",)),
    "tracks": (("report_date", "row_number", "track_id", "duration_ms"), ("duration_ms",)),
    "aggregated_streams_summary": (("report_date", "track_href", "streams", "skips", "saves"),
                                   ("streams", "skips", "saves")),
    "aggregated_streams_count": (("report_date", "track_href", "country", "gender", "age_group",
                                  "streams"), ("streams",)),
    "aggregated_streams_skips": (("report_date", "track_href", "country", "skips"), ("skips",)),
    "aggregated_streams_saves": (("report_date", "track_href", "country", "product", "saves"),
                                 ("saves",)),
}

# Ads report tables: primary key columns by report shape (api-contract §5.3); every requested field
# column is both fingerprinted and summed.
ADS_KEYS_TIMESERIES = ("ad_account_id", "entity_id", "start_time")
ADS_KEYS_LIFETIME = ("ad_account_id", "entity_id")
ADS_KEYS_INSIGHT = ("ad_account_id", "entity_id", "insight_value")


def canonical(value: t.Any) -> str:  # noqa: PLR0911
    """A type-independent text form of a value, equal across every target we load into."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        return str(int(number)) if number.is_integer() else f"{number:.6f}".rstrip("0")
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        text = value.replace(" ", "T").replace("Z", "+00:00")
        if re.search(r"[+-]\d{2}$", text):
            text += ":00"
        return canonical(dt.datetime.fromisoformat(text))
    return str(value)


def fingerprint(values: Iterable[t.Any]) -> int:
    """64-bit hash of the canonical forms of `values`, in order."""
    text = "\x1f".join(canonical(v) for v in values)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Tally:
    """Count, order-independent checksum and metric sums over a stream's records."""

    def __init__(self, fields: Sequence[str], metrics: Sequence[str] = ()) -> None:
        self.fields = tuple(fields)
        self.metrics = tuple(metrics)
        self.count = 0
        self.checksum = 0
        self.sums: dict[str, float] = dict.fromkeys(self.metrics, 0.0)

    @classmethod
    def for_bulk_stream(cls, stream: str) -> Tally:
        fields, metrics = BULK_TALLY_FIELDS[stream]
        return cls(fields, metrics)

    @classmethod
    def for_ads_report(cls, keys: Sequence[str], field_columns: Sequence[str]) -> Tally:
        return cls((*keys, *field_columns), field_columns)

    def add(self, record: Mapping[str, t.Any]) -> None:
        self.count += 1
        self.checksum = (self.checksum + fingerprint(record.get(f) for f in self.fields)) & MASK64
        for metric in self.metrics:
            value = record.get(metric)
            if value is not None:
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
