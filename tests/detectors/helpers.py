"""Build real ``Analysis`` objects from events and facts (the parser contract), without parsing files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.model import Analysis, Options, SourceEntry
from analyzer.sources import source_row
from analyzer.timeline import Timeline
from parsers.base import GENERIC_KIND, Event, Fact, ParseContext
from parsers.linux_agent._signatures import AGENT_TABLE
from parsers.signatures import SignatureTable

T0 = datetime(2024, 6, 10, 2, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(minutes: float | None, kind: str, message: str = "", level: str = "info", source: str = "waagent_log",
       path: str = "var/log/waagent.log", line: int = 1, **attrs: Any) -> Event:
    """An event as a parser builds it (``ParseContext.event``: an alarm about another extension is marked)."""
    return ParseContext(path, source).event(None if minutes is None else at(minutes), line, message or kind,
                                            level=level, kind=kind, **attrs)


def classified(minutes: float | None, message: str, level: str = "error", table: SignatureTable = AGENT_TABLE,
               **kw: Any) -> Event:
    """An event as a parser's signature table classifies ``message``: its kind, signal and attributes."""
    kind, attrs = table.classify(message) or (GENERIC_KIND, {})
    return ev(minutes, kind, message, level, **kw, **attrs)


def fact(name: str, value: Any, path: str = "etc/waagent.conf", line: int | None = 1,
         minutes: float | None = None, text: str = "") -> Fact:
    return Fact(name, value, path, line, None if minutes is None else at(minutes), text)


def analysis(events: list[Event] = (), facts: list[Fact] = (), present: tuple[str, ...] = ("waagent_log",),
             os: str = "linux", **options: Any) -> Analysis:
    tl = Timeline()
    for e in events:
        tl.add(e)
    tl.finalize(None)
    paths = {s: [f"{s}.file"] for s in present}
    sources = [SourceEntry(p[0], s, "parsed", 1) for s, p in paths.items()]
    evidence: dict[str, list[str]] = {}
    for s in present:  # as api.parse_bundle records it: under the source's name and what its row proves
        row = source_row(s)
        for name in row.evidence if row else (s,):
            evidence.setdefault(name, []).extend(paths[s])
    return Analysis(list(facts), tl, sources, evidence, [], os, "manual-tarball", Options(**options))


VMS = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"


def attempt(minutes: float, line: int = 10) -> Event:
    """The agent invokes the backup extension."""
    return ev(minutes, "extension.enable", "Enable extension: [main/handle.sh enable]", extension=VMS, line=line)


def success(minutes: float) -> Event:
    return ev(minutes, "snapshot.done", "T:S snapshotall ends...", source="vmsnapshot_log", path="extension.log")
