"""The private singer-sdk members the tap relies on (`tap_spotify_bulk.sdk_seam`) still exist
with the parameters it passes: an SDK upgrade that changes one fails here, by name."""

from __future__ import annotations

import inspect
import io
import logging

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.helpers._batch import BaseBatchFileEncoding
from singer_sdk.helpers._state import StateWriter
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.plugin_base import PluginBase

from tap_spotify_bulk import sdk_seam
from tap_spotify_bulk.errors import ConfigError
from tap_spotify_bulk.output import BufferedWriter
from tap_spotify_bulk.tap import TapSpotifyBulk

CONFIG = {"client_id": "c", "client_secret": "s", "licensor": "gyro",
          "start_date": "2024-03-01", "end_date": "2024-03-02"}


@pytest.mark.parametrize(
    ("owner", "member", "parameters"), sdk_seam.PRIVATE_MEMBERS,
    ids=[f"{owner.__name__}.{member}" for owner, member, _ in sdk_seam.PRIVATE_MEMBERS])
def test_private_member_exists_with_its_parameters(owner, member, parameters):
    function = getattr(owner, member, None)
    assert callable(function), f"singer-sdk no longer has {owner.__name__}.{member}"
    names = tuple(inspect.signature(function).parameters)
    assert names == parameters, f"{owner.__name__}.{member} now takes {names}"


def test_seam_overrides_keep_the_sdk_signatures():
    """Our overrides take exactly what the SDK passes them."""
    for ours, theirs in ((sdk_seam.DrivenStream._sync_records, Stream._sync_records),
                         (sdk_seam.SeamTap._validate_config, PluginBase._validate_config),
                         (sdk_seam.SeamTap._handle_termination, Tap._handle_termination)):
        assert tuple(inspect.signature(ours).parameters) == tuple(
            inspect.signature(theirs).parameters), ours.__qualname__


def test_stream_keeps_its_tap_and_the_tap_its_state_writer():
    tap = TapSpotifyBulk(config=CONFIG, parse_env_config=False)
    stream = tap.streams["users"]
    assert sdk_seam.tap_of(stream) is tap  # Stream._tap
    assert isinstance(tap.state_writer, StateWriter)
    assert tuple(inspect.signature(StateWriter.write_state).parameters) == ("self", "state")
    assert isinstance(sdk_seam.message_writer(stream), BufferedWriter)
    assert hasattr(stream.state_manager, "is_flushed")


def test_fast_path_rules_read_what_the_sdk_still_has():
    """`fast_path_possible` reads the stream maps' type, alias and flattening flag and the
    selection mask: all still there, and the verdicts follow them."""
    tap = TapSpotifyBulk(config=CONFIG, parse_env_config=False)
    stream = tap.streams["users"]
    (only,) = stream.stream_maps
    assert type(only) is SameRecordTransform
    assert (only.stream_alias, only.flattening_enabled) == ("users", False)
    assert stream.mask.get(("properties", "user_id"), True) is True
    assert sdk_seam.fast_path_possible(stream, BufferedWriter)
    mapped = TapSpotifyBulk(config={**CONFIG, "stream_maps": {"users": {"user_id": None}}},
                            parse_env_config=False)
    assert not sdk_seam.fast_path_possible(mapped.streams["users"], BufferedWriter)
    flat = TapSpotifyBulk(config={**CONFIG, "flattening_enabled": True,
                                  "flattening_max_depth": 1}, parse_env_config=False)
    assert not sdk_seam.fast_path_possible(flat.streams["users"], BufferedWriter)


def test_the_sdk_still_words_schema_errors_the_way_config_error_reads_them():
    """A schema error the tap's own checks leave to the SDK comes out naming the setting."""
    with pytest.raises(ConfigError, match=r"^`flattening_enabled`: 'yes' is not of type"):
        TapSpotifyBulk(config={**CONFIG, "flattening_enabled": "yes"}, parse_env_config=False)


def test_record_batch_and_schema_writers_still_write(capsys):
    """The SDK's record, batch and schema writers, called the way the seam calls them."""
    tap = TapSpotifyBulk(config=CONFIG, parse_env_config=False)
    stream = tap.streams["users"]
    sdk_seam.write_schema(stream)
    sdk_seam.write_record(stream, {"licensor": "gyro", "report_date": "2024-03-01",
                                   "load_id": "x", "row_number": 1, "extra": None})
    sdk_seam.check_record_limit(stream, 0)  # no limit set: never aborts
    sdk_seam.write_batch(stream, BaseBatchFileEncoding(format="jsonl", compression="gzip"), ["file:///tmp/x"])
    stream.state_manager.is_flushed = False
    assert sdk_seam.state_pending(stream)
    sdk_seam.write_state(stream)
    assert not sdk_seam.state_pending(stream)
    tap.message_writer.flush()
    out = capsys.readouterr().out
    kinds = [line.split('"type":"', 1)[1].split('"', 1)[0] for line in io.StringIO(out)]
    assert kinds == ["SCHEMA", "RECORD", "BATCH", "STATE"]


def test_the_sdk_still_logs_its_unhandled_error_line_which_a_tap_error_drops(caplog):
    """`Stream.sync` still logs `SDK_SYNC_FAILED` before re-raising; while a `TapError` is
    being raised the seam's filter drops that line, for any other exception it stays."""
    assert sdk_seam.SDK_SYNC_FAILED in inspect.getsource(Stream.sync)
    logger = logging.getLogger("tap-spotify-bulk.seam_test")
    logger.addFilter(sdk_seam.TAP_ERROR_IS_ONE_LINE)
    for error, kept in ((ConfigError("bad"), False), (ValueError("defect"), True)):
        caplog.clear()
        try:
            raise error
        except Exception:
            logger.error(sdk_seam.SDK_SYNC_FAILED, "users")
            logger.error("another line")
        assert [r.getMessage() for r in caplog.records] == (
            ["An unhandled error occurred while syncing 'users'"] if kept else []
        ) + ["another line"]
