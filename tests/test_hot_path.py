"""The Bulk fast path's reader keeps memory bounded whatever the compression ratio."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest

from tap_spotify_bulk.bulk import files
from tap_spotify_bulk.bulk.files import CorruptGzip, read_lines, verify_gzip


def _lines(n: int, pad: int) -> bytes:
    return b"".join(orjson.dumps({"n": i, "pad": "x" * pad}) + b"\n" for i in range(n))


@pytest.mark.parametrize(("read_chunk", "inflate_chunk"), [(7, 5), (64, 1000), (1 << 17, 1 << 19)])
def test_inflate_output_is_bounded_and_complete(tmp_path, monkeypatch, read_chunk, inflate_chunk):
    """Highly compressible members (1 KB lines of one letter) inflate in bounded pieces,
    and every line of every member comes out in order."""
    monkeypatch.setattr(files, "READ_CHUNK", read_chunk)
    monkeypatch.setattr(files, "INFLATE_CHUNK", inflate_chunk)
    body = _lines(300, 1000)
    path = tmp_path / "multi.gz"
    path.write_bytes(gzip.compress(body[:150_000]) + gzip.compress(body[150_000:]))
    verify_gzip(path)
    sizes = [len(piece) for piece in files._inflate(path)]
    assert max(sizes) <= max(inflate_chunk, 1)
    assert sum(sizes) == len(body)
    assert [obj["n"] for _, obj in read_lines(path, "x")] == list(range(300))


def test_truncated_member_is_still_detected_with_bounded_output(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "INFLATE_CHUNK", 100)
    data = zlib.compressobj(1, zlib.DEFLATED, 31)
    whole = data.compress(_lines(200, 500)) + data.flush()
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[:-20])
    with pytest.raises(CorruptGzip):
        verify_gzip(path)
