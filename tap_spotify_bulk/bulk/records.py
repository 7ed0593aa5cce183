"""Output records for the line-per-record reports: streams, sub30sec_streams, users, tracks.

The known line fields and their types come from the stream's JSON Schema (one source of
truth). Each parsed line is typed cheaply: the (keys, value types) signature of a line is
checked once and cached, so the common case costs one tuple build and a dict lookup.
A known key holding a value of the wrong type becomes null, and its raw value is kept in
`extra` under the same key (one warning per file); unknown keys go to `extra`.

When the way out takes JSON text, a clean line is written as its own text with the added
columns appended (`splicer`), and a batch of clean lines is checked by msgspec in one C
loop and spliced at once (`batch_splicer`): the same records, without parsing into dicts.
"""

from __future__ import annotations

import collections
import itertools
import logging
import operator
import re
import typing as t

import msgspec
import orjson

if t.TYPE_CHECKING:
    from collections.abc import Mapping

LOGGER = logging.getLogger("tap_spotify_bulk.bulk")

# Columns the tap adds to every record: never read from the line.
ADDED_COLUMNS = frozenset({"licensor", "report_date", "load_id", "row_number", "extra"})
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "number": (int, float),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}
_SIGNATURE_CACHE_LIMIT = 4096
# orjson reads integers up to 64 bits; msgspec's bounds stop at int64 (a larger integer
# only makes its batch go line by line).
_INT64 = t.Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_QUOTES = itertools.repeat(b'"')  # every object with a key holds a quote; `{ }` none
# Beyond 1.8e308 (309 digits and more) orjson refuses an integer; msgspec reads one nested
# in an object or array value (`Any`) as a Python int.
_HUGE_INTEGER = re.compile(rb"[0-9]{309}")
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
# A batch spliced: the clean lines' record texts, and (texts before it, index) of each odd line
Spliced = tuple[list[bytes], list[tuple[int, int]]]


def _appended(licensor: str, report_date: str, load_id: str) -> tuple[bytes, bytes]:
    """The text a spliced record appends to its line's own (without the closing brace):
    the added columns up to `row_number`'s value, and what follows that value."""
    columns = orjson.dumps({"licensor": licensor, "report_date": report_date,
                            "load_id": load_id})
    return b"," + columns[1:-1] + b',"row_number":', b',"extra":null}'


def allowed_types(prop: Mapping[str, t.Any]) -> frozenset[type]:
    """Python types a JSON Schema property accepts (exact types: bool is not an integer)."""
    json_types = prop.get("type", [])
    if isinstance(json_types, str):
        json_types = [json_types]
    return frozenset(py for name in json_types for py in _JSON_TYPES.get(name, ()))


