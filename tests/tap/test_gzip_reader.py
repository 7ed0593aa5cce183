"""The Bulk fast path's reader keeps memory bounded whatever the compression ratio."""

from __future__ import annotations

import gzip
import random
import zlib

import orjson
import pytest
from helpers import verify_gzip

from tap_spotify_bulk.bulk import files
from tap_spotify_bulk.bulk.files import CorruptGzip, read_lines


def _lines(n: int, pad: int) -> bytes:
    return b"".join(orjson.dumps({"n": i, "pad": "x" * pad}) + b"\n" for i in range(n))


@pytest.fixture(params=["isal", "zlib"])
def inflater(request, monkeypatch):
    """Both inflate back ends: ISA-L (the default) and the stdlib fallback."""
    if request.param == "zlib":
        monkeypatch.setattr(files, "_zlib", zlib)
    return request.param


@pytest.mark.parametrize(("read_chunk", "inflate_chunk"), [(7, 5), (64, 1000), (1 << 17, 1 << 19)])
def test_inflate_output_is_bounded_and_complete(tmp_path, monkeypatch, inflater, read_chunk,
                                                inflate_chunk):
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


@pytest.mark.parametrize("cut", [4, 20])
def test_truncated_member_is_still_detected_with_bounded_output(tmp_path, monkeypatch,
                                                                inflater, cut):
    monkeypatch.setattr(files, "INFLATE_CHUNK", 100)
    data = zlib.compressobj(1, zlib.DEFLATED, 31)
    whole = data.compress(_lines(200, 500)) + data.flush()
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[:-cut])
    with pytest.raises(CorruptGzip):
        verify_gzip(path)


def test_bad_checksum_is_detected(tmp_path, inflater):
    whole = bytearray(gzip.compress(_lines(50, 10)))
    whole[-8] ^= 0xFF  # the member's CRC32
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(whole))
    with pytest.raises(CorruptGzip):
        verify_gzip(path)


def test_large_pieces_are_fed_in_read_chunks(monkeypatch, inflater):
    """A 1 MB download chunk goes to the inflater in READ_CHUNK slices (no quadratic copy)
    and still comes out whole."""
    rng = random.Random(7)
    body = b"".join(orjson.dumps({"n": i, "pad": f"{rng.getrandbits(1200):0300x}"}) + b"\n"
                    for i in range(3000))
    packed = gzip.compress(body)
    assert len(packed) > 4 * files.READ_CHUNK
    seen: list[int] = []
    real = files.Inflater._feed

    def spy(self, chunk):
        seen.append(len(chunk))
        return real(self, chunk)

    monkeypatch.setattr(files.Inflater, "_feed", spy)
    inflater_ = files.Inflater()
    out = b"".join(inflater_.feed(packed)) + b"".join(inflater_.finish())
    assert out == body
    assert max(seen) <= files.READ_CHUNK
