"""A tar member's data read straight from the stream under ``tarfile``'s stream mode, in large pieces.

In stream mode (``tarfile.open(mode="r|")``) tarfile reads its source through ``_Stream``: 10 KiB at a time,
each read joined to the buffer left over and sliced twice, then once more by ``_FileInFile`` and the
``io.BufferedReader`` of ``extractfile``: about half the CPU time of reading a large tar.gz member went
there. tarfile still reads every header (and :mod:`analyzer.intake.tarsafe` checks them); once it has read a
regular member's header, :class:`TarData` hands out that member's data: first what is left in ``_Stream``'s
buffer, then the source's own pieces as they come (one ``read1`` per piece, no copy), and it moves ``_Stream``'s
position with every byte it takes. tarfile then finds its stream where its own reading of the data would have
left it: at the next header, or, when the member was not read to its end, where its own seek goes on from.

Used only where that holds: a ``_Stream`` over an uncompressed tar (what ``mode="r|"`` reads; intake inflates
first) positioned at the member's data, and a member without a sparse map (its holes are tarfile's work).
Anything else is read by ``tarfile.extractfile``, and either way the bytes are the same (tested).
"""

from __future__ import annotations

import io
import tarfile
from typing import BinaryIO


class TarData(io.RawIOBase):
    """The ``size`` bytes of one member's data; a stream ending before them raises ``tarfile.ReadError``, as
    ``extractfile`` does, after every byte that came before the cut."""

    def __init__(self, stream: tarfile._Stream, size: int) -> None:  # type: ignore[name-defined]
        self._stream = stream
        src = stream.fileobj
        self._read = getattr(src, "read1", src.read)
        self._left = size

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:  # type: ignore[override]
        """Up to ``size`` bytes of the member, at least one unless it is done (a piece of the source, not copied)."""
        n = self._left if size is None or size < 0 else min(size, self._left)
        if n <= 0:
            return b""
        s = self._stream
        if s.buf:  # tarfile read past the header: those bytes come first
            data, s.buf = s.buf[:n], s.buf[n:]
        else:
            data = self._read(n)
            if not data:
                raise tarfile.ReadError("unexpected end of data")
        s.pos += len(data)
        self._left -= len(data)
        return data

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self.readall() if size is None or size < 0 else self.read1(size)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read1(len(b))
        b[: len(data)] = data
        return len(data)

    def skip(self) -> None:
        """Read what is left of the data (a member not read to its end), in large pieces."""
        while self.read1(1 << 20):
            pass


def member_data(tf: tarfile.TarFile, ti: tarfile.TarInfo) -> tuple[BinaryIO, TarData | None]:
    """A reader of the data of ``ti``, whose header ``tf`` just read: :class:`TarData` where it applies (also
    returned second, to :meth:`TarData.skip` what the reader leaves), else ``tf.extractfile(ti)``."""
    s = tf.fileobj
    if (isinstance(s, tarfile._Stream) and s.comptype == "tar"  # type: ignore[attr-defined]
            and isinstance(getattr(s, "buf", None), bytes) and getattr(s, "pos", None) == ti.offset_data
            and ti.sparse is None and ti.isreg()):
        data = TarData(s, ti.size)
        return data, data  # type: ignore[return-value]
    raw = tf.extractfile(ti)
    assert raw is not None  # a regular file always has data
    return raw, None
