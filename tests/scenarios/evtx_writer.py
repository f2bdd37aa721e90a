"""A small writer of binary Windows event logs (``.evtx``), so that the corpus has the format Windows
bundles carry most (windows-formats §2.1; no public sample of a VSS or Azure-agent failure ``.evtx``
exists, so tests must build them).

Layout as documented for the format (libyal's libevtx notes, the evtx crate): a 4 KiB file header
(``ElfFile``), 64 KiB chunks (``ElfChnk``, a 512-byte header with CRC32 checksums), records
(``**\\0\\0``, size, id, FILETIME, Binary XML, size). Each record's Binary XML is a template instance
whose definition follows inline; the definition holds the ``<Event>`` element tree with the constant
parts (provider name, GUID, data names) and substitutions for the values Windows types: EventID and
Qualifiers (UInt16), Level/Version/Opcode (UInt8), Task (UInt16), Keywords (HexInt64), SystemTime
(FILETIME), EventRecordID (UInt64), ProcessID/ThreadID (UInt32), Channel, Computer and every Data value
(UTF-16 strings).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.scenarios.windows import WindowsVM, WinEvent

CHUNK = 65536
HEADER = 4096

# value types
STRING, UINT8, UINT16, UINT32, UINT64, FILETIME, HEXINT64 = 0x01, 0x04, 0x06, 0x08, 0x0A, 0x11, 0x15


def filetime(t: datetime) -> int:
    delta = t.astimezone(UTC) - datetime(1601, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _name_hash(name: str) -> int:
    h = 0
    for ch in name:
        h = (h * 65599 + ord(ch)) & 0xFFFFFFFF
    return h & 0xFFFF


@dataclass
class Sub:
    type: int
    value: bytes


class _Template:
    """Builds the Binary XML of one template definition; positions are chunk-relative."""

    def __init__(self, buf: bytearray) -> None:
        self.buf = buf
        self.subs: list[Sub] = []

    def u8(self, v: int) -> None:
        self.buf += struct.pack("<B", v)

    def u16(self, v: int) -> None:
        self.buf += struct.pack("<H", v)

    def u32(self, v: int) -> None:
        self.buf += struct.pack("<I", v)

    def name(self, text: str) -> None:
        self.u32(len(self.buf) + 4)  # the name follows inline
        self.u32(0)  # next name in the string table
        self.u16(_name_hash(text))
        self.u16(len(text))
        self.buf += text.encode("utf-16-le") + b"\0\0"

    def text(self, value: str) -> None:
        self.u8(0x05)
        self.u8(STRING)
        self.u16(len(value))
        self.buf += value.encode("utf-16-le")

    def sub(self, vtype: int, raw: bytes, optional: bool = False) -> None:
        self.u8(0x0E if optional else 0x0D)
        self.u16(len(self.subs))
        self.u8(vtype)
        self.subs.append(Sub(vtype, raw))

    def element(self, name: str, attrs: list[tuple[str, object]] | None = None,
                children: list[object] | None = None) -> None:
        """``attrs``: (name, str literal | Sub); ``children``: str literal, Sub or a nested element call."""
        start = len(self.buf)
        self.u8(0x41 if attrs else 0x01)
        self.u16(0xFFFF)  # dependency identifier: none
        size_at = len(self.buf)
        self.u32(0)
        self.name(name)
        if attrs:
            list_at = len(self.buf)
            self.u32(0)
            for i, (an, av) in enumerate(attrs):
                self.u8(0x46 if i < len(attrs) - 1 else 0x06)
                self.name(an)
                self._value(av)
            struct.pack_into("<I", self.buf, list_at, len(self.buf) - list_at - 4)
        if not children:
            self.u8(0x03)  # close empty element
        else:
            self.u8(0x02)  # close start element
            for child in children:
                if callable(child):
                    child()
                else:
                    self._value(child)
            self.u8(0x04)  # end element
        struct.pack_into("<I", self.buf, size_at, len(self.buf) - size_at - 4)
        del start

    def _value(self, v: object) -> None:
        if isinstance(v, Sub):
            self.sub(v.type, v.value)
        else:
            self.text(str(v))


def _record_xml(buf: bytearray, e: WinEvent, rid: int, computer: str) -> list[Sub]:
    """Write the template definition of one event into ``buf``; return its substitution values."""
    tb = _Template(buf)
    s16 = lambda v: Sub(UINT16, struct.pack("<H", v))  # noqa: E731
    s8 = lambda v: Sub(UINT8, struct.pack("<B", v))  # noqa: E731
    s32 = lambda v: Sub(UINT32, struct.pack("<I", v))  # noqa: E731
    st = lambda v: Sub(STRING, v.encode("utf-16-le"))  # noqa: E731
    prov_attrs: list[tuple[str, object]] = [("Name", e.provider)]
    if e.guid:
        prov_attrs.append(("Guid", e.guid))
    if e.source_name:
        prov_attrs.append(("EventSourceName", e.source_name))
    eid_attrs: list[tuple[str, object]] | None = [("Qualifiers", s16(e.qualifiers))] if e.qualifiers is not None \
        else None

    def system() -> None:
        tb.element("System", children=[
            lambda: tb.element("Provider", prov_attrs),
            lambda: tb.element("EventID", eid_attrs, [s16(e.event_id)]),
            lambda: tb.element("Version", children=[s8(0)]),
            lambda: tb.element("Level", children=[s8(e.level)]),
            lambda: tb.element("Task", children=[s16(e.task)]),
            lambda: tb.element("Opcode", children=[s8(0)]),
            lambda: tb.element("Keywords", children=[Sub(HEXINT64, struct.pack("<Q", int(e.keywords, 16)))]),
            lambda: tb.element("TimeCreated", [("SystemTime", Sub(FILETIME, struct.pack("<Q", filetime(e.t))))]),
            lambda: tb.element("EventRecordID", children=[Sub(UINT64, struct.pack("<Q", rid))]),
            lambda: tb.element("Correlation"),
            lambda: tb.element("Execution", [("ProcessID", s32(700 + rid % 300)), ("ThreadID", s32(4000 + rid % 900))]),
            lambda: tb.element("Channel", children=[st(e.channel)]),
            lambda: tb.element("Computer", children=[st(computer)]),
            lambda: tb.element("Security"),
        ])

    def data_item(n: str | None, v: str | Sub) -> object:  # a string, or a value typed as Windows types it
        return lambda: tb.element("Data", [("Name", n)] if n else None,
                                  [v] if isinstance(v, Sub) else [st(v)] if v else None)

    def event_data() -> None:
        tb.element("EventData", children=[data_item(n, v) for n, v in e.data] or None)

    tb.u8(0x0F)
    tb.u8(1)
    tb.u8(1)
    tb.u8(0)
    tb.element("Event", [("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event")], [system, event_data])
    tb.u8(0x00)  # end of the template's fragment
    return tb.subs


def _chunk(records: list[tuple[WinEvent, int]], computer: str) -> bytes:
    buf = bytearray(512)
    first = last_off = 0
    template_offsets: list[int] = []
    for e, rid in records:
        start = len(buf)
        buf += b"**\0\0" + b"\0\0\0\0" + struct.pack("<QQ", rid, filetime(e.t))
        buf += bytes([0x0F, 1, 1, 0, 0x0C, 0x01])
        guid = struct.pack("<I", zlib.crc32(f"{rid}".encode())) + bytes(12)
        buf += guid[:4]
        def_at = len(buf) + 4
        buf += struct.pack("<I", def_at)
        template_offsets.append(def_at)
        buf += struct.pack("<I", 0) + guid  # next template definition, GUID
        size_at = len(buf)
        buf += b"\0\0\0\0"
        subs = _record_xml(buf, e, rid, computer)
        struct.pack_into("<I", buf, size_at, len(buf) - size_at - 4)
        buf += struct.pack("<I", len(subs))
        for s in subs:
            buf += struct.pack("<HBB", len(s.value), s.type, 0)
        for s in subs:
            buf += s.value
        buf += b"\x00"  # end of the record's fragment
        size = len(buf) - start + 4
        buf += struct.pack("<I", size)
        struct.pack_into("<I", buf, start + 4, size)
        last_off = start
        if not first:
            first = rid
        if len(buf) > CHUNK:
            raise ValueError("chunk overflow")
    free = len(buf)
    buf += bytes(CHUNK - len(buf))
    header = bytearray(buf[:512])
    header[0:8] = b"ElfChnk\0"
    rids = [rid for _, rid in records]
    struct.pack_into("<QQQQ", header, 8, rids[0], rids[-1], rids[0], rids[-1])
    struct.pack_into("<III", header, 40, 128, last_off, free)
    struct.pack_into("<I", header, 52, zlib.crc32(bytes(buf[512:free])))
    for i, off in enumerate(template_offsets[:32]):
        struct.pack_into("<I", header, 384 + 4 * i, off)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120]) + bytes(header[128:512])))
    buf[:512] = header
    return bytes(buf)


def write_evtx(vm: WindowsVM, records: list[tuple[WinEvent, int]]) -> bytes:
    """The records (oldest first, with their record ids) as one ``.evtx`` file."""
    chunks: list[bytes] = []
    batch: list[tuple[WinEvent, int]] = []
    for item in records:
        try:
            _chunk([*batch, item], vm.host)
            batch.append(item)
        except ValueError:
            chunks.append(_chunk(batch, vm.host))
            batch = [item]
    if batch or not chunks:
        chunks.append(_chunk(batch, vm.host) if batch else bytes(CHUNK))
    header = bytearray(HEADER)
    header[0:8] = b"ElfFile\0"
    next_id = (records[-1][1] + 1) if records else 1
    struct.pack_into("<QQQIHHHH", header, 8, 0, len(chunks) - 1, next_id, 128, 2, 3, HEADER, len(chunks))
    struct.pack_into("<I", header, 120, 0)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header) + b"".join(chunks)
