"""``/var/log/syslog``, ``messages``, ``kern.log``, ``dmesg`` and journal exports (``journalctl`` short, short-iso).

The agent logs to stdout too, so syslog holds copies of its records behind a header:

    Oct 08 17:10:33 nam-u18 python3[1036]: 2020-10-08T17:10:33.129375Z INFO ExtHandler ExtHandler Cgroups enabled

The header is stripped and an agent record behind it is read by :mod:`parsers.linux_agent._record`, marked
``via="syslog"``: it gets the time and message the waagent.log parse gives, so the timeline keeps one
copy. Other lines are checked for kernel and systemd signatures (OOM kills, hung tasks, shutdown and
boot markers). A member holding agent records also serves as the agent's log (fact ``source.also``):
when waagent.log rotated away, the copies are the guest agent's log.

Syslog headers carry no year and are local time: the year comes from timestamps inside
the lines (agent records, ISO dates); a header time beside an embedded UTC agent time, or an ISO
header with its offset, is evidence of the VM's UTC offset. A file that shows no year at all (a
``kern.log`` of kernel lines only) leaves its records undated with the header time in ``attrs.syslog_time``
(``--01-06T13:02:17.000000``): the pipeline dates them from the bundle's collection time.

The kernel reports an OOM kill over several lines; the memory cgroup whose limit was hit comes before the
``Killed process`` line:

    Oct  5 10:31:12 vm kernel: [345678.1] oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/azure.slice/
        azure-walinuxagent.slice/azure-walinuxagent-logcollector.slice,...   (one line)
    Oct  5 10:31:12 vm kernel: [345678.1] Memory cgroup out of memory: Killed process 7211 (python3) ...

It becomes the kill's ``cgroup``; a kill inside the agent's log collector slice is the collector stopped at its
own memory limit (L17: ``agent.collector.failed``), not the VM running out of memory.

When the caller only counts ordinary records (``ctx.counter``: an analysis), a dated line that no signature knows
and an ordinary agent copy are tallied per hour (:class:`parsers.hour_counts.HourCounts`) instead of becoming
events; a line waiting for its year is counted with the year it gets. The timeline ends with the same figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from parsers.base import GENERIC_KIND, YEARLESS, Event, ParseContext, Parser, wall_clock, yearless_stamp
from parsers.clock_pairs import PairVotes
from parsers.hour_counts import HourCounts
from parsers.linux_agent._record import AgentEvents, Record, add_continuation, ends_record, parse_record
from parsers.linux_agent._signatures import SYSTEM_LEVELS, SYSTEM_TABLE
from parsers.text import head_text, iter_lines

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), 1)}
_BSD_STAMP = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d\d):(\d\d):(\d{1,2})(?:\.(\d+))? "
_ISO_STAMP = r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:?\d\d)? "
_PROGRAM = r"(?:([^\s\[\]:]+) )?([A-Za-z_(][^\s\[\]:]*)(?:\[(\d+)\])?: ?"  # host, program, pid
_BSD = re.compile(_BSD_STAMP + r"(.*)")
_ISO = re.compile(_ISO_STAMP + r"(.*)")
_TAIL = re.compile(_PROGRAM + r"(.*)")
# a whole line in one match: the header, then host, program and pid when the tail shows them (else None), the text
_BSD_LINE = re.compile(_BSD_STAMP + f"(?:{_PROGRAM})?(.*)")
_ISO_LINE = re.compile(_ISO_STAMP + f"(?:{_PROGRAM})?(.*)")
_DMESG = re.compile(r"\[\s*(\d+\.\d+)\] ?(.*)")
_DMESG_T = re.compile(r"\[\w{3} (\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\] ?(.*)")
_KERNEL_UPTIME = re.compile(r"\[\s*\d+\.\d+\] ?")
_DATE_IN_TEXT = re.compile(r"(?<!\w)(20\d\d|19\d\d)[-/](\d\d)[-/](\d\d)[T ]\d\d:\d\d")
# the cgroup whose limit an OOM kill enforced: ``oom_memcg=`` (kernel >= 4.19), ``Task in X killed as a result of
# limit of Y`` and ``Memory cgroup stats for Y:`` (older kernels)
_OOM_CGROUP = re.compile(r"\boom_memcg=([^,\s]+)|^Task in \S+ killed as a result of limit of (\S+)"
                         r"|^Memory cgroup stats for ([^\s:]+)")
_COLLECTOR_CGROUP = "azure-walinuxagent-logcollector"
_OOM_REPORT_LINES = 400  # lines of one OOM report (memory info, the task table) before its kill
_MAX_WAITING = 50_000  # lines held back while the year is unknown
_Header = tuple[int, int, int, int, int, int]  # month, day, hour, minute, second, microsecond


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    reader = _Reader(ctx)
    for n, line in iter_lines(stream, ctx):
        yield from reader.line(n, line)
    yield from reader.finish()


class _Reader:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        # ordinary dated lines, tallied per hour when the caller only counts them (ctx.counter set)
        self.counts = HourCounts(ctx) if ctx.counter is not None else None
        self.agent = AgentEvents(ctx, via="syslog", count=self.counts.count if self.counts is not None else None)
        self.votes = PairVotes()
        self.pending: Record | None = None
        self.pending_key: tuple[str, str] = ("", "")
        self.ref: datetime | None = None  # latest dated moment, for the year of header times
        self.waiting: list[tuple[Event, _Header]] = []
        self.last_ts: datetime | None = None
        self.agent_records = 0
        self.oom_cgroup: str | None = None  # of the OOM report being read
        self.held_oom: tuple[Event, _Header | None] | None = None  # the line that opened it, until its kill
        self.held_lines = 0

    # --- one line -------------------------------------------------------------------------------
    def line(self, n: int, line: str) -> Iterator[Event]:
        if not line or line.isspace():
            return
        if line.startswith("-- "):
            if "Reboot" in line:
                yield self.ctx.event(self.last_ts, n, line, component="journal", kind="system.boot",
                                     local=self.last_ts is not None and self.last_ts.tzinfo is None)
            return
        if line[0].isdigit():
            rec = parse_record(line, n)
            if rec is not None:  # an agent record without a syslog header: a pasted agent log
                yield from self._record(rec, ("", ""), None, n)
                return
        header: _Header | None = None
        ts: datetime | None = None
        m = _BSD_LINE.match(line)
        if m:
            mon, day, hh, mm, ss, frac, host, prog, pid, rest = m.groups()
            header = (_MONTHS[mon], int(day), int(hh), int(mm), int(ss),
                      0 if frac is None else int(frac[:6].ljust(6, "0")))
        else:
            m = _ISO_LINE.match(line)
            if m:
                stamp, zone, host, prog, pid, rest = m.groups()
                ts = _iso(stamp, zone)
                if ts is None:
                    self.ctx.problem("problem.invalid_timestamp", n)
                elif ts.tzinfo is not None:
                    offset = ts.utcoffset()
                    ts = ts.astimezone(UTC)
                    utc = wall_clock(ts)  # the header's wall clock is that plus the offset
                    self.votes.add(utc + offset, utc, n)  # type: ignore[operator]
            else:
                yield from self._dmesg(n, line)
                return
        if prog is None:  # no program named
            prog = ""
        key = (prog, pid or "")
        rec = parse_record(rest, n) if rest[:1].isdigit() else None
        if rec is not None:
            yield from self._record(rec, key, header, n)
            return
        if self.pending is not None and key == self.pending_key:
            add_continuation(self.pending, rest)
            return
        d = _DATE_IN_TEXT.search(rest)
        if d:
            self._anchor_date(int(d.group(1)), int(d.group(2)), int(d.group(3)), header)
        if self.waiting and self.ref is not None:
            yield from self._release()
        if prog == "kernel":
            rest = _KERNEL_UPTIME.sub("", rest, count=1)
        found = SYSTEM_TABLE.classify(rest)
        if found is None:
            kind, attrs = GENERIC_KIND, {}
            self._follow_oom(rest)
        else:
            kind, attrs = found
            kind = self._oom(rest, kind, attrs)
        if kind == GENERIC_KIND and self.counts is not None:  # an ordinary line: counted once dated
            if header is not None:
                ts = self._dated(header)
            if ts is not None:
                self.last_ts = ts
                if self.held_oom is not None:
                    yield from self._oom_line()
                self.counts.add(ts, ts.tzinfo is None)
                return
        if host:
            attrs["host"] = host
        if pid:
            attrs["pid"] = int(pid)
        if header is not None:
            ts = self._dated(header)
            if ts is None:
                e = self.ctx.event(None, n, rest, level=SYSTEM_LEVELS.get(kind, "info"), component=prog, kind=kind,
                                   local=True, **attrs)
                yield from self._emit(e, header)
                return
        local = ts is not None and ts.tzinfo is None
        self.last_ts = ts
        yield from self._emit(self.ctx.event(ts, n, rest, level=SYSTEM_LEVELS.get(kind, "info"), component=prog,
                                             kind=kind, local=local, **attrs), header)

    def _record(self, rec: Record, key: tuple[str, str], header: _Header | None, n: int) -> Iterator[Event]:
        """An agent record starts: the one before it is complete."""
        wall = None if rec.ts is None else wall_clock(rec.ts)
        if wall is not None:
            self.ref = wall
        yield from self._flush()
        self.pending, self.pending_key = rec, key
        self.last_ts = rec.ts
        if wall is not None and not rec.local and header is not None:
            local = self._dated(header)
            if local is not None:
                self.votes.add(local, wall, n)

    def _dmesg(self, n: int, line: str) -> Iterator[Event]:
        m = _DMESG_T.match(line)
        attrs: dict[str, Any] = {}
        ts: datetime | None = None
        if m:
            mon, day, hh, mm, ss, year, rest = m.groups()
            try:
                ts = datetime(int(year), _MONTHS.get(mon, 0), int(day), int(hh), int(mm), int(ss))
            except ValueError:
                self.ctx.problem("problem.invalid_timestamp", n)
        else:
            m = _DMESG.match(line)
            if m is None:
                if ends_record(line):  # a shell prompt or a code fence in a paste
                    yield from self._flush()
                elif self.pending is not None:  # a journal line wrapped by the exporter
                    add_continuation(self.pending, line)
                else:  # command output in a paste (``systemctl status``, ``waagent --version``)
                    e = self.agent.outside(n, line)
                    if e is not None:
                        yield e
                return
            attrs["uptime"] = float(m.group(1))
            rest = m.group(2)
        found = SYSTEM_TABLE.classify(rest)
        kind, extra = found if found else (GENERIC_KIND, {})
        kind = self._oom(rest, kind, extra)
        if kind == GENERIC_KIND and ts is not None and self.counts is not None:
            yield from self._oom_line()
            self.counts.add(ts, True)
            return
        e = self.ctx.event(ts, n, rest, level=SYSTEM_LEVELS.get(kind, "info"), component="kernel", kind=kind,
                           local=ts is not None, **attrs, **extra)
        yield from self._emit(e, None)

    def _emit(self, e: Event, header: _Header | None) -> Iterator[Event]:
        """Out with ``e`` (held until its year is known when its header shows none). A kernel OOM report opens
        with ``X invoked oom-killer`` and ends with the kill: the kill stands for the report (one OOM, not two),
        the opening line is its context, an OOM of its own only when no kill follows."""
        if e.kind == "system.oom" and "invoked oom-killer" in e.message:
            yield from self._release_oom()
            self.held_oom, self.held_lines = (e, header), 0
            return
        if self.held_oom is not None:
            if e.kind in ("system.oom", "agent.collector.failed"):
                self.held_oom[0].kind, self.held_oom[0].level = GENERIC_KIND, "info"
                yield from self._release_oom()
            else:
                self.held_lines += 1
                if self.held_lines > _OOM_REPORT_LINES:
                    yield from self._release_oom()
        yield from self._out(e, header)

    def _oom_line(self) -> Iterator[Event]:
        """An ordinary line only counted: one more line of the OOM report being read, as :meth:`_emit` passes an
        ordinary event."""
        if self.held_oom is not None:
            self.held_lines += 1
            if self.held_lines > _OOM_REPORT_LINES:
                yield from self._release_oom()

    def _release_oom(self) -> Iterator[Event]:
        if self.held_oom is not None:
            e, header = self.held_oom
            self.held_oom = None
            yield from self._out(e, header)

    def _out(self, e: Event, header: _Header | None) -> Iterator[Event]:
        if e.ts is None and header is not None:
            yield from self._wait(e, header)
        else:
            yield e

    def _oom(self, rest: str, kind: str, attrs: dict[str, Any]) -> str:
        """Follow an OOM report: the cgroup whose limit it hit goes to the kill; the log collector's is L17."""
        self._follow_oom(rest)
        if kind != "system.oom" or self.oom_cgroup is None:
            return kind
        attrs["cgroup"], self.oom_cgroup = self.oom_cgroup, None
        if _COLLECTOR_CGROUP not in attrs["cgroup"]:
            return kind
        attrs["task"] = attrs.pop("process", "")
        attrs["process"] = "log_collector"
        return "agent.collector.failed"

    def _follow_oom(self, rest: str) -> None:
        """An OOM report opens (no cgroup known yet) or names the cgroup whose limit it hit."""
        if "invoked oom-killer" in rest:
            self.oom_cgroup = None
        m = _OOM_CGROUP.search(rest) if "emory cgroup" in rest or "memcg" in rest or rest.startswith("Task in ") \
            else None
        if m is not None:
            self.oom_cgroup = next(g for g in m.groups() if g)

    # --- years ----------------------------------------------------------------------------------
    def _anchor_date(self, year: int, month: int, day: int, header: _Header | None) -> None:
        if header is not None and header[0] != month:
            return  # a date that is not "now" (a certificate expiry, a file name): no evidence of the year
        try:
            self.ref = datetime(year, month, day)
        except ValueError:
            return

    def _dated(self, header: _Header) -> datetime | None:
        """The header's time in the year that puts it nearest the latest dated moment (None while there is none)."""
        return None if self.ref is None else nearest_year(header, self.ref)

    def _wait(self, e: Event, header: _Header) -> Iterator[Event]:
        self.waiting.append((e, header))
        if len(self.waiting) >= _MAX_WAITING:
            yield from self._release()

    def _release(self) -> Iterator[Event]:
        for e, header in self.waiting:
            e.ts = self._dated(header)
            if e.ts is None:  # dated by the pipeline, from the whole bundle
                e.attrs[YEARLESS] = yearless_stamp(*header)
            elif self.counts is not None and not e.notable:
                self.counts.add(e.ts, True)
                continue
            yield e
        self.waiting = []

    def _flush(self) -> Iterator[Event]:
        if self.waiting and self.ref is not None:
            yield from self._release()
        if self.pending is not None:
            rec, self.pending = self.pending, None
            self.last_ts = rec.ts
            self.agent_records += 1
            e = self.agent.event_or_count(rec)
            if e is not None:
                yield e

    def finish(self) -> Iterator[Event]:
        yield from self._release_oom()
        yield from self._flush()
        yield from self._release()
        if self.counts is not None:
            self.counts.report()
        self.votes.emit(self.ctx, "syslog header times beside UTC record times")
        if self.agent_records:  # the agent's own records: this copy is the guest agent's log too
            self.ctx.fact("source.also", "waagent_log", text=f"{self.agent_records} agent record(s) in this log")


