"""Singer output: one buffered writer for the SDK's messages and the tap's fast path.

`BufferedWriter` is the tap's message writer (SCHEMA, STATE, ACTIVATE_VERSION and SDK-path
RECORD messages, serialised with msgspec) and also takes pre-serialised RECORD lines from
the fast path, so every message goes through one buffer in the order it was produced.
The buffer is written to `sys.stdout` (looked up at each flush, so redirection works) when
it passes `FLUSH_AT` bytes, and always right after a STATE or SCHEMA message: a target
sees a STATE only after every RECORD before it.

`FastRecords` writes one stream's JSON-ready records as RECORD lines with orjson, with the
message's prefix precomputed per stream and its suffix (time_extracted) per file;
`BatchRecords` writes them into batch files instead (BATCH mode). Both are only used when
the SDK would not change the records (`sdk_seam.fast_path_possible`); `record_sink` picks
a stream's way out: fast RECORD lines, batch files, or the SDK's own record path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import posixpath
import sys
import typing as t
import uuid

import orjson
from fsspec.core import url_to_fs
from singer_sdk import Stream
from singer_sdk.contrib.msgspec import serialize_jsonl
from singer_sdk.singerlib.encoding.base import GenericSingerWriter, SingerMessageType

from tap_spotify_bulk import sdk_seam
from tap_spotify_bulk.errors import OutputClosedError

try:  # ISA-L's gzip writer: the same files, compressed about 6x faster than zlib's level 1
    from isal.igzip import GzipFile
except ImportError:  # pragma: no cover (a platform without isal wheels)
    from gzip import GzipFile

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.singerlib.encoding.simple import Message

    from tap_spotify_bulk.sdk_seam import BatchConfig

FLUSH_AT = 1 << 20  # bytes
LOGGER = logging.getLogger("tap_spotify_bulk.output")
_FLUSHING_TYPES = frozenset({SingerMessageType.STATE, SingerMessageType.SCHEMA})


class BufferedWriter(GenericSingerWriter[bytes, "Message"]):
    """Message writer with a large output buffer shared with the fast record path."""

    def __init__(self) -> None:
        self.buffer = bytearray()  # appended to in place by `FastRecords`
        self.flushing = False
        self.after_flush: Callable[[], None] | None = None  # a signal handler, deferred
        self.closed = False  # the reader went away: output is dropped from then on

    def serialize_message(self, message: Message) -> bytes:
        return bytes(serialize_jsonl(message.to_dict()))

    def write_message(self, message: Message) -> None:
        self.buffer += serialize_jsonl(message.to_dict())
        if message.type in _FLUSHING_TYPES or len(self.buffer) >= FLUSH_AT:
            self.flush()

    def drop_partial_line(self) -> None:
        """Forget a message half appended when a signal interrupted the writer, so a STATE
        written by the signal handler (or the final flush) never follows a broken line."""
        del self.buffer[self.buffer.rfind(b"\n") + 1 :]

    def flush(self) -> None:
        """Write the buffer out. A signal handler that arrives meanwhile is run after it
        (see `TapSpotifyBulk.defer_termination`), so output is never cut or reordered."""
        if self.closed:
            self.buffer.clear()  # nobody reads it any more
            return
        if self.flushing or not self.buffer:
            return
        self.flushing = True
        try:
            out = sys.stdout
            binary = getattr(out, "buffer", None)
            if binary is not None:
                out.flush()  # text written by others first, to keep the order
                binary.write(self.buffer)  # no copy: a signal meanwhile waits (`flushing`)
                binary.flush()
            else:  # e.g. an io.StringIO installed by a test harness
                out.write(self.buffer.decode())
                out.flush()
            self.buffer.clear()
        except (BrokenPipeError, ConnectionResetError) as exc:
            self._output_closed()
            raise OutputClosedError from exc
        finally:
            self.flushing = False
        if self.after_flush is not None:
            action, self.after_flush = self.after_flush, None
            action()

    def _output_closed(self) -> None:
        """Drop what is pending, and point stdout at /dev/null so that nothing (not even
        the interpreter's last flush at exit) writes into the closed pipe again."""
        self.closed = True
        self.buffer.clear()
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


class FastRecords:
    """Writes one stream's records straight into the `BufferedWriter` as RECORD lines."""

    def __init__(self, writer: BufferedWriter, stream_name: str) -> None:
        self._writer = writer
        self._prefix = b'{"type":"RECORD","stream":' + orjson.dumps(stream_name) + b',"record":'
        self._suffix = b"}\n"

    def start_file(self) -> None:
        """Stamp the records that follow with the current time (once per file)."""
        now = dt.datetime.now(dt.UTC).isoformat()
        self._suffix = b',"time_extracted":' + orjson.dumps(now) + b"}\n"

    def write(self, record: dict[str, t.Any]) -> None:
        buffer = self._writer.buffer
        buffer += self._prefix
        buffer += orjson.dumps(record)
        buffer += self._suffix
        if len(buffer) >= FLUSH_AT:
            self._writer.flush()

    def write_text(self, text: bytes) -> None:
        """`write` for a record already serialised (compact JSON, no newline)."""
        buffer = self._writer.buffer
        buffer += self._prefix
        buffer += text
        buffer += self._suffix
        if len(buffer) >= FLUSH_AT:
            self._writer.flush()

    def write_texts(self, texts: list[bytes]) -> None:
        """`write_text` for many records at once."""
        if not texts:
            return
        buffer = self._writer.buffer
        buffer += self._prefix
        buffer += (self._suffix + self._prefix).join(texts)
        buffer += self._suffix
        if len(buffer) >= FLUSH_AT:
            self._writer.flush()


class BatchRecords:
    """Writes one stream's records into JSON Lines batch files (BATCH mode, `batch_config`).

    Records are buffered and written in large blocks (gzip level 1 when the encoding asks
    for gzip); a file is closed every `batch_size` records. `finish` closes the open file and
    returns the URLs written since the last call: one BATCH message per date, before its
    STATE, keeps "STATE only after complete dates" true in BATCH mode too.

    The storage root is any fsspec URL (`file://`, `s3://` with s3fs installed, ...), with
    `storage.params` as the filesystem's options. Each file is written uncommitted (a
    temporary file, or an unfinished S3 multipart upload) and committed when it is complete,
    so a killed run never leaves a half-written file under a batch name. The SDK's
    `StorageTarget.open` is not used: it starts a transaction on fsspec's shared filesystem
    instance per file, and two streams of one read writing files at once lose a file there.
    """

    def __init__(self, config: BatchConfig, tap_name: str, stream_name: str) -> None:
        self.config = config
        self._compress = config.encoding.compression == "gzip"
        self._sync_id = f"{tap_name}--{stream_name}-{uuid.uuid4()}"
        self._raw: t.Any = None  # the fsspec file being written, uncommitted
        self._out: t.IO[bytes] | None = None
        self._url = ""
        self._made_dirs = False
        self._pending = bytearray()
        self._count = 0
        self._sequence = 0
        self._urls: list[str] = []

    def write(self, record: dict[str, t.Any]) -> None:
        self.write_text(orjson.dumps(record))

    def write_text(self, text: bytes) -> None:
        """`write` for a record already serialised (JSON, no newline)."""
        self._pending += text
        self._pending += b"\n"
        self._added(1)

    def write_texts(self, texts: list[bytes]) -> None:
        """`write_text` for many records at once (files still close every `batch_size`)."""
        while texts:
            room = self.config.batch_size - self._count
            part, texts = texts[:room], texts[room:]
            self._pending += b"\n".join(part)
            self._pending += b"\n"
            self._added(len(part))

    def _added(self, records: int) -> None:
        """Count records just appended: close the file at `batch_size`, else write out a
        full buffer."""
        self._count += records
        if self._count >= self.config.batch_size:
            self._close_file()
        elif len(self._pending) >= FLUSH_AT:
            self._write_pending()

    def finish(self) -> list[str]:
        if self._count:
            self._close_file()
        urls, self._urls = self._urls, []
        return urls

    def _open(self) -> None:
        self._sequence += 1
        storage = self.config.storage
        suffix = ".json.gz" if self._compress else ".json"
        self._url = storage.get_url(f"{storage.prefix or ''}{self._sync_id}-{self._sequence}"
                                    f"{suffix}")
        fs, path = url_to_fs(self._url, **storage.params)
        if not self._made_dirs:  # a local root (and prefix folders) may not exist yet
            fs.makedirs(posixpath.dirname(path), exist_ok=True)
            self._made_dirs = True
        self._raw = fs.open(path, "wb", autocommit=False)
        self._out = (GzipFile(fileobj=self._raw, mode="wb", compresslevel=1)
                     if self._compress else self._raw)

    def _write_pending(self) -> None:
        if self._out is None:
            self._open()
        assert self._out is not None
        self._out.write(self._pending)
        self._pending.clear()

    def _close_file(self) -> None:
        self._write_pending()
        raw, out = self._raw, self._out
        self._raw = self._out = None
        self._count = 0
        try:
            if out is not raw:
                out.close()  # the gzip trailer; leaves `raw` open
            raw.close()
            raw.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                raw.discard()
            raise
        self._urls.append(self._url)


class RecordSink:
    """One stream's way out for one run: `write(record)`, `start_file()` before each file's
    records, `end_day()` after a date's last record (BATCH mode announces its files there,
    before the date's STATE). `write_text(json)` takes a record already serialised and
    `write_texts([json, ...])` many at once, when the way out can (fast RECORD lines, batch
    files); both None otherwise."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.batcher: BatchRecords | None = None
        self.write: Callable[[dict[str, t.Any]], None]
        self.write_text: Callable[[bytes], None] | None = None
        self.write_texts: Callable[[list[bytes]], None] | None = None
        self.start_file: Callable[[], None] = _nothing
        limit = stream.ABORT_AT_RECORD_COUNT
        if limit is not None:  # dry runs and the SDK test suite: the SDK's path, counted
            self.write = self._write_limited
        elif not sdk_seam.fast_path_possible(stream, BufferedWriter):
            self.write = lambda record: sdk_seam.write_record(stream, record)
        elif (batch := batch_config(stream)) is not None:
            self.batcher = BatchRecords(batch, sdk_seam.tap_of(stream).name, stream.name)
            self.write, self.write_text = self.batcher.write, self.batcher.write_text
            self.write_texts = self.batcher.write_texts
        else:
            fast = FastRecords(sdk_seam.message_writer(stream), stream.name)  # type: ignore[arg-type]
            self.write, self.write_text, self.write_texts = (fast.write, fast.write_text,
                                                             fast.write_texts)
            self.start_file = fast.start_file

    def _write_limited(self, record: dict[str, t.Any]) -> None:
        # Counted on the stream: the `bulk_loads` manifest has a sink per read.
        written = getattr(self.stream, "records_written_in_dry_run", 0)
        sdk_seam.check_record_limit(self.stream, written)
        sdk_seam.write_record(self.stream, record)
        self.stream.records_written_in_dry_run = written + 1  # type: ignore[attr-defined]

    def end_day(self) -> None:
        if self.batcher is not None:
            urls = self.batcher.finish()
            if urls:
                sdk_seam.write_batch(self.stream, self.batcher.config.encoding, urls)


def _nothing() -> None:
    return None


def batch_config(stream: Stream) -> BatchConfig | None:
    """The `batch_config` setting when it asks for JSON Lines files (BATCH mode)."""
    config = sdk_seam.configured_batch(stream)
    if config is not None and config.encoding.format != "jsonl":
        LOGGER.warning("%s: batch format %r is not offered; writing RECORD messages",
                       stream.name, config.encoding.format)
        return None
    return config
