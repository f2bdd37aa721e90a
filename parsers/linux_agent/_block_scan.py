"""Block scanning of agent logs: which lines of a block of bytes Python has to read, found in one native pass.

Most lines of a modern ``waagent.log`` are *plain* records, e.g.

    2024-01-05T10:00:01.000123Z INFO EnvHandler ExtHandler Configure routes

a UTC record at level INFO or VERBOSE, a one-word thread and a known component, with a date and time
the calendar has: such a record starts a record (a continuation line never looks like it) and its
message starts right after that opening. The scan reports every line that is not plain, and for the
others the first signature row (table order) with a needle inside the message, and whether the line
holds something only Python can judge (*special*: a backslash escape, a byte outside printable ASCII,
the ``Event: name=`` payload mark) or names the VMSnapshot extension (*marked*: its records give facts,
so Python checks them before they are counted). A plain line without a needle, a special byte or a mark is
an ordinary record: counted, never decoded.

Output of a scan: an ``int64`` array of shape (n, 3): line start,
``rank | plain << 24 | special << 25 | marked << 26 | local << 27 | alarm << 28 | continuation lines << 32`` (rank
:data:`RANK_NONE` when no needle is in the message; a special line has no rank) and a hash. An *alarm* line has
the plain shape at level WARNING or ERROR; the lines after it that can only continue its record (a traceback's)
are its extent, and the hash covers its bytes after the time stamp and those lines: records with equal hashes
are equal but for their time (``waagent_log._Bulk`` holds them, grouped by hash when dropped). A plain line
that is marked or whose first row is decisive, digit-blind and may give facts gets the same hash of its bytes after
the time stamp with every digit read as ``0``, its *shape* (``waagent_log._Bulk`` judges such deferred records once
per shape). The C module
``parsers.linux_agent._linescan`` (built when the package is installed, comparing bytes only) judges every line;
with it the block path counts records by their needles (``waagent_log._Bulk``). Without it (no C compiler at
install time) a Python engine finds the candidate lines with hyperscan (or one ``re`` alternation): every line
holding a needle, a special byte or a time no calendar has, and every line that is not plain. It reports them
all as special, so Python reads each of them, as the block path did before the C module; both engines give the
per-line reference's output (tested).
"""

from __future__ import annotations

import codecs
import os
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, BinaryIO

from parsers.base import ParseContext
from parsers.linux_agent import _record
from parsers.signatures import SignatureTable
from parsers.text import clean_block, head_margin, peekable, read_blocks

if TYPE_CHECKING:  # numpy is imported where a block is scanned: a small bundle's start does without it
    import numpy as np

PAYLOAD_MARK = "Event: name="
#: needles that make a line special wherever they are (the payload is parsed)
SPECIAL_NEEDLES = (PAYLOAD_MARK,)
#: needles that mark a line wherever they are (the extension's records give facts: read unless they give none new)
MARKED_NEEDLES = ("VMSnapshotLinux",)
RANK_NONE = 0xFFFFFF
PLAIN_BIT = 1 << 24
SPECIAL_BIT = 1 << 25
MARKED_BIT = 1 << 26
LOCAL_BIT = 1 << 27  # the extension's shape only: a plain Python 2 record (local time), always reported
ALARM_BIT = 1 << 28  # the agent's shape only: see the module's docstring
CONT_SHIFT = 32
#: the layout of the C module's output this side reads (a module built from an older source has another one)
C_FORMAT = 4

_D = "[0-9]"
#: the plain record's fixed opening, one character class per position: ``YYYY-MM-DDTHH:MM:SS.ffffffZ ``
_OPENING = [_D] * 4 + ["-"] + [_D] * 2 + ["-"] + [_D] * 2 + ["T"] + [_D] * 2 + [":"] + [_D] * 2 + [":"] + \
    [_D] * 2 + [r"\."] + [_D] * 6 + ["Z", " "]
PLAIN_BODY = ("".join(_OPENING) + "(?:INFO|VERBOSE) [A-Za-z]+ "
              + r"(?:Daemon|ExtHandler|LogCollector|Firewall|\[[^\]\n]*\]) ").encode()
