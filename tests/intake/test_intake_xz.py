""".xz members: decoded with a capped decoder memory; concatenated streams read in full."""

from __future__ import annotations

import lzma
import zlib
from pathlib import Path

from intake_fixtures import WAAGENT_LOG, digests, problems, read_all, tar_bytes, write

from analyzer.intake.streams import XZ_MEMORY


def huge_dictionary_xz(payload: bytes) -> bytes:
    """A valid .xz whose block header declares a 4 GiB LZMA2 dictionary (props byte 40), CRC fixed."""
    data = bytearray(lzma.compress(payload, format=lzma.FORMAT_XZ))
    size = (data[12] + 1) * 4  # the block header follows the 12-byte stream header
    header = data[12:12 + size]
    assert header[2] == 0x21  # LZMA2 filter id; header[4] is its properties byte
    header[4] = 40
    header[-4:] = zlib.crc32(bytes(header[:-4])).to_bytes(4, "little")
    data[12:12 + size] = header
    return bytes(data)


def test_crafted_dictionary_is_refused_without_allocating(tmp_path: Path) -> None:
    assert XZ_MEMORY < 4 << 30
    entries = {"var/log/waagent.log.2.xz": huge_dictionary_xz(WAAGENT_LOG), "var/log/waagent.log": WAAGENT_LOG}
    bundle, seen = read_all(write(tmp_path / "b.tar", tar_bytes(entries, "w")))
    assert seen == digests({"var/log/waagent.log": WAAGENT_LOG})
    (message,) = problems(bundle).values()
    assert "memory" in message.lower(), message


def test_concatenated_streams_with_padding_are_read_in_full(tmp_path: Path) -> None:
    two = lzma.compress(b"first\n", format=lzma.FORMAT_XZ) + b"\0" * 8 + lzma.compress(b"second\n",
                                                                                       format=lzma.FORMAT_XZ)
    bundle, seen = read_all(write(tmp_path / "b.tar", tar_bytes({"var/log/syslog.1.xz": two}, "w")))
    assert seen == digests({"var/log/syslog.1": b"first\nsecond\n"}) and not bundle.problems


def test_tar_xz_bundle(tmp_path: Path) -> None:
    _, seen = read_all(write(tmp_path / "b.tar.xz", tar_bytes({"var/log/waagent.log": WAAGENT_LOG}, "w:xz")))
    assert seen == digests({"var/log/waagent.log": WAAGENT_LOG})
