"""Output records for the line-per-record reports: streams, sub30sec_streams, users, tracks.

The known line fields and their types come from the stream's JSON Schema (one source of
truth). Each parsed line is typed cheaply: the (keys, value types) signature of a line is
checked once and cached, so the common case costs one tuple build and a dict lookup.
A known key holding a value of the wrong type becomes null, and its raw value is kept in
`extra` under the same key (one warning per file); unknown keys go to `extra`.
"""

from __future__ import annotations

import logging
import typing as t

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
        columns = orjson.dumps({"licensor": licensor, "report_date": report_date,
                                "load_id": load_id})
        head = b"," + columns[1:-1] + b',"row_number":'
        end = b',"extra":null}'
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
