"""VMSnapshotLinux backup extension logs: ``extension.log`` and ``shell.log`` (linux-formats.md §2.7).

extension.log comes in two writers' forms, e.g. Python 3 (UTC, no space after the prefix)

    2024-01-14 22:16:48.792020 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]PreSnapshot: Status Code: 200

and Python 2 (local time, every line prefixed, continuation lines without ``[...]``). Lines buffered
while filesystems were frozen (``YYYY-MM-DD HH:MM:SS.ffffff  Info  msg``, between ``Logs during
Freeze Start/End``) keep the clock of the file's writer; safefreeze output between ``Binary output
traces start/end`` is local time. A Python 2 run's ``command start time is <UTC> and utcNow is <UTC>``
record reads the clock twice: its local prefix and its ``utcNow`` are one moment (``tz.pairs``,
:mod:`parsers.clock_pairs`). shell.log lines are ``date -u`` stamps:
``Mon Nov 18 00:05:10 UTC 2019- python version unknown``. Kinds come from the shared signature table
(status codes with their extension code, CRP timeout, freeze/thaw, snapshot limits, storage errors).

Two paths give the same events, counts, facts and problems. The per-line path is the reference and serves the
full timeline. When ordinary records are only counted (``ctx.counter``), a member of :data:`BLOCK_MIN` bytes or
more is read in blocks scanned by the C line scan (:func:`parsers.linux_agent._block_scan.extension_scanner`):
a *plain* line is a Python 3 record (``YYYY-MM-DD HH:MM:SS.ffffff [prefix]message``, a date the calendar has) or
a Python 2 one (``YYYY/MM/DD HH:MM:SS [prefix]message``, local time, a message that does not start with a digit).
Plain records whose message holds no needle of the signature table, or whose first row decides an ordinary
kind, are counted per hour without being decoded; those whose kind the text decides (``Status Code: 200``)
are classified once per distinct message; runs are cut where the writer changes (its clock). Python reads every
other line through the same state machine: lines that are not plain (freeze buffers, safefreeze output,
tracebacks, Python 2 continuation lines), the records they may continue, notable records and those of
:data:`STATE_NEEDLES` (frames, sequence numbers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from parsers import hour_counts
from parsers.base import GENERIC_KIND, Event, ParseContext, Parser
from parsers.clock_pairs import PairVotes
from parsers.linux_agent import _block_scan
from parsers.linux_agent._record import MAX_CONTINUATION, VMSNAPSHOT, split_prefix
from parsers.linux_agent._signatures import AGENT_TABLE
from parsers.signatures import SignatureTable
from parsers.text import head_text, iter_lines, replay, sniff_encoding

if TYPE_CHECKING:  # numpy is imported on the block path only: a small bundle's start does without it
    import numpy as np

BLOCK = 4 * 1024 * 1024
#: members smaller than this are read line by line (no scanner to build, same result)
BLOCK_MIN = 1024 * 1024
#: needles of lines that change the parser's state or give a fact whatever their kind: the freeze and
#: safefreeze frames (``_FRAMES``) and sequence numbers (``_SEQ``); such lines are always read
STATE_NEEDLES = ("=====", "seqNo:", "equence")
_STAMP = 26  # bytes of a plain Python 3 record's stamp, ``YYYY-MM-DD HH:MM:SS.ffffff``
_PREFIX_AT = 27  # where its ``[prefix]`` starts
_PY2_STAMP = 19  # a plain Python 2 record's, ``YYYY/MM/DD HH:MM:SS`` (local time)
_PY2_PREFIX_AT = 20
_MEMO_KEY = 2048  # bytes of the longest message whose verdict is remembered; a longer text-decided record is read

_PY2 = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) (.*)")
_PY3 = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\[[^\]]*\])?(.*)")
_BUFFERED = re.compile(r"(\d{4}[-/]\d\d[-/]\d\d \d\d:\d\d:\d\d\.\d+)  (\w+)  (.*)")
_BINARY = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)")
_SHELL = re.compile(r"\w{3} (\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\w+) (\d{4})- ?(.*)")
_FRAMES = (("Logs during Freeze Start", "freeze", True), ("Logs during Freeze End", "freeze", False),
           ("Binary output traces start", "binary", True), ("Binary output traces end", "binary", False))
_PREFIX = re.compile(r"\[[^\]]*\]")
_SEQ = re.compile(r"seqNo:\s*(\d+)|[Ss]equence ?[Nn]umber\D{0,16}(\d+)")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), 1)}
# ExtensionErrorCodeEnum values that are no failure: success_appconsistent, success, SuccessAlreadyProcessedInput,
# ExtensionTempTerminalState (the transitioning status before the snapshot daemon runs)
_NOT_FAILED = frozenset({0, 1, 3, 4})
_LEVELS = {"info": "info", "warning": "warning", "warn": "warning", "error": "error", "verbose": "verbose",
           "debug": "debug", "critical": "critical"}


class _Rec:
    __slots__ = ("attrs", "component", "level", "line", "lines", "local", "ts")

    def __init__(self, line: int, ts: datetime | None, local: bool, component: str, msg: str,
                 level: str = "info", **attrs: Any) -> None:
        self.line, self.ts, self.local, self.component, self.level = line, ts, local, component, level
        self.lines = [msg]
        self.attrs = attrs


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    if ctx.counter is None:  # the full timeline: every record is an event anyway
        yield from parse_lines(stream, ctx)
        return
    head = stream.read(BLOCK_MIN)
    scan = _block_scan.extension_scanner(AGENT_TABLE, STATE_NEEDLES) if len(head) >= BLOCK_MIN else None
    if scan is not None and sniff_encoding(head[:4096]) in ("utf-8", "utf-8-sig"):
        yield from parse_blocks(replay(head, stream), ctx, scan)
    else:
        yield from parse_lines(replay(head, stream), ctx)


def parse_lines(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    """The reference path: every line through the state machine."""
    state = _State(ctx)
    for n, line in iter_lines(stream, ctx):
        e = state.line(n, line)
        if e is not None:
            yield e
    yield from state.finish()


def parse_blocks(stream: BinaryIO, ctx: ParseContext, scan: _block_scan.Scan, block_size: int = BLOCK,
                 max_line: int | None = None) -> Iterator[Event]:
    """The block path: what :func:`parse_lines` gives when ordinary records are counted (``ctx.counter``);
    lines are cut at ``max_line`` (default: the context's, ``Limits.max_line``)."""
    max_line = max_line or ctx.max_line
    state = _State(ctx)
    utc, local = _block_scan.PlainCounts(_STAMP), _block_scan.PlainCounts(_PY2_STAMP)
    hot = _Hot(AGENT_TABLE, max_line)
    for block, base in _block_scan.member_blocks(stream, ctx, block_size, max_line):
        cur, n = 0, base  # the next line not yet handled; lines of the file before it
        lines, cuts = hot.lines(block, scan(block))
        c = 0
        for h in lines:
            if h > cur:  # cur..h: plain records, ordinary, each starting a record (the pending one ends)
                e = state.flush()
                if e is not None:
                    yield e
                while cur < h:  # parts of one writer each (its clock)
                    while c < len(cuts) and cuts[c] <= cur:
                        c += 1
                    stop = min(h, cuts[c]) if c < len(cuts) else h
                    if block[cur + 4] == 0x2F:  # YYYY/: the Python 2 writer, local time
                        stamp, k = local.add(block, cur, stop)
                        state.last = (_local(stamp), True)
                    else:
                        stamp, k = utc.add(block, cur, stop)
                        state.last = (_utc(stamp), False)
                        state.py3 = True
                    n += k
                    cur = stop
                if len(utc.hours) + len(local.hours) >= hour_counts.SPILL_HOURS:  # a log of very many hours
                    utc.report(ctx, _utc, False)
                    local.report(ctx, _local, True)
            nl = block.find(b"\n", cur) + 1
            n += 1
            e = state.line(n, _block_scan.line_text(block, cur, nl, max_line))
            if e is not None:
                yield e
            cur = nl
    yield from state.finish()
    utc.report(ctx, _utc, False)
    local.report(ctx, _local, True)


def _utc(stamp: bytes) -> datetime:
    return datetime.fromisoformat(stamp.decode()).replace(tzinfo=UTC)


def _local(stamp: bytes) -> datetime:
    return datetime.fromisoformat(stamp.decode().replace("/", "-"))


class _Hot:
    """Which lines of a block Python reads, from the C scan's verdicts (:mod:`parsers.linux_agent._block_scan`):
    every line but the plain records that are ordinary (no needle in the message, a first row that decides an
    ordinary kind, or a kind the text decides and that is ordinary for this message), the records before a line
    that is not plain (it may continue them), lines past ``max_line`` and the block's last line (the next block
    may continue it)."""

    def __init__(self, table: SignatureTable, max_line: int) -> None:
        import numpy as np
        self.table = table
        self.max_line = max_line
        n = len(table.sigs)  # the last entry stands for "no needle"
        self.ordinary = np.array([s.decisive and s.kind == GENERIC_KIND for s in table.sigs] + [True])
        self.probe = np.array([not s.decisive for s in table.sigs] + [False])
        self.rank_none = n
        self.verdicts: dict[bytes, bool] = {}  # message bytes (from the prefix on) -> ordinary

    def lines(self, block: bytes, found: np.ndarray) -> tuple[list[int], list[int]]:
        """The starts of the lines to read, and of the lines where the writer (and its clock) changes between
        two plain records: the runs counted between the lines read are cut there."""
        import numpy as np
        starts, info = found[:, 0], found[:, 1]
        plain = (info & (_block_scan.PLAIN_BIT | _block_scan.SPECIAL_BIT)) == _block_scan.PLAIN_BIT
        rank = np.minimum(info & _block_scan.RANK_NONE, self.rank_none)
        ordinary = plain & self.ordinary[rank]
        probe = plain & self.probe[rank]
        hot = starts[~ordinary & ~probe].tolist()
        hot += [s for s in starts[probe].tolist() if not self._ordinary(block, s)]
        hot += [block.rfind(b"\n", 0, s - 1) + 1 for s in starts[(info & _block_scan.PLAIN_BIT) == 0].tolist() if s]
        hot += _block_scan.long_starts(block, self.max_line)
        hot.append(block.rfind(b"\n", 0, len(block) - 1) + 1)
        cuts: list[int] = []
        local = starts[(info & _block_scan.LOCAL_BIT) != 0]  # every Python 2 record of the plain shape
        if len(local):
            nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            idx = np.searchsorted(nl, local)  # line numbers in the block
            first = local[~np.isin(idx - 1, idx)]  # a Python 2 record after another line
            after = nl[idx[~np.isin(idx + 1, idx)]] + 1  # the line after a Python 2 record, not one itself
            cuts = sorted({*first.tolist(), *after.tolist()})
        return sorted(set(hot)), cuts

    def _ordinary(self, block: bytes, start: int) -> bool:
        """Whether the plain record at ``start`` is ordinary: its message classified once per distinct text."""
        at = _PY2_PREFIX_AT if block[start + 4] == 0x2F else _PREFIX_AT
        key = block[start + at:block.find(b"\n", start)]
        if len(key) > _MEMO_KEY:  # not remembered: read (what the memo holds stays small)
            return False
        found = self.verdicts.get(key)
        if found is None:
            if len(self.verdicts) >= 8192:
                self.verdicts.clear()
            text = key.rstrip(b"\r").decode("utf-8", "replace")
            kind = self.table.classify(text[text.index("]") + 1:].rstrip())
            found = self.verdicts[key] = kind is None or kind[0] == GENERIC_KIND
        return found


class _State:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.py3 = False
        self.freeze = False
        self.binary = False
        self.last: tuple[datetime | None, bool] = (None, False)
        self.seq: str | None = None
        self.votes = PairVotes(timedelta(seconds=10))  # utcNow is read just before the line is written
        self.pending: _Rec | None = None

    def line(self, n: int, line: str) -> Event | None:
        """Feed line ``n``: the event of the record it ends, if any."""
        rec = self.record(n, line)
        pending = self.pending
        if rec is None:
            if pending is not None and len(pending.lines) < MAX_CONTINUATION:
                pending.lines.append(line)
            return None
        if rec.component == "":  # a Python 2 continuation line: timestamped, but no prefix
            if pending is not None and len(pending.lines) < MAX_CONTINUATION:
                pending.lines.append(rec.lines[0])
            return None
        self.pending = rec
        return self.event_or_count(pending) if pending is not None else None

    def flush(self) -> Event | None:
        """Finish the pending record (the next line starts one)."""
        pending, self.pending = self.pending, None
        return self.event_or_count(pending) if pending is not None else None

    def finish(self) -> Iterator[Event]:
        """The pending record and the clock votes."""
        e = self.flush()
        if e is not None:
            yield e
        self.votes.emit(self.ctx, "local record times beside the utcNow they log")

    def record(self, n: int, line: str) -> _Rec | None:
        """The record starting on ``line``; a record with no component is a Python 2 continuation line."""
        if "=====" in line and self._frame(line) and not line[:1].isdigit():
            return _Rec(n, None, False, VMSNAPSHOT, line.strip(), marker=True)
        if not line[:1].isdigit():
            m = _SHELL.match(line)
            if m is None:
                return None
            mon, day, hh, mm, ss, zone, year, msg = m.groups()
            ts = self._time(n, f"{year}-{_MONTHS.get(mon, 0):02d}-{int(day):02d} {hh}:{mm}:{ss}")
            utc = zone in ("UTC", "GMT")
            return _Rec(n, ts.replace(tzinfo=UTC) if ts and utc else ts, not utc, "shell", msg)
        m = _BUFFERED.match(line)
        if m:
            return self._buffered(n, m, not self.py3)
        if self.binary:
            m = _BINARY.match(line)
            if m:
                return _Rec(n, self._time(n, m.group(1)), True, "safefreeze", m.group(2), binary_output=True)
        m = _PY2.match(line)
        if m:
            rest = m.group(7)
            prefix = _PREFIX.match(rest)
            if prefix is None:
                return _Rec(n, None, True, "", rest)
            rest = rest[prefix.end():]
            inner = _BUFFERED.match(rest)
            if inner:
                return self._buffered(n, inner, True)
            ts = self._time(n, "-".join(m.group(1, 2, 3)) + " " + ":".join(m.group(4, 5, 6)))
            return _Rec(n, ts, True, split_prefix(prefix.group(0))[0], rest, **self._flags())
        m = _PY3.match(line)
        if m:
            self.py3 = True
            ts = self._time(n, m.group(1))
            component = split_prefix(m.group(2))[0] if m.group(2) else VMSNAPSHOT
            return _Rec(n, ts.replace(tzinfo=UTC) if ts else None, False, component, m.group(3), **self._flags())
        return None

    def _buffered(self, n: int, m: re.Match[str], local: bool) -> _Rec:
        ts = self._time(n, m.group(1).replace("/", "-"))
        if ts is not None and not local:
            ts = ts.replace(tzinfo=UTC)
        level = _LEVELS.get(m.group(2).lower(), "info")
        return _Rec(n, ts, local, VMSNAPSHOT, m.group(3).rstrip(), level, buffered=True, **self._flags())

    def _flags(self) -> dict[str, bool]:
        return {"during_freeze": True} if self.freeze else {}

    def _frame(self, line: str) -> bool:
        """Track the freeze-buffer and safefreeze-output frames; True when ``line`` is one."""
        for text, attr, value in _FRAMES:
            if text in line:
                setattr(self, attr, value)
                return True
        return False

    def _time(self, n: int, text: str) -> datetime | None:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.ctx.problem("problem.invalid_timestamp", n)
            return None

    def event_or_count(self, rec: _Rec) -> Event | None:
        """The event of ``rec``, unless it is an ordinary dated record that ``ctx.count`` took (its facts taken)."""
        e = self.event(rec)
        return e if e.notable or e.ts is None or not self.ctx.count(e.ts, e.local) else None

    def event(self, rec: _Rec) -> Event:
        message = "\n".join(rec.lines).rstrip()
        ts, local = (rec.ts, rec.local) if rec.ts is not None else self.last
        self.last = (ts, local)
        attrs = rec.attrs
        kind = GENERIC_KIND
        found = AGENT_TABLE.classify(message)
        if found is not None:
            kind = found[0]
            for k, v in found[1].items():
                attrs.setdefault(k, v)
        level = rec.level
        if kind == "snapshot.status" and attrs.get("ext_code", 0) not in _NOT_FAILED and level == "info":
            level = "error"
        e = self.ctx.event(ts, rec.line, message, level=level, component=rec.component, kind=kind, local=local,
                           **attrs)
        self._facts(e)
        if local and ts is not None and kind == "snapshot.timing":
            utc_now = _utc_now(attrs.get("utc_now"))
            if utc_now is not None:
                self.votes.add(ts, utc_now, rec.line)
        return e

    def _facts(self, e: Event) -> None:
        m = _SEQ.search(e.message) if "eq" in e.message else None
        if m:
            self.seq = m.group(1) or m.group(2)
            e.attrs.setdefault("seq", self.seq)
        task = e.attrs.get("task_id")
        if e.kind == "snapshot.start" and task:
            value = {"ts": e.ts.isoformat() if e.ts else None, "seq": self.seq, "task_id": task,
                     "source": self.ctx.source, "local": e.local}
            self.ctx.fact("vmsnapshot.invocation", value, line=e.line, ts=e.ts, text=e.message[:300])


def _utc_now(text: object) -> datetime | None:
    """``2021-07-06 17:23:55.989891`` (``str(datetime.utcnow())``) as a naive UTC time, else None."""
    try:
        return datetime.fromisoformat(text.strip()) if isinstance(text, str) else None
    except ValueError:
        return None


# the extension's own prefix names the HandlerEnvironment schema "1.0"; the agent's logger for it, a build
_SNIFF = re.compile(r"^\d{4}[-/]\d\d[-/]\d\d \d\d:\d\d:\d\d(?:\.\d+)? \[" + re.escape(VMSNAPSHOT) + r"-1\.0\]",
                    re.MULTILINE)


def sniff(path: str, head: bytes) -> bool:
    """Extension records at line starts (an agent log or a syslog copy that names the extension is not one)."""
    text = head_text(head)
    if _SNIFF.search(text):
        return True
    return (("returned from handle.py" in text or "seqNo:" in text)
            and any(_SHELL.match(line) for line in text.splitlines()))  # a paste's own lines may come first


PARSER = Parser(name="vmsnapshot_log", parse=parse, sniff=sniff,
                description="VMSnapshotLinux extension.log (Python 2/3, freeze buffers, safefreeze) and shell.log")
