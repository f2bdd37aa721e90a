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
error-code names (``ExtensionFailedVssWriterInBadState``), ``StatusCode.*`` values, timeouts and the
blob snapshot-limit texts. The extension version comes from the folder name (``vmsnapshot.version``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from parsers.base import GENERIC_KIND, Event, ParseContext, Parser
from parsers.text import iter_lines
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
_ERROR_CODE = re.compile(r"\b((?:UserError|Extension|GuestAgent|VMRestorePoint|BCM)[A-Z]\w{5,})\b")
_STATUS_CODE = re.compile(r"StatusCode\.(\w+)|status\s*code\s*[:=]\s*(\d+)", re.I)
_LIMIT = re.compile(r"snapshot count against this blob has been exceeded|rate of snapshot blob calls is exceeded", re.I)
_CRP_TIMEOUT = re.compile(r"CRP timeout limit has reached", re.I)
_VSS_HRESULT = re.compile(r"^0x8004(?:23|24|E0)", re.I)
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
    if m := _ERROR_CODE.search(message):
        attrs["error_code"] = m.group(1)
    if m := _STATUS_CODE.search(message):
        attrs["status_code"] = m.group(1) or m.group(2)
    failing = level in ("warning", "error", "critical") or re.search(r"fail|error|exception|bad state", message, re.I)
    if _LIMIT.search(message):
        return "snapshot.limit", attrs
    if _CRP_TIMEOUT.search(message) or ("timed out" in found and ("snapshot" in found or "vss" in found)):
        return "snapshot.timeout", attrs
    if any(_VSS_HRESULT.match(c) for c in codes) or (failing and {"vss", "writer", "com+"} & set(found)):
        return "vss.error", attrs
    if "status_code" in attrs or "error_code" in attrs:
        return "snapshot.status", attrs
    return GENERIC_KIND, attrs


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    if m := _FOLDER_VERSION.search(ctx.path.replace("\\", "/")):
        ctx.fact("vmsnapshot.version", m.group(1), text=f"folder of {ctx.path}")
    times = LocalTimes()
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
            yield _event(ctx, current)
        rec.line = number
        current = rec
    if current is not None:
        yield _event(ctx, current)


def _event(ctx: ParseContext, rec: _Record) -> Event:
    message = "\n".join(rec.lines)
    kind, attrs = classify(message, rec.level)
    if rec.assumed_utc:
        attrs["tz"] = "assumed-utc"
    return ctx.event(rec.ts, rec.line, message, level=rec.level, component="IaaSBcdrExtension", kind=kind, **attrs)


PARSER = Parser(name="vmsnapshot_windows_log", parse=parse,
                description="Windows VMSnapshot extension logs (IaaSBcdrExtension*.log; opaque, keyword evidence)")
