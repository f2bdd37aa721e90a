"""Checks on a zip archive that CPython 3.11.7's zipfile does not make (security.md section 3.3).

- the entry count, read from the end-of-central-directory record *before* ``ZipFile()`` builds one
  ``ZipInfo`` per entry;
- overlapping entries (the "full" and "quoted" overlap bombs): entries sorted by local-header offset
  must each end before the next one starts, and the last before the central directory;
- per entry: links and special files by their Unix mode, encryption (flag bit 0, AES method 99), the
  method allow-list (STORED and DEFLATED: bzip2 and LZMA members allocate without bound before
  3.11.17), declared size against the per-member cap and declared ratio against ``max_ratio``.
"""

from __future__ import annotations

import stat
import struct
import zipfile
from typing import BinaryIO

from analyzer.intake.limits import Limits
from parsers.base import Message, say

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
LOCAL = b"PK\x03\x04"
TAIL = 22 + 65535  # end record + the longest comment
ENCRYPTED = "intake.encrypted"  # the key of: encrypted archive, cannot be read without a password
_ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


def end_record(tail: bytes) -> tuple[int, int, int, int] | None:
    """(its offset in ``tail``, entries, central directory size, its offset from the zip's start) of the last
    end-of-central-directory record in ``tail`` (a file's last :data:`TAIL` bytes), or ``None``."""
    pos = tail.rfind(_EOCD)
    if pos < 0 or len(tail) - pos < 22:
        return None
    count, size, offset = struct.unpack_from("<HII", tail, pos + 10)
    return pos, count, size, offset


def declared_entries(f: BinaryIO) -> int | None:
    """The entry count of the end-of-central-directory record (zip64 aware); ``None`` if none is found."""
    size = f.seek(0, 2)
    start = max(0, size - TAIL)
    f.seek(start)
    tail = f.read(size - start)
    found = end_record(tail)
    if found is None:
        return None
    pos, count = found[:2]
    if count != 0xFFFF or pos < 20 or tail[pos - 20: pos - 16] != _EOCD64_LOCATOR:
        return count
    offset = struct.unpack_from("<Q", tail, pos - 20 + 8)[0]
    f.seek(offset)
    rec = f.read(56)
    if len(rec) < 56 or rec[:4] != _EOCD64:
        return count
    return int(struct.unpack_from("<Q", rec, 32)[0])


def overlap(zf: zipfile.ZipFile, f: BinaryIO) -> str | None:
    """The name of the first entry whose data runs into the next entry or the central directory."""
    infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
    end_of_data = zf.start_dir  # type: ignore[attr-defined]
    for i, info in enumerate(infos):
        f.seek(info.header_offset)
        head = f.read(30)
        if len(head) < 30 or head[:4] != LOCAL:
            return info.filename
        name_len, extra_len = struct.unpack_from("<HH", head, 26)
        end = info.header_offset + 30 + name_len + extra_len + info.compress_size
        limit = infos[i + 1].header_offset if i + 1 < len(infos) else end_of_data
        if end > limit:
            return info.filename
    return None


def entry_refusal(info: zipfile.ZipInfo, limits: Limits) -> Message | None:
    """Why this (non-directory) entry is not read, or ``None``."""
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return say("intake.symlink_entry")
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return say("intake.special_entry")
    if is_encrypted(info):
        return say(ENCRYPTED)
    if info.compress_type not in _ALLOWED_METHODS:
        return say("intake.zip_method", method=info.compress_type)
    if info.file_size > limits.max_member_bytes:
        return say("intake.declared_member_bytes", size=info.file_size, limit=limits.max_member_bytes)
    if info.file_size > limits.max_ratio * info.compress_size + limits.ratio_floor:
        return say("intake.zip_ratio", size=info.file_size, packed=info.compress_size, limit=limits.max_ratio)
    return None


def is_encrypted(info: zipfile.ZipInfo) -> bool:
    return bool(info.flag_bits & 0x1) or info.compress_type == 99
