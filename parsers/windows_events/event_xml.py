"""Windows event XML: EvtRender output, ``wevtutil qe /f:xml`` streams and Event Viewer "Save as XML".

EvtRender writes single-quoted attributes and one ``<Event>`` per record::

    <Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider
    Name='Service Control Manager' .../><EventID Qualifiers='16384'>7036</EventID>...<TimeCreated
    SystemTime='2023-05-22T14:43:53.1670895Z'/>...</System><EventData><Data Name='param1'>...</Data>
    </EventData><RenderingInfo Culture='en-US'><Message>The ... service entered the running state.
    </Message>...</RenderingInfo></Event>

``wevtutil`` concatenates such fragments with no root element; Event Viewer wraps them in
``<Events>``. The text is decoded through :mod:`parsers.text`'s sniff (UTF-16 with or without BOM),
the XML declaration is dropped and everything is fed, inside a synthetic root, to a pull parser
that never resolves entities, loads no DTD and refuses a DOCTYPE. Records are released as soon as
they are read, so memory stays flat on large exports. ``SystemTime`` is UTC.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from lxml import etree

from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, sniff_encoding
from parsers.windows_events._records import WinRecord, to_event

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)
_ROOT = "bundle-analyzer-events"
READ = 1 << 16


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None


def _data(node: etree._Element) -> dict[str, Any] | list[Any]:
    """EventData/UserData items: a dict when every item is named, else the list of values."""
    items: list[tuple[str | None, str]] = []
    for child in node:
        name = _local(child.tag)
        if name == "Binary":
            continue
        if name == "Data":
            items.append((child.get("Name"), child.text or ""))
        elif len(child):  # UserData: one element holding named children
            items.extend((_local(c.tag), c.text or "") for c in child)
        else:
            items.append((name, child.text or ""))
    if items and all(k for k, _ in items):
        return {k: v for k, v in items if k}
    return [v for _, v in items]


def record(event: etree._Element) -> WinRecord:
    """One ``<Event>`` element as a :class:`WinRecord`."""
    fields: dict[str, etree._Element] = {}
    data: dict[str, Any] | list[Any] | None = None
    rendering: dict[str, str] = {}
    for part in event:
        name = _local(part.tag)
        if name == "System":
            fields = {_local(c.tag): c for c in part}
        elif name in ("EventData", "UserData"):
            data = _data(part)
        elif name == "RenderingInfo":
            rendering = {_local(c.tag): (c.text or "").strip() for c in part}
    provider = fields.get("Provider")
    eid = fields.get("EventID")
    created = fields.get("TimeCreated")
    level = fields.get("Level")
    text = {k: (v.text or "").strip() for k, v in fields.items() if k in ("Channel", "Computer", "EventRecordID")}
    return WinRecord(
        provider=(provider.get("Name") or provider.get("EventSourceName") or "") if provider is not None else "",
        event_id=_int(eid.text) if eid is not None else None,
        ts=_time(created.get("SystemTime")) if created is not None else None,
        level=(_int(level.text) if level is not None and level.text else None) or rendering.get("Level") or None,
        qualifiers=_int(eid.get("Qualifiers")) if eid is not None else None,
        channel=text.get("Channel", ""),
        computer=text.get("Computer", ""),
        record_id=_int(text.get("EventRecordID")),
        data=data,
        message=rendering.get("Message", ""),
        task=rendering.get("Task", ""),
    )


_FRAGMENT_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                                   remove_comments=True, remove_pis=True)


def fragment_record(text: str) -> WinRecord | None:
    """The record of one ``<Event>`` XML text (e.g. the "Event Xml:" part of a copied event); None if unreadable."""
    if _DOCTYPE.search(text):
        return None
    try:
        root = etree.fromstring(_DECL.sub("", text.strip(), count=1).encode("utf-8"), _FRAGMENT_PARSER)
    except etree.XMLSyntaxError:
        return None
    return record(root) if _local(root.tag) == "Event" else None


def _chunks(stream: BinaryIO) -> Iterator[str]:
    head = stream.read(READ)
    decoder = codecs.getincrementaldecoder(sniff_encoding(head[:4096]))("replace")
    text = decoder.decode(head).lstrip("\ufeff")
    yield _DECL.sub("", text, count=1)
    while data := stream.read(READ):
        yield decoder.decode(data)
    yield decoder.decode(b"", final=True)


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    parser = etree.XMLPullParser(events=("end",), resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False, remove_comments=True, remove_pis=True)
    parser.feed(f"<{_ROOT}>")
    n = 0
    try:
        for chunk in _chunks(stream):
            if _DOCTYPE.search(chunk):
                ctx.problem("problem.event_xml_doctype")
                return
            parser.feed(chunk)
            for _, el in parser.read_events():
                if _local(el.tag) != "Event" or el.getparent() is None or _local(el.getparent().tag) == "Event":
                    continue
                n += 1
                yield to_event(ctx, record(el), el.sourceline or n)
                el.clear()
                parent = el.getparent()
                while el.getprevious() is not None:
                    del parent[0]
        parser.feed(f"</{_ROOT}>")
        parser.close()
    except etree.XMLSyntaxError as exc:
        ctx.problem("problem.event_xml_error", getattr(exc, "lineno", None), n=n, error=str(exc))
    if n == 0:
        ctx.problem("problem.no_event_records")


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return "<Event" in text and NS in text


PARSER = Parser(name="event_xml", parse=parse, sniff=sniff,
                description="Windows event XML (EvtRender, wevtutil /f:xml, Event Viewer Save as XML)")
