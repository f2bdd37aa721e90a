"""The records of one EVTX chunk read without rendering them: provider, event id, level and time of each.

Used to count chunks whose every record is ordinary without asking the ``evtx`` library to render them to JSON
(``evtx.py``); ``_evtxread.c`` is the same reader in C, and this one is its reference in tests. A record is a
BinXML *template instance*: the template (elements, attributes, and substitution tokens that take the record's
values by index) is defined once per chunk, e.g. the System part of a Service Control Manager template::

    Event/System/Provider/@Name   literal 'Service Control Manager'
    Event/System/EventID          substitution 3 (UInt16)   Event/System/Level   substitution 0 (UInt8)
    Event/System/TimeCreated/@SystemTime   substitution 6 (FILETIME)

and each record holds only its substitution array (value descriptors, then values). The file is untrusted, so
the reader is strict rather than clever: a chunk is read only when its header and data checksums match, every
record, token, name, template and value is of a shape listed here and within bounds, and the System element opens
exactly as the library writes the openings ``evtx.py`` counts (provider name, event id with or without
qualifiers, version, level, task, opcode, keywords, time). Anything else returns None: the whole chunk then goes
to the library. Nested BinXML values (EventData and UserData are one) are read to their end the same way, at most
``MAX_DEPTH`` deep; every template is read once per chunk, so the time is linear in the chunk.

The records some rule may read (not ordinary) are then read to the end when their templates have a shape
``_evtx_notable`` knows: channel, computer, record id and the EventData or UserData values. When every one of them
is, the plan holds them and the library reads none of the chunk; one record of another shape sends the chunk to the
library as before.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

from parsers.windows_events._evtx_notable import Item, NotTaken, event_data, nested_program, top_program, value

CHUNK_SIZE = 65536
HEADER_SIZE = 512
MAX_DEPTH = 8  # nested template instances inside values
MAX_ELEMENTS = 64  # open elements of a template
MAX_NAME = 255  # characters of an element or attribute name (a name is read at every reference)
MAX_INDEXES = 128  # distinct substitution indexes of a record's template
MAX_ATTRIBUTES = 8  # substituted attributes of Provider besides Name
MAX_KEYS = 64  # distinct (provider, event id, level) of a chunk
MAX_HOURS = 64  # distinct hours of a chunk
MAX_TEMPLATES = 64  # templates of a chunk
MAX_VALUES = 256  # the highest substitution index a counted field may have, plus one
MAX_RECORDS = CHUNK_SIZE // 32  # records of a chunk (the smallest is 32 bytes)
MAX_CHAIN = 64  # names or templates chained from one slot of the chunk header's tables
#: FILETIME (100 ns since 1601) of 9999-12-31T23:59:59.999999Z: later ones have no ISO form
MAX_FILETIME = 2650467743999999999
HOUR = 36_000_000_000  # FILETIME units

_NAME = re.compile(r"[A-Za-z0-9_.:-]+")  # names of elements and attributes: ASCII XML name characters
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from

# value types (the record's descriptor): fixed sizes, and those of any size
_NULL, _STRING, _UINT8, _UINT16, _FILETIME, _SID, _HEX64, _GUID, _BINXML = 0x00, 0x01, 0x04, 0x06, 0x11, 0x13, 0x15, \
    0x0F, 0x21
_ANSI, _BOOL, _STRINGS = 0x02, 0x0D, 0x81  # ASCII only here; a 32-bit 0 or 1; NUL-separated UTF-16 strings
_FIXED = {0x03: 1, 0x04: 1, 0x05: 2, 0x06: 2, 0x07: 4, 0x08: 4, 0x09: 8, 0x0A: 8, 0x0D: 4, 0x0F: 16, 0x11: 8,
          0x14: 4, 0x15: 8}
_ANY_SIZE = frozenset({0x00, 0x01, 0x02, 0x0E, 0x13, 0x21, 0x81})
#: the System children in the order the counted openings have them; None: optional
_SYSTEM = ("Provider", "EventID", ("Version",), "Level", ("Task",), ("Opcode",), ("Keywords",), "TimeCreated")
_NUMBER_TYPES = {"EventID": _UINT16, "Version": _UINT8, "Level": _UINT8, "Task": _UINT16, "Opcode": _UINT8,
                 "Keywords": _HEX64}


class Unread(Exception):
    """Something the reader does not take as it stands: the chunk goes to the library."""


def _name(chunk: bytes, offset: int, at: int, end: int) -> tuple[str, int]:
    """The name at ``offset`` (u32 next, u16 hash, u16 characters, UTF-16, u16 NUL) and the position after the
    token's reference: past the name when it is stored right there (``offset == at``)."""
    if offset < HEADER_SIZE or offset + 8 > end:
        raise Unread
    count = _U16(chunk, offset + 6)[0]
    if count > MAX_NAME:
        raise Unread
    stop = offset + 8 + 2 * count
    if stop + 2 > end or _U16(chunk, stop)[0] != 0:
        raise Unread
    try:
        name = chunk[offset + 8:stop].decode("utf-16-le")
    except UnicodeDecodeError:
        raise Unread from None
    if not _NAME.fullmatch(name):  # the library writes names into JSON keys as they are
        raise Unread
    return name, (stop + 2 if offset == at else at)


