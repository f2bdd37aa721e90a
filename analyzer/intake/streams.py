"""Readers that charge every byte to the bundle's budget, and the anonymous spool for nested archives.

Archive libraries raise lazily, during ``read()`` (``BadGzipFile``, ``EOFError``, ``zlib.error``,
``LZMAError``, ``BadZipFile``): :class:`GuardedReader` turns those into :class:`IntakeError` naming the
member and the byte offset, so a parser sees one error type and keeps the lines it already read.
Reads use ``read1`` where the source has it, so data decoded before an error is not thrown away.
"""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import struct
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

from analyzer.intake.limits import BudgetExhausted, IntakeError, LimitExceeded, Limits, TimeLimitReached
from parsers.base import Message, say
from parsers.text import uncopied

CHUNK = 1 << 20  # read size for copies and buffers: large reads, no per-byte Python work
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, ValueError, RuntimeError, NotImplementedError, zlib.error, lzma.LZMAError,
    zipfile.BadZipFile, tarfile.TarError, struct.error,
)
try:  # ISA-L inflates gzip about 3x faster than zlib (bench_large_bundle); gzip.GzipFile reads it without isal
    from isal import igzip_lib as _isal
except ImportError:  # pragma: no cover - isal is a dependency
    _isal = None
else:
    DECODE_ERRORS = (*DECODE_ERRORS, _isal.IsalError)

INFLATE_INPUT = 1 << 17  # compressed bytes fed at a time
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first local header, or the end record of an empty one


class IsalGzipReader(io.RawIOBase):
    """gzip members one after the other (zero padding between them skipped), CRC and length checked, by ISA-L.
    A zip after the last member ends the stream (a tar.gz/zip polyglot: every tar member is read and the
    intake names the zip reading); any other bytes there are a corrupt stream, as for :class:`gzip.GzipFile`.

    Output is handed out as soon as it is inflated, so a truncated stream keeps every byte decoded
    before the cut (then ``EOFError``), as :class:`gzip.GzipFile` does.
    """

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._dec = _isal.IgzipDecompressor(flag=_isal.DECOMP_GZIP)  # type: ignore[union-attr]
        self._started = False

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:  # type: ignore[override]
        """Up to ``size`` inflated bytes, at least one unless the stream ended (no copy into a buffer)."""
        if size is None or size < 0:
            size = CHUNK
        while True:
            if self._dec.eof:  # another member may follow
                data = self._dec.unused_data.lstrip(b"\0")
                while len(data) < 4:
                    more = self._src.read(INFLATE_INPUT)
                    if not more:
                        break
                    data = (data + more).lstrip(b"\0")
                if not data or data.startswith(ZIP_MAGIC):
                    return b""  # the end, or a zip appended to it: a polyglot the intake names as a second reading
                self._dec = _isal.IgzipDecompressor(flag=_isal.DECOMP_GZIP)  # type: ignore[union-attr]
            elif self._dec.needs_input:
                data = self._src.read(INFLATE_INPUT)
                if not data:
                    if not self._started:
                        return b""  # an empty file: no member at all
                    raise EOFError("compressed file ended before the end-of-stream marker was reached")
            else:
                data = b""
            self._started = True
            out = self._dec.decompress(data, size)
            if out:
                return out

    read = read1

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        out = self.read1(len(b))
        b[: len(out)] = out
        return len(out)


