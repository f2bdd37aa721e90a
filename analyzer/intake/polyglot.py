"""Polyglot archives: one file that two archive readers read as two different bundles (issue 15 #10).

A tar whose first header is also the start of a zip, or a tar, 7z or compressed file with a zip after it (a zip is
found by its end record, wherever it starts), shows one bundle to ``tar`` and another to ``unzip``. The input is
read in the format its first bytes name, as always; :func:`other_reading` names the second reading (its format,
entry count and first names), which the caller puts in a row of the sources table, so the engineer knows the file
holds a bundle the report does not cover. A zip that is the data of one tar member (a nested archive, the last
member of the tar) is that member, not a second reading.

Checked: the input file, each archive file of a folder input, and nested zips once spooled to an anonymous file;
each check reads headers only, within the limits of the reader it borrows. A tar inside a compressed file or
another archive is read once, as a stream: :class:`StreamEnds` keeps its first and last bytes and where its
members' data lie, and :func:`zip_in_stream` finds a zip whose end record is among the last bytes and whose start
is outside any one member (the tar's first header, or after its end).
"""

from __future__ import annotations

import tarfile
import zipfile
from collections import deque
from collections.abc import Callable
from typing import BinaryIO

from analyzer.escape import escape_name
from analyzer.intake import tarsafe, zipsafe
from analyzer.intake.limits import IntakeError, Limits
from analyzer.intake.zipsafe import LOCAL, TAIL, end_record
from parsers.base import Message, say
from parsers.text import uncopied

_SHOWN = 3  # names of the other reading shown in the row


def other_reading(kind: str, f: BinaryIO, limits: Limits) -> Message | None:
    """What else the seekable archive ``f``, read as ``kind``, is: e.g. ``"a zip archive of 2 entries
    (var/log/waagent.log, ...)"``; ``None`` when it is nothing else."""
    pos = f.tell()
    try:
        return _as_tar(f, limits) if kind == "zip" else _as_zip(f, limits, kind == "tar")
    except (tarfile.TarError, zipfile.BadZipFile, IntakeError, OSError, ValueError, EOFError):
        return None  # the second reading breaks at once: nobody reads it either
    finally:
        f.seek(pos)


def _as_tar(f: BinaryIO, limits: Limits) -> Message | None:
    f.seek(0)
    tarfile.TarInfo.frombuf(f.read(tarfile.BLOCKSIZE), "utf-8", "surrogateescape")  # raises unless a tar header
    f.seek(0)
    names: list[str] = []
    count = 0
    with tarfile.open(fileobj=f, mode="r:", tarinfo=tarsafe.tarinfo_class(limits, tarsafe.Notes())) as tf:
        for ti in tf:
            tf.members.clear()
            count += 1
            if len(names) < _SHOWN and not ti.isdir():
                names.append(ti.name)
            if count >= limits.max_members:
                break
    return _say("tar", count, names)


def _as_zip(f: BinaryIO, limits: Limits, tar: bool) -> Message | None:
    count = zipsafe.declared_entries(f)
    if count is None:
        return None
    if count > limits.max_members:
        return say("intake.polyglot_zip_declaring", n=count)
    f.seek(0)
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        start = min((i.header_offset for i in infos), default=zf.start_dir)
        end = zf.start_dir
        if tar and _inside_one_member(f, start, end, limits):
            return None
        return _say("zip", len(infos), [i.filename for i in infos if not i.filename.endswith("/")][:_SHOWN])


def _inside_one_member(f: BinaryIO, start: int, end: int, limits: Limits) -> bool:
    """Whether bytes ``start``..``end`` of the tar ``f`` lie within the data of one of its members."""
    f.seek(0)
    with tarfile.open(fileobj=f, mode="r:", tarinfo=tarsafe.tarinfo_class(limits, tarsafe.Notes())) as tf:
        for n, ti in enumerate(tf, 1):
            tf.members.clear()
            if ti.offset_data <= start and end <= ti.offset_data + ti.size:
                return True
            if ti.offset_data > start or n >= limits.max_members:
                return False
    return False


def _say(kind: str, count: int, names: list[str]) -> Message:
    shown = ", ".join(escape_name(n)[:200] for n in names)
    if not shown:
        return say("intake.polyglot_archive", kind=kind, n=count)
    more = ", ..." if count > len(names) else ""
    return say("intake.polyglot_archive_names", kind=kind, n=count, names=shown + more)


class StreamEnds:
    """A stream's reader that keeps what a second reading would need of it: its last :data:`TAIL` bytes (and
    their offset) and, filled by the tar reader, where each member's data lies."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._read1: Callable[[int], bytes] | None = None  # made at the first read: ``f`` may be peeked before
        self._chunks: deque[bytes] = deque()
        self._kept = 0
        self.total = 0
        self.spans: list[tuple[int, int]] = []  # (offset, size) of each member's data

    def read(self, n: int = -1) -> bytes:
        """At most ``n`` bytes (tarfile's stream reads until it has what it asked for), as the stream hands them
        out (:func:`parsers.text.uncopied`; a tar member's data: :mod:`analyzer.intake.tardata`)."""
        if self._read1 is None:
            self._read1 = uncopied(self._f)
        data = self._read1(n if n >= 0 else 1 << 20)
        if data:
            self._chunks.append(data)
            self._kept += len(data)
            self.total += len(data)
            while self._kept - len(self._chunks[0]) >= TAIL:
                self._kept -= len(self._chunks.popleft())
        return data

    read1 = read

    def tail(self) -> tuple[int, bytes]:
        """(offset of the kept bytes in the stream, the kept bytes)."""
        return self.total - self._kept, b"".join(self._chunks)


def zip_in_stream(head: bytes, ends: StreamEnds) -> Message | None:
    """What else the tar read as the stream ``ends`` (whose first bytes are ``head``) is: a zip whose end record is
    among its last bytes and whose first entry starts where the stream shows a local header (its first bytes, or
    its last ones) outside the data of any one member; ``None`` otherwise."""
    base, tail = ends.tail()
    found = end_record(tail)
    if found is None:
        return None
    pos, count, cd_size, cd_offset = found
    end = base + pos + 22
    start = base + pos - cd_size - cd_offset
    seen = head[start:start + 4] if 0 <= start < len(head) else tail[start - base:start - base + 4] \
        if base <= start < len(tail) + base else b""
    if seen != LOCAL or any(off <= start and end <= off + size for off, size in ends.spans):
        return None
    return say("intake.polyglot_zip_declaring", n=count)