PLAIN = re.compile(PLAIN_BODY)
_NOT_PLAIN = re.compile(rb"\n(?!" + PLAIN_BODY + rb")")
#: bytes that make a line special: escapes, anything outside printable ASCII but tab and CR
_SPECIAL_BYTES = rb"[\\\x80-\xff\x00-\x08\x0b\x0c\x0e-\x1f]"
_SPECIAL_BYTE = re.compile(_SPECIAL_BYTES)
#: time fields no calendar has, in a plain-shaped line: the Python engine judges such lines
_BAD_TIMES = (
    r"^0000", r"^[0-9]{4}-(?:00|1[3-9]|[2-9][0-9])", r"^[0-9]{4}-[0-9]{2}-(?:00|3[2-9]|[4-9][0-9])",
    r"^[0-9]{4}-(?:0[2469]|11)-31", r"^[0-9]{4}-02-(?:29|30)",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:2[4-9]|[3-9][0-9])",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[6-9]",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[6-9]",
)


class Scan:
    """A block scan: ``scan(block)`` gives the reported lines; ``judges`` says whether it tells plain records
    and their first row (the C module) or only finds the lines Python reads (the Python engine)."""

    def __init__(self, fn: Callable[[bytes], np.ndarray], judges: bool) -> None:
        self.fn = fn
        self.judges = judges

    def __call__(self, block: bytes) -> np.ndarray:
        return self.fn(block)


class ScanTable:
    """What the scan needs of a signature table: each needle with the first row holding it; the special
    needles (and the table's marks, attributes any row's record may get) make a line special wherever
    they are, whatever row also holds them; the marked needles mark it."""

    def __init__(self, table: SignatureTable, special_needles: tuple[str, ...] = SPECIAL_NEEDLES,
                 marked_needles: tuple[str, ...] = MARKED_NEEDLES) -> None:
        self.table = table
        row_needles = {n for sig in table.sigs for n in sig.needles}
        # a marked needle that is also a row's needle cannot keep both codes: such a line is special
        specials = dict.fromkeys([*special_needles, *(n for ns in table.marks.values() for n in ns),
                                  *(n for n in marked_needles if n in row_needles)])
        marked = dict.fromkeys(n for n in marked_needles if n not in specials)
        rank: dict[str, int] = {}
        for i, sig in enumerate(table.sigs):
            for n in sig.needles:
                if n not in specials and n not in marked:
                    rank.setdefault(n, i)
        self.rank = rank
        self.needles = [*rank, *specials, *marked]
        self.codes = [*rank.values(), *([-1] * len(specials)), *([-2] * len(marked))]

    def usable(self) -> bool:
        """Needles with a line break cannot be found within one line, nor needles of any case by comparing
        bytes: such a table is read line by line."""
        return not self.table.ignore_case and not any("\n" in n or "\r" in n for n in self.needles)


def scanner(engine: str = "auto") -> Scan | None:
    """A function giving the reported lines of a block (which ends with a newline), for the agent table in use
    now (rows added at run time included); None when the table has a needle the scan cannot look for."""
    table = _record.AGENT_TABLE
    if engine == "auto":
        engine = "c" if _c_available() and all(len(n) >= 4 for s in table.sigs for n in s.needles) else "python"
    return _build(table, engine)


@lru_cache(maxsize=1)
def _c_available() -> bool:
    try:
        from parsers.linux_agent import _linescan  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=8)
def _build(table: SignatureTable, engine: str) -> Scan | None:
    st = ScanTable(table)
    if not st.usable():
        return None
    if engine == "c":
        # deferred records (a digit-blind decisive row that may give facts) are judged by their shape hash
        shaped = [i for i, sig in enumerate(table.sigs)
                  if sig.decisive and sig.digit_blind and _record.AgentEvents.row_facts(sig)]
        return _native(st, shaped=shaped) or _build(table, "python")
    if engine in ("python", "hyperscan", "re"):
        finder = "hyperscan" if engine == "python" and _hyperscan_available() else engine
        return _python(st, finder if finder != "python" else "re")
    raise ValueError(f"unknown scan engine {engine!r}")


