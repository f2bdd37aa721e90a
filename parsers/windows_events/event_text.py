"""Windows events as text, in every shape people export or paste them: ``wevtutil qe <log> /f:text``, Event
Viewer "Copy details as text" blocks, the same with ``Key = value`` lines, PowerShell ``Get-WinEvent`` /
``Get-EventLog`` ``| Format-List`` records, Event Viewer's "Details" tab (Friendly View) copies, a
``<Source> - <Event ID>`` title over the message, and Event Viewer's tab-separated TXT export.

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
``Log Name:``, or at ``Source:`` when the log name was left out) and may end with ``Event Xml:`` and the
event's XML; when that XML is readable its data and UTC ``SystemTime`` are used, and the difference to
the local ``Date:`` gives the VM's UTC offset (``tz.utc_offset_minutes``). Keys may be German or French
(``Quelle:``, ``Ereignis-ID:``) and separated by ``=``. A pasted title and message::

    .NET Runtime - 1026
    Application: WaAppAgent.exe

is one event without a time. ``Date:`` is local time (naive, ``local=True``) unless it names its zone.
A field that the current block already has, or a blank line and a block-starting field, starts the next
event. TXT exports (``Level<TAB>Date and Time<TAB>Source<TAB>Event ID<TAB>Task Category<TAB>message``)
are read by :func:`parsers.windows_events.event_csv.read_delimited`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines
from parsers.windows_events._records import LocalTimes, WinRecord, known_provider, to_event
from parsers.windows_events.event_csv import is_event_table, read_delimited
from parsers.windows_events.event_xml import fragment_record

MAX_BLOCK_LINES = 10_000
_MAX_OFFSET_MIN = 14 * 60

#: field names (lower case) of the exports, in English, German and French, and PowerShell's property names
KEYS = {
    "log name": "log", "protokollname": "log", "nom du journal": "log", "logname": "log",
    "source": "source", "quelle": "source", "providername": "source", "provider name": "source",
    "date": "date", "datum": "date", "timecreated": "date", "timegenerated": "date", "date and time": "date",
    "event id": "id", "eventid": "id", "ereignis-id": "id", "id": "id", "id de l'événement": "id",
    "id de l’événement": "id",
    "task category": "task", "task": "task", "aufgabenkategorie": "task", "catégorie de la tâche": "task",
    "category": "task",
    "level": "level", "ebene": "level", "niveau": "level", "leveldisplayname": "level", "entrytype": "level",
    "computer": "computer", "ordinateur": "computer", "machinename": "computer",
    "description": "message", "beschreibung": "message", "message": "message",
    "event xml": "xml", "ereignis-xml": "xml", "xml de l'événement": "xml",
    "opcode": "", "keywords": "", "keyword": "", "schlüsselwörter": "", "mots-clés": "", "user": "", "user name": "",
    "benutzer": "", "utilisateur": "", "index": "", "instanceid": "instance", "timewritten": "", "username": "",
    "categorynumber": "", "replacementstrings": "", "recordid": "", "containerlog": "",
}
_STARTS = {"log", "source", "date"}  # fields that open a record after a blank line
_FIELD = re.compile(r"^\s*(?P<key>[^\W\d][^:=]{0,30}?)(?P<pad>\s*)[:=]\s*(?P<value>.*?)\s*$")
_EVENT_N = re.compile(r"^Event\[\d+\]:\s*$")
_TITLE = re.compile(r"^(?P<provider>[.\w][^\t]{0,80}?)\s+-\s+(?P<id>\d{1,5})\s*$")
_ZONED = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
# Event Viewer "Details" tab, Friendly View
_FRIENDLY_START = re.compile(r"^\s*-\s*System\s*$")
_FRIENDLY = {
    "source": re.compile(r"^\s*\[\s*Name\s*\]\s+(?P<v>.+?)\s*$"),
    "id": re.compile(r"^\s*-?\s*EventID\s+(?P<v>\d+)\s*$"),
    "qualifiers": re.compile(r"^\s*\[\s*Qualifiers\s*\]\s+(?P<v>\d+)\s*$"),
    "level": re.compile(r"^\s*Level\s+(?P<v>\d+)\s*$"),
    "utc": re.compile(r"^\s*\[\s*SystemTime\s*\]\s+(?P<v>\S+)\s*$"),
    "record": re.compile(r"^\s*EventRecordID\s+(?P<v>\d+)\s*$"),
    "log": re.compile(r"^\s*Channel\s+(?P<v>.+?)\s*$"),
    "computer": re.compile(r"^\s*Computer\s+(?P<v>.+?)\s*$"),
}
_FRIENDLY_DATA = re.compile(r"^\s*-\s*(?:EventData|UserData)\s*$")
_NAMED_DATA = re.compile(r"^(?P<name>param\d+|ServiceName|ImagePath|ServiceType|StartType|AccountName)\s+(?P<v>.*)$")


class _Block:
    def __init__(self, line: int, friendly: bool = False) -> None:
        self.line = line
        self.fields: dict[str, str] = {}
        self.description: list[str] = []
        self.xml: list[str] = []
        self.data: list[str] = []
        self.mode = "friendly" if friendly else "fields"  # fields | description | xml | friendly | data

    def add(self, target: list[str], text: str) -> None:
        if len(self.description) + len(self.xml) + len(self.data) < MAX_BLOCK_LINES:
            target.append(text)


def _field(text: str) -> tuple[str, str, bool] | None:
    """(field, value, padded) of a ``Key: value`` / ``Key = value`` line of a known key; padded: blanks
    before the separator (PowerShell's Format-List)."""
    m = _FIELD.match(text)
    if m is None:
        return None
    field = KEYS.get(m.group("key").strip().lower())
    return None if field is None else (field, m.group("value"), bool(m.group("pad")))


def _time(value: str, times: LocalTimes) -> tuple[datetime | None, bool]:
    """(time, local) of a Date field: local wall clock, or UTC when the value names its zone."""
    value = value.strip()
    if _ZONED.search(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1)).astimezone(UTC), False
        except ValueError:
            pass
    return times.parse(value), True