def _text(raw: bytes) -> str:
    """A UTF-16 string the library writes as it is: no unpaired surrogate."""
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError:
        raise Unread from None


def _plain(text: str) -> bool:
    """Written into JSON without an escape."""
    return bool(text) and '"' not in text and "\\" not in text and min(text) >= " "


class _Template:
    """What a template gives: the substitution indexes and literals of the counted System fields."""

    __slots__ = ("attribute_values", "content", "fields", "optional", "program", "provider", "system_done", "tokens")

    def __init__(self) -> None:
        self.provider: str | int = ""  # a literal name, or the index of a string substitution
        self.fields: dict[str, int] = {}  # element or "Qualifiers"/"@attr" -> substitution index
        self.optional: dict[int, bool] = {}  # substitution index -> every token of it is optional
        self.system_done = False  # the System element ended
        self.content: list[int] = []  # substitutions that are Event's content after System (EventData, UserData)
        self.attribute_values: set[int] = set()  # substitutions that are attribute values
        self.tokens: list[tuple[Any, ...]] = []  # its tokens, for the program of a notable record (_notable.py)
        self.program: Any = None  # that program, made the first time a notable record needs it


def _template(chunk: bytes, offset: int, end: int, top: bool) -> _Template:
    """The template defined at ``offset`` (u32 next, GUID, u32 size, then its BinXML); ``top``: the record's own,
    whose System fields are found (a nested value's template is only checked)."""
    if offset < HEADER_SIZE or offset + 24 > end:
        raise Unread
    size = _U32(chunk, offset + 20)[0]
    start, stop = offset + 24, offset + 24 + size
    if stop > end or size < 5 or chunk[start:start + 3] != b"\x0f\x01\x01":
        raise Unread
    found = _Template()
    path: list[str] = []  # open elements
    children: list[list[str]] = [[]]  # element names met under each open element
    attribute = ""  # the attribute whose value comes next
    values = 0  # value tokens of that attribute or element content
    closed_start = [False]
    p = start + 4
    while True:
        if p >= stop:
            raise Unread
        token = chunk[p]
        if token in (0x01, 0x41):  # open start element: dependency id, data size, name, [attribute list size]
            if p + 11 > stop or len(path) >= MAX_ELEMENTS:
                raise Unread
            name, p = _name(chunk, _U32(chunk, p + 7)[0], p + 11, stop)
            if token == 0x41:
                p += 4
            children[-1].append(name)
            found.tokens.append(("open", name))
            path.append(name)
            children.append([])
            closed_start.append(False)
            attribute, values = "", 0
        elif token == 0x02:  # close start element
            if not path or closed_start[-1]:
                raise Unread
            closed_start[-1] = True
            attribute, values = "", 0
            p += 1
            found.tokens.append(("content",))
        elif token in (0x03, 0x04):  # close empty element, end element
            if not path or (token == 0x04) != closed_start[-1]:
                raise Unread
            inner = children.pop()
            found.tokens.append(("close",))
            if top:
                _system_element(found, path, inner, values if closed_start[-1] else 0)
            path.pop()
            closed_start.pop()
            attribute, values = "", 0
            p += 1
        elif token in (0x06, 0x46):  # attribute
            if not path or closed_start[-1] or p + 5 > stop:
                raise Unread
            attribute, p = _name(chunk, _U32(chunk, p + 1)[0], p + 5, stop)
            attribute, values = "@" + attribute, 0
            found.tokens.append(("attribute", attribute[1:]))
        elif token in (0x05, 0x45):  # value text: a UTF-16 string
            if not path or p + 4 > stop or chunk[p + 1] != _STRING:
                raise Unread
            count = _U16(chunk, p + 2)[0]
            text = _text(chunk[p + 4:p + 4 + 2 * count])
            if p + 4 + 2 * count > stop:
                raise Unread
            p += 4 + 2 * count
            values += 1
            found.tokens.append(("text", text))
            if top:
                _literal(found, path, attribute, text, values)
        elif token in (0x0D, 0x0E):  # substitution: index, declared type
            if not path or p + 4 > stop or (chunk[p + 3] not in _FIXED and chunk[p + 3] not in _ANY_SIZE):
                raise Unread
            index = _U16(chunk, p + 1)[0]
            found.tokens.append(("value", index, token == 0x0E))
            p += 4
            values += 1
            if attribute:
                found.attribute_values.add(index)
                if len(found.attribute_values) > MAX_INDEXES:
                    raise Unread
            if top:
                found.optional[index] = found.optional.get(index, True) and token == 0x0E
                if len(found.optional) > MAX_INDEXES:
                    raise Unread
                _substitution(found, path, attribute, index, values)
        elif token == 0x00:  # end of the fragment
            if path or len(children[0]) != 1:  # one root element
                raise Unread
            return _checked(found, children[0]) if top else found
        else:  # CDATA, character and entity references, processing instructions, nested instances
            raise Unread


