"""Every use of a private singer-sdk member, in one place.

The tap leans on a few SDK internals: it drives the Bulk streams itself (STATE only after
complete dates, one read for four aggregated streams), writes records on a fast path when
the SDK would not change them, reports configuration errors as one line, and defers a
termination signal while output is being written, and leaves the tap's one line alone when
a stream fails with a `TapError` (the SDK logs "An unhandled error occurred" first). Nothing
else in the package touches a
private SDK name; `PRIVATE_MEMBERS` lists what is used with the parameters expected, and
`tests/tap/test_sdk_seam.py` checks each against the installed SDK by name, so an SDK
upgrade that removes or changes one fails there first.
"""

from __future__ import annotations

import logging
import re
import sys
import typing as t

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import (
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    ConfigValidationError,
)
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.plugin_base import PluginBase

from tap_spotify_bulk.errors import ConfigError, TapError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig
    from singer_sdk.singerlib.encoding.base import GenericSingerWriter

# The SDK's way of stopping a stream at its dry-run record limit (`--test`, `max_records`):
# record writers catch these to stop that stream alone.
ABORTED = (AbortedSyncFailedException, AbortedSyncPausedException)

# (class, member, its parameter names): what this module relies on.
PRIVATE_MEMBERS: tuple[tuple[type, str, tuple[str, ...]], ...] = (
    (Stream, "_sync_records", ("self", "context", "write_messages")),
    (Stream, "_write_record_message", ("self", "record")),
    (Stream, "_check_max_record_limit", ("self", "current_record_index")),
    (Stream, "_write_batch_message", ("self", "encoding", "manifest")),
    (Stream, "_write_schema_message", ("self",)),
    (PluginBase, "_validate_config", ("self", "raise_errors")),
    (Tap, "_handle_termination", ("self", "signum", "frame")),
)

# What `Stream.sync` logs (at ERROR, on the stream's logger) before re-raising any exception.
SDK_SYNC_FAILED = "An unhandled error occurred while syncing '%s'"


class TapErrorIsOneLine(logging.Filter):
    """Drops the SDK's "unhandled error" line while a `TapError` is being raised: the CLI
    reports that error as the run's one line. Other exceptions (defects) keep it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == SDK_SYNC_FAILED and isinstance(sys.exc_info()[1], TapError))


TAP_ERROR_IS_ONE_LINE = TapErrorIsOneLine()

# How the SDK words a schema error's location: "<message> in config['<setting>']".
CONFIG_ERROR_WHERE = re.compile(r" in config\['([^']+)'\]")


def tap_of(stream: Stream) -> Tap:
    """The tap a stream belongs to (the SDK keeps it in `_tap`)."""
    return stream._tap


def message_writer(stream: Stream) -> GenericSingerWriter:
    return tap_of(stream).message_writer


def write_record(stream: Stream, record: dict[str, t.Any]) -> None:
    """The SDK's record path: selection, stream maps, flattening, conformance."""
    stream._write_record_message(record)


def check_record_limit(stream: Stream, index: int) -> None:
    """Raise the SDK's abort exception once a dry run's record limit is reached."""
    stream._check_max_record_limit(index)


def write_batch(stream: Stream, encoding: BaseBatchFileEncoding, manifest: list[str]) -> None:
    stream._write_batch_message(encoding, manifest)


def write_schema(stream: Stream) -> None:
    stream._write_schema_message()


def write_state(stream: Stream) -> None:
    """Write the tap's whole state now (the SDK would only at its own moments)."""
    tap_of(stream).state_writer.write_state(stream.tap_state)
    stream.state_manager.is_flushed = True


def mark_state_changed(stream: Stream) -> None:
    """The stream's state was changed outside the SDK's record path: STATE is owed."""
    stream.state_manager.is_flushed = False


def configured_batch(stream: Stream) -> BatchConfig | None:
    """The `batch_config` setting as the SDK reads it, even for a stream (a Bulk report)
    that answers None to the SDK so that its records take the tap's own way out."""
    return Stream.get_batch_config(stream, stream.config)


def state_pending(stream: Stream) -> bool:
    return not stream.state_manager.is_flushed


def fast_path_possible(stream: Stream, writer_type: type) -> bool:
    """True when the SDK would emit a stream's records unchanged: no stream maps besides
    the identity, no flattening, every property selected, and a `writer_type` writer."""
    maps = stream.stream_maps
    if len(maps) != 1 or type(maps[0]) is not SameRecordTransform:
        return False
    only = maps[0]
    if only.stream_alias != stream.name or only.flattening_enabled:
        return False
    if not isinstance(message_writer(stream), writer_type):
        return False
    mask = stream.mask
    return all(mask.get(("properties", name), True) for name in stream.schema["properties"])


def config_error(exc: ConfigValidationError) -> ConfigError:
    """The SDK's first schema error as one line that names the setting."""
    first = exc.errors[0] if exc.errors else str(exc)
    where = CONFIG_ERROR_WHERE.search(first)
    if where:
        return ConfigError(f"`{where.group(1)}`: {first[: where.start()]}.")
    return ConfigError(f"invalid configuration: {first}")


class DrivenStream(Stream):
    """A stream that writes its own records and STATE (`drive`) instead of the SDK's
    record loop over `get_records`."""

    def _sync_records(  # type: ignore[override]
        self, context: t.Any = None, *, write_messages: bool = True,
    ) -> Iterator[dict]:
        self.drive()
        yield from ()

    def drive(self) -> None:
        raise NotImplementedError


class SeamTap(Tap):
    """The tap's hooks into the SDK's configuration check and signal handling."""

    def check_settings(self) -> None:
        """The tap's own one-line checks, run before the SDK's JSON Schema check."""

    def defer_termination(self, retry: Callable[[], None]) -> bool:
        """True to postpone a termination signal; `retry` then handles it later."""
        return False

    def sync_all(self) -> None:
        """The SDK's sync, with a failing stream's `TapError` left to the CLI's one line."""
        for stream in self.streams.values():
            stream.logger.addFilter(TAP_ERROR_IS_ONE_LINE)  # added once per logger
        super().sync_all()

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Our one-line checks first, then the SDK's JSON Schema check, as one line too."""
        if not raise_errors:  # discovery: never fail on settings
            return super()._validate_config(raise_errors=False)
        self.check_settings()
        try:
            return super()._validate_config(raise_errors=True)
        except ConfigValidationError as exc:
            raise config_error(exc) from None

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: the SDK writes the last STATE and exits, unless deferred."""
        if self.defer_termination(lambda: self._handle_termination(signum, frame)):
            return
        super()._handle_termination(signum, frame)


__all__ = [
    "CONFIG_ERROR_WHERE", "PRIVATE_MEMBERS", "SDK_SYNC_FAILED", "BatchConfig", "DrivenStream",
    "SeamTap",
    "check_record_limit", "config_error", "fast_path_possible", "message_writer",
    "state_pending", "tap_of", "write_batch", "write_record", "write_schema", "write_state",
]  # BatchConfig: a type from a private SDK module, for annotations elsewhere
