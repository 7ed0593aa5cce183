"""Bulk data files on local disk: verify a downloaded gzip, then read it as NDJSON.

A file is verified completely (every gzip member's CRC and length) by the download thread
while it arrives (`GzipCheck`), before any of its lines is emitted, so a truncated or
corrupt download is retried instead of being emitted in part. Reading streams the file in
constant memory: compressed reads of `READ_CHUNK` bytes, each inflated in pieces of at most
`INFLATE_CHUNK` bytes (so peak memory does not depend on the file's size or compression
ratio); blank lines are skipped, the others are numbered from 1 and parsed with orjson
(lines it refuses get a second, lenient parse: `loads_lenient`).
"""

from __future__ import annotations

import itertools
import json
import re
import typing as t
import zlib

import orjson

from tap_spotify_bulk.errors import DataError

try:  # ISA-L: zlib's API and checks (CRC, length), inflating about 2.5x faster
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover (a platform without isal wheels)
    _zlib = zlib  # type: ignore[no-redef]

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tap_spotify_bulk.bulk.spool import SpooledFile

READ_CHUNK = 1 << 17  # compressed bytes per read (and per inflate step)
INFLATE_CHUNK = 1 << 19  # at most this many decompressed bytes at a time
LINE_BATCH = 256  # lines per batch (`line_batches`), checked a run of clean lines at a time
GZIP_WBITS = 31  # zlib: expect a gzip header and trailer
GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2, CM=deflate (RFC 1952)
_INFLATE_ERRORS = (zlib.error, _zlib.error)


class CorruptGzip(Exception):  # noqa: N818 (a condition, caught and retried by the downloader)
    """The local file is not one or more complete gzip members."""


class Inflater:
    """Incremental decompression of a (possibly multi-member) gzip stream, in pieces of at
    most `INFLATE_CHUNK` bytes; raises CorruptGzip on bad data and, in `finish`, when the
    stream is empty or ends inside a member. The inflater releases the GIL while working.

    Input is taken `READ_CHUNK` bytes at a time: the input left over when the output limit
    is reached is copied on each step, so large pieces would be copied many times.

    A gzip whose content starts with a gzip header is unwrapped: that is the file sent with
    `Content-Encoding: gzip` on top (which the downloader keeps, see `client._Sink.copy`),
    and NDJSON text never starts with those bytes."""

    def __init__(self) -> None:
        self._decompressor = _zlib.decompressobj(GZIP_WBITS)
        self._in_member = False
        self._fed = 0
        self._head: list[bytes] = []  # first output pieces, until known whether they are a gzip
        self._inner: Inflater | None = None
        self._decided = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed += len(data)
        view = memoryview(data)
        for start in range(0, len(view), READ_CHUNK):
            for piece in self._feed(view[start:start + READ_CHUNK]):
                yield from self._pass(piece)

    def _pass(self, piece: bytes) -> Iterator[bytes]:
        """Route decompressed output: as is, or into the inner gzip's inflater."""
        if not self._decided:
            self._head.append(piece)
            head = b"".join(self._head)
            if len(head) < len(GZIP_MAGIC):
                return
            self._decided = True
            held, self._head = self._head, []
            if head.startswith(GZIP_MAGIC):
                self._inner = Inflater()
                yield from self._inner.feed(head)
            else:
                yield from held  # as they came: no piece larger than INFLATE_CHUNK
            return
        if self._inner is not None:
            yield from self._inner.feed(piece)
        else:
            yield piece

    def _feed(self, chunk: bytes | memoryview) -> Iterator[bytes]:
        try:
            while chunk:
                self._in_member = True
                data = self._decompressor.decompress(chunk, INFLATE_CHUNK)
                if data:
                    yield data
                if self._decompressor.eof:  # member complete; another one may follow
                    chunk = self._decompressor.unused_data
                    self._decompressor = _zlib.decompressobj(GZIP_WBITS)
                    self._in_member = False
                else:  # input left over when the output limit was reached
                    chunk = self._decompressor.unconsumed_tail
        except _INFLATE_ERRORS as exc:
            msg = f"invalid gzip data ({exc})"
            raise CorruptGzip(msg) from exc

    def finish(self) -> Iterator[bytes]:
        if not self._fed:
            msg = "empty file (no gzip header)"
            raise CorruptGzip(msg)
        try:
            tail = self._decompressor.flush()  # output still held after the last input
        except _INFLATE_ERRORS as exc:
            msg = f"invalid gzip data ({exc})"
            raise CorruptGzip(msg) from exc
        if tail:
            yield from self._pass(tail)
        if self._in_member and not self._decompressor.eof:
            msg = "truncated gzip (the file ends inside a gzip member)"
            raise CorruptGzip(msg)
        yield from self._head  # fewer output bytes than a gzip header: plain content
        if self._inner is not None:
            yield from self._inner.finish()


