"""A tap's Singer output, parsed once (`Output`), and the checks every suite applies to it."""

from __future__ import annotations

import gzip
import json
import typing as t
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jsonschema
import orjson
from spotify_sandbox.tally import BULK_PRIMARY_KEYS, NOT_IN_TRUTH_STREAMS, Tally

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

SCHEMA_DIR = Path(str(resources.files("tap_spotify_bulk.bulk.schemas")))
BULK_KEYS = BULK_PRIMARY_KEYS  # api-contract §5.1
LOADS_STREAM = "bulk_loads"  # the load manifest: not in the sandbox's truth, kept apart


@dataclass
class Output:
    """Parsed Singer messages of one run (complete lines only), with what the run logged
    and the exception it ended with (in-process runs)."""

    raw: bytes = b""
    resumed: bool = False  # started from a state: the first STATE echoes it back
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    loads: list[dict] = field(default_factory=list)  # the `bulk_loads` manifest records
    states: list[dict] = field(default_factory=list)
    schemas: dict[str, dict] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
    logs: str = ""
    error: BaseException | None = None

    @classmethod
    def parse(cls, raw: bytes | str, *, resumed: bool = False) -> Output:
        data = raw.encode() if isinstance(raw, str) else raw
        out = cls(raw=data, resumed=resumed)
        for line in data.splitlines():
            if not line.strip():
                continue
            message = orjson.loads(line)
            out.messages.append(message)
            if message["type"] == "RECORD" and message["stream"] == LOADS_STREAM:
                out.loads.append(message["record"])
            elif message["type"] == "RECORD":
                out.records[message["stream"]].append(message["record"])
            elif message["type"] == "STATE":
                out.states.append(message["value"])
            elif message["type"] == "SCHEMA":
                out.schemas[message["stream"]] = message
        assert_message_order(out.messages)
        return out

    @property
    def state(self) -> dict | None:
        return self.states[-1] if self.states else None

    def bookmarks(self) -> dict[str, str]:
        return bookmarks_of(self.state)

    def bookmark(self, stream: str) -> str | None:
        return self.bookmarks().get(stream)

    def dates(self, stream: str) -> list[str]:
        return sorted({r["report_date"] for r in self.records[stream]})

    def tallies(self) -> dict[str, dict]:
        """Tally of each Bulk stream that has records (the manifest stream left out)."""
        return {name: tally(name, rows) for name, rows in self.records.items()
                if name not in NOT_IN_TRUTH_STREAMS and rows and name in BULK_KEYS}


def bookmarks_of(state: Mapping[str, t.Any] | None) -> dict[str, str]:
    """{stream: replication_key_value} of the Bulk streams in a Singer state."""
    marks = (state or {}).get("bookmarks", {})
    return {name: value["replication_key_value"] for name, value in marks.items()
            if name in BULK_KEYS and value.get("replication_key_value")}


def tally(stream: str, rows: Iterable[Mapping[str, t.Any]]) -> dict:
    return Tally.for_bulk_stream(stream).add_all(rows).summary()


def duplicate_keys(stream: str, records: Iterable[Mapping[str, t.Any]],
                   keys: tuple[str, ...] | None = None) -> list[tuple]:
    """Primary keys that occur more than once."""
    keys = keys or BULK_KEYS[stream]
    counts = Counter(tuple(r.get(k) for k in keys) for r in records)
    return [key for key, n in counts.items() if n > 1]


def upsert(runs: Iterable[Output]) -> dict[str, dict[tuple, dict]]:
    """What a target holds after loading `runs` in order: the last record per primary key."""
    table: dict[str, dict[tuple, dict]] = defaultdict(dict)
    for run in runs:
        for stream, rows in run.records.items():
            if stream not in BULK_KEYS:
                continue
            keys = BULK_KEYS[stream]
            for row in rows:
                table[stream][tuple(row.get(k) for k in keys)] = row
    return table


def assert_matches_truth(output: Output, truth: Mapping[str, dict]) -> None:
    """Exactly the truth (no record lost, none extra) and no primary key twice."""
    for stream, rows in output.records.items():
        if stream in BULK_KEYS:
            assert not duplicate_keys(stream, rows), f"{stream}: duplicate primary keys"
    landed = output.tallies()
    expected = {name: summary for name, summary in truth.items()
                if summary["count"] or name in landed}
    assert landed == expected


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