def _int(value: str) -> int | None:
    m = re.match(r"\s*(\d{1,10})", value)
    return int(m.group(1)) if m else None


def _record(block: _Block, times: LocalTimes, ctx: ParseContext) -> WinRecord:
    f = block.fields
    ts, local = _time(f.get("utc") or f.get("date", ""), times)  # Friendly View: SystemTime (UTC)
    if f.get("date") and ts is None:
        ctx.problem("problem.unreadable_date", block.line, value=repr(f['date'][:40]))
    message = "\n".join(block.description).strip()
    parsed = fragment_record("\n".join(block.xml)) if block.xml else None
    if parsed is not None and parsed.ts is not None:
        parsed.message = parsed.message or message
        parsed.task = parsed.task or f.get("task", "")
        if ts is not None and local:
            minutes = round((ts - parsed.ts.replace(tzinfo=None)).total_seconds() / 900) * 15
            if abs(minutes) <= _MAX_OFFSET_MIN:
                ctx.fact("tz.utc_offset_minutes", minutes, line=block.line, ts=parsed.ts,
                         text=f"Date: {f['date']} vs SystemTime {parsed.ts.isoformat()}")
        return parsed
    data: dict[str, Any] | list[Any] | None = None
    if block.data:
        named = [_NAMED_DATA.match(d) for d in block.data]
        data = {m.group("name"): m.group("v") for m in named if m} if all(named) else list(block.data)
        message = message or " ".join(block.data)
    event_id = _int(f.get("id", ""))
    instance = _int(f.get("instance", ""))
    if event_id is None and instance is not None:  # Get-EventLog: InstanceId = qualifiers << 16 | event id
        event_id = instance & 0xFFFF
    return WinRecord(provider=f.get("source", ""), event_id=event_id, ts=ts, level=f.get("level") or None,
                     local=local and ts is not None, qualifiers=_int(f.get("qualifiers", "")),
                     channel=f.get("log", ""), computer=f.get("computer", ""), record_id=_int(f.get("record", "")),
                     data=data, message="" if message == "N/A" else message, task=f.get("task", ""))


