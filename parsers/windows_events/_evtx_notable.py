"""The fields of a notable EVTX record read from its chunk's bytes, as the ``evtx`` library would render them.

``_evtx_read`` reads every record of a chunk up to its time; a record some rule cares about then needs the rest of
what :func:`parsers.windows_events.evtx.record` takes from the library's JSON: channel, computer, record id,
qualifiers and the ``EventData`` (or ``UserData``) values. For example a Service Control Manager 7036 record is
the template::

    <Event><System>... <EventRecordID>%8</EventRecordID> ... <Channel>%10</Channel><Computer>%11</Computer>
    </System> %13 </Event>

whose value 13 is a nested template instance ``<EventData><Data Name='param1'>%0</Data>
<Data Name='param2'>%1</Data><Binary>%2</Binary></EventData>`` with the values ``'Volume Shadow Copy'``,
``'stopped'`` and some bytes; here it becomes ``{'param1': 'Volume Shadow Copy', 'param2': 'stopped'}``, what
:func:`event_data` makes of the library's ``"EventData":{"param1":"Volume Shadow Copy","param2":"stopped",
"Binary":"..."}``.

Each template gets a *program* once (where those fields sit); only shapes listed here have one. A record of any
other shape is not taken: its whole chunk then goes to the library, as every chunk did before. Values are written
as the library writes them into JSON: numbers as numbers, hex numbers as ``0x`` strings, bytes as upper-case hex,
GUIDs in braces, SIDs as ``S-1-...``, times as ISO strings. ``_evtxread.c`` is the same in C; this is its
reference in tests, and the library is the reference of both.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_SIGNED = {0x03: "<b", 0x05: "<h", 0x07: "<i", 0x09: "<q"}
_UNSIGNED = {0x04: "<B", 0x06: "<H", 0x08: "<I", 0x0A: "<Q"}
_NONE: dict[str, Any] = {}
_NAME = re.compile(r"[A-Za-z0-9_.:-]+")  # a Data element's Name as a JSON key: the characters of element names


class NotTaken(Exception):
    """A record of a shape without a program, or a value written otherwise: its chunk goes to the library."""


def attributes(node: Any) -> dict[str, Any]:
    """The ``#attributes`` of a JSON node; empty for a plain value."""
    return node.get("#attributes", _NONE) if isinstance(node, dict) else _NONE


def event_data(event: dict[str, Any]) -> dict[str, Any] | list[Any] | None:
    """EventData of the library's JSON as a dict of named items, or a list of unnamed ones; UserData flattened one
    level."""
    body = event.get("EventData")
    if body is None:
        user = event.get("UserData")
        if isinstance(user, dict) and len(user) == 1:
            inner = next(iter(user.values()))
            return {k: v for k, v in inner.items() if k != "#attributes"} if isinstance(inner, dict) else None
        return None
    if not isinstance(body, dict):
        return [body]
    named = {k: v for k, v in body.items() if k not in ("Data", "Binary", "#attributes")}
    unnamed = body.get("Data")
    if isinstance(unnamed, dict):
        unnamed = unnamed.get("#text")
    if unnamed is not None and unnamed != "":
        if named:
            named["Data"] = unnamed
            return named
        return unnamed if isinstance(unnamed, list) else [unnamed]
    return named or None


# --- programs ----------------------------------------------------------------------------------------------------


