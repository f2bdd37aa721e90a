"""Windows events as text: ``wevtutil qe <log> /f:text``, Event Viewer "Copy details as text" blocks
(often pasted into tickets) and Event Viewer's tab-separated TXT export.

``wevtutil`` writes one block per event, the description running until the next ``Event[n]:``::

    Event[0]:
      Log Name: Application
      Source: WLMS
      Date: 2020-12-14T17:09:08.940
      Event ID: 100
      ...
      Description:
    N/A

A copied event has the same ``Key: value`` lines without the ``Event[n]:`` line (it starts at
``Log Name:``) and may end with ``Event Xml:`` and the event's XML; when that XML is readable its
data and UTC ``SystemTime`` are used, and the difference to the local ``Date:`` gives the VM's UTC
offset (``tz.utc_offset_minutes``). Otherwise ``Date:`` is local time (naive, ``local=True``).
TXT exports (``Level<TAB>Date and Time<TAB>Source<TAB>Event ID<TAB>Task Category<TAB>message``)
are read by :func:`parsers.windows_events.event_csv.read_delimited`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines
from parsers.windows_events._records import LocalTimes, WinRecord, to_event
from parsers.windows_events.event_csv import read_delimited
from parsers.windows_events.event_xml import fragment_record

_EVENT_N = re.compile(r"^Event\[\d+\]:\s*$")
_FIELD = re.compile(r"^\s*(Log Name|Source|Date|Event ID|Task Category|Task|Level|Opcode|Keywords?|User|User Name"
                    r"|Computer|Description|Event Xml):\s*(.*?)\s*$")
MAX_BLOCK_LINES = 10_000
_MAX_OFFSET_MIN = 14 * 60


class _Block:
    def __init__(self, line: int) -> None:
        self.line = line
        self.fields: dict[str, str] = {}
        self.description: list[str] = []
        self.xml: list[str] = []
        self.mode = "fields"  # fields | description | xml


def _record(block: _Block, times: LocalTimes, ctx: ParseContext) -> WinRecord:
    f = block.fields
    local_ts = times.parse(f.get("date", ""))
    if f.get("date") and local_ts is None:
        ctx.problem(f"unreadable date {f['date'][:40]!r}", block.line)
    message = "\n".join(block.description).strip()
    parsed = fragment_record("\n".join(block.xml)) if block.xml else None
    if parsed is not None and parsed.ts is not None:
        parsed.message = parsed.message or message
        parsed.task = parsed.task or f.get("task category", f.get("task", ""))
        if local_ts is not None:
            minutes = round((local_ts - parsed.ts.replace(tzinfo=None)).total_seconds() / 900) * 15
            if abs(minutes) <= _MAX_OFFSET_MIN:
                ctx.fact("tz.utc_offset_minutes", minutes, line=block.line, ts=parsed.ts,
                         text=f"Date: {f['date']} vs SystemTime {parsed.ts.isoformat()}")
        return parsed
    eid = f.get("event id", "")
    return WinRecord(provider=f.get("source", ""), event_id=int(eid) if eid.isdigit() else None, ts=local_ts,
                     level=f.get("level") or None, local=True, channel=f.get("log name", ""),
                     computer=f.get("computer", ""), message="" if message == "N/A" else message,
                     task=f.get("task category", f.get("task", "")))


def _blocks(lines: Iterator[tuple[int, str]], ctx: ParseContext) -> Iterator[_Block]:
    block: _Block | None = None
    for number, text in lines:
        copied = text.startswith("Log Name:") and (block is None or "log name" in block.fields)
        if copied or _EVENT_N.match(text):
            if block is not None:
                yield block
            block = _Block(number)
            if _EVENT_N.match(text):
                continue
        if block is None:
            if text.strip():
                ctx.problem("text before the first event block", number)
            continue
        if block.mode == "fields":
            m = _FIELD.match(text)
            if m is None:
                continue
            key, value = m.group(1).lower(), m.group(2)
            if key in ("description", "event xml"):
                block.mode = "xml" if key == "event xml" else "description"
                (block.xml if key == "event xml" else block.description).append(value)
            else:
                block.fields[key] = value
        elif block.mode == "description" and text.startswith("Event Xml:"):
            block.mode = "xml"
        elif len(block.description) + len(block.xml) < MAX_BLOCK_LINES:
            (block.xml if block.mode == "xml" else block.description).append(text)
    if block is not None:
        yield block


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    lines = iter_lines(stream, ctx)
    first = next(((n, t) for n, t in lines if t.strip()), None)
    if first is None:
        return
    rest = itertools.chain([first], lines)
    if "\t" in first[1] and not _FIELD.match(first[1]):
        yield from read_delimited(rest, "\t", ctx)
        return
    times = LocalTimes()
    n = 0
    for block in _blocks(rest, ctx):
        n += 1
        yield to_event(ctx, _record(block, times, ctx), block.line)
    if n == 0:
        ctx.problem("no event blocks (Event[n]: or Log Name:) found")


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)[:2048]
    return ("Log Name:" in text and "Event ID:" in text) or (
        "Date and Time\tSource\tEvent ID" in text)


PARSER = Parser(name="event_text", parse=parse, sniff=sniff,
                description="wevtutil /f:text, Event Viewer TXT and copied event details (local time)")