def assert_message_order(messages: Iterable[Mapping[str, t.Any]]) -> None:
    """The order every run's output keeps, in RECORD and in BATCH mode, also when cut short
    by a kill (any prefix of a good output passes):

    * a stream's SCHEMA comes before its first RECORD or BATCH;
    * a date's `bulk_loads` manifest record comes after every record of that stream, date
      and country scope (their number is the manifest's `records`) or, in BATCH mode,
      after a BATCH message of the stream for that date; no record of the date follows it;
    * a STATE that moves a Bulk stream's bookmark to a date comes after that date's
      manifest records: none for the date or before it follows (STATEs before the first
      data message echo the input state and are not progress).
    """
    schemas: set[str] = set()
    counts: Counter[tuple[str, str, str]] = Counter()  # (stream, date, country or "*")
    batches: Counter[str] = Counter()  # BATCH messages of a stream since its last manifest date
    manifest_day: dict[str, str] = {}  # stream -> date of its latest manifest record
    closed: set[tuple[str, str]] = set()  # (stream, date) with a manifest record
    moved: dict[str, str] = {}
    marks: dict[str, str | None] = {}
    data_seen = False
    for index, message in enumerate(_with_batch_records(messages)):
        kind, stream = message["type"], message.get("stream")
        where = f"message {index} ({kind} {stream})"
        if kind in {"RECORD", "BATCH"}:
            data_seen = True
            assert stream in schemas or message.get("from_batch"), (
                f"{where}: no SCHEMA before it")
        if kind == "SCHEMA":
            schemas.add(stream)
        elif kind == "BATCH":
            batches[stream] += 1
        elif kind == "RECORD" and stream == LOADS_STREAM:
            _check_manifest(message["record"], counts, batches, manifest_day, where)
            closed.add((message["record"]["stream"], message["record"]["report_date"]))
            name, day = message["record"]["stream"], message["record"]["report_date"]
            assert name not in moved or day > moved[name], (
                f"{where}: manifest of {name} {day} after STATE moved it to {moved[name]}")
        elif kind == "RECORD" and stream in BULK_KEYS:
            record = message["record"]
            day = record.get("report_date")
            assert (stream, day) not in closed, f"{where}: record of {day} after its manifest"
            if record.get("country") is not None:
                counts[stream, day, record["country"]] += 1
            counts[stream, day, "*"] += 1
        elif kind == "STATE":
            for name, value in message["value"].get("bookmarks", {}).items():
                current = value.get("replication_key_value")
                if data_seen and name in BULK_KEYS and current != marks.get(name):
                    moved[name] = current
                marks[name] = current


def _with_batch_records(messages: Iterable[Mapping[str, t.Any]]) -> Iterator[Mapping[str, t.Any]]:
    """The messages, each BATCH message followed by the records of its local (`file://`)
    files as RECORD messages in its place (BATCH mode orders files as RECORD mode orders
    records); files elsewhere or gone are left out."""
    for message in messages:
        yield message
        if message["type"] != "BATCH":
            continue
        for url in message.get("manifest", []):
            path = Path(url.removeprefix("file://"))
            if not url.startswith("file://") or not path.exists():
                continue
            opener = gzip.open if path.suffix == ".gz" or path.read_bytes()[:2] == b"\x1f\x8b" \
                else open
            with opener(path, "rb") as lines:
                for line in lines:
                    if line.strip():
                        yield {"type": "RECORD", "stream": message["stream"],
                               "record": orjson.loads(line), "from_batch": True}


def _check_manifest(record: Mapping[str, t.Any], counts: Counter, batches: Counter[str],
                    manifest_day: dict[str, str], where: str) -> None:
    stream, day, scope = record["stream"], record["report_date"], record["country_scope"]
    if manifest_day.get(stream) != day:  # the first manifest record of this date
        if record["records"] and not counts[stream, day, "*"]:
            assert batches[stream], f"{where}: {stream} {day} has neither records nor BATCH"
        batches[stream] = 0
        manifest_day[stream] = day
    if counts[stream, day, "*"]:  # RECORD mode: every record of the scope came before
        seen = counts[stream, day, scope]
        assert seen == record["records"], (
            f"{where}: manifest of {stream} {day} {scope} says {record['records']} records, "
            f"{seen} came before it")


def assert_valid(run: Output) -> None:
    """Every Bulk record matches its stream's schema; no primary key twice; STATE only
    between dates."""
    for stream, records in run.records.items():
        if stream not in BULK_KEYS:
            continue
        schema = json.loads((SCHEMA_DIR / f"{stream}.json").read_text())
        validator = jsonschema.Draft7Validator(
            schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
        duplicates = duplicate_keys(stream, records)
        assert not duplicates, f"{stream}: duplicate keys {duplicates[:3]}"
        for record in records:
            errors = list(validator.iter_errors(record))
            assert not errors, f"{stream}: {errors[0].message} in {record}"
    assert_state_follows_data(run.messages, resumed=run.resumed)
