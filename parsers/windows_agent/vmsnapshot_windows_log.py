"""Logs of the Windows VMSnapshot (Azure Backup) extension: ``IaaSBcdrExtension*.log`` and its
``CommandExecution.log`` under
``C:\\WindowsAzure\\Logs\\Plugins\\Microsoft.Azure.RecoveryServices.VMSnapshot\\<ver>\\``.

No public sample of these files exists, so the parser assumes nothing about their layout and never
fails on them. A line that opens with a recognizable time starts a record; the guest agent's own
prefix is read exactly when present::

    [00000010] 2021-01-12T16:35:45Z [ERROR] <message>

and so are ISO times (``2024-03-01 10:00:00,123``, ``...Z``) and US or dotted dates
(``3/1/2024 10:00:00 AM``). Times without a zone are taken as UTC (``attrs.tz = "assumed-utc"``).
Other lines continue the previous record. Each record is searched for the evidence detectors need:
VSS / writer / COM+ / BcdrAgent keywords, HRESULTs (``0x80042314``, signed decimals too), Azure
error codes, by name (``ExtensionFailedVssWriterInBadState``) or by their catalog message (``This drive is
locked by BitLocker ...``, :mod:`parsers.error_messages`), ``StatusCode.*`` values, timeouts and the
blob snapshot-limit texts. A start line (``IaaSBcdrExtension started ... SequenceNumber: 12``, ``TaskId:
<guid>``) is ``snapshot.start``, and it and every record after it carry ``seq`` and ``task_id``; a line
saying the snapshot or enable succeeded is ``snapshot.done``. The extension version comes from the folder
name (``vmsnapshot.version``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from parsers.base import GENERIC_KIND, Event, ParseContext, Parser
from parsers.error_messages import error_code
from parsers.text import iter_lines
from parsers.windows_agent._signatures import IAASBCDR_TABLE
from parsers.windows_agent.wa_app_agent_log import RECORD, time_format_a, time_iso
from parsers.windows_events._records import LocalTimes, hresults

KEYWORDS = {
    "vss": re.compile(r"\bVSS\b|shadow copy", re.I),
    "writer": re.compile(r"\bwriters?\b", re.I),
    "timed out": re.compile(r"timed out|time-?outs? (?:expired|occurred|reached|error)", re.I),
    "snapshot": re.compile(r"snapshot", re.I),
    "com+": re.compile(r"COM\+|\bMSDTC\b", re.I),
    "bcdragent": re.compile(r"BcdrAgent|IsProviderInstalled|IsCommonProviderInstalled", re.I),
    "provider": re.compile(r"IaaSVmProvider|VSS provider", re.I),
}
_ISO_START = re.compile(r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]?")
_LEVEL = re.compile(r"\b(ERROR|WARN(?:ING)?|INFO|VERBOSE|DEBUG|TRACE|FATAL|CRITICAL)\b", re.I)
_LEVELS = {"error": "error", "warn": "warning", "warning": "warning", "info": "info", "verbose": "verbose",
           "debug": "debug", "trace": "debug", "fatal": "critical", "critical": "critical"}
_STATUS_CODE = re.compile(r"StatusCode\.(\w+)|status\s*code\s*[:=]\s*(\d+)", re.I)
_VSS_HRESULT = re.compile(r"^0x8004(?:23|24|E0)", re.I)
_STARTED = re.compile(r"IaaSBcdrExtension\S*\s+(?:\w+\s+)?start(?:ed|ing)\b|\bstarting (?:enable|IaaSBcdrExtension)\b",
                      re.I)
_SEQ = re.compile(r"\bSeq(?:uence)?\s*(?:No|Number|Num)?\s*[:=]\s*(?P<seq>\d+)\b", re.I)
_TASK = re.compile(r"\bTask\s*Id\s*[:=]\s*(?P<task>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I)
_DONE = re.compile(r"\b(?:Enable|Snapshot(?:ting)?|Backup)\b[^.]{0,80}?\b(?:succeeded|completed successfully)\b", re.I)
_NEGATED = re.compile(r"\bnot\b|\bfail|\berror", re.I)
_FOLDER_VERSION = re.compile(r"microsoft\.azure\.recoveryservices\.vmsnapshot/(\d+(?:\.\d+){1,3})/", re.I)
MAX_RECORD_LINES = 500


@dataclass
class _Record:
    line: int
    ts: datetime | None
    level: str
    lines: list[str] = field(default_factory=list)
    assumed_utc: bool = False


def _start(text: str, times: LocalTimes) -> _Record | None:
    """A record when ``text`` opens with a time, else None."""
    if m := RECORD.match(text):
        ts = time_format_a(m.group("ts_a")) if m.group("ts_a") else time_iso(m.group("ts_b"))
        return _Record(0, ts, _LEVELS.get(m.group("level").lower(), "info"), [m.group("msg")])
    if not text[:1].isdigit() and not text.startswith("["):
        return None
    if m := _ISO_START.match(text):
        ts = time_iso(m.group(1))
        zoned = m.group(1).endswith("Z") or bool(re.search(r"[+-]\d{2}:?\d{2}$", m.group(1)))
        rest = text[m.end():]
    else:
        ts = times.parse(text[:40], at_start=True)
        zoned, rest = False, text
        if ts is not None:
            ts = ts.replace(tzinfo=UTC)
    if ts is None:
        return None
    level = _LEVEL.search(rest[:40])
    return _Record(0, ts, _LEVELS[level.group(1).lower()] if level else "info", [text], assumed_utc=not zoned)


def classify(message: str, level: str) -> tuple[str, dict[str, Any]]:
    """Kind and evidence attrs of one record of the extension's log."""
    attrs: dict[str, Any] = {}
    found = [name for name, rx in KEYWORDS.items() if rx.search(message)]
    if found:
        attrs["keywords"] = found
    codes = hresults(message)
    if codes:
        attrs["hresults"] = codes
        attrs["hresult"] = codes[0]
    if code := error_code(message):
        attrs["error_code"] = code
    if m := _STATUS_CODE.search(message):
        attrs["status_code"] = m.group(1) or m.group(2)
    failing = level in ("warning", "error", "critical") or re.search(r"fail|error|exception|bad state", message, re.I)
    if _STARTED.search(message):
        return "snapshot.start", attrs
    if signature := IAASBCDR_TABLE.classify(message):
        attrs.update(signature[1])
        if signature[0] != GENERIC_KIND:
            return signature[0], attrs
    if "timed out" in found and ("snapshot" in found or "vss" in found):
        return "snapshot.timeout", attrs
    if any(_VSS_HRESULT.match(c) for c in codes) or (failing and {"vss", "writer", "com+"} & set(found)):
        return "vss.error", attrs
    if "status_code" in attrs or "error_code" in attrs:
        return "snapshot.status", attrs
    if _DONE.search(message) and not _NEGATED.search(message):
        return "snapshot.done", attrs
    return GENERIC_KIND, attrs