class LineShape:
    """Known fields of one report's lines and how to turn a line into a record.

    Args:
        schema: the output stream's JSON Schema.
        partition_country: True for day x country reports: the record's `country` is the
            partition's, and a line `country` that differs goes to `extra.country`.
    """

    def __init__(self, schema: Mapping[str, t.Any], *, partition_country: bool) -> None:
        props = schema["properties"]
        self.types: dict[str, frozenset[type]] = {
            name: allowed_types(prop) for name, prop in props.items()
            if name not in ADDED_COLUMNS
        }
        self.known = frozenset(self.types)
        self.partition_country = partition_country
        # (*keys, *value types) -> clean? Unambiguous: keys are str, the rest are types.
        self._verdicts: dict[tuple[str | type, ...], bool] = {}
        self._decoders: dict[str | None, msgspec.json.Decoder | None] = {}

    def _judge(self, line: dict[str, t.Any], signature: tuple[str | type, ...]) -> bool:
        """True when every key is known and every value has an allowed type (cached)."""
        types = self.types
        verdict = all(key in types and type(value) in types[key] for key, value in line.items())
        if len(self._verdicts) < _SIGNATURE_CACHE_LIMIT:
            self._verdicts[signature] = verdict
        return verdict

    def splicer(self, *, licensor: str, report_date: str, load_id: str,
                country: str | None) -> t.Callable[[bytes | None, dict[str, t.Any], int],
                                                   bytes | None]:
        """A function (line text, parsed line, row_number) -> the record's JSON text, made
        from the line's own text with the added columns appended, or None when the record
        differs from the line (a key or type not as the schema says, another `country`, a
        line only the lenient parse read): then `builder`'s record is the one to write.

        The text is the same record as `builder` makes, keys in the same order, without
        serialising the line again."""
        verdicts = self._verdicts
        judge = self._judge
        partition_country = self.partition_country
        head, end = _appended(licensor, report_date, load_id)
        add_country = b',"country":' + orjson.dumps(country)

        def splice(text: bytes | None, line: dict[str, t.Any], row_number: int) -> bytes | None:
            if text is None or not line:
                return None
            signature = (*line, *map(type, line.values()))
            verdict = verdicts.get(signature)
            if verdict is None:
                verdict = judge(line, signature)
            if not verdict:
                return None
            body = text.rstrip()[:-1]  # the object without its closing brace
            if partition_country:
                own = line.get("country", add_country)
                if own is add_country:
                    body += add_country
                elif own != country:
                    return None
            return b"%b%b%d%b" % (body, head, row_number, end)

        return splice

    def batch_splicer(self, *, licensor: str, report_date: str, load_id: str,
                      country: str | None) -> BatchSplicer:
        """`splicer` for a batch of lines at once: a function (lines, row_number of the first
        non-blank one) -> (the records' JSON texts of the batch's clean lines, exactly as
        `splicer` makes them, in order; the odd lines, each as (how many of those texts come
        before it, its index in the batch)). An odd line is one `splicer`/`builder` must
        read on its own: what they make of it goes between the texts around it. The texts
        are numbered as if each odd line that is not blank were one record.

        msgspec decodes each line on its own and checks what `splicer` checks: one JSON
        object and nothing else on the line, every key known, every value of an allowed
        type, and the partition's `country` on the line or no `country` at all. msgspec
        refuses a superset of what orjson refuses (lone surrogates, bad UTF-8, integers
        beyond int64 in a known field, deeper nesting), except integers too large for a
        double inside an object or array value: a line with a digit run that long is odd.
        So a line it accepts is one `splicer` would splice. (Lines are not decoded as one
        joined JSON array: a string or an array can run on from one line into the next
        there, and a line can hold two objects.)

        The lines are decoded in runs, one C loop per run: a run ends at the first line the
        decoder refuses, which then goes to another decoder (with or without `country`) or
        is odd, and the next run starts after it. Blank lines are left out first."""
        head, end = _appended(licensor, report_date, load_id)
        if not self.partition_country:
            checks = [(self._decoder(None), head, True)]
        elif country is None:
            checks = []
        else:  # lines that carry the partition's country, or lines that lack it
            checks = [(self._decoder(country), head, False),
                      (self._decoder(None), b',"country":' + orjson.dumps(country) + head, True)]
        nested = any(dict in allowed or list in allowed for allowed in self.types.values())
        return BatchSplicer([_Check(decoder.decode, lead, may_be_empty)
                             for decoder, lead, may_be_empty in checks if decoder is not None],
                            end, nested=nested)

    def _decoder(self, country: str | None) -> msgspec.json.Decoder | None:
        """A msgspec decoder of one clean line: the known fields, each optional
        and of its allowed types, nothing else; `country` required and equal to the given
        one, or (None) absent. None when some field allows no type msgspec can check."""
        if country in self._decoders:
            return self._decoders[country]
        fields: list[tuple[str, t.Any, t.Any]] = []
        for name, allowed in self.types.items():
            if self.partition_country and name == "country":
                if country is not None:
                    fields.append((name, t.Literal[country], msgspec.NODEFAULT))
                continue
            kind = _msgspec_type(allowed)
            if kind is None:
                self._decoders[country] = None
                return None
            fields.append((name, kind | msgspec.UnsetType, msgspec.UNSET))
        fields.sort(key=lambda field: field[2] is not msgspec.NODEFAULT)  # required first
        line = msgspec.defstruct("Line", [(f"f{i}", kind, default) for i, (_, kind, default)
                                          in enumerate(fields)],
                                 rename={f"f{i}": name for i, (name, _, _) in enumerate(fields)},
                                 forbid_unknown_fields=True, gc=False)
        decoder = msgspec.json.Decoder(line)
        self._decoders[country] = decoder
        return decoder

    def builder(self, *, licensor: str, report_date: str, load_id: str, country: str | None,
                path: str) -> t.Callable[[dict[str, t.Any], int], dict[str, t.Any]]:
        """A function (line, row_number) -> record for one file; per-file work done here."""
        warned: list[str] = []
        types = self.types
        verdicts = self._verdicts
        judge = self._judge
        partition_country = self.partition_country

        def build(line: dict[str, t.Any], row_number: int) -> dict[str, t.Any]:
            signature = (*line, *map(type, line.values()))
            verdict = verdicts.get(signature)
            if verdict is None:
                verdict = judge(line, signature)
            if verdict:
                record = line
                extra = None
            else:
                record = {}
                extra = {}
                for key, value in line.items():
                    allowed = types.get(key)
                    if allowed is None:
                        extra[key] = value
                    elif type(value) in allowed:
                        record[key] = value
                    else:
                        record[key] = None
                        extra[key] = value
                        if key not in warned:
                            warned.append(key)
                            LOGGER.warning(
                                "%s: field %r has an unexpected type (%s) at line %d; emitted "
                                "as null, raw value kept in `extra`.",
                                path, key, type(value).__name__, row_number,
                            )
            if partition_country:
                own = record.get("country")
                if own is not None and own != country:
                    if extra is None:
                        extra = {}
                    extra["country"] = own
                record["country"] = country
            record["licensor"] = licensor
            record["report_date"] = report_date
            record["load_id"] = load_id
            record["row_number"] = row_number
            record["extra"] = extra or None
            return record

        return build


