"""One rule for a bookmark that does not parse, for the Bulk and the Ads streams.

A state value that is not what the stream wrote (edited by hand, written by another tap)
is never read as "no bookmark": that would silently re-read the whole configured window,
years for an early `start_date`. The run stops instead, before any request, with one line
that names the stream and how to reset it (exit code 2, like every configuration error).
`check_selected` runs at the start of a sync; `read` is what each stream parses with.
"""

from __future__ import annotations

import typing as t

from tap_spotify_bulk.errors import ConfigError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

T = t.TypeVar("T")


def read(stream: str, key: str | None, state: Mapping[str, t.Any],
         parse: Callable[[str], T]) -> T | None:
    """The bookmark in one stream (or partition) state, or None when there is none.

    `parse` raises `ValueError` for a value it cannot read; that becomes a `ConfigError`.
    """
    value = state.get("replication_key_value")
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return parse(value)
    except ValueError:
        msg = (f"The state of stream `{stream}` holds a {key or 'bookmark'} value that is not "
               f"valid: {str(value)[:40]!r}. Reset that stream's state (with Meltano: "
               f"`meltano state clear <state id>`; else fix or remove the `--state` file) "
               f"and run again.")
        raise ConfigError(msg) from None


def states(stream_state: Mapping[str, t.Any]) -> Iterator[Mapping[str, t.Any]]:
    """The stream's own state and those of its partitions (the Ads streams' accounts)."""
    yield stream_state
    for partition in stream_state.get("partitions") or ():
        if isinstance(partition, dict):
            yield partition


def check_selected(streams: Iterable[t.Any]) -> None:
    """Parse every bookmark of the selected streams that keep one; `ConfigError` on the
    first that does not parse."""
    for stream in streams:
        parse = getattr(stream, "bookmark_parser", None)
        if not stream.selected or parse is None:
            continue
        saved = stream.tap_state.get("bookmarks", {}).get(stream.name)  # never creates one
        for state in states(saved or {}):
            read(stream.name, stream.replication_key, state, parse)
