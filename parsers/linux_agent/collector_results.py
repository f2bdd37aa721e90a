"""``results.txt`` of ``waagent -collect-logs``: the collector's own log and its directory listings.

Recent agents write Python logging lines in UTC; the manifest's ``ll`` entries log the output of
``ls -alF`` as continuation lines (agents 2.2.53-2.x wrote the same text without time stamps)::

    2024-01-05T12:00:00Z INFO Output of command [ls -alF /var/lib/waagent]:
    drwxr-xr-x  4 root root  4096 Jan  5 11:58 Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9225.0/
    2024-01-05T12:00:01Z INFO Adding file /var/log/waagent.log, size 123b

Every listed entry becomes a ``collector.file_listed`` fact (directories keep their ``/``), so the
report knows which files existed even when they were not collected; ``WALinuxAgent-<ver>/`` and
VMSnapshot extension directories also give ``agent.version_present`` / ``vmsnapshot.version``.
The time-stamped lines are ordinary timeline events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.state.extension_state import handler_from_path, is_vmsnapshot
from parsers.text import head_text, iter_lines

_LOG = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)")
_LS_HEADER = re.compile(r"Output of command \[ls -alF (\S{1,4096})\]:")
_LS_ENTRY = re.compile(
    r"(?P<type>[-bcdlpsD])[-rwxsStTl]{9}[.+@]?\s+\d+\s+\S+\s+\S+\s+(?:\d+,\s*)?\d+\s+"
    r"(?:\S{3,5}\s+\d{1,2}\s+(?:\d{1,2}:\d\d|\d{4})|\d{4}-\d\d-\d\d[ T][\d:.]+(?: [+-]\d{4})?)\s(?P<name>.+)")
_INDICATOR = {"d": "/", "l": "@", "p": "|", "s": "=", "D": ">"}
_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "ERROR": "error", "CRITICAL": "critical"}


def _entry(directory: str, kind: str, name: str, line: int, ctx: ParseContext) -> None:
    name = name.split(" -> ", 1)[0] if kind == "l" else name
    if name.endswith(_INDICATOR.get(kind, "*")):
        name = name[:-1]
    if name in (".", "..", ""):
        return
    path = f"{directory}/{name}" + ("/" if kind == "d" else "")
    ctx.fact("collector.file_listed", path, line=line)
    if kind != "d":
        return
    extension, version = handler_from_path(f"{directory}/{name}/x")
    if extension == "WALinuxAgent" and version:
        ctx.fact("agent.version_present", version, line=line, text=path)
    elif is_vmsnapshot(extension) and version:
        ctx.fact("vmsnapshot.version", version, line=line, text=path)


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    directory: str | None = None
    for n, line in iter_lines(stream, ctx):
        text = line
        m = _LOG.fullmatch(line)
        if m:
            directory = None
            text = m.group(3)
            ts = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            yield ctx.event(ts, n, text, level=_LEVELS[m.group(2)], component="logcollector")
        header = _LS_HEADER.search(text)
        if header:
            directory = header.group(1).rstrip("/")
            continue
        if directory is None or m:
            continue
        entry = _LS_ENTRY.fullmatch(line)
        if entry:
            _entry(directory, entry["type"], entry["name"], n, ctx)
        elif line.strip() and not line.startswith("total "):
            directory = None  # the listing ended (agents without time stamps)


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return "Output of command [ls -alF" in text or "### Gathering Configuration Files" in text \
        or "### Probing Directories" in text


PARSER = Parser(name="collector_results", parse=parse, sniff=sniff,
                description="results.txt of waagent -collect-logs (collector log and ls -alF listings)")