class GzipCheck:
    """Verifies a gzip NDJSON stream as it is downloaded (the output is discarded): every
    gzip member complete, and the text not ending inside a JSON line, so that a file cut
    short inside an intact gzip (api-contract §4.3: truncated) is downloaded again as well."""

    def __init__(self) -> None:
        self._inflater = Inflater()
        self._newlines = 0
        self._tail = b""  # the text after the last newline

    def feed(self, chunk: bytes) -> None:
        for data in self._inflater.feed(chunk):
            self._see(data)

    def _see(self, data: bytes) -> None:
        end = data.rfind(b"\n")
        if end < 0:
            self._tail += data
        else:
            self._newlines += data.count(b"\n")
            self._tail = data[end + 1:]

    def finish(self) -> None:
        for data in self._inflater.finish():
            self._see(data)
        if self._tail and not self._tail.isspace():
            try:
                orjson.loads(self._tail)
            except orjson.JSONDecodeError:
                try:
                    loads_lenient(self._tail)
                except ValueError:
                    msg = f"the text ends inside line {self._newlines + 1} (cut short)"
                    raise CorruptGzip(msg) from None


def _inflate(source: Path | SpooledFile) -> Iterator[bytes]:
    """Decompressed pieces of a gzip file; raises CorruptGzip."""
    inflater = Inflater()
    with source.open("rb", buffering=0) as raw:
        while chunk := raw.read(READ_CHUNK):
            yield from inflater.feed(chunk)
    yield from inflater.finish()


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(name)  # NaN, Infinity: not JSON


def _no_surrogates(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_surrogates(v) for v in value]
    return value


def loads_lenient(line: bytes) -> t.Any:
    """Parse one line that orjson refused. JSON allows an escaped lone UTF-16 surrogate
    (RFC 8259 §8.2: e.g. a name cut inside an emoji), which orjson rejects: the standard
    parser reads it and each such character becomes U+FFFD. Raises ValueError when the
    line is not JSON at all."""
    try:
        value = json.loads(line, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ValueError(str(exc)) from None
    return _no_surrogates(value)


def _parse(line: bytes, where: str, line_no: int) -> dict[str, t.Any]:
    """The slow path of `read_lines`: a line orjson refused, or that is not an object."""
    try:
        value = loads_lenient(line)
    except ValueError:
        raise _bad_line(where, line_no, "is not valid JSON") from None
    if type(value) is not dict:
        raise _bad_line(where, line_no, "is not a JSON object")
    return value


def read_lines(path: Path | SpooledFile, where: str) -> Iterator[tuple[int, dict[str, t.Any]]]:
    """(row_number, object) for each non-blank line of a verified gzip NDJSON file (a path,
    or a downloaded file kept by descriptor); see `read_records`."""
    for row, _, value in read_records(path, where):
        yield row, value


def read_records(
    path: Path | SpooledFile, where: str,
) -> Iterator[tuple[int, bytes | None, dict[str, t.Any]]]:
    """(row_number, line text, object) for each non-blank line of a verified gzip NDJSON
    file. The text is the line as orjson read it (None when only the lenient parse could
    read it: its text is not what the object says).

    `where` names the file in errors (e.g. "streams/2024/03/07/SE"). A line that is not a
    JSON object fails the run with its line number (1-based, counting every line).
    """
    row = 0
    for line_no, lines in line_batches(path, where):
        for text, value in parse_lines(lines, line_no, where):
            row += 1
            yield row, text, value


def line_batches(path: Path | SpooledFile, where: str,
                 size: int = LINE_BATCH) -> Iterator[tuple[int, list[bytes]]]:
    """The lines of a verified gzip NDJSON file in batches of at most `size`, blank ones
    included, each with the line number of its first line (1-based)."""
    line_no = 1
    pending = b""
    try:
        # A final b"\n" ends a last line that has no newline of its own.
        for data in itertools.chain(_inflate(path), (b"\n",)):
            lines = (pending + data).split(b"\n") if pending else data.split(b"\n")
            pending = lines.pop()
            for start in range(0, len(lines), size):
                batch = lines[start:start + size] if len(lines) > size else lines
                yield line_no, batch
                line_no += len(batch)
    except CorruptGzip as exc:  # verified before, so only if the file changed under us
        msg = f"{where}: {exc} while reading"
        raise DataError(msg) from exc


def parse_lines(lines: list[bytes], line_no: int,
                where: str) -> Iterator[tuple[bytes | None, dict[str, t.Any]]]:
    """(text, object) for each non-blank line of a batch whose first line is `line_no`; the
    text is None when only the lenient parse could read the line."""
    loads = orjson.loads
    for offset, line in enumerate(lines):
        if not line or line.isspace():
            continue
        try:
            value = loads(line)
            text: bytes | None = line
        except orjson.JSONDecodeError:
            value = _parse(line, where, line_no + offset)
            text = None
        if type(value) is not dict:
            raise _bad_line(where, line_no + offset, "is not a JSON object")
        yield text, value


def _bad_line(where: str, line_no: int, problem: str) -> DataError:
    return sent_this_way(f"{where}: line {line_no} {problem}")


def sent_this_way(problem: str) -> DataError:
    """A problem in the content of a verified file: downloading it again would not help."""
    return DataError(
        f"{problem}; the file's gzip is intact, so the server sent it this way. Nothing of "
        "this date was committed to state; report it to Spotify."
    )
