"""``/var/log/waagent.log`` (and rotations) and extensions' ``CommandExecution.log``: Azure Linux Agent records.

Daemon and extension handler of different generations write into one file, e.g. a 2.2.45 daemon in
local time beside a 2.9 extension handler in UTC:

    2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45
    2021-03-30T17:35:37.365590Z INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.16

Record patterns, continuation folding, kinds and facts live in :mod:`parsers.linux_agent._record`. Adjacent
local and UTC records of the same file date the same moment on two clocks: when several such pairs
agree, their difference is the VM's UTC offset (fact ``tz.utc_offset_minutes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.linux_agent._record import AgentEvents, OffsetVotes, Record, add_continuation, fold_g0, parse_record
from parsers.text import head_text, iter_lines


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    builder = AgentEvents(ctx)
    votes = OffsetVotes()
    pending: Record | None = None
    orphans: list[str] = []
    orphan_line = 0
    prev_timed: Record | None = None
    for n, line in iter_lines(stream, ctx):
        rec = parse_record(line, n)
        if rec is None:
            if pending is not None:
                add_continuation(pending, line)
            elif line.strip():
                orphan_line = orphan_line or n
                if len(orphans) < 1000:
                    orphans.append(line)
            continue
        if rec.ts is None:
            ctx.problem("invalid timestamp", n)
        if pending is not None and fold_g0(pending, rec):
            continue
        if pending is not None:
            e = builder.event_or_count(pending)
            if e is not None:
                yield e
        elif orphans:
            yield _orphans(ctx, orphans, orphan_line, "before the first record have no timestamp")
            orphans = []
        pending = rec
        if rec.ts is not None:
            if prev_timed is not None and prev_timed.ts is not None and prev_timed.local != rec.local:
                local, utc = (rec.ts, prev_timed.ts) if rec.local else (prev_timed.ts, rec.ts)
                votes.add(local, utc, rec.line)
            prev_timed = rec
    if pending is not None:
        e = builder.event_or_count(pending)
        if e is not None:
            yield e
    elif orphans:
        yield _orphans(ctx, orphans, orphan_line, "without any agent record")
    votes.emit(ctx, "adjacent local-time/UTC record pairs")


def _orphans(ctx: ParseContext, lines: list[str], first: int, why: str) -> Event:
    """Lines that belong to no record: one undated event, and a problem saying why."""
    ctx.problem(f"{len(lines)} line(s) {why}", first)
    return ctx.event(None, first, "\n".join(lines), level="info", component="")


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return any(parse_record(line, 0) is not None and (" Daemon " in line or " ExtHandler " in line
                                                     or "Azure Linux Agent" in line)
               for line in text.splitlines()[:20])


PARSER = Parser(name="waagent_log", parse=parse, sniff=sniff,
                description="Azure Linux Agent log (G0-G4 records), also extensions' CommandExecution.log")