class _Node:
    __slots__ = ("attrs", "content", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.attrs: list[tuple[str, list[tuple[Any, ...]]]] = []
        self.content: list[Any] = []  # value tokens and nodes


def _tree(tokens: list[tuple[Any, ...]]) -> _Node:
    """The element tree of a template's tokens (``_evtx_read._template`` records them)."""
    root = _Node("")
    stack = [root]
    into: list[tuple[Any, ...]] | None = None  # the values of the attribute being read
    for token in tokens:
        kind = token[0]
        if kind == "open":
            node = _Node(token[1])
            stack[-1].content.append(node)
            stack.append(node)
            into = None
        elif kind == "attribute":
            stack[-1].attrs.append((token[1], into := []))
        elif kind == "content":
            into = None
        elif kind == "close":
            stack.pop()
            into = None
        else:
            (stack[-1].content if into is None else into).append(token)
    if len(root.content) != 1 or not isinstance(root.content[0], _Node):
        raise NotTaken
    return root.content[0]


def _one(content: list[Any]) -> tuple[Any, ...] | None:
    """The single text or value of an element (None: empty)."""
    if not content:
        return None
    if len(content) != 1 or isinstance(content[0], _Node):
        raise NotTaken
    return content[0]


#: one item of EventData or UserData: its key (None: an unnamed Data), its text or value token (None: empty), and
#: whether it is a Data element (empty or null: ""; of another element the library may write null: left to it)
Item = tuple[str | None, tuple[Any, ...] | None, bool]


def _items(node: _Node) -> tuple[str, list[Item]]:
    """EventData's items, or those of UserData's inner element."""
    items: list[Item] = []
    if node.name == "EventData":  # its attributes are not data (``event_data`` drops them)
        for child in node.content:
            if not isinstance(child, _Node):
                raise NotTaken
            if child.name == "Data" and child.attrs:
                if len(child.attrs) != 1 or child.attrs[0][0] != "Name" or len(child.attrs[0][1]) != 1 or \
                        child.attrs[0][1][0][0] != "text" or not _NAME.fullmatch(child.attrs[0][1][0][1]):
                    raise NotTaken
                items.append((child.attrs[0][1][0][1], _one(child.content), True))
            elif child.attrs:
                raise NotTaken
            else:
                is_data = child.name == "Data"
                items.append((None if is_data else child.name, _one(child.content), is_data))
        names = [name for name, _, _ in items if name is not None]
        if len(set(names)) != len(names) or "Data" in names:
            raise NotTaken
        if any(name is None for name, _, _ in items) and any(name is not None and is_data
                                                              for name, _, is_data in items):
            raise NotTaken  # unnamed Data beside named ones: the library drops them
        return "EventData", items
    if node.name == "UserData" and not node.attrs and len(node.content) == 1 and isinstance(node.content[0], _Node):
        inner = node.content[0]
        if any(token[0] != "text" for _, values in inner.attrs for token in values):
            raise NotTaken
        for child in inner.content:
            if not isinstance(child, _Node) or child.attrs:
                raise NotTaken
            items.append((child.name, _one(child.content), False))
        if not items:  # an empty inner element is no dict in the library's JSON
            raise NotTaken
        names = [name for name, _, _ in items]
        if len(set(names)) != len(names):
            raise NotTaken
        return "UserData", items
    raise NotTaken


def top_program(tokens: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Where a record's own template has channel, computer, record id and its data: (channel, computer, record id,
    data), each a text or value token or None; data the index of a nested template instance, or the items."""
    event = _tree(tokens)
    system, *rest = event.content
    fields: dict[str, tuple[Any, ...] | None] = {}
    for child in system.content:
        if isinstance(child, _Node) and child.name in ("Channel", "Computer", "EventRecordID"):
            if child.attrs or child.name in fields:
                raise NotTaken
            fields[child.name] = _one(child.content)
    data: Any = None
    if len(rest) > 1:
        raise NotTaken
    if rest:
        data = rest[0][1] if not isinstance(rest[0], _Node) and rest[0][0] == "value" else None
        if data is None:
            if not isinstance(rest[0], _Node):
                raise NotTaken
            data = _items(rest[0])
    return fields.get("Channel"), fields.get("Computer"), fields.get("EventRecordID"), data


def nested_program(tokens: list[tuple[Any, ...]]) -> tuple[str, list[Item]]:
    return _items(_tree(tokens))


# --- values ------------------------------------------------------------------------------------------------------


def filetime(value: int) -> datetime:
    """A FILETIME as the library's ISO string reads: microseconds, the rest cut."""
    return _EPOCH + timedelta(microseconds=value // 10)


def value(chunk: bytes, kind: int, at: int, size: int) -> Any:
    """A substitution value as the library writes it into JSON, read back."""
    raw = chunk[at:at + size]
    if kind == 0x00:
        return None
    if kind in (0x01, 0x02):  # a NUL inside (not only at the end) is left to the library
        text = raw.decode("utf-16-le" if kind == 0x01 else "ascii").rstrip("\x00")
        if "\x00" in text:
            raise NotTaken
        return text
    if kind in _UNSIGNED:
        return struct.unpack(_UNSIGNED[kind], raw)[0]
    if kind in _SIGNED:
        return struct.unpack(_SIGNED[kind], raw)[0]
    if kind == 0x0D:
        return bool(struct.unpack("<I", raw)[0])
    if kind == 0x0E:
        return raw.hex().upper()
    if kind == 0x0F:
        a, b, c = struct.unpack_from("<IHH", raw)
        return f"{a:08X}-{b:04X}-{c:04X}-{raw[8:10].hex().upper()}-{raw[10:16].hex().upper()}"
    if kind == 0x11:
        return filetime(struct.unpack("<Q", raw)[0]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == 0x13:
        if raw[1] > 15:  # sub-authorities of a SID, as Windows has them
            raise NotTaken
        authority = int.from_bytes(raw[2:8], "big")
        subs = struct.unpack_from(f"<{raw[1]}I", raw, 8)
        return "-".join(["S", str(raw[0]), str(authority), *map(str, subs)])
    if kind == 0x14:
        return f"0x{struct.unpack('<I', raw)[0]:x}"
    if kind == 0x15:
        return f"0x{struct.unpack('<Q', raw)[0]:x}"
    if kind == 0x81:  # NUL-terminated strings; one of them is written as a string
        text = raw.decode("utf-16-le")
        parts = (text[:-1] if text.endswith("\x00") else text).split("\x00")
        return parts[0] if len(parts) == 1 else parts
    raise NotTaken
