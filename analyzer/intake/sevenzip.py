"""7z through py7zr, never writing under an archive-chosen name (security.md section 3.5).

Before py7zr decodes anything, the coders of the (encoded) header and of every folder are checked
against an allow-list: PPMd is refused because pyppmd 1.3.1 double-frees when its attacker-sized model
cannot be allocated (an abort of the whole interpreter, exactly under the memory limit meant to help),
and 7zAES means the archive is encrypted (no password is ever tried: the key derivation cost is the
attacker's choice). Member names are checked here and only good names are passed to py7zr as
``targets`` (one bad name makes py7zr refuse the whole extraction). Data is pushed by py7zr into
writers that append to one anonymous temporary file, charging the bundle budget as they go; members
are then handed out as windows of that file, in archive order.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

import py7zr
from py7zr.archiveinfo import HeaderStreamsInfo, PackInfo, StreamsInfo, read_uint64
from py7zr.compressor import get_methods_names
from py7zr.helpers import get_sanitized_output_path
from py7zr.io import Py7zIO, WriterFactory
from py7zr.properties import PROPERTY

from analyzer.intake.limits import IntakeError
from analyzer.intake.paths import drop_drive
from analyzer.intake.streams import Budget, SliceReader
from analyzer.intake.zipsafe import ENCRYPTED
from parsers.base import say

_MAGIC = b"7z\xbc\xaf\x27\x1c"
_ENCODED_HEADER = 0x17
DECODED_HEADER_FACTOR = 4  # a decoded header may be this many times max_meta_bytes (names of ~50,000 files)
MAX_FOLDERS = 16_384  # compressed blocks; a non-solid archive has one per file
_ALLOWED = {"lzma2", "lzma", "bzip2", "deflate", "delta", "copy", "bcj", "arm", "armt", "ia64", "ppc", "sparc"}


class SevenZipRefused(IntakeError):
    """The 7z archive as a whole cannot be read (encrypted, method not allowed, corrupt)."""


def method_refusal(coders_lists: list[list[dict]]) -> str | None:
    try:
        names = get_methods_names(coders_lists)
    except (KeyError, ValueError) as exc:
        return say("intake.7z_method_unknown", error=str(exc))
    if any(n.lower() == "7zaes" for n in names):
        return say(ENCRYPTED)
    bad = sorted({n for n in names if n.lower() not in _ALLOWED})
    if "PPMd" in bad:
        return ("7z method PPMd refused: its decoder (pyppmd) can crash the process on a crafted model size; "
                "repack the bundle with LZMA2 or zip")
    if bad:
        return say("intake.7z_methods", methods=bad)
    return None


def check_header(f: BinaryIO, max_header: int, max_entries: int) -> None:
    """Refuse a header that py7zr should not parse: an encoded header whose coders are not allowed (before py7zr
    decodes it), one that decodes to more than ``DECODED_HEADER_FACTOR * max_header`` bytes, or one declaring more
    than ``max_entries`` entries or :data:`MAX_FOLDERS` folders (py7zr builds an object for each before anything
    can count them: a 500-byte archive declaring two million entries took 900 MB)."""
    f.seek(0)
    sig = f.read(32)
    if len(sig) < 32 or sig[:6] != _MAGIC:
        raise SevenZipRefused(say("intake.7z_signature"))
    offset, size = struct.unpack_from("<QQ", sig, 12)
    if size > max_header:
        raise SevenZipRefused(say("intake.7z_header_size", size=size, limit=max_header))
    if 32 + offset + size > f.seek(0, io.SEEK_END):  # also keeps a 2**64 offset from reaching seek()
        raise SevenZipRefused(say("intake.7z_truncated"))
    f.seek(32 + offset)
    head = f.read(size)
    if len(head) < size:
        raise SevenZipRefused(say("intake.7z_truncated"))
    try:
        if head[:1] == bytes([_ENCODED_HEADER]):
            streams = HeaderStreamsInfo.retrieve(io.BytesIO(head[1:]))
            reason = method_refusal([folder.coders for folder in streams.unpackinfo.folders])
            if reason:
                raise SevenZipRefused(reason)
            head = _decoded_header(f, streams, DECODED_HEADER_FACTOR * max_header)
        folders, entries = _census(head)
    except SevenZipRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of py7zr's parser means a corrupt header
        raise SevenZipRefused(say("intake.7z_corrupt_header", error=f"{type(exc).__name__}: {exc}")) from None
    if folders > MAX_FOLDERS:
        raise SevenZipRefused(say("intake.7z_folders", n=folders, limit=MAX_FOLDERS))
    if entries > max_entries:
        raise SevenZipRefused(say("intake.7z_entries", n=entries, limit=max_entries))


def _decoded_header(f: BinaryIO, streams: HeaderStreamsInfo, cap: int) -> bytes:
    """The header behind an encoded header, decoded with the allowed coders, refused beyond ``cap`` bytes."""
    sizes = [folder.unpacksizes[-1] for folder in streams.unpackinfo.folders]
    if not streams.packinfo.packsizes or not sizes or sum(sizes) > cap or min(sizes) < 0:
        raise SevenZipRefused(say("intake.7z_decoded", n=sum(sizes), limit=cap))
    out = bytearray()
    start = 32 + streams.packinfo.packpos
    for folder, size, packed in zip(streams.unpackinfo.folders, sizes, streams.packinfo.packsizes, strict=False):
        f.seek(start)
        decompressor = folder.get_decompressor(packed)
        data = bytearray()
        while len(data) < size:
            before = (len(data), decompressor.consumed)
            data += decompressor.decompress(f, max_length=size - len(data))
            if (len(data), decompressor.consumed) == before:
                raise SevenZipRefused(say("intake.7z_header_truncated"))
        out += data
        start += packed
    return bytes(out)


def _census(head: bytes) -> tuple[int, int]:
    """(folders, entries) a plain 7z header declares, read before py7zr builds objects for them."""
    buf = io.BytesIO(head)
    if buf.read(1) != PROPERTY.HEADER:
        raise SevenZipRefused(say("intake.7z_no_header_record"))
    folders = 0
    pid = buf.read(1)
    if pid == PROPERTY.MAIN_STREAMS_INFO:
        start = buf.tell()
        pid = buf.read(1)
        if pid == PROPERTY.PACK_INFO:
            PackInfo.retrieve(buf)  # at most 65,536 pack streams (py7zr's own cap)
            pid = buf.read(1)
        if pid == PROPERTY.UNPACK_INFO and buf.read(1) == PROPERTY.FOLDER:
            folders = read_uint64(buf)
            if folders > MAX_FOLDERS:
                return folders, 0
        buf.seek(start)
        StreamsInfo.retrieve(buf)
        pid = buf.read(1)
    return folders, read_uint64(buf) if pid == PROPERTY.FILES_INFO else 0


@dataclass
class Entry:
    name: str  # as in the archive
    index: int
    path: str = ""  # member path the caller assigned
    origin: str = ""
    start: int = 0
    length: int = 0
    done: bool = False


@dataclass
class _Spool:
    f: BinaryIO
    budget: Budget
    by_name: dict[str, Entry]
    order: list[Entry] = field(default_factory=list)


class _Writer(Py7zIO):
    def __init__(self, spool: _Spool, entry: Entry | None) -> None:
        self._s = spool
        self._e = entry
        if entry is not None:
            entry.start = spool.f.seek(0, io.SEEK_END)

    def write(self, s: bytes | bytearray) -> int:
        e = self._e
        if e is None:  # a name py7zr made up for a duplicate: not ours, dropped
            return len(s)
        cap = self._s.budget.limits.max_member_bytes
        if e.length + len(s) > cap:
            raise IntakeError(say("intake.member_bytes", path=e.path, limit=cap))
        self._s.budget.charge(e.path, len(s))
        if self._s.f.tell() != e.start + e.length:
            raise IntakeError(say("intake.7z_order", path=e.path))
        self._s.f.write(s)
        e.length += len(s)
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self._e.length if self._e else 0

    def close(self) -> None:
        if self._e is not None:
            self._e.done = True


class _Factory(WriterFactory):
    def __init__(self, spool: _Spool) -> None:
        self._s = spool

    def create(self, filename: str) -> Py7zIO:
        entry = self._s.by_name.pop(filename, None)
        return _Writer(self._s, entry)


def open_archive(f: BinaryIO, max_header: int, max_entries: int) -> py7zr.SevenZipFile:
    check_header(f, max_header, max_entries)
    f.seek(0)
    try:
        arc = py7zr.SevenZipFile(f, mode="r")
    except py7zr.PasswordRequired:
        raise SevenZipRefused(say(ENCRYPTED)) from None
    except Exception as exc:  # noqa: BLE001 - security.md 3.5: every py7zr exception means "corrupt"
        raise SevenZipRefused(say("intake.7z_corrupt", error=f"{type(exc).__name__}: {exc}")) from None
    main = arc.header.main_streams if arc.header is not None else None
    reason = method_refusal([fo.coders for fo in main.unpackinfo.folders]) if main is not None else None
    if reason is None and arc.needs_password():
        reason = say(ENCRYPTED)
    if reason:
        arc.close()
        raise SevenZipRefused(reason)
    for info in arc.header.files_info.files if arc.header is not None and arc.header.files_info is not None else []:
        name = info.get("filename")
        if isinstance(name, str):  # py7zr refuses to decode a drive-rooted name; paths.py says why it is read
            info["filename"] = drop_drive(name)
    return arc


def extract(arc: py7zr.SevenZipFile, entries: list[Entry], spool_file: BinaryIO,
            budget: Budget) -> tuple[list[tuple[Entry, SliceReader]], IntakeError | None]:
    """Decode the chosen entries into ``spool_file``; the completed ones as windows, in archive order.

    An error part-way (corrupt data, a broken limit) is returned beside the entries completed before it.
    """
    by_name: dict[str, Entry] = {}
    for e in entries:
        try:
            by_name.setdefault(get_sanitized_output_path(e.name, None).as_posix(), e)
        except Exception:  # noqa: BLE001 - py7zr refuses the name: it is simply not a target
            continue
    spool = _Spool(spool_file, budget, dict(by_name))
    error: IntakeError | None = None
    try:
        arc.extract(targets=[e.name for e in by_name.values()], factory=_Factory(spool))
    except IntakeError as exc:
        error = exc
    except Exception as exc:  # noqa: BLE001 - security.md 3.5: every py7zr exception means "corrupt"
        error = IntakeError(say("intake.7z_data", error=f"{type(exc).__name__}: {exc}"))
    done = sorted((e for e in entries if e.done), key=lambda e: e.index)
    return [(e, SliceReader(spool_file, e.start, e.length)) for e in done], error