def _system_element(found: _Template, path: list[str], children: list[str], values: int) -> None:
    """At the end of an element: the order of System's children, and that each counted field has one value."""
    if path == ["Event", "System"]:
        if found.system_done or children[:1] != ["Provider"] or "TimeCreated" not in children:
            raise Unread
        wanted = [step for step in _SYSTEM]
        for child in children[:children.index("TimeCreated") + 1]:
            while wanted and isinstance(wanted[0], tuple) and wanted[0][0] != child:
                wanted.pop(0)
            step = wanted.pop(0) if wanted else None
            if (step[0] if isinstance(step, tuple) else step) != child:
                raise Unread
        if any(not isinstance(step, tuple) for step in wanted):
            raise Unread
        found.system_done = True
    elif path == ["Event"]:
        if children[:1] != ["System"]:
            raise Unread
    elif len(path) == 3 and path[:2] == ["Event", "System"] and path[2] in _NUMBER_TYPES:
        if values != 1 or path[2] not in found.fields or children:
            raise Unread
    elif len(path) == 3 and path[:2] == ["Event", "System"] and path[2] in ("Provider", "TimeCreated") and children:
        raise Unread


def _counted_place(path: list[str], attribute: str) -> str | None:
    """The counted field a value at ``path`` (and ``attribute``) is: an element of the opening, an attribute."""
    if len(path) == 1 and path[0] == "Event":
        return "@Event" if attribute else "Event"
    if len(path) == 2 and path[1] == "System":
        return "System"
    if len(path) == 3 and path[1] == "System":
        field = path[2]
        if field == "Provider":
            return "Provider" + attribute
        if field == "EventID" and attribute:
            return "Qualifiers" if attribute == "@Qualifiers" else "EventID@"
        if field == "TimeCreated":
            return "TimeCreated" + attribute
        if field in _NUMBER_TYPES:
            return "!" if attribute else field
    return None


