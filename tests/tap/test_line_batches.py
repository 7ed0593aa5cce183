"""Lines spliced a batch at once write exactly the records that typing each line would.

The fast way out reads a batch of lines with one msgspec decode and appends the added
columns to each line's own text (`LineShape.batch_splicer`); any batch with a line that is
not already its record (a wrong type, an unknown key, another country, text orjson refuses)
goes line by line. Here files mixing clean lines with every kind of odd line are emitted
both through the fast way out and through the SDK-shaped record path (`builder` +
serialisation), and the RECORD messages must be the same JSON, keys in the same order.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import re
from types import SimpleNamespace

import orjson
import pytest

from tap_spotify_bulk.bulk import files
from tap_spotify_bulk.bulk.emit import LineEmitter
from tap_spotify_bulk.bulk.records import LineShape
from tap_spotify_bulk.errors import DataError
from tap_spotify_bulk.output import BufferedWriter, FastRecords

SCHEMA = {"properties": {
    "country": {"type": ["string"]},
    "name": {"type": ["string", "null"]},
    "plays": {"type": ["integer", "null"]},
    "share": {"type": ["number", "null"]},
    "flag": {"type": ["boolean"]},
    "meta": {"type": ["object", "null"]},
    "tags": {"type": ["array", "null"]},
    "licensor": {"type": ["string"]}, "report_date": {"type": ["string"]},
    "load_id": {"type": ["string"]}, "row_number": {"type": ["integer"]},
    "extra": {"type": ["object", "null"]},
}}

CLEAN = [
    b'{"country":"SE","name":"a","plays":3,"share":0.5,"flag":true,"meta":{"k":[1]},"tags":[]}',
    b'{"name":null,"plays":null,"share":2,"flag":false,"meta":null,"tags":null}',
    b'{"flag":true,"name":"emoji \\ud83d\\ude00 pair","plays":-0}',
    b'{"flag":true,"share":18446744073709551616}',
    b'{"flag":false,"plays":9223372036854775807}\r',
    b'  {"flag":true,"name":"spaced"}  ',
    b'{"flag":true,"name":"dup","name":"last"}',
]
ODD = [
    b"",  # blank lines are skipped, not numbered
    b"   ",
    b"{}",
    b"{ }",
    b'{"flag":"yes"}',  # wrong type
    b'{"flag":true,"plays":true}',  # bool is not an integer
    b'{"flag":true,"plays":1.5}',
    b'{"flag":true,"plays":18446744073709551615}',  # beyond int64, still orjson's int
    b'{"flag":true,"plays":18446744073709551616}',  # orjson reads it as a float
    b'{"flag":true,"unknown":1}',
    b'{"flag":true,"country":"NO"}',  # another country than the partition's
    b'{"flag":true,"country":null}',
    b'{"flag":true,"name":"lone \\ud800 surrogate"}',  # only the lenient parse reads it
    b'{"flag":true,"name":"low \\udc00 alone"}',
    b'{"flag":true,"meta":{"deep":"\\udfff"}}',
    b'{"flag":true,"name":"ok","name":5}',  # duplicate key, last one wrong
    b'{"flag":true,"name":5,"name":"ok"}',
    b'{"flag":true,"meta":{}}',
]


def _emit(path, *, partition_country: bool, country: str | None, fast: bool) -> bytes:
    writer = BufferedWriter()
    records = FastRecords(writer, "s")
    sink = SimpleNamespace(start_file=records.start_file, write=records.write,
                           write_text=records.write_text if fast else None,
                           write_texts=records.write_texts if fast else None)
    counted = []
    target = SimpleNamespace(sink=sink, stream=SimpleNamespace(name="s"),
                             count=lambda _, rows: counted.append(rows), stopped=False)
    job = SimpleNamespace(day=dt.date(2024, 3, 7), country=country, relative="s/2024/03/07")
    lead = SimpleNamespace(schema=SCHEMA, partition_country=partition_country)
    LineEmitter("lic", "load-1", lead).emit(job, path, [target])
    out = bytes(writer.buffer)
    assert out.count(b"\n") == counted[0]
    return re.sub(rb',"time_extracted":"[^"]*"', b"", out)


def _messages(out: bytes) -> list[tuple[object, list[tuple[str, object]]]]:
    """Each message, its record as (key, value) pairs in order. The fast way out passes a
    line's own text on (its spacing, a number as written, a key given twice), so messages
    are compared as JSON values, keys in order."""
    messages = []
    for line in out.splitlines():
        message = orjson.loads(line)
        record = message.pop("record")
        messages.append((message, list(record.items())))
    return messages


@pytest.mark.parametrize(("partition_country", "country"),
                         [(True, "SE"), (True, None), (False, None)])
@pytest.mark.parametrize("seed", range(6))
def test_fast_way_out_writes_what_the_record_path_writes(tmp_path, partition_country, country,
                                                         seed):
    rng = random.Random(seed)
    lines = [rng.choice(CLEAN) for _ in range(3000)]
    for _ in range(rng.randint(0, 12)):  # a few odd lines among many clean ones
        lines.insert(rng.randrange(len(lines)), rng.choice(ODD))
    if seed % 2:  # every clean line of this file without the country key
        lines = [line.replace(b'"country":"SE",', b"") for line in lines]
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    fast = _emit(path, partition_country=partition_country, country=country, fast=True)
    typed = _emit(path, partition_country=partition_country, country=country, fast=False)
    assert _messages(fast) == _messages(typed)
    assert fast.count(b"\n") == sum(1 for line in lines if line.strip())


def test_clean_batches_are_spliced_at_once_and_odd_ones_are_not():
    shape = LineShape(SCHEMA, partition_country=True)
    splice_many = shape.batch_splicer(licensor="l", report_date="d", load_id="x", country="SE")
    splice = shape.splicer(licensor="l", report_date="d", load_id="x", country="SE")
    with_country = [line for line in CLEAN if b'"country"' in line]
    assert splice_many([*with_country, b""], 7) == [
        splice(line, orjson.loads(line), row) for row, line in enumerate(with_country, 7)]
    for odd in ODD:
        if odd.strip():
            assert splice_many([CLEAN[0], odd], 1) is None, odd


def test_invalid_utf8_fails_the_file_with_its_line_number(tmp_path):
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b'{"flag":true}\n{"flag":true,"name":"\xff"}\n'))
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        _emit(path, partition_country=False, country=None, fast=True)


def test_line_batches_keep_every_line_and_its_number(tmp_path):
    lines = [b'{"n":%d}' % n if n % 5 else b"" for n in range(600)]
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    batches = list(files.line_batches(path, "x", size=7))
    assert all(len(batch) <= 7 for _, batch in batches)
    seen: list[bytes] = []
    for line_no, batch in batches:
        assert line_no == len(seen) + 1
        seen += batch
    assert seen == lines
