"""Lines spliced a batch at once write exactly the records that typing each line would.

The fast way out checks a batch of lines with msgspec, each line on its own, in runs, and
appends the added columns to each clean line's own text (`LineShape.batch_splicer`); a line
that is not already its record (a wrong type, an unknown key, another country, text orjson
refuses, not one object on its own) is read on its own, in its place. Here files mixing
clean lines with every kind of odd line are emitted through the fast way out, through the
line-by-line way (`splicer`, else `builder`, for every line: the same bytes), and through
the SDK-shaped record path (`builder` + serialisation: the same JSON, keys in the same
order), in RECORD messages and BATCH-mode files, or the file must fail with the same error.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import re
import typing as t
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from singer_sdk.helpers._batch import BatchConfig
from spotify_sandbox.bulk_data import BulkData
from spotify_sandbox.bulk_lines import seeded
from spotify_sandbox.options import SandboxOptions

from benchmarks.untidy import untidy_chunks
from tap_spotify_bulk.bulk import files
from tap_spotify_bulk.bulk.emit import LineEmitter
from tap_spotify_bulk.bulk.records import LineShape
from tap_spotify_bulk.errors import DataError
from tap_spotify_bulk.output import BatchRecords, BufferedWriter, FastRecords

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


class _KeptWriter(BufferedWriter):
    """Keeps what it flushes: `output` is all that was written."""

    def __init__(self) -> None:
        super().__init__()
        self.kept = bytearray()

    def flush(self) -> None:
        self.kept += self.buffer
        self.buffer.clear()

    def output(self) -> bytes:
        return re.sub(rb',"time_extracted":"[^"]*"', b"", bytes(self.kept + self.buffer))


def _emit(path, *, partition_country: bool, country: str | None, fast: bool,
          schema: dict = SCHEMA) -> bytes:
    writer = _KeptWriter()
    records = FastRecords(writer, "s")
    sink = SimpleNamespace(start_file=records.start_file, write=records.write,
                           write_text=records.write_text if fast else None,
                           write_texts=records.write_texts if fast else None)
    counted = []
    target = SimpleNamespace(sink=sink, stream=SimpleNamespace(name="s"),
                             count=lambda _, rows: counted.append(rows), stopped=False)
    job = SimpleNamespace(day=dt.date(2024, 3, 7), country=country, relative="s/2024/03/07")
    lead = SimpleNamespace(schema=schema, partition_country=partition_country)
    LineEmitter("lic", "load-1", lead).emit(job, path, [target])
    out = writer.output()
    assert out.count(b"\n") == counted[0]
    return out


def _write_line_by_line(path, write, write_text, *, partition_country: bool,
                        country: str | None, schema: dict = SCHEMA) -> None:
    """Every line through `splicer`, else `builder`: the way every line of a batch with an
    odd line went before odd lines were read on their own."""
    shape = LineShape(schema, partition_country=partition_country)
    names = {"licensor": "lic", "report_date": "2024-03-07", "load_id": "load-1",
             "country": country}
    splice = shape.splicer(**names)
    build = shape.builder(**names, path="s/2024/03/07")
    for row, text, line in files.read_records(path, "s/2024/03/07"):
        body = splice(text, line, row)
        if body is None:
            write(build(line, row))
        else:
            write_text(body)


def _emit_line_by_line(path, **kwargs) -> bytes:
    writer = _KeptWriter()
    records = FastRecords(writer, "s")
    records.start_file()
    _write_line_by_line(path, records.write, records.write_text, **kwargs)
    return writer.output()


def _outcome_bytes(emit: t.Callable[..., bytes], path, **kwargs) -> tuple[str, object]:
    try:
        return "records", emit(path, **kwargs)
    except DataError as exc:
        return "error", str(exc)


def _messages(out: bytes) -> list[tuple[object, list[tuple[str, object]]]]:
    """Each message, its record as (key, value) pairs in order. The fast way out passes a
    line's own text on (its spacing, a number as written, a key given twice), so messages
    are compared as JSON values, keys in order."""
    messages = []
    for line in out.split(b"\n")[:-1]:  # (a line's own text may hold a raw \r: whitespace)
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
    assert fast == _emit_line_by_line(path, partition_country=partition_country,
                                      country=country)
    assert fast.count(b"\n") == sum(1 for line in lines if line.strip())


def test_clean_lines_are_spliced_at_once_and_odd_ones_are_left_in_place():
    shape = LineShape(SCHEMA, partition_country=True)
    splice_many = shape.batch_splicer(licensor="l", report_date="d", load_id="x", country="SE")
    splice = shape.splicer(licensor="l", report_date="d", load_id="x", country="SE")
    with_country = [line for line in CLEAN if b'"country"' in line]
    assert splice_many([*with_country, b""], 7) == ([
        splice(line, orjson.loads(line), row) for row, line in enumerate(with_country, 7)], [])
    first, third = (splice(CLEAN[0], orjson.loads(CLEAN[0]), row) for row in (1, 3))
    for odd in ODD:
        if not odd.strip():
            continue
        ((text, line),) = files.parse_lines([odd], 2, "x")
        texts, places = splice_many([CLEAN[0], odd, CLEAN[0]], 1)
        if places:  # left for the line-by-line way, between the lines around it
            assert (texts, places) == ([first, third], [(1, 1)]), odd
        else:  # a line splice_many takes is one `splicer` writes the same
            assert texts == [first, splice(text, line, 2), third], odd
        if splice(text, line, 2) is None:
            assert places, odd


def test_invalid_utf8_fails_the_file_with_its_line_number(tmp_path):
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b'{"flag":true}\n{"flag":true,"name":"\xff"}\n'))
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        _emit(path, partition_country=False, country=None, fast=True)


@pytest.mark.parametrize("fast", [True, False])
def test_a_value_json_output_cannot_carry_fails_the_file_with_its_row(tmp_path, fast):
    # A list nested 300 deep (kept in `extra`): the lenient parse reads it, JSON output
    # stops at 255 levels.
    path = tmp_path / "f.gz"
    deep = b'{"flag":true,"meta":' + b"[" * 300 + b"]" * 300 + b"}"
    path.write_bytes(gzip.compress(b'{"flag":true}\n\n{"flag":true}\n' + deep + b"\n"))
    with pytest.raises(DataError) as caught:
        _emit(path, partition_country=False, country=None, fast=fast)
    assert str(caught.value).startswith("s/2024/03/07: row 3 cannot be written as JSON (")


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


# Lines that a JSON array of the whole batch reads as valid although a line on its own is
# not one JSON object: a line holding two objects, a string or an array or an object that
# runs on into the next line (e.g. a raw newline inside a value), nesting too deep to decode.
RUN_ON = {
    "two objects on a line": [b'{"flag":true},{"flag":false}'],
    "a string on two lines": [b'{"flag":true,"name":"a', b'b"}'],
    "a string ending on the next line's brace": [b'{"flag":true,"name":"a}',
                                                 b'{","flag":true},{"flag":true}'],
    "an array on two lines": [b'{"flag":true,"tags":[{}', b'{}]},{"flag":true}'],
    "an object on two lines": [b'{"flag":true,"meta":{"k":1', b'"j":2}}'],
    "nesting beyond the parsers' depth": [b'{"flag":true,"tags":' + b"[" * 1100
                                          + b"]" * 1100 + b"}"],
}


def _outcome(path, **kwargs) -> tuple[str, object]:
    """The messages written, or the data error the file fails with."""
    try:
        return "records", _messages(_emit(path, **kwargs))
    except DataError as exc:
        return "error", str(exc)


@pytest.mark.parametrize(("partition_country", "country"), [(True, "SE"), (False, None)])
@pytest.mark.parametrize("case", RUN_ON)
def test_a_line_that_is_not_one_object_on_its_own_fails_as_line_by_line(tmp_path, case,
                                                                          partition_country,
                                                                          country):
    lines = [CLEAN[1]] * 20 + RUN_ON[case] + [CLEAN[1]] * 20  # all in one batch
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    fast = _outcome(path, partition_country=partition_country, country=country, fast=True)
    typed = _outcome(path, partition_country=partition_country, country=country, fast=False)
    assert fast == typed
    assert fast[0] == "error"
    assert str(fast[1]).startswith("s/2024/03/07: line 21 is not valid JSON;")


def test_batches_the_line_parse_reads_otherwise_go_line_by_line():
    """An integer too large for a double inside an object or array value: orjson refuses
    the line (the lenient parse reads it), msgspec would read it."""
    shape = LineShape(SCHEMA, partition_country=False)
    splice_many = shape.batch_splicer(licensor="l", report_date="d", load_id="x", country=None)
    for huge in (b'{"flag":true,"tags":[1' + b"0" * 400 + b"]}",
                 b'{"flag":true,"meta":{"n":-' + b"9" * 309 + b"}}"):
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(huge)
        assert splice_many([CLEAN[1], huge], 1)[1] == [(1, 1)]
    assert splice_many([CLEAN[1], b'{"flag":true,"tags":[1' + b"0" * 300 + b"]}"], 1)[1] == []
    for lines in RUN_ON.values():
        texts, odd = splice_many([CLEAN[1], *lines, CLEAN[1]], 1)
        assert texts and odd and all(index in range(1, len(lines) + 1) for _, index in odd)


# Pieces a seeded generator puts into clean files: JSON that is not quite JSON, whitespace
# of every kind, escapes, keys that equal a field name once unescaped, other countries.
TOKENS = [b",", b"}", b"{", b"]", b"[", b'"', b"\\", b"\\u0072", b" ", b"\t", b"\r", b"\x0b",
          b"\x0c", b"\xc2\xa0", b"\xef\xbb\xbf", b"\x00", b"\xff", b"NaN", b"Infinity",
          b"1e400", b"-0", b"//c", b"/*c*/", b":", b"},{", b"{}", b"[]", b"null", b"\\ud800",
          b'"country":"SE",', b'"country":"\\u0053E",', b'"flag":true,']
WHOLE = [b"[]", b'"x"', b"1", b"null", b"[{}]", b'[{"flag":true}]', b"{}", b"{ }", b"{\t}",
         b"\r", b" \t ", b"\x0c", b"\xc2\xa0", b'{"c\\u006funtry":"SE","flag":true}',
         b'{"country":"S\\u0045","flag":true}', b'{"country":"se","flag":true}',
         b'{"fl\\u0061g":true}', b'{"flag":true,"licensor":"x"}', b'{"flag":true,"extra":null}',
         b'{"flag":true,"country":"SE","country":"NO"}', b'{"flag":true,"share":1E-400}',
         b'{"flag":true,"country":"NO","country":"SE"}', b'{"flag":true,"share":-0.0}',
         b'{"flag":true,"name":"\\u0000\\u2028\\ud83d\\ude00\\/"}', b'{"flag":true,"share":1e308}',
         b'{"flag":true,"plays":-9223372036854775808}',
         b'{"flag":true,"plays":9223372036854775808}',
         b'{"flag":true,"meta":{"a":1,"a":"b"}}', b'{"flag":true,"tags":[1,[3,{"x":null}]]}',
         b'\r{"flag":true}', b'{"flag"\r:\ttrue }\r']


def _mutate(rng: random.Random, lines: list[bytes]) -> None:
    at = rng.randrange(len(lines))
    line = lines[at]
    cut = rng.randrange(len(line) + 1)
    match rng.randrange(6):
        case 0:  # a line cut in two (a raw newline inside it)
            lines[at:at + 1] = [line[:cut], line[cut:]]
        case 1:  # two lines as one
            lines[at:at + 2] = [rng.choice([b",", b" ", b""]).join(lines[at:at + 2])]
        case 2:
            lines[at] = line[:cut] + rng.choice(TOKENS) + line[cut:]
        case 3:
            lines[at] = line[:cut] + line[cut + 1:]
        case 4:
            lines.insert(at, rng.choice(WHOLE + ODD))
        case _:  # a key's last character escaped
            end = line.find(b'":')
            if end > 1:
                lines[at] = line[:end - 1] + b"\\u%04x" % line[end - 1] + line[end:]


def _emit_batches(path, tmp_path, batch_size: int, **kwargs) -> list[list[dict]]:
    """The records of BATCH-mode files, file by file."""
    config = BatchConfig.from_dict({
        "encoding": {"format": "jsonl", "compression": "none"}, "batch_size": batch_size,
        "storage": {"root": f"file://{tmp_path}/batches", "prefix": f"{path.stem}-"}})
    records = BatchRecords(config, "tap", "s")
    sink = SimpleNamespace(start_file=lambda: None, write=records.write,
                           write_text=records.write_text, write_texts=records.write_texts)
    target = SimpleNamespace(sink=sink, stream=SimpleNamespace(name="s"),
                             count=lambda *_: None, stopped=False)
    job = SimpleNamespace(day=dt.date(2024, 3, 7), country=kwargs["country"],
                          relative="s/2024/03/07")
    lead = SimpleNamespace(schema=SCHEMA, partition_country=kwargs["partition_country"])
    try:
        LineEmitter("lic", "load-1", lead).emit(job, path, [target])
    finally:
        urls = records.finish()
    texts = [Path(url.removeprefix("file://")).read_bytes() for url in urls]
    return [[orjson.loads(line) for line in text.split(b"\n")[:-1]] for text in texts]


@pytest.mark.parametrize("seed", range(4))
def test_mangled_files_give_the_same_records_or_the_same_error(tmp_path, seed):
    """Random files: clean lines with a few mangled ones, every batch boundary, CRLF, a last
    line without newline, several gzip members; RECORD messages and BATCH-mode files."""
    rng = random.Random(seed)
    for sample in range(25):
        lines = [rng.choice(CLEAN) for _ in range(rng.choice([3, 255, 256, 257, 520]))]
        for _ in range(rng.choice([1, 1, 2, 5])):
            _mutate(rng, lines)
        if rng.random() < 0.3:
            lines = [line.replace(b'"country":"SE",', b"") for line in lines]
        newline = rng.choice([b"\n", b"\n", b"\r\n"])
        text = newline.join(lines) + rng.choice([newline, b""])
        cut = rng.randrange(len(text) + 1) if rng.random() < 0.3 else len(text)
        path = tmp_path / f"{sample}.gz"
        path.write_bytes(gzip.compress(text[:cut]) + gzip.compress(text[cut:]))
        partition_country, country = rng.choice([(True, "SE"), (True, None), (False, None)])
        kwargs = {"partition_country": partition_country, "country": country}
        typed = _outcome(path, **kwargs, fast=False)
        assert _outcome(path, **kwargs, fast=True) == typed, (seed, sample)
        assert _outcome_bytes(_emit, path, **kwargs, fast=True) \
            == _outcome_bytes(_emit_line_by_line, path, **kwargs), (seed, sample)
        batch_size = rng.choice([1, 7, 256, 10_000])
        try:
            files_written = _emit_batches(path, tmp_path, batch_size, **kwargs)
        except DataError as exc:
            assert typed == ("error", str(exc)), (seed, sample)
            continue
        assert all(len(records) <= batch_size for records in files_written)
        assert [list(record.items()) for records in files_written for record in records] \
            == [record for _, record in typed[1]], (seed, sample)


def _emit_batch_files(path, tmp_path, *, line_by_line: bool, lines_per_batch: int,
                      **kwargs) -> list[bytes]:
    """The BATCH-mode files (bytes) written through the fast way out, or line by line."""
    root = tmp_path / ("line-by-line" if line_by_line else "fast")
    config = BatchConfig.from_dict({
        "encoding": {"format": "jsonl", "compression": "none"}, "batch_size": 100,
        "storage": {"root": f"file://{root}", "prefix": "s-"}})
    records = BatchRecords(config, "tap", "s")
    if line_by_line:
        _write_line_by_line(path, records.write, records.write_text, **kwargs)
    else:
        sink = SimpleNamespace(start_file=lambda: None, write=records.write,
                               write_text=records.write_text, write_texts=records.write_texts)
        target = SimpleNamespace(sink=sink, stream=SimpleNamespace(name="s"),
                                 count=lambda *_: None, stopped=False)
        job = SimpleNamespace(day=dt.date(2024, 3, 7), country=kwargs["country"],
                              relative="s/2024/03/07")
        lead = SimpleNamespace(schema=kwargs.get("schema", SCHEMA),
                               partition_country=kwargs["partition_country"])
        emitter = LineEmitter("lic", "load-1", lead)
        emitter.lines_per_batch = lines_per_batch
        emitter.emit(job, path, [target])
    return [Path(url.removeprefix("file://")).read_bytes() for url in records.finish()]


def _assert_fast_is_line_by_line(path, tmp_path, lines_per_batch: int = files.LINE_BATCH,
                                 **kwargs) -> None:
    """RECORD messages and BATCH-mode files: the same bytes both ways."""
    emitter_batch = LineEmitter.lines_per_batch
    LineEmitter.lines_per_batch = lines_per_batch
    try:
        fast = _emit(path, fast=True, **kwargs)
    finally:
        LineEmitter.lines_per_batch = emitter_batch
    assert fast == _emit_line_by_line(path, **kwargs)
    assert _emit_batch_files(path, tmp_path, line_by_line=False,
                             lines_per_batch=lines_per_batch, **kwargs) \
        == _emit_batch_files(path, tmp_path, line_by_line=True,
                             lines_per_batch=lines_per_batch, **kwargs)


def _layout(kind: str) -> list[bytes]:
    """About three batches of 256 clean lines with odd lines placed by `kind`."""
    lines = [CLEAN[n % len(CLEAN)] for n in range(800)]
    odd = ODD[4:]  # not blank: each is a record of its own
    places = {
        "batch starts and ends": [0, 1, 255, 256, 257, 511, 512, 799],
        "consecutive odd lines": [*range(250, 262), *range(500, 503)],
        "an all-odd batch": list(range(256, 512)),
        "every other line": list(range(1, 800, 2)),
    }.get(kind)
    if places is not None:
        for n, at in enumerate(places):
            lines[at] = odd[n % len(odd)]
    elif kind == "blank and whitespace lines":
        for at in (0, 1, 2, 255, 256, 300, 301, 511, 799):
            lines[at] = b""
        for at in (100, 257, 600):
            lines[at] = b" \t"
        lines[400:420] = [b""] * 20
    elif kind == "an all-blank batch":
        lines[256:512] = [b""] * 256
    elif kind == "with and without country":
        lines = [line.replace(b'"country":"SE",', b"") if n % 3 else
                 b'{"country":"SE","flag":true}' for n, line in enumerate(lines)]
    return lines


LAYOUTS = ["batch starts and ends", "consecutive odd lines", "an all-odd batch",
           "every other line", "blank and whitespace lines", "an all-blank batch",
           "with and without country"]


@pytest.mark.parametrize(("partition_country", "country"),
                         [(True, "SE"), (True, None), (False, None)])
@pytest.mark.parametrize("kind", LAYOUTS)
def test_odd_lines_anywhere_in_a_batch_are_written_in_place(tmp_path, kind, partition_country,
                                                           country):
    path = tmp_path / "f.gz"
    lines = _layout(kind)
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    kwargs = {"partition_country": partition_country, "country": country}
    _assert_fast_is_line_by_line(path, tmp_path, **kwargs)
    assert _messages(_emit(path, fast=True, **kwargs)) \
        == _messages(_emit(path, fast=False, **kwargs))


@pytest.mark.parametrize("seed", range(8))
def test_any_mix_of_clean_and_odd_lines_in_any_batch_size_is_written_as_line_by_line(tmp_path,
                                                                                   seed):
    """Seeded: odd lines from none to all, clean lines with and without the country key,
    batches from one line to more than the file."""
    rng = random.Random(seed)
    for sample in range(12):
        odd_rate = rng.choice([0.0, 0.01, 0.1, 0.5, 0.9, 1.0])
        lines = [rng.choice(ODD) if rng.random() < odd_rate else rng.choice(CLEAN)
                 for _ in range(rng.choice([1, 40, 300]))]
        if rng.random() < 0.5:
            lines = [line.replace(b'"country":"SE",', b"") if rng.random() < 0.5 else line
                     for line in lines]
        path = tmp_path / f"{seed}-{sample}.gz"
        path.write_bytes(gzip.compress(b"\n".join(lines) + rng.choice([b"", b"\n"])))
        partition_country, country = rng.choice([(True, "SE"), (True, None), (False, None)])
        _assert_fast_is_line_by_line(path, tmp_path / str(sample),
                                     lines_per_batch=rng.choice([1, 2, 3, 7, 64, 256, 1000]),
                                     partition_country=partition_country, country=country)


def test_untidy_streams_files_take_the_slow_way_only_for_their_odd_lines(tmp_path):
    """A sandbox Streams file made untidy (`benchmarks.untidy`): blank lines, lines without
    an optional key or the country, unknown keys, odd types. Exactly the lines `splicer`
    would not splice are left for the line-by-line way, and the output is its bytes."""
    day = dt.date(2024, 3, 7)
    data = BulkData(SandboxOptions(start=day, end=day, scale=6000, countries=("SE",),
                                   empty_day_rate=0.0))
    text = b"".join(untidy_chunks(data.line_chunks("streams", day, "SE"),
                                  seeded(3, "untidy", "streams", day, "SE")))
    path = tmp_path / "streams.gz"
    path.write_bytes(gzip.compress(text))
    schema = orjson.loads((Path(files.__file__).parent / "schemas" / "streams.json")
                          .read_bytes())
    kwargs = {"partition_country": True, "country": "SE", "schema": schema}
    _assert_fast_is_line_by_line(path, tmp_path, **kwargs)

    shape = LineShape(schema, partition_country=True)
    names = {"licensor": "l", "report_date": "d", "load_id": "x", "country": "SE"}
    splice_many, splice = shape.batch_splicer(**names), shape.splicer(**names)
    left, refused, blank, rows = [], [], 0, 0
    for line_no, lines in files.line_batches(path, "x"):
        left += [line_no + index for _, index in splice_many(lines, rows + 1)[1]]
        for offset, line in enumerate(lines):
            if not line.strip():
                blank += 1
                continue
            rows += 1
            if splice(line, orjson.loads(line), rows) is None:
                refused.append(line_no + offset)
    assert left == refused
    assert blank > rows / 60  # the file is untidy: blank lines, and lines of every kind
    assert 0.003 < len(refused) / rows < 0.05
    assert text.count(b'"country"') <= rows - 10  # lines without it, spliced with it