class Budget:
    """The bundle-wide counters: member entries and bytes read out of archives, at every depth."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.members = 0
        self.total = 0
        self.deadline = None if limits.max_seconds is None else time.monotonic() + limits.max_seconds

    def _check_time(self, path: str) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeLimitReached(say("intake.time_limit", path=path, seconds=self.limits.max_seconds))

    def add_member(self, path: str) -> None:
        self.members += 1
        self._check_time(path)
        if self.members > self.limits.max_members:
            raise BudgetExhausted(say("intake.too_many_members", path=path, limit=self.limits.max_members))

    def charge(self, path: str, n: int) -> None:
        self.total += n
        self._check_time(path)
        if self.total > self.limits.max_total_bytes:
            raise BudgetExhausted(say("intake.total_bytes", path=path, limit=self.limits.max_total_bytes))

    def check_declared(self, size: int) -> Message | None:
        """Why a member of this declared size is refused before it is read, or ``None``."""
        if size > self.limits.max_member_bytes:
            return say("intake.declared_member_bytes", size=size, limit=self.limits.max_member_bytes)
        if self.total + size > self.limits.max_total_bytes:
            return say("intake.declared_total_bytes", size=size, limit=self.limits.max_total_bytes)
        return None


class GuardedReader(io.RawIOBase):
    """A raw reader over ``src``; subclasses account for the bytes in :meth:`_account`."""

    def __init__(self, src: BinaryIO, path: str) -> None:
        self._src = src
        self._read: Callable[[int], bytes] | None = None  # made at the first read: ``src`` may be peeked before
        self.path = path
        self.count = 0

    def readable(self) -> bool:
        return True

    def read_uncopied(self, n: int) -> bytes:
        """Up to ``n`` bytes (none at the end) as the source hands them out: no copy (:func:`parsers.text.uncopied`)."""
        try:
            if self._read is None:
                self._read = uncopied(self._src)
            data = self._read(n)
        except IntakeError:
            raise
        except DECODE_ERRORS as exc:
            raise IntakeError(say("intake.corrupt_data", path=self.path, bytes=self.count,
                                  error=f"{type(exc).__name__}: {exc}")) from None
        self.count += len(data)
        self._account(len(data))
        return data

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        return self.readall() if n is None or n < 0 else self.read_uncopied(n)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read_uncopied(len(b))
        b[: len(data)] = data
        return len(data)

    def _account(self, n: int) -> None:
        """Charge ``n`` more bytes; the base class only counts them."""


class MemberReader(GuardedReader):
    """Charges a member's bytes to the bundle budget and to the per-member cap.

    A member handed to a parser (``deliver_first``) gives every byte before damage (a truncated or corrupt
    archive, a member limit) and then ends, as a file would; :attr:`damage` keeps what ended it for the
    pipeline to report once the parser is done. Raised into the parser, it would lose what the parser had
    gathered (a buffered read of a large block, the events a parser holds to its end). Bundle-wide budgets
    stop at once."""

    def __init__(self, src: BinaryIO, path: str, budget: Budget) -> None:
        super().__init__(src, path)
        self._budget = budget
        self.deliver_first = False
        self.damage: IntakeError | None = None

    def read_uncopied(self, n: int) -> bytes:
        if self.damage is not None:
            return b""
        try:
            return super().read_uncopied(n)
        except BudgetExhausted:
            raise
        except IntakeError as exc:
            if not self.deliver_first:
                raise
            self.damage = exc
            return b""

    def _account(self, n: int) -> None:
        cap = self._budget.limits.max_member_bytes
        if self.count > cap:
            raise LimitExceeded(say("intake.member_bytes", path=self.path, limit=cap))
        self._budget.charge(self.path, n)


class RatioReader(GuardedReader):
    """Output of a decompressor; stops when it outgrows ``max_ratio`` times the compressed input read."""

    def __init__(self, src: BinaryIO, path: str, limits: Limits, compressed: Callable[[], int]) -> None:
        super().__init__(src, path)
        self._limits = limits
        self._compressed = compressed

    def _account(self, n: int) -> None:
        lim = self._limits
        if self.count > lim.ratio_floor and self.count > lim.max_ratio * max(self._compressed(), 1):
            raise LimitExceeded(say("intake.ratio", path=self.path, size=self.count, packed=self._compressed(),
                                    limit=lim.max_ratio))


class SliceReader(io.RawIOBase):
    """A seekable window [start, start+length) of a shared spool file."""

    def __init__(self, spool: BinaryIO, start: int, length: int) -> None:
        self._spool = spool
        self._start = start
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._length - self._pos)
        if n <= 0:
            return 0
        self._spool.seek(self._start + self._pos)
        data = self._spool.read(n)
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)


XZ_MEMORY = 256 * 1024 * 1024  # decoder memory for one .xz stream; xz -9 needs 65 MiB


class XzReader(io.RawIOBase):
    """An .xz reader whose decoder memory is capped (``lzma.LZMAFile`` takes no limit).

    A crafted header can declare a dictionary of up to 4 GiB, which the decoder would allocate before
    producing a byte; with ``memlimit`` that is an ``LZMAError`` instead. Concatenated streams are read
    one after the other, as ``xz -d`` does.
    """

    def __init__(self, src: BinaryIO, memlimit: int = XZ_MEMORY) -> None:
        self._src = src
        self._memlimit = memlimit
        self._dec = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=memlimit)
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._eof:
            if self._dec.eof:  # another stream may follow, after stream padding (NUL bytes)
                rest = self._dec.unused_data.lstrip(b"\0")
                while not rest:
                    more = self._src.read(CHUNK)
                    if not more:
                        self._eof = True
                        return 0
                    rest = more.lstrip(b"\0")
                self._dec = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=self._memlimit)
                data = rest
            elif self._dec.needs_input:
                data = self._src.read(CHUNK)
                if not data:
                    raise EOFError("compressed file ended before the end-of-stream marker was reached")
            else:
                data = b""
            out = self._dec.decompress(data, max_length=len(b))
            if out:
                b[: len(out)] = out
                return len(out)
        return 0


def gunzip(src: BinaryIO) -> BinaryIO:
    """A reader of the gzip stream ``src`` (every member): ISA-L when installed, else :class:`gzip.GzipFile`."""
    if _isal is None:
        return gzip.GzipFile(fileobj=src, mode="rb")  # type: ignore[return-value]
    return IsalGzipReader(src)  # type: ignore[return-value]


def damage_of(stream: BinaryIO) -> IntakeError | None:
    """The damage a member's reader met after delivering the bytes before it (:class:`MemberReader`); for a file
    embedded in a section file (:mod:`analyzer.intake.sections`), the damage its outer member's reader met."""
    raw = getattr(stream, "raw", None)
    if isinstance(raw, MemberReader):
        return raw.damage
    outer = getattr(raw, "source", None)
    return damage_of(outer) if outer is not None else None


def buffered(raw: io.RawIOBase) -> io.BufferedReader:
    return io.BufferedReader(raw, CHUNK)


def anonymous_file() -> BinaryIO:
    """A temporary file that has no name on disk (unlinked at once on POSIX)."""
    return tempfile.TemporaryFile()


def spool(stream: BinaryIO) -> BinaryIO:
    """Copy a stream into an anonymous temporary file and return it rewound."""
    f = anonymous_file()
    try:
        shutil.copyfileobj(stream, f, CHUNK)
    except BaseException:
        f.close()
        raise
    f.seek(0)
    return f
