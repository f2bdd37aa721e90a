"""``/var/log/waagent.log`` (and rotations) and extensions' ``CommandExecution.log``: Azure Linux Agent records.

Daemon and extension handler of different generations write into one file, e.g. a 2.2.45 daemon in
local time beside a 2.9 extension handler in UTC:

    2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45
    2021-03-30T17:35:37.365590Z INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.16

Record patterns, continuation folding, kinds and facts live in :mod:`parsers.linux_agent._record`. Adjacent
local and UTC records of the same file date the same moment on two clocks: when several such pairs
agree, their difference is the VM's UTC offset (fact ``tz.utc_offset_minutes``).

A paste of the log (a text file of any name) mixes records with shell prompts, command output, console
lines and journal lines: a prompt, code fence or console line ends the record before it, a record behind
a syslog/journal header is read as a record, and a line outside any record gets its own undated event
when a signature knows it (``waagent --version`` output gives the versions).

Two paths give the same events, counts, facts and problems. The per-line path (:class:`Reader` fed every
line) is the reference and serves the full timeline. When ordinary records are only counted, large
members take the block path: blocks of :data:`BLOCK` bytes, whose hot lines
(:mod:`parsers.linux_agent._block_scan`) are fed to the same reader with their whole records, while the
plain records between them are counted per hour without being decoded.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.clock_pairs import PairVotes
from parsers.linux_agent import _block_scan
from parsers.linux_agent._record import (
    VMSNAPSHOT,
    AgentEvents,
    Record,
    add_continuation,
    ends_record,
    fold_g0,
    parse_record,
)
from parsers.linux_agent._signatures import AGENT_TABLE
from parsers.linux_agent.syslog import strip_header
from parsers.text import head_text, iter_lines, read_blocks, replay, sniff_encoding

BLOCK = 4 * 1024 * 1024
#: members smaller than this are read line by line (no scanner to build, same result)
BLOCK_MIN = 1024 * 1024
_BUILD_PREFIX = re.compile(r"-\d+\.\d+\.\d+(?:\.\d+)?\]$")  # [Publisher.Type-1.0.9220.0]: the agent's extension logger
_AGENT_WORDS = re.compile(r"WALinuxAgent|Azure Linux Agent|Windows Azure|waagent|[Ww]ire ?[Ss]erver|168\.63\.129\.16")


class Reader:
    """The per-line state machine: records, continuations, orphan lines, local/UTC offset votes."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.builder = AgentEvents(ctx)
        self.votes = PairVotes(timedelta(seconds=30))  # the daemon's line and the handler's moments apart
        self.pending: Record | None = None
        self.orphans: list[str] = []
        self.orphan_line = 0
        self.prev_timed: tuple[datetime, bool] | None = None  # (ts, local) of the last record with a time
        # plain records counted in bulk (block path): per hour, and the earliest and latest time stamps
        self.plain_hours: dict[bytes, int] = {}
        self.plain_range: tuple[bytes, bytes] | None = None

    def line(self, n: int, line: str, rec: Record | None = None) -> Iterator[Event]:
        """Feed line ``n``; ``rec`` is its record when the caller parsed it already."""
        if rec is None:
            rec = parse_record(line, n) or _pasted_record(line, n)
        if rec is None:
            if self.pending is not None and ends_record(line):  # a paste: a prompt or console line follows
                yield from self.flush()
            if self.pending is not None:
                add_continuation(self.pending, line)
            elif line.strip():
                self.orphan_line = self.orphan_line or n
                if len(self.orphans) < 1000:
                    self.orphans.append(line)
                e = self.builder.outside(n, line)
                if e is not None:
                    yield e
            return
        if rec.ts is None:
            self.ctx.problem("invalid timestamp", n)
        if self.pending is not None and fold_g0(self.pending, rec):
            return
        if self.pending is not None:
            e = self.builder.event_or_count(self.pending)
            if e is not None:
                yield e
        elif self.orphans:
            yield _orphans(self.ctx, self.orphans, self.orphan_line, "before the first record have no timestamp")
            self.orphans = []
        self.pending = rec
        if rec.ts is not None:
            prev = self.prev_timed
            if prev is not None and prev[1] != rec.local:
                local, utc = (rec.ts, prev[0]) if rec.local else (prev[0], rec.ts)
                self.votes.add(local, utc, rec.line)
            self.prev_timed = (rec.ts, rec.local)

    def flush(self) -> Iterator[Event]:
        """Finish the pending record (the next line starts a plain record, which never folds into it)."""
        if self.pending is not None:
            e = self.builder.event_or_count(self.pending)
            if e is not None:
                yield e
            self.pending = None

    def count_plain(self, block: bytes, start: int, stop: int) -> None:
        """The plain records of ``block[start:stop]``: ordinary and UTC, counted per hour (reported at the end)."""
        last = max(block.rfind(b"\n", start, stop - 1) + 1, start)
        first_stamp, last_stamp = block[start:start + 27], block[last:last + 27]
        _block_scan.hours(block, start, stop, self.plain_hours)
        if self.plain_range is None:
            self.plain_range = (first_stamp, last_stamp)
        else:  # the stamps have one fixed width: bytes order is time order
            lo, hi = self.plain_range
            self.plain_range = (min(lo, first_stamp), max(hi, last_stamp))
        self.prev_timed = (_block_scan.plain_time(last_stamp), False)

    def finish(self) -> Iterator[Event]:
        if self.plain_range is not None:
            hours = [(_block_scan.plain_time(h + b":00:00.000000Z").replace(tzinfo=None), k)
                     for h, k in sorted(self.plain_hours.items())]
            lo, hi = self.plain_range
            self.ctx.count_span(hours, _block_scan.plain_time(lo), _block_scan.plain_time(hi), False)
        if self.pending is not None:
            yield from self.flush()
        elif self.orphans:
            yield _orphans(self.ctx, self.orphans, self.orphan_line, "without any agent record")
        self.votes.emit(self.ctx, "adjacent local-time/UTC record pairs")


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    if ctx.counter is None:  # the full timeline: every record is an event anyway
        yield from parse_lines(stream, ctx)
        return
    head = stream.read(BLOCK_MIN)
    scan = _block_scan.scanner() if len(head) >= BLOCK_MIN else None
    if scan is not None and sniff_encoding(head[:4096]) in ("utf-8", "utf-8-sig"):
        yield from parse_blocks(replay(head, stream), ctx, scan)
    else:
        yield from parse_lines(replay(head, stream), ctx)


