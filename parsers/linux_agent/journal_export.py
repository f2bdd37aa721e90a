"""Journal exports: ``journalctl -o export`` and ``journalctl -o json`` (one entry per line).

Every entry holds the moment journald received it in UTC (``__REALTIME_TIMESTAMP``, microseconds since the
epoch) beside what the program wrote; the agent's stdout copy of a record keeps the record's own time, e.g.
(``-o export``, one ``FIELD=value`` per line, a blank line between entries):

    __REALTIME_TIMESTAMP=1625592234154891
    SYSLOG_IDENTIFIER=python3
    _PID=1036
    MESSAGE=2021/07/07 02:23:54.154891 INFO Daemon Agent WALinuxAgent-2.3.0.2 launched with command ...

(``-o json``: ``{"__REALTIME_TIMESTAMP": "1625592234154891", "MESSAGE": "...", ...}``). Agent records are read
by :mod:`parsers.linux_agent._record` and marked ``via="syslog"`` like syslog copies, so the timeline keeps one
copy; other messages are checked for kernel and systemd signatures and dated by ``__REALTIME_TIMESTAMP``.
An agent record in local time (G0-G2) or a ``SYSLOG_TIMESTAMP`` (the syslog header, local) beside the
UTC receive time is a pair of clocks (``tz.pairs``, :mod:`parsers.clock_pairs`). A field the exporter wrote
in binary form (a name line, a 64-bit little-endian length, the bytes) is read within the line limit. When the
caller only counts ordinary records (``ctx.counter``), an ordinary entry is tallied per hour of its receive time
(:class:`parsers.hour_counts.HourCounts`) instead of becoming an event.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import orjson

from parsers.base import GENERIC_KIND, Event, ParseContext, Parser, wall_clock
from parsers.clock_pairs import PairVotes
from parsers.hour_counts import HourCounts
from parsers.linux_agent._record import AgentEvents, Record, add_continuation, parse_record
from parsers.linux_agent._signatures import SYSTEM_LEVELS, SYSTEM_TABLE
from parsers.linux_agent.syslog import nearest_year
from parsers.text import clean_line, head_text, iter_lines, replay

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SYSLOG_TS = re.compile(r"(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)")
_FIELD = re.compile(rb"[A-Z0-9_]{1,64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_FIELDS = 256  # fields kept per entry
_READ = ("__REALTIME_TIMESTAMP", "MESSAGE", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "SYSLOG_TIMESTAMP")  # what is read


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    reader = _Reader(ctx)
    first = stream.read(1)
    stream = replay(first, stream)
    if first == b"{":
        for n, line in iter_lines(stream, ctx):
            entry = _json_entry(line)
            if entry is None:
                if line.strip():
                    ctx.problem("problem.journal_not_json", n)
                continue
            yield from reader.entry(entry, n)
    else:
        for n, entry in _export_entries(stream, ctx):
            yield from reader.entry(entry, n)
    yield from reader.finish()


class _Reader:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        # ordinary entries, tallied per hour when the caller only counts them (ctx.counter set)
        self.counts = HourCounts(ctx) if ctx.counter is not None else None
        self.agent = AgentEvents(ctx, via="syslog", count=self.counts.count if self.counts is not None else None)
        self.votes = PairVotes(timedelta(seconds=30))  # stdout reaches journald moments after the record
        self.pending: Record | None = None
        self.pending_key: tuple[str, str] = ("", "")
        self.agent_records = 0

    def entry(self, fields: dict[str, str], n: int) -> Iterator[Event]:
        received = _realtime(fields.get("__REALTIME_TIMESTAMP", ""))
        msg = clean_line(fields.get("MESSAGE", ""))  # journald keeps a unit's colours: a field as bytes, or \u001b
        key = (fields.get("SYSLOG_IDENTIFIER") or fields.get("_COMM") or "", fields.get("_PID") or "")
        syslog_ts = fields.get("SYSLOG_TIMESTAMP")
        if syslog_ts is not None and received is not None:
            header = _syslog_time(syslog_ts, received)
            if header is not None:
                self.votes.add(header, wall_clock(received), n)
        rec = None
        if msg[:1].isdigit():
            first, *more = msg.split("\n")
            rec = parse_record(first, n)
        if rec is not None:
            yield from self._flush()
            self.pending, self.pending_key = rec, key
            for line in more:  # a multi-line message: the record's continuation lines
                add_continuation(rec, line)
            if rec.ts is not None and rec.local and received is not None:
                self.votes.add(rec.ts, wall_clock(received), n)
            return
        if self.pending is not None:
            if key == self.pending_key and not msg.startswith("-- "):
                add_continuation(self.pending, msg)
                return
            yield from self._flush()
        if not msg or msg.isspace():
            return
        found = SYSTEM_TABLE.classify(msg)
        kind, attrs = found if found else (GENERIC_KIND, {})
        if kind == GENERIC_KIND and received is not None and self.counts is not None:
            self.counts.add(received, False)
            return
        if fields.get("_PID", "").isdigit():
            attrs["pid"] = int(fields["_PID"])
        yield self.ctx.event(received, n, msg, level=SYSTEM_LEVELS.get(kind, "info"), component=key[0] or "journal",
                             kind=kind, **attrs)

    def _flush(self) -> Iterator[Event]:
        if self.pending is not None:
            self.agent_records += 1
            e = self.agent.event_or_count(self.pending)
            self.pending = None
            if e is not None:
                yield e

    def finish(self) -> Iterator[Event]:
        yield from self._flush()
        if self.counts is not None:
            self.counts.report()
        self.votes.emit(self.ctx, "journal receive times beside local record times")
        if self.agent_records:  # the agent's own records: this export is the guest agent's log too
            self.ctx.fact("source.also", "waagent_log", text=f"{self.agent_records} agent record(s) in this export")


def _realtime(text: str) -> datetime | None:
    try:
        return _EPOCH + timedelta(microseconds=int(text))
    except (ValueError, OverflowError):
        return None


def _syslog_time(text: str, received: datetime) -> datetime | None:
    """``Jul  6 17:23:54`` (local, no year) with the year that puts it nearest the receive time."""
    m = _SYSLOG_TS.match(text.strip())
    if m is None or m.group(1) not in _MONTHS:
        return None
    month, day, hh, mm, ss = _MONTHS.index(m.group(1)) + 1, *(int(g) for g in m.groups()[1:])
    return nearest_year((month, day, hh, mm, ss, 0), wall_clock(received))


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")  # a field journald stored as bytes
    if isinstance(value, int | float):
        return str(value)
    return None


def _json_entry(line: str) -> dict[str, str] | None:
    if not line.startswith("{"):
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = None  # or what only ``json`` reads (NaN, a lone surrogate, an integer past 64 bits)
    if obj is None or (isinstance(obj, dict) and any(type(obj.get(k)) is float for k in _READ)):
        try:  # ``json`` decides, as ever: orjson reads a number past 64 bits as a float, ``json`` as an integer
            obj = json.loads(line)
        except ValueError:
            return None
    if not isinstance(obj, dict) or "__REALTIME_TIMESTAMP" not in obj:
        return None
    out: dict[str, str] = {}
    if len(obj) <= MAX_FIELDS:  # the fields an entry is read by (a real entry has 20-30 fields)
        for k in _READ:
            v = obj.get(k)
            text = None if v is None else _text(v)
            if text is not None:
                out[k] = text
        return out
    for k, v in list(obj.items())[:MAX_FIELDS]:
        text = _text(v)
        if isinstance(k, str) and text is not None:
            out[k] = text
    return out


def _export_entries(stream: BinaryIO, ctx: ParseContext) -> Iterator[tuple[int, dict[str, str]]]:
    """(line of the entry's first field, fields) of an export stream; binary fields read within the line limit."""
    limit = ctx.max_line
    fields: dict[str, str] = {}
    n = start = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            break
        n += 1
        if len(raw) > limit and not raw.endswith(b"\n"):  # an over-long text field: cut, the rest skipped
            while (more := stream.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
            ctx.problem("problem.journal_field_truncated", n, limit=limit)
            raw = raw[:limit]
        line = raw.rstrip(b"\n")
        if not line:
            if fields:
                yield start, fields
            fields = {}
            continue
        start = start if fields else n
        name, eq, value = line.partition(b"=")
        if not eq:  # binary form: the name alone, then a 64-bit length and that many bytes
            size_bytes = stream.read(8)
            if _FIELD.fullmatch(line) is None or len(size_bytes) < 8:
                ctx.problem("problem.journal_bad_field", n)
                break
            (size,) = struct.unpack("<Q", size_bytes)
            data = stream.read(min(size, limit))
            rest = size - len(data)
            while rest > 0:  # beyond the line limit: read and dropped
                chunk = stream.read(min(rest, 1 << 20))
                if not chunk:
                    break
                rest -= len(chunk)
            stream.read(1)  # the newline after the data
            value = data
            n += data.count(b"\n") + 1
        if len(fields) < MAX_FIELDS:
            fields[name.decode("ascii", "replace")] = value.decode("utf-8", "replace")
    if fields:
        yield start, fields


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head).lstrip("\ufeff")
    return text.startswith("__CURSOR=") or (text.startswith("{") and '"__REALTIME_TIMESTAMP"' in text[:4096])


PARSER = Parser(name="journal_export", parse=parse, sniff=sniff,
                description="journalctl -o export / -o json: agent records and system markers, the receive time in UTC")
