"""Backup attempts and the time window detectors judge.

A bundle often holds weeks of logs: an old failure that recovered must not be reported as the cause of
today's failing backup. The window starts 6 h before the first backup attempt of the last 3 days of
evidence and runs to the end of the evidence; ``--since/--until`` restrict the evidence first.
A hit that a successful snapshot (or a detector's own recovery record) follows is "recovered".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.clock import resolve_facts
from analyzer.model import Analysis
from parsers.base import Event, Fact

LOOKBACK = timedelta(days=3)
LEAD = timedelta(hours=6)
VMSNAPSHOT = re.compile(r"VMSnapshot|RecoveryServices|IaaSBcdr", re.IGNORECASE)
_SUCCESS_TEXT = re.compile(r"snapshotall ends|Enable Succeeded|Snaphotting \(Host\) Completed", re.IGNORECASE)
_SUCCESS_CODES = {0, 1}
_EVENT_SOURCES = ("waagent_log", "wa_app_agent_log", "vmsnapshot_log")  # their attempts are events already


def parse_ts(value: Any) -> datetime | None:
    """An ISO-8601 string or datetime as aware UTC; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def about_vmsnapshot(e: Event) -> bool:
    """The event concerns the backup extension (by its extension attribute, message or file)."""
    return bool(VMSNAPSHOT.search(f"{e.attrs.get('extension', '')} {e.path} {e.message}"))


@dataclass(frozen=True)
class Attempt:
    """One backup attempt: the extension invoked, a settings file's command start, a snapshot start."""

    ts: datetime
    what: str
    path: str
    line: int | None
    text: str
    seq: str | None = None
    task_id: str | None = None


@dataclass
class Scope:
    events: list[Event]  # notable events inside --since/--until, UTC order
    start: datetime | None  # window start (None = the whole evidence)
    end: datetime | None
    attempts: list[Attempt] = field(default_factory=list)
    successes: list[datetime] = field(default_factory=list)
    # newest success and newest time per kind, so that followed_by is O(1) per hit
    _newest_success: datetime | None = field(init=False, repr=False, default=None)
    _latest: dict[str, datetime] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._newest_success = max(self.successes, default=None)
        for e in self.events:
            if e.ts is not None and (e.kind not in self._latest or e.ts > self._latest[e.kind]):
                self._latest[e.kind] = e.ts

    @classmethod
    def of(cls, analysis: Analysis) -> Scope:
        resolve_facts(analysis.facts, analysis.timeline.zone)  # no naive fact time reaches a detector
        since, until = analysis.options.since, analysis.options.until
        events = [e for e in analysis.timeline.notable if _inside(e.ts, since, until)]
        dated = [e.ts for e in events if e.ts is not None]
        end = max(dated) if dated else None
        if analysis.timeline.last is not None and (end is None or analysis.timeline.last > end):
            end = analysis.timeline.last
        if until is not None and (end is None or end > until):
            end = until
        attempts = sorted((a for a in _attempts(events, analysis.facts) if _inside(a.ts, since, until)),
                          key=lambda a: a.ts)
        if end is None and attempts:
            end = attempts[-1].ts
        recent = [a for a in attempts if end is None or a.ts >= end - LOOKBACK]
        start = recent[0].ts - LEAD if recent else (end - LOOKBACK if end else None)
        if since is not None and (start is None or start < since):
            start = since
        successes = sorted(t for t in _successes(events, analysis.facts) if _inside(t, since, until))
        return cls(events, start, end, attempts, successes)

    def in_window(self, ts: datetime | None) -> bool:
        return ts is None or self.start is None or ts >= self.start

    def followed_by(self, ts: datetime | None, kinds: Iterable[str] = ()) -> bool:
        """A successful snapshot, or an event of ``kinds``, comes after ``ts``."""
        if ts is None:
            return False
        if self._newest_success is not None and self._newest_success > ts:
            return True
        return any(k in self._latest and self._latest[k] > ts for k in set(kinds))

    def live(self, ts: datetime | None, recovery_kinds: Iterable[str] = ()) -> bool:
        """Inside the window and not recovered afterwards: evidence about the failing backup."""
        return self.in_window(ts) and not self.followed_by(ts, recovery_kinds)

    @property
    def last_attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def last_attempt_ok(self) -> bool:
        """The newest attempt ended with a snapshot (or, without attempts, some snapshot succeeded)."""
        if not self.successes:
            return False
        last = self.last_attempt
        return last is None or self.successes[-1] >= last.ts

    def window_events(self, *kinds: str) -> list[Event]:
        wanted = set(kinds)
        return [e for e in self.events if e.kind in wanted and self.in_window(e.ts)]


def _inside(ts: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if ts is None:
        return True
    return (since is None or ts >= since) and (until is None or ts <= until)


def _attempts(events: list[Event], facts: list[Fact]) -> list[Attempt]:
    """Backup attempts, once per (time, kind of record): ``command_start`` = when the backup service asked
    (settings and status files), ``enable`` = when the agent ran the extension, ``snapshot.start`` =
    when the extension began."""
    found: dict[tuple[datetime, str], Attempt] = {}
    for e in events:
        if e.ts is None:
            continue
        if e.kind == "extension.enable" and about_vmsnapshot(e):
            what = "command_start" if e.source == "extension_state" else "enable"
            found.setdefault((e.ts, what), Attempt(e.ts, what, e.path, e.line, e.message, _str(e.attrs.get("seq"))))
        elif e.kind == "snapshot.start":
            found.setdefault((e.ts, "snapshot.start"), Attempt(e.ts, "snapshot.start", e.path, e.line, e.message,
                                                               _str(e.attrs.get("seq")), _str(e.attrs.get("task_id"))))
    for f in facts:  # agent-log invocations are already events (in UTC); these come from state files
        value = f.value if isinstance(f.value, dict) else {}
        if f.name != "vmsnapshot.invocation" or value.get("source") in _EVENT_SOURCES:
            continue
        ts = parse_ts(value.get("ts")) or parse_ts(f.ts)
        what = "command_start" if value.get("source") in ("settings", "status") else "invocation"
        if ts is not None:
            found.setdefault((ts, what), Attempt(ts, what, f.path, f.line, f.text or f"backup requested {value}",
                                                 _str(value.get("seq")), _str(value.get("task_id"))))
    return list(found.values())


def _successes(events: list[Event], facts: list[Fact]) -> Iterable[datetime]:
    for e in events:
        if e.ts is not None and _is_success(e):
            yield e.ts
    for f in facts:
        if f.name != "extension.status" or not isinstance(f.value, dict):
            continue
        if VMSNAPSHOT.search(f"{f.value.get('extension', '')} {f.path}") and _success(f.value):
            ts = parse_ts(f.value.get("ts")) or parse_ts(f.ts)
            if ts is not None:
                yield ts


def _is_success(e: Event) -> bool:
    if e.kind == "snapshot.done":
        return True
    if e.kind == "snapshot.status" and _success_code(e.attrs.get("ext_code")):
        return True
    if e.kind == "extension.status":
        statuses = e.attrs.get("statuses")  # "All extensions ... reached a terminal state: [(name, status)]"
        if isinstance(statuses, dict):
            return any(VMSNAPSHOT.search(k) and str(v).lower() == "success" for k, v in statuses.items())
        return about_vmsnapshot(e) and _success(e.attrs)
    return e.kind.startswith("snapshot.") and bool(_SUCCESS_TEXT.search(e.message))


def _success(attrs: dict[str, Any]) -> bool:
    return str(attrs.get("status", "")).lower() == "success"


def _success_code(value: Any) -> bool:
    return as_int(value) in _SUCCESS_CODES


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