class _Reader:
    """Splits lines into event blocks (see the module docstring for where one ends)."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.block: _Block | None = None
        self.blank = True  # the previous line was blank (or there was none)

    def feed(self, number: int, text: str) -> Iterator[_Block]:
        blank, self.blank = self.blank, not text.strip()
        if self.blank:
            return
        block = self.block
        if _EVENT_N.match(text) or _FRIENDLY_START.match(text):
            yield from self._open(number, friendly=bool(_FRIENDLY_START.match(text)))
            return
        if block is not None and block.mode in ("friendly", "data"):
            self._friendly(block, text)
            return
        title = _TITLE.match(text) if blank or block is None else None
        if title and re.search(r"[^\W\d_]", title.group("provider")):
            yield from self._open(number)
            assert self.block is not None
            self.block.fields.update(source=title.group("provider").strip(), id=title.group("id"))
            return
        field = self._accepted(_field(text), block, blank)
        if field is None:
            if block is None:
                self.ctx.problem("problem.text_before_first_block", number)
                return
            if block.mode == "fields":
                block.mode = "description"
            block.add(block.xml if block.mode == "xml" else block.description, text.strip())
            return
        key, value = field
        reading = block is not None and block.mode in ("description", "xml")
        if block is None or (key in block.fields) or (reading and (key == "log" or (blank and key in _STARTS))):
            yield from self._open(number)
            block = self.block
        assert block is not None
        if key in ("message", "xml"):
            block.mode = "description" if key == "message" else "xml"
            if value:
                block.add(block.description if key == "message" else block.xml, value)
        else:
            if key:
                block.fields[key] = value
            block.mode = "fields"

    @staticmethod
    def _accepted(field: tuple[str, str, bool] | None, block: _Block | None,
                  blank: bool) -> tuple[str, str] | None:
        """The field a line holds, unless the line belongs to the description or XML being read: there only
        ``Log Name`` (the next copied event), ``Event Xml``, a record-opening field after a blank line, or
        a Format-List field padded to the key column (PowerShell, after ``Message``) count."""
        if field is None:
            return None
        key, value, padded = field
        if block is None or block.mode not in ("description", "xml"):
            return key, value
        if key == "log" or (blank and key in _STARTS):
            return key, value
        if block.mode == "xml":
            return None
        if key == "xml" or (padded and key not in block.fields and key not in ("message", "")):
            return key, value
        return None

    def _open(self, number: int, friendly: bool = False) -> Iterator[_Block]:
        if self.block is not None:
            yield self.block
        self.block = _Block(number, friendly)

    @staticmethod
    def _friendly(block: _Block, text: str) -> None:
        if _FRIENDLY_DATA.match(text):
            block.mode = "data"
        elif block.mode == "data":
            block.add(block.data, text.strip())
        else:
            for key, rx in _FRIENDLY.items():
                if (m := rx.match(text)) and key not in block.fields:
                    block.fields[key] = m.group("v")
                    break

    def close(self) -> Iterator[_Block]:
        if self.block is not None:
            yield self.block
            self.block = None


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    lines = iter_lines(stream, ctx)
    first = next(((n, t) for n, t in lines if t.strip()), None)
    if first is None:
        return
    rest = itertools.chain([first], lines)
    if "\t" in first[1] and not _field(first[1]):
        yield from read_delimited(rest, "\t", ctx)
        return
    times = LocalTimes()
    reader = _Reader(ctx)
    n = 0
    for number, text in rest:
        for block in reader.feed(number, text):
            if block.fields or block.description or block.data:
                n += 1
                yield to_event(ctx, _record(block, times, ctx), block.line)
    for block in reader.close():
        if block.fields or block.description or block.data:
            n += 1
            yield to_event(ctx, _record(block, times, ctx), block.line)
    if n == 0:
        ctx.problem("problem.no_event_blocks", markers="Event[n]:, Log Name:, Source:, <Source> - <Event ID>")


def sniff(path: str, head: bytes) -> bool:
    """Event text of any name: the fields of an exported or copied event, a Format-List record, a Friendly
    View copy, a ``<Source> - <Event ID>`` title of a provider the tool knows, or the TXT export header."""
    text = head_text(head)[:4096]
    keys: set[str] = set()
    for line in text.splitlines()[:200]:
        if _EVENT_N.match(line):
            return True
        if (m := _TITLE.match(line)) and known_provider(m.group("provider")):
            return True
        if field := _field(line):
            keys.add(field[0])
    if "source" in keys and keys & {"id", "instance"} and keys & {"log", "date", "message", "level"}:
        return True
    return ("Date and Time\tSource\tEvent ID" in text) or is_event_table(text.splitlines()[:10], "\t") or (
        bool(re.search(r"^\s*-\s*System\s*$", text, re.M)) and "EventID" in text)


PARSER = Parser(name="event_text", parse=parse, sniff=sniff,
                description="wevtutil /f:text, Event Viewer TXT and copied or pasted events in every text shape")
