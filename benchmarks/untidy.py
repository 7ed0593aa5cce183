"""Untidy Streams files: the sandbox's lines with the oddities real files carry, seeded.

The sandbox's Streams files are tidy: one odd line in about 3,000. Real files are not. Here
each line of an event file (streams, sub_30_sec_streams) is kept, and around them:

  * a blank line every 15 to 60 lines (uniformly drawn gaps);
  * `MISSING_RATE` of the lines lack one optional key (`MISSING_KEYS`, `country` included:
    the tap takes the partition's);
  * `UNKNOWN_RATE` carry a key the schema does not know (kept in `extra`);
  * `ODD_TYPE_RATE` hold a value of another type than the schema's (`ms_played` as a
    string, `cached` as 0 or 1, `timestamp` as epoch seconds): null, raw value in `extra`.

No line is added or removed but blank ones, so a file has as many records as the tidy one.
The same seed, report, day and country give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import random
import typing as t

import orjson

if t.TYPE_CHECKING:
    from collections.abc import Iterator

BLANK_GAP = (15, 60)  # lines between two blank lines
MISSING_RATE = 0.03
UNKNOWN_RATE = 0.005
ODD_TYPE_RATE = 0.002
MISSING_KEYS = ("source_uri", "offline_timestamp", "isrc", "os", "device_type", "country")
UNKNOWN_KEYS = (("x_campaign", "spring_push"), ("x_session_id", "a81f0c2e"),
                ("x_client_version", "8.9.12"))


def _odd_type(rng: random.Random, line: dict[str, t.Any]) -> None:
    key = rng.choice([key for key in ("ms_played", "cached", "timestamp") if key in line])
    value = line[key]
    if key == "ms_played":
        line[key] = str(value)
    elif key == "cached":
        line[key] = int(bool(value))
    else:
        stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        line[key] = int(stamp.timestamp())


def untidy_line(rng: random.Random, text: bytes) -> bytes:
    """The line, or (at the rates above) the line with one oddity; a blank line as it is."""
    draw = rng.random()
    if draw >= MISSING_RATE + UNKNOWN_RATE + ODD_TYPE_RATE or not text.strip():
        return text
    line = orjson.loads(text)
    if draw < MISSING_RATE:
        line.pop(rng.choice(MISSING_KEYS), None)
    elif draw < MISSING_RATE + UNKNOWN_RATE:
        key, value = rng.choice(UNKNOWN_KEYS)
        line[key] = value
    else:
        _odd_type(rng, line)
    return orjson.dumps(line)


def untidy_chunks(chunks: Iterator[bytes], rng: random.Random) -> Iterator[bytes]:
    """Chunks of whole lines (the last may lack its newline), made untidy."""
    gap = rng.randint(*BLANK_GAP)
    for chunk in chunks:
        out: list[bytes] = []
        lines = chunk.split(b"\n")
        last = lines.pop()  # b"" after a final newline, else a line without one
        for text in lines:
            out.append(untidy_line(rng, text))
            gap -= 1
            if not gap:
                out.append(b"")
                gap = rng.randint(*BLANK_GAP)
        out.append(untidy_line(rng, last) if last else b"")
        yield b"\n".join(out)