def parse_lines(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    """The reference path: every line through :class:`Reader`."""
    reader = Reader(ctx)
    for n, line in iter_lines(stream, ctx):
        yield from reader.line(n, line)
    yield from reader.finish()


def parse_blocks(stream: BinaryIO, ctx: ParseContext, scan: _block_scan.Scanner,
                 block_size: int = BLOCK, max_line: int | None = None) -> Iterator[Event]:
    """The block path: same output as :func:`parse_lines` when ordinary records are counted (``ctx.counter``);
    lines are cut at ``max_line`` (default: the context's, ``Limits.max_line``)."""
    max_line = max_line or ctx.max_line
    reader = Reader(ctx)
    base = 0  # lines before the current block
    truncated = 0
    first = True
    for data in read_blocks(stream, block_size, max_line):
        block = data
        if first:
            first = False
            if block.startswith(codecs.BOM_UTF8):
                block = b"\n" + block[3:]  # an empty line 0 stands for the BOM: offsets and numbers still agree
                base = -1
        truncated += _block_scan.long_lines(block, max_line)
        yield from _block(reader, block, base, scan(block), max_line)
        base += block.count(b"\n")
    if truncated:
        ctx.problem(f"{truncated} line(s) longer than {max_line} bytes were truncated")
    yield from reader.finish()


def _block(reader: Reader, block: bytes, base: int, hot: list[int], max_line: int) -> Iterator[Event]:
    """Feed the hot lines of ``block`` (with their records) to ``reader``; count the plain records between."""
    end = len(block)
    last_line = block.rfind(b"\n", 0, end - 1) + 1  # fed to the reader: the next block may continue it
    hot.append(last_line)
    hot.sort()
    cur = 0  # offset of the next line not yet handled
    n = base  # lines of the file before ``cur``
    i = 0
    while cur < end:
        while hot[i] < cur:
            i += 1
        h = hot[i]
        if h > cur and not reader.orphans and not (reader.prev_timed is not None and reader.prev_timed[1]):
            # cur starts a run of plain lines: whole records, unless h continues the last of them
            nl = block.find(b"\n", h) + 1
            text = _text(block, h, nl, max_line)
            rec = parse_record(text, n + 1 + block.count(b"\n", cur, h)) if h != last_line else None
            if rec is not None:
                stop = h
            else:
                stop = block.rfind(b"\n", cur, h - 1) + 1  # the plain line before h: its record goes on
                stop = max(stop, cur)
            if stop > cur:
                yield from reader.flush()
                reader.count_plain(block, cur, stop)
                n += block.count(b"\n", cur, stop)
                cur = stop
                if rec is not None:  # h, parsed already
                    n += 1
                    yield from reader.line(n, text, rec)
                    cur = nl
                    continue
        nl = block.find(b"\n", cur) + 1
        n += 1
        yield from reader.line(n, _text(block, cur, nl, max_line))
        cur = nl


def _text(block: bytes, start: int, stop: int, max_line: int) -> str:
    """One line as :func:`parsers.text.iter_lines` gives it (cut at ``max_line``, line end stripped)."""
    raw = block[start:stop]
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if len(raw) >= max_line:
        raw = raw[:max_line]
    return raw.rstrip(b"\r\n").decode("utf-8", "replace")


def _pasted_record(line: str, n: int) -> Record | None:
    """An agent record behind a syslog or journal header, as pasted from ``journalctl``."""
    if line[:1].isdigit() or len(line) < 40:
        return None
    inner = strip_header(line)
    return parse_record(inner, n) if inner else None


def _orphans(ctx: ParseContext, lines: list[str], first: int, why: str) -> Event:
    """Lines that belong to no record: one undated event, and a problem saying why."""
    ctx.problem(f"{len(lines)} line(s) {why}", first)
    return ctx.event(None, first, "\n".join(lines), level="info", component="")


def sniff(path: str, head: bytes) -> bool:
    """An agent record anywhere in the head: a log, or a paste of one among prompts and command output."""
    for line in head_text(head).splitlines():
        rec = parse_record(line, 0)
        if rec is None:
            continue
        if rec.gen != "G0":
            return True
        # G0's form is also the extension's Python 2 log, whose prefix names version 1.0 (the agent's, a build)
        if rec.prefix != f"[{VMSNAPSHOT}-1.0]" and (_AGENT_WORDS.search(rec.msg) or AGENT_TABLE.classify(rec.msg)
                                                    or _BUILD_PREFIX.search(rec.prefix)):
            return True
    return False


PARSER = Parser(name="waagent_log", parse=parse, sniff=sniff,
                description="Azure Linux Agent log (G0-G4 records), also extensions' CommandExecution.log")