def _literal(found: _Template, path: list[str], attribute: str, text: str, values: int) -> None:
    if path[:1] != ["Event"]:
        raise Unread
    place = _counted_place(path, attribute)
    if place is None:
        return
    if place == "@Event":
        if "{" in text or "}" in text or not _plain(text) or values != 1:
            raise Unread
    elif place == "Provider@Name":
        if values != 1 or not _plain(text) or found.provider != "":
            raise Unread
        found.provider = text
    elif place.startswith("Provider@") and values == 1 and _plain(text):
        pass
    else:  # a literal number, time or text where the opening has a substitution
        raise Unread


def _substitution(found: _Template, path: list[str], attribute: str, index: int, values: int) -> None:
    if path[:1] != ["Event"]:
        raise Unread
    place = _counted_place(path, attribute)
    if place is None:
        return
    if place == "Event" and found.system_done:  # the content after System: EventData, UserData as nested BinXML
        if len(found.content) >= MAX_ATTRIBUTES:
            raise Unread
        found.content.append(index)
        return
    if values != 1 or place in ("@Event", "Event", "System", "EventID@", "Provider", "!") or place in found.fields:
        raise Unread
    if place == "Provider@Name":
        if found.provider != "":
            raise Unread
        found.provider = index
    elif place.startswith("Provider@") and sum(key.startswith("Provider@") for key in found.fields) >= \
            MAX_ATTRIBUTES + ("Provider@Name" in found.fields):
        raise Unread
    found.fields[place] = index


def _checked(found: _Template, top: list[str]) -> _Template:
    if top != ["Event"] or not found.system_done or "Level" not in found.fields or "EventID" not in found.fields or \
            "TimeCreated@SystemTime" not in found.fields or found.provider == "":
        raise Unread
    if any(place.startswith("TimeCreated") and place != "TimeCreated@SystemTime" for place in found.fields):
        raise Unread
    return found


def _value(chunk: bytes, kind: int, start: int, size: int, templates: dict[tuple[int, bool], _Template], end: int,
           depth: int) -> None:
    """Check one value as the library would read it: fixed sizes, strings, SIDs, FILETIMEs, nested BinXML."""
    fixed = _FIXED.get(kind)
    if fixed is not None:
        if size != fixed or (kind == _FILETIME and _U64(chunk, start)[0] > MAX_FILETIME) or (
                kind == _BOOL and _U32(chunk, start)[0] > 1):
            raise Unread
    elif kind not in _ANY_SIZE:
        raise Unread
    elif kind in (_STRING, _STRINGS):
        if size % 2:
            raise Unread
        _text(chunk[start:start + size])
    elif kind == _ANSI:
        if not chunk[start:start + size].isascii():
            raise Unread
    elif kind == _SID:
        if size < 8 or chunk[start] != 1 or size != 8 + 4 * chunk[start + 1]:
            raise Unread
    elif kind == _BINXML:
        _fragment(chunk, start, start + size, templates, end, depth + 1)


def _fragment(chunk: bytes, p: int, stop: int, templates: dict[tuple[int, bool], _Template], end: int,
              depth: int) -> None:
    """A nested BinXML value: an optional fragment header, one template instance, an optional end token."""
    if depth > MAX_DEPTH:
        raise Unread
    if p + 4 <= stop and chunk[p:p + 4] == b"\x0f\x01\x01\x00":
        p += 4
    p = _instance(chunk, p, stop, templates, end, depth)[2]
    if p < stop and chunk[p] != 0x00:
        raise Unread


