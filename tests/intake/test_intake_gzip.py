"""gzip members through ISA-L (``IsalGzipReader``) read exactly as ``gzip.GzipFile`` reads them, errors included."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from analyzer.intake import streams
from analyzer.intake.streams import DECODE_ERRORS, gunzip

_DATA = random.Random(5).randbytes(300_000) + b"log line 1\n" * 200_000


def _read(data: bytes, chunk: int = 65536) -> bytes:
    out = []
    reader = gunzip(io.BytesIO(data))
    while piece := reader.read1(chunk):
        out.append(piece)
    return b"".join(out)


@pytest.mark.parametrize("use_isal", [True, False])
def test_members_padding_and_empty_files(use_isal: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not use_isal:
        monkeypatch.setattr(streams, "_isal", None)
    two = gzip.compress(_DATA) + bytes(512) + gzip.compress(b"second member\n")
    assert _read(two) == _DATA + b"second member\n"
    assert _read(gzip.compress(_DATA), chunk=7) == _DATA
    assert _read(b"") == b""
    assert _read(gzip.compress(b"")) == b""


@pytest.mark.parametrize("use_isal", [True, False])
def test_cut_and_corrupt_streams_fail_after_what_was_inflated(use_isal: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not use_isal:
        monkeypatch.setattr(streams, "_isal", None)
    whole = gzip.compress(_DATA)
    reader = gunzip(io.BytesIO(whole[: len(whole) - 40]))
    got = b""
    with pytest.raises(EOFError):
        while piece := reader.read1(65536):
            got += piece
    assert len(got) > len(_DATA) // 2 and _DATA.startswith(got)
    bad = bytearray(whole)
    bad[-8] ^= 0xFF  # the CRC
    with pytest.raises(DECODE_ERRORS):
        _read(bytes(bad))
    with pytest.raises(DECODE_ERRORS):
        _read(whole + b"not gzip at all")