@lru_cache(maxsize=4)
def extension_scanner(table: SignatureTable, special_needles: tuple[str, ...]) -> Scan | None:
    """The C scan of the VMSnapshot extension's log: plain lines are its Python 3 records
    (``YYYY-MM-DD HH:MM:SS.ffffff [prefix]message``), ``special_needles`` (the parser's state needles) make a
    line special, nothing marks one. None without the C module (the log is then read line by line: the Python
    engine would hand Python every line holding a needle, most of such a log) or with a needle it cannot look for."""
    if not _c_available() or not all(len(n) >= 4 for s in table.sigs for n in s.needles):
        return None
    return _native(ScanTable(table, special_needles, ()), shape=1)


def _native(st: ScanTable, shape: int = 0, shaped: list[int] | None = None) -> Scan | None:
    """The C scan of ``st`` for lines of ``shape`` (0: agent records, 1: extension records; ``shaped``: the
    ranks whose plain records, and marked ones, get a shape hash); None when the table cannot be scanned or the
    module was built from an older source than this one (not rebuilt)."""
    import numpy as np

    from parsers.linux_agent import _linescan

    if not st.usable() or getattr(_linescan, "FORMAT", 1) != C_FORMAT:  # an older output layout: not rebuilt
        return None
    try:
        native = _linescan.Scanner([n.encode() for n in st.needles], st.codes, shape=shape,
                                   key=int.from_bytes(os.urandom(8), "little"), shaped=shaped or [])
    except (ValueError, TypeError):
        return None
    return Scan(lambda block: np.frombuffer(native.scan(block), dtype=np.int64).reshape(-1, 3), judges=True)


# --- the Python engine ---------------------------------------------------------------------------------------

def _python(st: ScanTable, finder: str) -> Scan:
    """Every candidate line (a needle anywhere, a special byte, a bad time, not plain), found natively and
    reported as special: Python reads them all, nothing is decided by the needles (no compiler, no C module)."""
    import numpy as np
    patterns = [re.escape(n).encode() for n in st.needles] + [_SPECIAL_BYTES, *(t.encode() for t in _BAD_TIMES)]
    candidates = _hyperscan_lines(patterns) if finder == "hyperscan" else _re_lines(patterns)

    def scan(block: bytes) -> np.ndarray:
        starts = np.array(candidates(block), dtype=np.int64)
        return np.stack((starts, np.full(len(starts), RANK_NONE | SPECIAL_BIT, dtype=np.int64),
                         np.zeros(len(starts), dtype=np.int64)), axis=1)

    return Scan(scan, judges=False)


def _hyperscan_lines(patterns: list[bytes]) -> Callable[[bytes], list[int]]:
    import hyperscan

    db = hyperscan.Database()
    db.compile(expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns),
               flags=[hyperscan.HS_FLAG_MULTILINE] * len(patterns))

    def lines(block: bytes) -> list[int]:
        starts: list[int] = []
        limit = -1  # matches ending before this offset are inside the last candidate line already

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

    return lines


def _re_lines(patterns: list[bytes]) -> Callable[[bytes], list[int]]:
    rx = re.compile(b"|".join(b"(?:" + p + b")" for p in patterns), re.M)

    def lines(block: bytes) -> list[int]:
        starts: list[int] = []
        pos = 0
        while (m := rx.search(block, pos)) is not None:
            at = max(m.end() - 1, m.start())
            starts.append(block.rfind(b"\n", 0, at) + 1)
            nxt = block.find(b"\n", at)
            pos = len(block) if nxt < 0 else nxt + 1
        return sorted({*starts, *not_plain(block)})

    return lines


def not_plain(block: bytes) -> list[int]:
    """Starts of the lines of ``block`` that are not plain records (one C-level search per such line)."""
    out = [0] if PLAIN.match(block) is None else []
    end = len(block) - 1
    out += [m.start() + 1 for m in _NOT_PLAIN.finditer(block) if m.start() < end]
    return out


# --- helpers of the block path ----------------------------------------------------------------------------------

