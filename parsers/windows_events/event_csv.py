"""Event-log tables: Event Viewer "Save All Events As" CSV, PowerShell ``Export-Csv`` of Get-WinEvent or
Get-EventLog, and the Windows Server 2003 layout.

Event Viewer writes five named columns and the message as a sixth, unnamed one (some exports end the header
with the delimiter: a sixth name that is empty); messages may hold newlines inside quotes::

    Level,Date and Time,Source,Event ID,Task Category
    Information,10/7/2016 06:38:24 PM,Microsoft-Windows-Security-Auditing,4658,File System,"The handle ..."

Columns are found by header name (Event Viewer, Get-WinEvent and Get-EventLog spellings); a header
in another language falls back to Event Viewer's column order. Times are the exporting machine's
local time in its locale (``10/7/2016 06:38:24 PM``, ``07.09.2023 14:23:28``), emitted naive with
``local=True``. :func:`read_delimited` is shared with the tab-separated Event Viewer TXT export.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines
from parsers.windows_events._records import LocalTimes, WinRecord, to_event

csv.field_size_limit(1 << 20)

#: field -> accepted header names (lower case), in order of preference
COLUMNS = {
    "level": ("leveldisplayname", "level", "entrytype", "type"),
    "time": ("date and time", "timecreated", "timegenerated", "timewritten"),
    "date": ("date",),
    "clock": ("time",),
    "provider": ("source", "providername"),
    "event_id": ("event id", "eventid", "id", "event"),
    "task": ("task category", "taskdisplayname", "category"),
    "message": ("message", "description"),
    "computer": ("machinename", "computer"),
    "channel": ("logname", "log name"),
    "record_id": ("recordid", "index"),
    "qualifiers": ("qualifiers",),
}
#: Event Viewer's order, for headers written in another language
_POSITIONAL = {"level": 0, "time": 1, "provider": 2, "event_id": 3, "task": 4, "message": 5}


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().strip('"').lower() for h in header]
    found: dict[str, int] = {}
    for field, accepted in COLUMNS.items():
        for name in accepted:
            if name in names:
                found[field] = names.index(name)
                break
    if "event_id" in found and "time" not in found and "date" in found:
        return found
    if not {"time", "provider", "event_id"} <= found.keys():
        return {}
    after_task = found.get("task", -2) + 1
    if "message" not in found and (len(header) == after_task or (0 < after_task < len(names)
                                                                 and not names[after_task])):
        found["message"] = after_task  # Event Viewer's unnamed sixth column, also named "" (a trailing delimiter)
    return found


def _cell(columns: dict[str, int], cells: list[str], field: str) -> str:
    i = columns.get(field)
    if i is None or i >= len(cells):
        return ""
    if field == "message" and i == _POSITIONAL["message"] and "task" in columns:
        return ",".join(cells[i:])  # an unquoted message with commas spread over several cells
    return cells[i]


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def read_table(rows: Iterable[tuple[int, list[str]]], ctx: ParseContext) -> Iterator[Event]:
    """Events from ``(first line, cells)`` rows whose first row is the header."""
    columns: dict[str, int] = {}
    times = LocalTimes()
    n = 0
    header_seen = False
    for line, cells in rows:
        if not cells or (len(cells) == 1 and not cells[0].strip()) or cells[0].startswith("#TYPE"):
            continue
        if not columns:
            columns = _columns(cells)
            if columns:
                continue
            if len(cells) >= 5 and _int(cells[3]) is not None and times.parse(cells[1]):
                columns = dict(_POSITIONAL)  # the header (if any) was in another language
            elif not header_seen:
                header_seen = True
                continue
            else:
                ctx.problem("problem.event_csv_no_header", line, columns="Level, Date and Time, Source, Event ID")
                return

        def cell(field: str, row: list[str] = cells, where: dict[str, int] = columns) -> str:
            return _cell(where, row, field)

        stamp = cell("time") or f"{cell('date')} {cell('clock')}"
        ts = times.parse(stamp)
        if ts is None:
            ctx.problem("problem.unreadable_time", line, value=repr(stamp[:40]))
        n += 1
        rec = WinRecord(provider=cell("provider").strip(), event_id=_int(cell("event_id")), ts=ts,
                        level=cell("level").strip() or None, local=True, qualifiers=_int(cell("qualifiers")),
                        channel=cell("channel"), computer=cell("computer"), record_id=_int(cell("record_id")),
                        message=cell("message").strip(), task=cell("task").strip())
        yield to_event(ctx, rec, line)
    if n == 0 and columns:
        ctx.problem("problem.event_csv_no_rows")


def rows(lines: Iterable[tuple[int, str]], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with the number of the line each starts on; quoted newlines stay in their cell."""
    numbered = iter(lines)
    current = [0]

    def feed() -> Iterator[str]:
        for number, text in numbered:
            current[0] = number
            yield text.replace("\r", " ").replace("\x00", "") + "\n"

    start = 1
    for cells in csv.reader(feed(), delimiter=delimiter):
        yield start, cells
        start = current[0] + 1


def _delimiter(header: str) -> str:
    return max((",", ";", "\t"), key=header.count)


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    lines = iter_lines(stream, ctx)
    first: list[tuple[int, str]] = []
    for number, text in lines:
        first.append((number, text))
        if text.strip() and not text.startswith("#TYPE"):
            break
    delimiter = _delimiter(first[-1][1]) if first else ","
    yield from read_delimited(itertools.chain(first, lines), delimiter, ctx)


def read_delimited(lines: Iterable[tuple[int, str]], delimiter: str, ctx: ParseContext) -> Iterator[Event]:
    """Events of a delimited event-log table; a CSV syntax error ends the table as a problem."""
    try:
        yield from read_table(rows(lines, delimiter), ctx)
    except csv.Error as exc:
        ctx.problem("problem.csv_error", error=str(exc))


_HEADER_PAIRS = (("date and time", "event id"), ("timecreated", "providername"), ("timegenerated", "entrytype"))


def is_event_table(lines: list[str], delimiter: str) -> bool:
    """An Event Viewer table in any language, told by shape: a header of at least five names, then a row
    whose second cell is a date-time and fourth a number (``Fehler,20.11.2024 22:30:00,Service Control
    Manager,7034,Keine,...``)."""
    rows = [[cell.strip().strip('"') for cell in line.split(delimiter)] for line in lines if line.strip()]
    if len(rows) < 2 or len(rows[0]) < 5 or any(_int(cell) is not None for cell in rows[0]):
        return False
    return any(len(cells) >= 5 and _int(cells[3]) is not None and LocalTimes().parse(cells[1], at_start=True)
               for cells in rows[1:4])


def sniff(path: str, head: bytes) -> bool:
    """A delimited header row naming the event columns (not PowerShell's Format-List, which has one per line),
    or, in another language, a table of Event Viewer's shape."""
    lines = head_text(head)[:4096].splitlines()[:10]
    for line in (line.lower() for line in lines):
        if any(a in line and b in line for a, b in _HEADER_PAIRS) and any(d in line for d in ",;\t"):
            return True
    first = next((line for line in lines if line.strip()), "")
    delimiter = _delimiter(first)
    return delimiter != "\t" and is_event_table(lines, delimiter)  # a tab table is the TXT export


PARSER = Parser(name="event_csv", parse=parse, sniff=sniff,
                description="Event Viewer / PowerShell event-log CSV exports (local time)")