def nearest_year(header: _Header, ref: datetime) -> datetime | None:
    """A yearless time (month, day, hour, minute, second, microsecond; a leap second read as 59) in the year that puts
    it nearest the naive ``ref``, the earlier of two as near; None when no year around ``ref`` has that moment."""
    month, day, hh, mm, ss, us = header
    if -4 <= month - ref.month <= 4:  # under 154 days from ``ref`` in its year: 211 or more in any other
        try:
            return datetime(ref.year, month, day, hh, mm, ss if ss < 60 else 59, us)
        except ValueError:  # no such moment that year (29 February): the years around are tried
            pass
    best: datetime | None = None
    for year in (ref.year - 1, ref.year, ref.year + 1):
        try:
            cand = datetime(year, month, day, hh, mm, min(ss, 59), us)
        except ValueError:
            continue
        if best is None or abs(cand - ref) < abs(best - ref):
            best = cand
    return best


def _iso(stamp: str, zone: str | None) -> datetime | None:
    text = stamp + (("+00:00" if zone == "Z" else zone) if zone else "")
    if zone and zone != "Z" and ":" not in zone:
        text = stamp + zone[:3] + ":" + zone[3:]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def bsd_line(line: str) -> tuple[str, str] | None:
    """(:data:`YEARLESS` stamp, text) of a line behind a BSD syslog header (``Jan  6 13:02:17 host kernel: ...``),
    else None: a syslog line pasted among agent records."""
    m = _BSD.match(line) if line[:3] in _MONTHS else None
    t = _TAIL.match(m.group(7)) if m else None
    if m is None or t is None:
        return None
    mon, day, hh, mm, ss, frac = m.groups()[:6]
    return yearless_stamp(_MONTHS[mon], int(day), int(hh), int(mm), int(ss), int((frac or "0")[:6].ljust(6, "0"))), \
        t.group(4)


def strip_header(line: str) -> str | None:
    """The text behind a syslog or journal header (``Oct 08 17:10:33 host python3[1036]: ``), else None."""
    m = _BSD.match(line) or _ISO.match(line)
    if m is None:
        return None
    t = _TAIL.match(m.groups()[-1])
    return t.group(4) if t else None


def sniff(path: str, head: bytes) -> bool:
    hits = 0  # anywhere in the head: a paste opens with a prompt or ``systemctl status`` before the journal lines
    for ln in head_text(head).splitlines():
        m = _BSD.match(ln) or _ISO.match(ln)
        if m and _TAIL.match(m.groups()[-1]):
            hits += 1
            if hits >= 2:
                return True
    return False


PARSER = Parser(name="syslog", parse=parse, sniff=sniff,
                description="syslog, messages, kern.log, dmesg and journalctl exports; agent copies re-parsed")