def member_blocks(stream: BinaryIO, ctx: ParseContext, size: int, max_line: int) -> Iterator[tuple[bytes, int]]:
    """The blocks of a UTF-8 member (:func:`parsers.text.read_blocks`), each with the number of lines before it.
    A leading BOM becomes an empty line 0, so that offsets and line numbers agree with
    :func:`parsers.text.iter_lines`; lines past ``max_line`` are counted and said in one problem once the last
    block was taken, as ``iter_lines`` does, and lines are cleaned as it cleans them (:func:`parsers.text.clean_block`:
    no escape sequence or e-mail quote mark reaches the scan; a paste's margin, found in the same first bytes, is
    dropped)."""
    import numpy as np  # the scan's arrays are numpy's: imported with the block path

    base = 0
    truncated = 0
    first = True
    stream = peekable(stream)
    wide = head_margin(stream.peek(4096)[:4096]).encode()  # type: ignore[attr-defined]  # as iter_lines finds it
    indent = re.compile(b"^" + re.escape(wide), re.MULTILINE) if wide else None  # a paste's margin
    for data in read_blocks(stream, size, max_line):
        block = data
        if first:
            first = False
            if block.startswith(codecs.BOM_UTF8):
                block = b"\n" + block[3:]
                base = -1
        truncated += long_lines(block, max_line)
        block = clean_block(block)
        if indent is not None:
            block = indent.sub(b"", block)
        yield block, base
        base += int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))  # 3x faster than bytes.count
    if truncated:
        ctx.problem("problem.lines_truncated", n=truncated, limit=max_line)


def long_lines(block: bytes, max_line: int) -> int:
    """How many lines of ``block`` are ``max_line`` bytes or longer (newline not counted): they get truncated."""
    return len(long_starts(block, max_line))