def _instance(chunk: bytes, p: int, stop: int, templates: dict[tuple[int, bool], _Template], end: int,
              depth: int) -> tuple[_Template, list[tuple[int, int, int]], int]:
    """A template instance at ``p``: its template, its values as (type, start, size), and the offset after it.
    Its template is defined right there, or earlier in the chunk."""
    if p + 10 > stop or chunk[p] != 0x0C or chunk[p + 1] != 0x01:
        raise Unread
    offset = _U32(chunk, p + 6)[0]
    p += 10
    key = (offset, depth == 0)
    template = templates.get(key)
    if template is None:
        if offset > p or len(templates) >= MAX_TEMPLATES:
            raise Unread
        template = templates[key] = _template(chunk, offset, end, depth == 0)
    if offset == p:  # skip the definition
        p = offset + 24 + _U32(chunk, offset + 20)[0]
    if p + 4 > stop:
        raise Unread
    count = _U32(chunk, p)[0]
    at = p + 4 + 4 * count
    if at > stop:
        raise Unread
    values: list[tuple[int, int, int]] = []
    for i in range(count):
        size, kind, zero = _U16(chunk, p + 4 + 4 * i)[0], chunk[p + 6 + 4 * i], chunk[p + 7 + 4 * i]
        if zero or at + size > stop:
            raise Unread
        if kind == _STRINGS and (depth == 0 or i in template.attribute_values):  # an array expands its element
            raise Unread
        _value(chunk, kind, at, size, templates, end, depth)
        values.append((kind, at, size))
        at += size
    return template, values, at


def _opening(chunk: bytes, template: _Template, values: list[tuple[int, int, int]]) -> tuple[str, int, int, int]:
    """Provider, event id, level and FILETIME of a record, when its opening renders as the counted ones do."""
    if any(index >= len(values) or index >= MAX_VALUES for index in [*template.fields.values(), *template.content]):
        raise Unread
    for index in template.content:  # anything but nested BinXML would be written before System
        if not (values[index][0] == _BINXML or (values[index][0] == _NULL and template.optional[index])):
            raise Unread
    provider = template.provider
    for place, index in template.fields.items():
        kind, at, size = values[index]
        wanted = _NUMBER_TYPES.get(place)
        if wanted is not None:
            ok = kind == wanted
        elif place == "Qualifiers":
            ok = kind == _UINT16 or (kind == _NULL and template.optional[index])
        elif place == "TimeCreated@SystemTime":
            ok = kind == _FILETIME
        elif place == "Provider@Name":
            ok = kind == _STRING and _plain(provider := _text(chunk[at:at + size]))
        else:  # another attribute of Provider
            ok = (kind == _STRING and _plain(_text(chunk[at:at + size]))) or kind == _GUID or (
                kind == _NULL and template.optional[index])
        if not ok:
            raise Unread
    fields = template.fields
    event_id = _U16(chunk, values[fields["EventID"]][1])[0]
    level = chunk[values[fields["Level"]][1]]
    filetime = _U64(chunk, values[fields["TimeCreated@SystemTime"]][1])[0]
    return str(provider), event_id, level, filetime


#: what :func:`read_chunk` gives: records, those ordinary, their records per hour (FILETIME // HOUR), their earliest
#: and latest FILETIME, the chunk as the library is to read it (None: as it is, or not at all when every record
#: is ordinary), the records each empty record of it stands for, in order, and the records that each record (by
#: its id) took in after it; and, when every other record of the chunk was read here too (:func:`notable`), those
#: records (then the library reads none of the chunk): (index in the chunk, provider, event id, level, FILETIME,
#: qualifiers, channel, computer, record id, data) each
Plan = tuple[int, int, dict[int, int], int, int, bytes | None, list[int], dict[int, int], list[tuple[Any, ...]] | None]
STUB = b"\x0f\x01\x01\x00\x00"  # an empty BinXML fragment: the library renders it as {"Event":null}


