"""Block scanning of agent logs: which lines of a block of bytes Python has to read, found in one native pass.

Most lines of a modern ``waagent.log`` are *plain* records, e.g.

    2024-01-05T10:00:01.000123Z INFO EnvHandler ExtHandler Configure routes

a UTC record at level INFO or VERBOSE, a one-word thread and a known component, valid time fields and
none of the signature table's needles: such a record is ordinary (only counted) and it starts a record
(a continuation line never looks like it). Every other line is *hot*: it holds a needle of the
signature table, the payload mark, the VMSnapshot extension's name or a backslash escape, or it is not
plain (another level, a local-time generation, a continuation line, an out-of-range time field). The
hot lines are found with one multi-pattern scan over the whole block; the patterns are the table's
needles (read from the table on every call, so a row added to the table is scanned for at once) and
the complement of the plain shape written as positive, line-anchored expressions.

Engines, measured on the signature needles over 116 MB of the steady benchmark mix (2-core EPYC):
hyperscan 1282 MB/s, google-re2 ``finditer`` 193 MB/s, pyahocorasick 85 MB/s (decoding included),
one ``re`` alternation 54 MB/s. Hyperscan is used when installed (wheels for Linux x86_64 and aarch64);
the ``re`` engine runs the same expressions and is the pure-stdlib fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache

from parsers.linux_agent import _record

PAYLOAD_MARK = "Event: name="

_D = "[0-9]"
#: the plain record's fixed opening, one character class per position: ``YYYY-MM-DDTHH:MM:SS.ffffffZ ``
_OPENING = [_D] * 4 + ["-"] + [_D] * 2 + ["-"] + [_D] * 2 + ["T"] + [_D] * 2 + [":"] + [_D] * 2 + [":"] + \
    [_D] * 2 + [r"\."] + [_D] * 6 + ["Z", " "]
_THREAD = "[A-Za-z]+ "
#: time fields no calendar has (the reference path reports them as a problem): hot, Python reads them
_BAD_TIMES = (
    r"^0000", r"^[0-9]{4}[-/](?:00|1[3-9]|[2-9][0-9])", r"^[0-9]{4}[-/][0-9]{2}[-/](?:00|3[2-9]|[4-9][0-9])",
    r"^[0-9]{4}[-/](?:0[2469]|11)[-/]31", r"^[0-9]{4}[-/]02[-/](?:29|30)",
    r"^[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}[T ](?:2[4-9]|[3-9][0-9])",
    r"^[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}[T ][0-9]{2}:[6-9]",
    r"^[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}[T ][0-9]{2}:[0-9]{2}:[6-9]",
)


PLAIN_BODY = ("".join(_OPENING) + "(?:INFO|VERBOSE) " + _THREAD
              + r"(?:Daemon|ExtHandler|LogCollector|Firewall|\[[^\]\n]*\]) ").encode()
PLAIN = re.compile(PLAIN_BODY)
#: a line start (after a newline) where no plain record begins
_NOT_PLAIN = re.compile(rb"\n(?!" + PLAIN_BODY + rb")")


def not_plain(block: bytes) -> list[int]:
    """Starts of the lines of ``block`` that are not plain records (one C-level search per such line)."""
    out = [0] if PLAIN.match(block) is None else []
    end = len(block) - 1
    out += [m.start() + 1 for m in _NOT_PLAIN.finditer(block) if m.start() < end]
    return out


def hot_patterns(needles: Iterable[str]) -> list[bytes]:
    """The multi-pattern part of the scan: the needles, the payload mark, the VMSnapshot name, escapes, bad times."""
    literals = sorted({*needles, PAYLOAD_MARK, "VMSnapshotLinux"})
    pats = [re.escape(n) for n in literals] + [r"\\[uUx]", *_BAD_TIMES]
    return [p.encode() for p in pats]


def table_needles() -> tuple[str, ...]:
    """The needles of the agent signature table in use now (rows added at run time included)."""
    return tuple(sorted({n for s in _record.AGENT_TABLE.sigs for n in s.needles}))


Scanner = Callable[[bytes], list[int]]


def scanner(engine: str = "auto") -> Scanner | None:
    """A function giving the sorted starts of the hot lines of a block (which ends with a newline).

    None when the table has a needle the block scan cannot look for (one holding a line break).
    """
    needles = table_needles()
    if any("\n" in n or "\r" in n for n in needles):
        return None
    if engine == "auto":
        engine = "hyperscan" if _hyperscan_available() else "re"
    return _build(needles, engine)


@lru_cache(maxsize=1)
def _hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=8)
def _build(needles: tuple[str, ...], engine: str) -> Scanner:
    patterns = hot_patterns(needles)
    if engine == "hyperscan":
        return _hyperscan(patterns)
    if engine == "re":
        return _stdlib(patterns)
    raise ValueError(f"unknown scan engine {engine!r}")


def _hyperscan(patterns: list[bytes]) -> Scanner:
    import hyperscan

    db = hyperscan.Database()
    db.compile(expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns),
               flags=[hyperscan.HS_FLAG_MULTILINE] * len(patterns))

    def scan(block: bytes) -> list[int]:
        starts: list[int] = []
        limit = -1  # matches ending before this offset are inside the last hot line already

        def on_match(_id: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            nonlocal limit
            at = end - 1  # the match's last byte; a line's newline belongs to the line
            if at < limit:
                return
            starts.append(block.rfind(b"\n", 0, at) + 1)
            limit = block.find(b"\n", at) + 1
            if limit == 0:
                limit = len(block)

        db.scan(block, match_event_handler=on_match)
        return sorted({*starts, *not_plain(block)})

    return scan


def _stdlib(patterns: list[bytes]) -> Scanner:
    rx = re.compile(b"|".join(b"(?:" + p + b")" for p in patterns), re.M)

    def scan(block: bytes) -> list[int]:
        starts: list[int] = []
        pos = 0
        while (m := rx.search(block, pos)) is not None:
            at = max(m.end() - 1, m.start())
            line = block.rfind(b"\n", 0, at) + 1
            starts.append(line)
            nxt = block.find(b"\n", at)
            pos = len(block) if nxt < 0 else nxt + 1
        return sorted({*starts, *not_plain(block)})

    return scan


def long_lines(block: bytes, max_line: int) -> int:
    """How many lines of ``block`` are ``max_line`` bytes or longer (newline not counted): they get truncated.

    Jumps half a limit at a time to the last newline in reach, so only a window with no newline at all
    (a long line inside it) costs a closer look.
    """
    step = max(1, max_line // 2)
    n = 0
    i = 0
    end = len(block)
    while i < end:
        j = block.rfind(b"\n", i, i + step)
        if j >= 0:
            i = j + 1
            continue
        nl = block.find(b"\n", i)
        stop = end if nl < 0 else nl
        if stop - i >= max_line:
            n += 1
        i = stop + 1
    return n


def plain_time(stamp: bytes) -> datetime:
    """The time of a plain record from its first 27 bytes (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)."""
    return datetime.fromisoformat(stamp.decode())


def hours(block: bytes, start: int, end: int, into: dict[bytes, int]) -> None:
    """Add the plain records of ``block[start:end]`` (whole lines) per hour to ``into`` (``YYYY-MM-DDTHH`` -> n).

    Logs are time-ordered within a file, so the lines of one hour are contiguous: only the first and last
    lines are read, and a span whose ends lie in different hours is halved until each part is one hour.
    A line out of order is counted in the hour of the part it falls in (see docs/performance.md).
    """
    last = block.rfind(b"\n", start, end - 1) + 1
    hour = block[start:start + 13]
    if last <= start or block[last:last + 13] == hour:
        into[hour] = into.get(hour, 0) + block.count(b"\n", start, end)
        return
    mid = block.find(b"\n", (start + end) // 2) + 1
    if mid <= start or mid >= end:  # two lines: the cut falls inside the last one
        mid = last
    hours(block, start, mid, into)
    hours(block, mid, end, into)