def long_starts(block: bytes, max_line: int) -> list[int]:
    """The starts of the lines of ``block`` that are ``max_line`` bytes or longer (newline not counted).

    Jumps half a limit at a time to the last newline in reach, so only a window with no newline at all
    (a long line inside it) costs a closer look.
    """
    step = max(1, max_line // 2)
    out: list[int] = []
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
            out.append(i)
        i = stop + 1
    return out


def line_text(block: bytes, start: int, stop: int, max_line: int) -> str:
    """One line as :func:`parsers.text.iter_lines` gives it (cut at ``max_line``, line end stripped)."""
    raw = block[start:stop]
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if len(raw) >= max_line:
        raw = raw[:max_line]
    return raw.rstrip(b"\r\n").decode("utf-8", "replace")



class PlainCounts:
    """Plain records counted in bulk: per hour (their stamp's first 13 bytes, ``YYYY-MM-DD?HH`` or ``YYYY/MM/DD HH``)
    and the earliest and latest stamps (``width`` bytes of one fixed form: bytes order is time order)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.hours: dict[bytes, int] = {}
        self.range: tuple[bytes, bytes] | None = None

    def add(self, block: bytes, start: int, stop: int, gaps: Gaps | None = None) -> tuple[bytes, int]:
        """Count the plain records of ``block[start:stop]`` (whole records; ``gaps``: lines among them that only
        continue the record before, not counted): the stamp of the last one, how many."""
        w = self.width
        last = max(block.rfind(b"\n", start, stop - 1) + 1, start) if gaps is None else record_start(block, start,
                                                                                                     stop, gaps)
        first_stamp, last_stamp = block[start:start + w], block[last:last + w]
        n = hours(block, start, stop, self.hours, gaps)
        if self.range is None:
            self.range = (first_stamp, last_stamp)
        else:
            lo, hi = self.range
            self.range = (min(lo, first_stamp), max(hi, last_stamp))
        return last_stamp, n

    def report(self, ctx: ParseContext, time: Callable[[bytes], datetime], local: bool) -> None:
        """Hand the counts to ``ctx`` (``time``: a stamp's time, as the record's event would have it) and start
        afresh: a log of more than :data:`parsers.hour_counts.SPILL_HOURS` hours is handed on in parts, so what
        waits stays small."""
        if self.range is not None:
            per_hour = [(datetime.fromisoformat(h.decode().replace("/", "-") + ":00"), k)
                        for h, k in sorted(self.hours.items()) if k]
            ctx.count_span(per_hour, time(self.range[0]), time(self.range[1]), local)
        self.hours, self.range = {}, None


def plain_time(stamp: bytes) -> datetime:
    """The time of a plain record from its first 27 bytes (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)."""
    return datetime.fromisoformat(stamp.decode())


_EPOCH_DAYS = 719162  # days from 0001-01-01 to 1970-01-01


def ages(block: bytes, starts: np.ndarray) -> np.ndarray:
    """Microseconds since 0001-01-01 of the plain records starting at ``starts`` (wall clock, as
    :func:`parsers.base.age` gives it for an event)."""
    import numpy as np
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    buf = np.frombuffer(block, dtype=np.uint8)
    d = buf[starts[:, None] + np.arange(26)].astype(np.int64) - 48

    def num(a: int, b: int) -> np.ndarray:
        out = np.zeros(len(starts), dtype=np.int64)
        for k in range(a, b):
            out = out * 10 + d[:, k]
        return out

    y, m, day = num(0, 4), num(5, 7), num(8, 10)
    # days from civil (Howard Hinnant's algorithm), 1970-based, then shifted to 0001-01-01
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468 + _EPOCH_DAYS
    secs = days * 86400 + num(11, 13) * 3600 + num(14, 16) * 60 + num(17, 19)
    return secs * 1_000_000 + num(20, 26)


def hours(block: bytes, start: int, end: int, into: dict[bytes, int], gaps: Gaps | None = None) -> int:
    """Add the plain records of ``block[start:end]`` (whole records; the lines of ``gaps`` in it continue them
    and are not counted) per hour to ``into`` (``YYYY-MM-DDTHH`` -> n); how many they are.

    Logs are time-ordered within a file, so the lines of one hour are contiguous: only the first and last
    records are read, and a span whose ends lie in different hours is halved (at a record) until each part is
    one hour. A line out of order is counted in the hour of the part it falls in (see docs/performance.md).
    """
    last = block.rfind(b"\n", start, end - 1) + 1 if gaps is None else record_start(block, start, end, gaps)
    hour = block[start:start + 13]
    if last <= start or block[last:last + 13] == hour:
        n = block.count(b"\n", start, end) - (gaps.lines(start, end) if gaps is not None else 0)
        into[hour] = into.get(hour, 0) + n
        return n
    mid = block.find(b"\n", (start + end) // 2) + 1
    if gaps is not None:
        j = gaps.inside(mid)
        if j >= 0:  # a continuation line: the record after it
            mid = gaps.ends[j]
    if mid <= start or mid >= end:  # two records: the cut falls inside the last one
        mid = last
    return hours(block, start, mid, into, gaps) + hours(block, mid, end, into, gaps)


def record_start(block: bytes, start: int, end: int, gaps: Gaps | None = None) -> int:
    """The start of the last record of ``block[start:end]`` (whole records, ``gaps`` their continuation lines)."""
    last = max(block.rfind(b"\n", start, end - 1) + 1, start)
    if gaps is not None:
        j = gaps.inside(last)
        if j >= 0:
            last = max(block.rfind(b"\n", start, gaps.starts[j] - 1) + 1, start)
    return last


class Gaps:
    """Lines of a block counted with the record before them, not as records (an alarm's traceback): spans
    ``[starts[j], ends[j])`` of ``lines[j]`` lines each, in order."""

    def __init__(self, starts: list[int], ends: list[int], lines: list[int]) -> None:
        self.starts, self.ends = starts, ends
        self.before = [0, *accumulate(lines)]  # lines of the spans before each

    def lines(self, start: int, stop: int) -> int:
        """How many lines of the spans lie in ``[start, stop)`` (a span lies wholly inside or outside)."""
        return self.before[bisect_left(self.starts, stop)] - self.before[bisect_left(self.starts, start)]

    def inside(self, at: int) -> int:
        """The span holding offset ``at``, or -1."""
        j = bisect_right(self.starts, at) - 1
        return j if j >= 0 and at < self.ends[j] else -1
