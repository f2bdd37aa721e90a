"""Tar header metadata read in linear time and bounded memory (security.md section 3.2).

CPython 3.11.7's tarfile reads every header's metadata whole and, on hostile input, slowly: a GNU long name
or PAX header is read at its declared size; PAX records are matched with a pattern that goes quadratic on a
malformed header (``2 2 2 ... =``: 20,000 records took 3 s, a 1 MiB header would take half an hour); a global
PAX header is applied to every later member (a 1 MiB one before 8,000 empty members took 3.5 minutes); an
old-GNU sparse member lists its map in extension blocks without bound (200 MB of them: 1.6 GB of tuples)
and raises ``IndexError`` when they are cut short; a PAX ``size`` may be negative (CVE-2025-8194, an endless
loop before 3.11.14).

:func:`tarinfo_class` gives the ``TarInfo`` subclass that intake passes to ``tarfile.open``: metadata over
``max_meta_bytes`` is refused before it is read; PAX records are split by their own length fields in one
pass (a record that does not add up refuses the header); global PAX headers are skipped, never applied
(counted in :class:`Notes`: they only carry archive comments in practice, and applied they could rename or
resize every later member); sparse maps, old-GNU and PAX 1.0, are read with the same byte cap and a cut map
is an error, not an exception out of tarfile.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass

from analyzer.intake.limits import IntakeError, LimitExceeded, Limits
from parsers.base import Message, say

_META = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_BLOCK = tarfile.BLOCKSIZE
_SPARSE_ENTRIES = 21  # (offset, size) pairs in one old-GNU extension block
_MAX_DIGITS = 24  # a PAX record length or a sparse map number longer than this is not a number we read


@dataclass
class Notes:
    """What the headers of one archive held that is reported but not used."""

    global_headers: int = 0
    # why the header read last was not a member: tarfile ends there without a word
    last_header_error: Message | None = None


# header errors that tarfile takes for the end of the archive, though the archive is damaged there
_DAMAGE = {tarfile.TruncatedHeaderError: "intake.tar_header_cut", tarfile.InvalidHeaderError: "intake.tar_header_bad"}


def pax_records(buf: bytes) -> list[tuple[bytes, bytes]]:
    """The (keyword, value) records of a PAX header: ``"<length> <keyword>=<value>\\n"``, each length counting the
    whole record. Linear in ``buf``; a record that does not add up raises :class:`IntakeError`."""
    records = []
    pos, end = 0, len(buf)
    while pos < end and buf[pos] != 0:  # NUL padding ends the records
        space = buf.find(b" ", pos, pos + _MAX_DIGITS)
        digits = buf[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise IntakeError(say("intake.pax_no_length", pos=pos))
        length = int(digits)
        record_end = pos + length
        if length <= space - pos + 1 or record_end > end or buf[record_end - 1] != 0x0A:
            raise IntakeError(say("intake.pax_length_mismatch", pos=pos, length=length))
        equals = buf.find(b"=", space + 1, record_end)
        if equals < 0:
            raise IntakeError(say("intake.pax_no_equals", pos=pos))
        records.append((buf[space + 1:equals], buf[equals + 1:record_end - 1]))
        pos = record_end
    return records


def tarinfo_class(limits: Limits, notes: Notes) -> type[tarfile.TarInfo]:
    """A TarInfo that reads header metadata within ``limits.max_meta_bytes`` and in linear time."""
    cap = limits.max_meta_bytes

    class SafeTarInfo(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf: bytes, encoding: str, errors: str) -> tarfile.TarInfo:
            try:
                return super().frombuf(buf, encoding, errors)
            except tarfile.HeaderError as exc:
                notes.last_header_error = say(_DAMAGE[type(exc)]) if type(exc) in _DAMAGE else None
                raise

        def _proc_member(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
            if self.size < 0 or self.offset_data < 0:
                raise IntakeError(say("intake.tar_negative", offset=self.offset))
            if self.type in _META and self.size > cap:
                raise LimitExceeded(say("intake.tar_meta", size=self.size, limit=cap))
            return super()._proc_member(tf)  # type: ignore[misc]

        def _proc_pax(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
            buf = _read(tf, self._block(self.size))[: self.size]  # type: ignore[attr-defined]
            if self.type == tarfile.XGLTYPE:  # skipped: a global header is never applied to later members
                notes.global_headers += 1
                return self.fromtarfile(tf)
            records = pax_records(buf)
            binary = (b"hdrcharset", b"BINARY") in records
            headers: dict[str, str] = {}
            offsets: list[int] = []
            sizes: list[int] = []
            for raw_key, raw_value in records:
                key = self._decode_pax_field(raw_key, "utf-8", "utf-8", tf.errors)  # type: ignore[attr-defined]
                encoding = tf.encoding if binary and key in tarfile.PAX_NAME_FIELDS else "utf-8"
                headers[key] = self._decode_pax_field(raw_value, encoding, tf.encoding,  # type: ignore[attr-defined]
                                                      tf.errors)
                if key in ("GNU.sparse.offset", "GNU.sparse.numbytes"):  # sparse 0.0: repeated keys, in order
                    (offsets if key.endswith("offset") else sizes).append(_number(headers[key]))
            nxt = self.fromtarfile(tf)
            if "GNU.sparse.map" in headers:  # sparse 0.1
                numbers = [_number(x) for x in headers["GNU.sparse.map"].split(",")]
                nxt.sparse = list(zip(numbers[::2], numbers[1::2], strict=False))
            elif "GNU.sparse.size" in headers:
                nxt.sparse = list(zip(offsets, sizes, strict=False))
            elif headers.get("GNU.sparse.major") == "1" and headers.get("GNU.sparse.minor") == "0":
                nxt.sparse = _sparse_map_10(tf, cap)
                nxt.offset_data = tf.fileobj.tell()  # type: ignore[union-attr]
            nxt._apply_pax_info(headers, tf.encoding, tf.errors)  # type: ignore[attr-defined]
            nxt.offset = self.offset
            if nxt.size < 0:
                raise IntakeError(say("intake.pax_negative", offset=self.offset))
            if "size" in headers:  # the member's data starts and ends where the PAX size says
                after = nxt.offset_data
                if nxt.isreg() or nxt.type not in tarfile.SUPPORTED_TYPES:
                    after += nxt._block(nxt.size)  # type: ignore[attr-defined]
                tf.offset = after
            return nxt

        def _proc_sparse(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
            structs, extended, real_size = self._sparse_structs  # type: ignore[attr-defined]
            del self._sparse_structs  # type: ignore[attr-defined]
            read = 0
            while extended:
                read += _BLOCK
                if read > cap:
                    raise LimitExceeded(say("intake.gnu_sparse", limit=cap))
                block = _read(tf, _BLOCK)
                for i in range(_SPARSE_ENTRIES):
                    try:
                        pair = (tarfile.nti(block[24 * i:24 * i + 12]), tarfile.nti(block[24 * i + 12:24 * i + 24]))
                    except ValueError:
                        break
                    if pair[0] and pair[1]:
                        structs.append(pair)
                extended = block[504] != 0
            self.sparse = structs
            self.offset_data = tf.fileobj.tell()  # type: ignore[union-attr]
            tf.offset = self.offset_data + self._block(self.size)  # type: ignore[attr-defined]
            self.size = real_size
            return self

    return SafeTarInfo


def _read(tf: tarfile.TarFile, n: int) -> bytes:
    data = tf.fileobj.read(n)  # type: ignore[union-attr]
    if len(data) < n:
        raise IntakeError(say("intake.tar_cut_header"))
    return bytes(data)


def _number(text: str) -> int:
    if not (0 < len(text) <= _MAX_DIGITS and text.isdigit()):
        raise IntakeError(say("intake.tar_sparse", value=repr(text[:40])))
    return int(text)


def _sparse_map_10(tf: tarfile.TarFile, cap: int) -> list[tuple[int, int]]:
    """The map of a PAX GNU sparse 1.0 member, at the start of its data: a count, then offset and size lines."""
    pending = b""
    numbers: list[int] = []
    read = 0
    while not numbers or len(numbers) < 2 * numbers[0] + 1:
        newline = pending.find(b"\n")
        if newline < 0:
            read += _BLOCK
            if read > cap or len(pending) > _MAX_DIGITS:
                raise LimitExceeded(say("intake.pax_sparse", limit=cap))
            pending += _read(tf, _BLOCK)
            continue
        numbers.append(_number(pending[:newline].decode("ascii", "replace")))
        pending = pending[newline + 1:]
    fields = numbers[1:]
    return list(zip(fields[::2], fields[1::2], strict=False))
