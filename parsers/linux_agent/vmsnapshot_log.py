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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from parsers.base import GENERIC_KIND, Event, ParseContext, Parser
from parsers.clock_pairs import PairVotes
from parsers.linux_agent._record import MAX_CONTINUATION, VMSNAPSHOT, split_prefix
from parsers.linux_agent._signatures import AGENT_TABLE
from parsers.text import head_text, iter_lines

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
    state = _State(ctx)
    pending: _Rec | None = None
    for n, line in iter_lines(stream, ctx):
        rec = state.record(n, line)
        if rec is None:
            if pending is not None and len(pending.lines) < MAX_CONTINUATION:
                pending.lines.append(line)
            continue
        if rec.component == "":  # a Python 2 continuation line: timestamped, but no prefix
            if pending is not None and len(pending.lines) < MAX_CONTINUATION:
                pending.lines.append(rec.lines[0])
            continue
        if pending is not None:
            yield from state.event_or_count(pending)
        pending = rec
    if pending is not None:
        yield from state.event_or_count(pending)
    state.votes.emit(ctx, "local record times beside the utcNow they log")


class _State:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.py3 = False
        self.freeze = False
        self.binary = False
        self.last: tuple[datetime | None, bool] = (None, False)
        self.seq: str | None = None
        self.votes = PairVotes(timedelta(seconds=10))  # utcNow is read just before the line is written

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

    def event_or_count(self, rec: _Rec) -> Iterator[Event]:
        """The event of ``rec``, unless it is an ordinary dated record that ``ctx.count`` took (its facts taken)."""
        e = self.event(rec)
        if e.notable or e.ts is None or not self.ctx.count(e.ts, e.local):
            yield e

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
    return ("returned from handle.py" in text or "seqNo:" in text) and _SHELL.match(text) is not None


PARSER = Parser(name="vmsnapshot_log", parse=parse, sniff=sniff,
                description="VMSnapshotLinux extension.log (Python 2/3, freeze buffers, safefreeze) and shell.log")