class _Run:
    """The sequence number and task id of the run the log is in: a start line names them (``IaaSBcdrExtension
    started ... SequenceNumber: 12``, ``TaskId: <guid>``, on one line or the next ones); every record after
    it carries them, until the next start."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self.task_id: str | None = None

    def mark(self, kind: str, message: str, attrs: dict[str, Any]) -> str:
        """Note the run a record names, put it in ``attrs``; the kind (a new task id starts a run too)."""
        seq, task = _SEQ.search(message), _TASK.search(message)
        if kind == "snapshot.start":  # a start line: a new run
            self.seq, self.task_id = None, None
        elif task and kind == GENERIC_KIND and task.group("task").lower() != self.task_id:
            kind = "snapshot.start"  # the start line's task id on a line of its own
        if seq:
            self.seq = int(seq.group("seq"))
        if task:
            self.task_id = task.group("task").lower()
        if self.seq is not None:
            attrs["seq"] = self.seq
        if self.task_id is not None:
            attrs["task_id"] = self.task_id
        return kind


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    if m := _FOLDER_VERSION.search(ctx.path.replace("\\", "/")):
        ctx.fact("vmsnapshot.version", m.group(1), text=f"folder of {ctx.path}")
    times = LocalTimes()
    run = _Run()
    current: _Record | None = None
    for number, text in iter_lines(stream, ctx):
        rec = _start(text, times)
        if rec is None:
            if current is None:
                if not text.strip():
                    continue
                current = _Record(number, None, "info", [])
            if len(current.lines) < MAX_RECORD_LINES:
                current.lines.append(text)
            continue
        if current is not None:
            yield _event(ctx, current, run)
        rec.line = number
        current = rec
    if current is not None:
        yield _event(ctx, current, run)


def _event(ctx: ParseContext, rec: _Record, run: _Run) -> Event:
    message = "\n".join(rec.lines)
    kind, attrs = classify(message, rec.level)
    kind = run.mark(kind, message, attrs)
    if rec.assumed_utc:
        attrs["tz"] = "assumed-utc"
    return ctx.event(rec.ts, rec.line, message, level=rec.level, component="IaaSBcdrExtension", kind=kind, **attrs)


PARSER = Parser(name="vmsnapshot_windows_log", parse=parse,
                description="Windows VMSnapshot extension logs (IaaSBcdrExtension*.log; opaque, keyword evidence)")
