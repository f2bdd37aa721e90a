"""Unexplained errors: the warnings and errors of the window that no finding explains, grouped and ranked.

A VM whose agent logged errors that no detector knows is not healthy: those records are a lead. The
candidates are the alarms (``Event.alarm``: warning and above, not marked routine or unrelated by their
parser) of the logs (agent, extension and Windows event logs; not state files) inside the analysis window.
Records about another extension (one that names a handler other than the backup extension: CustomScript, OMS,
the Monitoring Agent...) are unrelated to the backup question, and not candidates, when the bundle shows backup
runs to judge the backup by; without any (a paste of the agent's log around another extension's failure), such
a record is the only lead and stays one. A candidate is *explained* when it is a record a finding matched, at
any severity (``Finding.explains``), a stage of a backup run that succeeded, or a stage marker of any run (the
agent invoking the extension, waiting for its status file: how far the run got, not why it failed;
SNAPSHOT_TIMEOUT reads them for a run that never ended). The others are grouped into templates
(:mod:`analyzer.log_templates`) and ranked: those near the failing backup first (within an hour, then six
hours), then by count. When no finding at warning or above is live, the record that ended the newest run with
an error is a candidate whatever its level (a status file, the agent's report of it): a failed backup that
nothing explains is a lead, never a healthy VM. Like a finding's evidence, each record is judged *live* when no
successful backup follows it (``Scope.live``); a template none of whose records is live recovered: it is listed
for context, and only live ones make the verdict inconclusive (``analyzer.diagnosis``).

Records that the timeline dropped beyond its cap of notable events were never seen by detectors; they are
counted by template as they were dropped (``Timeline.beyond_cap``) and judged like their template's
records that detectors saw: explained when all of those were, unexplained otherwise.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from analyzer.detectors.scope import Scope
from analyzer.log_templates import EXAMPLE_CHARS, Counted, Template, TemplateMiner, first_line, record_line
from analyzer.model import Analysis, Evidence, Finding, UnexplainedError, severity_rank
from analyzer.sources import LOG_PARSERS
from analyzer.timeline import iso
from parsers.base import Event

MAX_TEMPLATES = 200
NEAR_MINUTES = (60, 360)  # ranking tiers: within an hour of the failing backup, within six hours
_LEVEL_RANK = {"warning": 0, "error": 1, "critical": 2}


def candidate(e: Event, backup_seen: bool = True) -> bool:
    """An alarm of a log; about another extension only while the bundle shows no backup run to judge by."""
    if not (e.alarm and e.source in LOG_PARSERS):
        return False
    return not backup_seen or not e.attrs.get("other_extension")


@dataclass
class _Group:
    template: Template
    explained: int = 0
    count: int = 0
    live: int = 0  # records no successful backup follows
    level: str = "warning"
    first: datetime | None = None
    last: datetime | None = None
    example: Event | Counted | None = None
    nearest: int | None = None  # signed minutes to the failing backup of the record nearest to it

    def take(self, level: str, first: datetime | None, last: datetime | None, n: int,
             minutes: int | None, example: Event | Counted, live: bool) -> None:
        self.count += n
        self.live += n if live else 0
        if _LEVEL_RANK.get(level, 0) > _LEVEL_RANK.get(self.level, 0):
            self.level = level
        if first is not None and (self.first is None or first < self.first):
            self.first = first
        if last is not None and (self.last is None or last > self.last):
            self.last = last
        closer = minutes is not None and (self.nearest is None or abs(minutes) <= abs(self.nearest))
        if self.example is None or closer:
            self.example = example
            self.nearest = minutes if closer else self.nearest

    def rank(self) -> tuple[int, int, int, str]:
        near = abs(self.nearest) if self.nearest is not None else None
        tier = len(NEAR_MINUTES) + 1 if near is None else next(
            (i for i, limit in enumerate(NEAR_MINUTES) if near <= limit), len(NEAR_MINUTES))
        return tier, -self.count, near if near is not None else 0, iso(self.first)


def find_unexplained(analysis: Analysis, scope: Scope, findings: list[Finding]) -> list[UnexplainedError]:
    """The unexplained errors of an analysis, the likeliest lead first."""
    explained: set[tuple[str, int]] = set()
    for f in findings:
        explained |= f.explains
    in_episode = _Episodes(span for f in findings for span in f.episodes)
    for run in scope.runs:
        if run.ok:
            explained.update((s.path, s.line) for s in run.steps if s.line is not None)
        else:  # its stage markers (invoked, waiting for the status) say how far it got, not why it failed
            explained.update((s.path, s.line) for s in run.steps if s.line is not None and s.outcome is None
                             and s.stage in ("invocation", "start"))
    backup = _failing_backup(scope)
    backup_seen = bool(scope.runs)
    miner = TemplateMiner(max_templates=MAX_TEMPLATES)
    groups: dict[int, _Group] = {}
    failed_end = None if any(f.live_records and severity_rank(f.severity) >= severity_rank("warning")
                             for f in findings) else _failed_end(scope)
    for e in scope.events:
        failed = (e.path, e.line) == failed_end
        if not (failed or candidate(e, backup_seen)) or not scope.in_window(e.ts):
            continue
        t = miner.add(record_line(e))
        g = groups.setdefault(t.id, _Group(t))
        if (e.path, e.line) in explained or in_episode(e):
            g.explained += 1
        else:
            g.take("error" if failed else e.level, e.ts, e.ts, 1, _minutes(e.ts, backup), e, scope.live(e.ts))
    until = analysis.options.until
    for c in analysis.timeline.beyond_cap:
        if c.source not in LOG_PARSERS or (c.last is not None and not scope.in_window(c.last)) or (
                until is not None and c.first is not None and c.first > until) or (
                backup_seen and c.other_extension):
            continue
        t = miner.add(c.text)
        g = groups.setdefault(t.id, _Group(t))
        if g.explained and not g.count:
            continue  # every record of this template that detectors saw is explained
        g.take(c.level, c.first, c.last, c.records, _minutes(c.last, backup), c, scope.live(c.last))
    found = sorted((g for g in groups.values() if g.count), key=_Group.rank)
    return [_error(g, scope.last_run is not None) for g in found]


class _Episodes:
    """Whether a record falls inside an episode of a finding in its own file (spans merged, found by bisection)."""

    def __init__(self, spans: Iterable[tuple[str, datetime, datetime]]) -> None:
        by_path: dict[str, list[tuple[datetime, datetime]]] = {}
        for path, start, end in spans:
            by_path.setdefault(path, []).append((start, end))
        self._starts: dict[str, list[datetime]] = {}
        self._ends: dict[str, list[datetime]] = {}
        for path, items in by_path.items():
            merged: list[tuple[datetime, datetime]] = []
            for start, end in sorted(items):
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
                else:
                    merged.append((start, end))
            self._starts[path] = [s for s, _ in merged]
            self._ends[path] = [e for _, e in merged]

    def __call__(self, e: Event) -> bool:
        starts = self._starts.get(e.path)
        if starts is None or e.ts is None:
            return False
        i = bisect_right(starts, e.ts) - 1
        return i >= 0 and e.ts <= self._ends[e.path][i]


def _failed_end(scope: Scope) -> tuple[str, int] | None:
    """The record that ended the newest run with an error (a status file, the agent's report of it), whatever its
    level: a failed backup that no finding explains is a lead."""
    run = scope.last_run
    if run is None or run.outcome != "error":
        return None
    end = next((s for s in reversed(run.dated) if s.outcome == "error" and s.line is not None), None)
    return (end.path, end.line) if end is not None and end.line is not None else None


def _failing_backup(scope: Scope) -> tuple[datetime, datetime] | None:
    """The time span of the backup the bundle is about (the newest run), else the end of the evidence: what
    the ranking measures closeness to."""
    run = scope.last_run
    if run is not None:
        return run.ts, run.end_ts
    return (scope.end, scope.end) if scope.end is not None else None


def _minutes(ts: datetime | None, backup: tuple[datetime, datetime] | None) -> int | None:
    if ts is None or backup is None:
        return None
    start, end = backup
    if ts < start:
        return -round((start - ts).total_seconds() / 60) or -1
    if ts > end:
        return round((ts - end).total_seconds() / 60) or 1
    return 0


def _error(g: _Group, backup: bool) -> UnexplainedError:
    ex = g.example
    assert ex is not None
    if isinstance(ex, Counted):
        example = Evidence(ex.path, ex.line, iso(ex.last) or None, _cut(ex.example))
        source = ex.source
    else:
        example = Evidence(ex.path, ex.line, iso(ex.ts) or None, _cut(first_line(ex.message)))
        source = ex.source
    return UnexplainedError(template=_cut(g.template.text), level=g.level, source=source, count=g.count,
                            first=iso(g.first) or None, last=iso(g.last) or None, example=example,
                            minutes_to_backup=g.nearest if backup else None, live_records=g.live)


def _cut(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 3] + "..."