def read_chunk(chunk: bytes, ordinary: Callable[[str, int, int], bool]) -> Plan | None:
    """The plan of a 64 KiB chunk: its ordinary records (``ordinary(provider, event id, level)``) tallied, each run
    of them taken into the record before it (its size grown over the run) when that one has an end token before
    its last bytes (the library reads a record's BinXML up to its end token), else made one empty record; every
    other byte, the templates defined inside the run included, stays where it was, so that the library renders
    only the other records. None when any of it is not understood."""
    templates: dict[tuple[int, bool], _Template] = {}
    try:
        records = _read_chunk(chunk, templates)
    except (Unread, IndexError, struct.error):
        return None
    verdicts = {key: bool(ordinary(*key)) for key in dict.fromkeys(key for key, *_ in records)}
    first_id = _U64(chunk, 24)[0]
    events: list[tuple[Any, ...]] | None = []
    for r, (key, _, _, filetime, _, template, values) in enumerate(records):
        if not verdicts[key]:
            try:
                events.append((r, *key[:2], key[2], filetime, *notable(chunk, template, values, templates,
                                                                        _U32(chunk, 48)[0], first_id + r)))
            except (NotTaken, Unread, IndexError, struct.error, UnicodeDecodeError):
                events = None
                break
    hours: dict[int, int] = {}
    earliest, latest, counted = MAX_FILETIME + 1, 0, 0
    for key, _, _, filetime, *_ in records:
        if verdicts[key]:
            hours[filetime // HOUR] = hours.get(filetime // HOUR, 0) + 1
            if len(hours) > MAX_HOURS:
                return None
            earliest, latest, counted = min(earliest, filetime), max(latest, filetime), counted + 1
    if not counted or counted == len(records) or events is not None:
        return len(records), counted, hours, earliest, latest, None, [], {}, events
    stubbed = bytearray(chunk)
    runs: list[int] = []
    absorbed: dict[int, int] = {}
    r = 0
    while r < len(records):
        if not verdicts[records[r][0]]:
            r += 1
            continue
        last = r
        while last + 1 < len(records) and verdicts[records[last + 1][0]]:
            last += 1
        into = r - 1 if r and records[r - 1][4] else r
        at = records[into][1]
        struct.pack_into("<I", stubbed, at + 4, records[last][1] + records[last][2] - at)
        if into == r:
            stubbed[at + 24:at + 24 + len(STUB)] = STUB
            runs.append(last - r + 1)
        else:
            absorbed[first_id + into] = last - r + 1
        r = last + 1
    return len(records), counted, hours, earliest, latest, bytes(stubbed), runs, absorbed, None


def _tables(chunk: bytes, free: int, templates: dict[tuple[int, bool], _Template]) -> None:
    """The chunk header's tables, which the library reads before any record: 64 slots of chained names (each name
    opens with the offset of the next), 32 of chained templates (each opens with the offset of the next, or its
    own: the end)."""
    for slot in range(64):
        offset = _U32(chunk, 128 + 4 * slot)[0]
        for _ in range(MAX_CHAIN):
            if not offset:
                break
            _name(chunk, offset, -1, free)
            offset = _U32(chunk, offset)[0]
        else:
            if offset:
                raise Unread
    for slot in range(32):
        offset = _U32(chunk, HEADER_SIZE - 128 + 4 * slot)[0]
        for _ in range(MAX_CHAIN):
            if not offset:
                break
            if (offset, False) not in templates:
                if len(templates) >= MAX_TEMPLATES:
                    raise Unread
                templates[(offset, False)] = _template(chunk, offset, free, False)
            following = _U32(chunk, offset)[0]
            if following == offset:
                break
            offset = following
        else:
            if offset:
                raise Unread


def _read_chunk(chunk: bytes, templates: dict[tuple[int, bool], _Template] | None = None) -> list[tuple[Any, ...]]:
    """Each record as ((provider, event id, level), offset, size, FILETIME, an end token before its last bytes, its
    template, its values); ``templates`` gets the chunk's templates."""
    if templates is None:
        templates = {}
    if len(chunk) != CHUNK_SIZE or not chunk.startswith(b"ElfChnk\x00"):
        raise Unread
    free = _U32(chunk, 48)[0]
    if not HEADER_SIZE <= free <= CHUNK_SIZE or _U32(chunk, 40)[0] != 128 or \
            _U32(chunk, 124)[0] != zlib.crc32(chunk[:120] + chunk[128:HEADER_SIZE]) or \
            _U32(chunk, 52)[0] != zlib.crc32(chunk[HEADER_SIZE:free]):
        raise Unread
    first_id, last_id = _U64(chunk, 24)[0], _U64(chunk, 32)[0]
    last_offset = _U32(chunk, 44)[0]
    keys: set[tuple[str, int, int]] = set()
    records: list[tuple[Any, ...]] = []
    _tables(chunk, free, templates)
    p = HEADER_SIZE
    while p < free:
        n = len(records)
        if p + 28 > free or chunk[p:p + 4] != b"**\x00\x00" or n >= MAX_RECORDS:
            raise Unread
        size = _U32(chunk, p + 4)[0]
        stop = p + size
        if size < 32 or stop > free or _U32(chunk, stop - 4)[0] != size or \
                _U64(chunk, p + 8)[0] != first_id + n or _U64(chunk, p + 16)[0] > MAX_FILETIME:
            raise Unread
        if chunk[p + 24:p + 28] != b"\x0f\x01\x01\x00":
            raise Unread
        template, values, after = _instance(chunk, p + 28, stop - 4, templates, free, 0)
        if after < stop - 4 and chunk[after] != 0x00:
            raise Unread
        provider, event_id, level, filetime = _opening(chunk, template, values)
        keys.add((provider, event_id, level))
        if len(keys) > MAX_KEYS:
            raise Unread
        records.append(((provider, event_id, level), p, size, filetime, after < stop - 4, template, values))
        p = stop
    if p != free or (records and (records[-1][1] != last_offset or first_id + len(records) - 1 != last_id)):
        raise Unread
    return records


def _slot(chunk: bytes, values: list[tuple[int, int, int]], token: tuple[Any, ...] | None) -> Any:
    """What a text or value token of a template renders as (None: an empty element, written as "")."""
    if token is None:
        return ""
    if token[0] == "text":
        if "\x00" in token[1]:  # the library cuts a text there
            raise NotTaken
        return token[1]
    if token[1] >= min(len(values), MAX_VALUES):
        raise NotTaken
    return value(chunk, *values[token[1]])


def notable(chunk: bytes, template: _Template, values: list[tuple[int, int, int]],
            templates: dict[tuple[int, bool], _Template], end: int, header_id: int) -> tuple[Any, ...]:
    """(qualifiers, channel, computer, record id, data) of a record whose opening was read, as ``evtx.record`` takes
    them from the library's JSON; NotTaken for a shape without a program."""
    if template.program is None:
        template.program = top_program(template.tokens)
    channel, computer, record_id, data = template.program
    qualifiers = template.fields.get("Qualifiers")
    qualifier = None if qualifiers is None else _slot(chunk, values, ("value", qualifiers))
    rid = _slot(chunk, values, record_id)
    if isinstance(data, int):  # a nested template instance
        if data >= min(len(values), MAX_VALUES):
            raise NotTaken
        kind, at, size = values[data]
        if kind == _NULL:
            data = None
        elif kind != _BINXML:
            raise NotTaken
        else:
            p = at + 4 if chunk[at:at + 4] == b"\x0f\x01\x01\x00" else at
            inner, inner_values, _ = _instance(chunk, p, at + size, templates, end, 1)
            if inner.program is None:
                inner.program = nested_program(inner.tokens)
            data = _data(chunk, inner.program, inner_values)
    elif data is not None:
        data = _data(chunk, data, values)
    if rid is None or rid == "":
        rid = header_id
    elif type(rid) is not int:  # as the library writes it, a string the JSON path would read as a number or not
        raise NotTaken
    return qualifier, str(_slot(chunk, values, channel) or ""), str(_slot(chunk, values, computer) or ""), \
        rid or header_id, data


def _data(chunk: bytes, program: tuple[str, list[Item]], values: list[tuple[int, int, int]]) -> dict[str, Any] | \
        list[Any] | None:
    root, items = program
    body: dict[str, Any] = {}
    unnamed: list[Any] = []
    for name, token, is_data in items:
        if name == "Binary" and root == "EventData":  # not data (``event_data`` drops it)
            continue
        rendered = _slot(chunk, values, token)
        if rendered is None or rendered == "":  # null or empty: "" in a Data element, maybe null in another
            if not is_data:
                raise NotTaken
            rendered = ""
        if name is None:
            unnamed.append(rendered)
        else:
            body[name] = rendered
    if unnamed:
        body["Data"] = {"#text": unnamed[0] if len(unnamed) == 1 else unnamed}
    if root == "UserData":
        return event_data({"UserData": {"inner": body}})
    return event_data({"EventData": body or None})