class _Check(t.NamedTuple):
    """One way a clean line is spliced: its decoder, and the text appended after the
    line's own (before `row_number`'s value)."""

    decode: t.Callable[[bytes], object]
    lead: bytes
    may_be_empty: bool  # whether the decoder takes an empty object


class BatchSplicer:
    """The function `LineShape.batch_splicer` returns: (lines, first row_number) ->
    `Spliced`, the clean lines' texts and the odd lines' places."""

    def __init__(self, checks: list[_Check], end: bytes, *, nested: bool) -> None:
        self.checks = checks
        self.end = end  # the text after `row_number`'s value
        self.nested = nested  # some field takes an object or an array
        self.latest = 0  # the check that took the latest run: tried first
        # the order the checks are tried in, by the latest one
        self.orders = [(first, *(i for i in range(len(checks)) if i != first))
                       for first in range(len(checks))] or [()]

    def __call__(self, lines: list[bytes], first_row: int) -> Spliced:
        given = lines
        if b"" in lines:
            lines = list(filter(None, lines))
        texts: list[bytes] = []
        odd: list[tuple[int, int]] = []
        end = self.end
        total = len(lines)
        start = 0
        row = first_row
        refused = -1
        while start < total:
            run, lead = self._clean_run(lines, start, refused)
            if run is lines:
                return [b"%b%b%d%b" % (line.rstrip()[:-1], lead, row, end)
                        for row, line in enumerate(lines, first_row)], odd
            if run:
                texts += [b"%b%b%d%b" % (line.rstrip()[:-1], lead, number, end)
                          for number, line in enumerate(run, row)]
                start += len(run)
                row += len(run)
                refused = self.latest  # the line after the run, if any, is refused by it
                continue
            odd.append((len(texts), start))
            if not lines[start].isspace():
                row += 1  # a record, or an error that ends the file
            start += 1
            refused = -1
        if odd and lines is not given:  # index in the batch, blank lines included
            at = list(itertools.compress(range(len(given)), given))
            odd = [(before, at[index]) for before, index in odd]
        return texts, odd

    def _clean_run(self, lines: list[bytes], start: int,
                   refused: int) -> tuple[list[bytes], bytes]:
        """The lines from `start` on that one check accepts, and the text it appends; none
        when no check accepts the line at `start` (check number `refused` is known not to).
        """
        for index in self.orders[self.latest]:
            if index == refused:
                continue
            decode, lead, may_be_empty = self.checks[index]
            decoded = itertools.count()  # advanced once per line decoded without error
            try:  # one C loop, up to the first line refused
                collections.deque(zip(map(decode, itertools.islice(lines, start, None)),
                                      decoded, strict=False), maxlen=0)
                taken = len(lines) - start
            except _DECODE_ERRORS:
                taken = next(decoded)
            if not taken:
                continue
            run = lines if taken == len(lines) else lines[start:start + taken]
            if may_be_empty and not all(map(operator.contains, run, _QUOTES)):
                # an empty object has no text to append the columns to
                run = run[:_before_first(run, lambda line: b'"' not in line)]
            if self.nested and any(map(_HUGE_INTEGER.search, run)):
                run = run[:_before_first(run, _HUGE_INTEGER.search)]  # orjson refuses it
            if run:
                self.latest = index
                return run, lead
        return [], b""


def _before_first(lines: list[bytes], odd: t.Callable[[bytes], object]) -> int:
    """How many lines come before the first one that is `odd`."""
    return next((index for index, line in enumerate(lines) if odd(line)), len(lines))


def _msgspec_type(allowed: frozenset[type]) -> t.Any:
    """The msgspec type accepting exactly the JSON values of these Python types (bool is not
    an integer; an integer is a number), or None when nothing would be accepted."""
    kinds: list[t.Any] = []
    if float in allowed:
        kinds.append(float)  # msgspec's float takes integers too, as "number" does
    elif int in allowed:
        kinds.append(_INT64)
    kinds += [kind for kind in (str, bool, dict, list) if kind in allowed]
    if type(None) in allowed:
        kinds.append(None)
    if not kinds:
        return None
    union = kinds[0]
    for kind in kinds[1:]:
        union = union | kind
    return union
