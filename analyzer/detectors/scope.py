"""Backup runs and the time window detectors judge.

A backup is one *run* of the snapshot extension, keyed by its sequence number (``<seq>.settings`` /
``<seq>.status``) and task id, with up to five stages, each proved by records of both OSes:

==========  ===============================================================================================
request     the backup service asked: ``commandStartTimeUTCTicks`` of the settings (``RuntimeSettings\\<seq>
            .settings``, ``config/<seq>.settings``, ExtensionsConfig, VmSettings) or of the status file
invocation  the agent ran the extension: ``Enable extension [main/handle.sh enable]`` (Linux), ``Enable plugin
            ... RuntimeSettings\\<seq>.settings`` or ``Status file ...\\<seq>.status is not available`` (Windows)
start       the extension began: ``starting enable`` / ``taskId:`` (extension.log), ``IaaSBcdrExtension started
            ... SequenceNumber: <seq>`` (IaaSBcdrExtension.log), a ``transitioning`` status
snapshot    freeze, thaw, ``T:S snapshotall ends``
end         the final status: ``status/<seq>.status`` dated by its ``timestampUTC``, ``StatusCode.*`` lines
==========  ===============================================================================================

A status file is the *end* of a run, never a request. Statuses that the agent re-publishes in its
aggregate status or status blob (``waagent_status*.json``, Windows AggregateStatus) carry the publishing
time, not the run's: they end the run of the same sequence number and are dated by that run's own
records, or count for nothing when the bundle holds no other record of it.

A bundle often holds weeks of logs: an old failure that recovered must not be reported as the cause of
today's failing backup. The window starts 6 h before the first run of the last 3 days of evidence and
runs to the end of the evidence; ``--since/--until`` restrict the evidence first. A hit that a successful
run (or a detector's own recovery record) follows is "recovered". A lone failure (one burst of records) that the
agent's normal work follows up to the end of the evidence, with no failed run around it, "passed"
(:meth:`Scope.worked_after`): a transient error on a VM whose backups went on.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from analyzer.clock import resolve_facts
from analyzer.model import Analysis, Message, say
from parsers.base import Event, Fact
from parsers.extension_names import BACKUP_EXTENSION

_VERSION = re.compile(r"(\d+(?:\.\d+)+)")
LOOKBACK = timedelta(days=3)
LEAD = timedelta(hours=6)
RUN_SPAN = timedelta(hours=4)  # a record without sequence number or task id joins a run this young
NEAR_RUN = timedelta(minutes=30)  # a record this close to a run is about that run
LEAD_UP = timedelta(hours=1)  # pressure on the VM this long before a run can still delay its snapshot
STATUS_GRACE = timedelta(minutes=30)  # a run younger than this at the end of the evidence may still be running
HEARTBEAT_GAP = timedelta(minutes=65)  # heartbeats come every 30 min: two missed in a row
#: the agent's normal work after a lone failure record, this long and up to the end of the evidence, shows it passed
PASSED_AFTER = timedelta(hours=1)
#: records of the agent's normal work: its heartbeat, a goal state fetched, goal-state errors recovered
WORK_KINDS = frozenset({"agent.heartbeat", "goalstate.fetched", "wireserver.recovered"})
# records that end a run or say how its snapshot went: after one of them no run is in progress any more
ENDING_KINDS = frozenset({"snapshot.done", "snapshot.status", "snapshot.timeout", "snapshot.freeze.failed",
                          "snapshot.freeze.timeout", "snapshot.thaw.failed", "snapshot.limit", "storage.error",
                          "extension.enable.failed"})
_SUCCESS_CODES = {0, 1}  # VMSnapshot status codes: success_appconsistent, success
_TEMP_CODE = 4  # ExtensionTempTerminalState: the transitioning status written before the snapshot daemon runs
_STATE_SOURCES = ("settings", "vmsettings", "extensions_config", "status")  # request facts of state files
_STATUS_WORDS = {"success": "success", "error": "error", "warning": "warning", "transitioning": None}
STAGES = ("request", "invocation", "start", "snapshot", "end")
#: sources that show how a run ended, or that it did not: the extension's own logs and status files, the statuses
#: the agents re-publish, the Windows agent's log (it writes that it waits for the run's status file)
OUTCOME_SOURCES = ("vmsnapshot_log", "extension_status", "vmsnapshot_windows_log", "waagent_status_json",
                   "aggregate_status_json", "wa_app_agent_log")
#: Linux goal-state agents from this version on log every extension's terminal state (linux-formats §2.9 step 6)
TERMINAL_SUMMARY = (2, 8)
ANY_SIGNAL = object()  # a ``signal`` attribute that is not one string: rows are not chosen by it
#: what decides which signature rows can match an event: its kind, its signal, the names of its attributes
Shape = tuple[str, object, tuple[str, ...]]


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
    if value is None:  # most attributes asked for are absent: no exception to raise and catch
        return None
    if type(value) is int:
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def version_tuple(value: Any) -> tuple[int, ...] | None:
    """``2.2.53.1`` / ``WALinuxAgent-2.2.45`` / ``1.0.9218.0`` as a tuple of ints; None when not a version."""
    text = str(value or "")
    return _short_version_tuple(text) if len(text) <= 64 else _version_tuple(text)


def _version_tuple(text: str) -> tuple[int, ...] | None:
    m = _VERSION.search(text)
    return tuple(int(p) for p in m.group(1).split(".")) if m else None


#: every heartbeat of a log states one of a few versions: short values are looked up once
_short_version_tuple = lru_cache(maxsize=1024)(_version_tuple)


def about_vmsnapshot(e: Event) -> bool:
    """The event concerns the backup extension (by its extension attribute, message or file)."""
    return bool(BACKUP_EXTENSION.search(f"{e.attrs.get('extension', '')} {e.path} {e.message}"))


@dataclass(frozen=True)
class Step:
    """One record of one stage of a backup run."""

    ts: datetime
    stage: str  # one of STAGES
    path: str
    line: int | None
    text: str | Message  # the record, or a sentence when a state file's values stand for it
    seq: str | None = None
    task_id: str | None = None
    outcome: str | None = None  # success | error | warning, when the record says how the run went
    republished: bool = False  # re-published by the agent: ``ts`` is the publishing time, not the run's


@dataclass
class Run:
    """One backup: the steps of one sequence number / task id, in time order."""

    steps: list[Step] = field(default_factory=list)
    seq: str | None = None
    task_id: str | None = None
    #: the steps whose time is the run's own (re-published statuses left out), kept as steps are added: grouping
    #: asks for them at every step, so a run of many steps stays linear
    dated: list[Step] = field(default_factory=list)
    #: a final status, a re-published one included, or a record saying how it went
    ended: bool = False

    def add(self, step: Step) -> None:
        self.steps.append(step)
        if not step.republished:
            self.dated.append(step)
        self.ended = self.ended or step.stage == "end" or step.outcome is not None
        self.seq = self.seq or step.seq
        self.task_id = self.task_id or step.task_id

    def first(self, *stages: str) -> Step | None:
        return next((s for s in self.dated if s.stage in stages), None)

    @property
    def ts(self) -> datetime:
        """When the run began: its first dated step."""
        return self.dated[0].ts

    @property
    def last_ts(self) -> datetime:
        return self.dated[-1].ts

    @property
    def requested(self) -> Step | None:
        return self.first("request")

    @property
    def ran(self) -> Step | None:
        """The first record proving the agent or the extension ran it (invocation or start)."""
        return self.first("invocation", "start")

    @property
    def outcome(self) -> str | None:
        """How the run went: its newest dated record with an outcome, else a re-published status's."""
        dated = [s.outcome for s in self.dated if s.outcome is not None]
        if dated:
            return dated[-1]
        return next((s.outcome for s in reversed(self.steps) if s.outcome is not None), None)

    @property
    def ok(self) -> bool:
        return self.outcome == "success"

    @property
    def end_ts(self) -> datetime:
        """When it ended: the newest dated record (a re-published status is dated by the run)."""
        return self.last_ts

    def describe(self) -> Message:
        """``seq 3, task <id>``, worded at render time."""
        if self.task_id:
            return say("run.seq_task", seq=self.seq, task_id=self.task_id)
        return say("run.seq", seq=self.seq)


@dataclass
class Shapes:
    """The events of a scope by shape: ``keys[k]`` is a shape, ``positions[k]`` the positions of its events in
    ``Scope.events`` (in order), ``of[i]`` the shape of the event at position ``i``."""

    keys: list[Shape]
    positions: list[list[int]]
    of: list[int]


@dataclass
class Scope:
    events: list[Event]  # notable events inside --since/--until, UTC order
    start: datetime | None  # window start (None = the whole evidence)
    end: datetime | None
    runs: list[Run] = field(default_factory=list)  # in order of their first dated step
    successes: list[datetime] = field(default_factory=list)
    #: the bundle holds a source that would show a run's end (:func:`outcome_shown`); without one, a run without a
    #: final status is a run whose outcome is unknown, not one that never ended
    outcome_shown: bool = True
    # newest success and newest time per kind, so that followed_by is O(1) per hit
    _newest_success: datetime | None = field(init=False, repr=False, default=None)
    _latest: dict[str, datetime] = field(init=False, repr=False, default_factory=dict)
    _shapes: Shapes | None = field(init=False, repr=False, default=None)
    # the agent's normal work and its heartbeats that count goal-state errors, in time order (``worked_after``)
    _work: list[datetime] = field(init=False, repr=False, default_factory=list)
    _troubled: list[datetime] = field(init=False, repr=False, default_factory=list)
    _downtimes: list[tuple[Event, datetime | None]] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._newest_success = max(self.successes, default=None)
        for e in self.events:
            if e.ts is not None and (e.kind not in self._latest or e.ts > self._latest[e.kind]):
                self._latest[e.kind] = e.ts
            if e.ts is not None and e.kind in WORK_KINDS:
                # ``[HEARTBEAT] ... [DEBUG ...;UpdateGSErrors: 3;...]``: goal-state fetches failed since the last one
                (self._troubled if (as_int(e.attrs.get("UpdateGSErrors")) or 0) > 0 else self._work).append(e.ts)
        self._work.sort()
        self._troubled.sort()

    @classmethod
    def of(cls, analysis: Analysis) -> Scope:
        resolve_facts(analysis.facts, analysis.timeline.zone)  # no naive fact time reaches a detector
        since, until = analysis.options.since, analysis.options.until
        events = [e for e in analysis.timeline.notable if _inside(e.ts, since, until)]
        end = analysis.timeline.last  # the collection time (a state file's stray time stamp does not move it)
        if end is None:
            end = max((e.ts for e in events if e.ts is not None), default=None)
        if until is not None and (end is None or end > until):
            end = until
        runs = group_runs(s for s in steps(events, analysis.facts) if _inside(s.ts, since, until))
        if end is None and runs:
            end = max(r.last_ts for r in runs)
        recent = [r for r in runs if end is None or r.ts >= end - LOOKBACK]
        start = recent[0].ts - LEAD if recent else (end - LOOKBACK if end else None)
        if since is not None and (start is None or start < since):
            start = since
        successes = sorted(r.end_ts for r in runs if r.ok)
        return cls(events, start, end, runs, successes, outcome_shown(analysis, events))

    def shapes(self) -> Shapes:
        """The events grouped by :data:`Shape` (kind, signal, attribute names), computed once: a signature table
        walks only the events of the shapes its rows can match."""
        if self._shapes is None:
            index: dict[Shape, int] = {}
            shapes = self._shapes = Shapes([], [], [])
            for i, e in enumerate(self.events):
                signal = e.attrs.get("signal")
                key = (e.kind, signal if signal is None or type(signal) is str else ANY_SIGNAL, tuple(e.attrs))
                k = index.get(key)
                if k is None:
                    k = index[key] = len(shapes.keys)
                    shapes.keys.append(key)
                    shapes.positions.append([])
                shapes.positions[k].append(i)
                shapes.of.append(k)
        return self._shapes

    def in_window(self, ts: datetime | None) -> bool:
        return ts is None or self.start is None or ts >= self.start

    def followed_by(self, ts: datetime | None, kinds: Iterable[str] = ()) -> bool:
        """A successful run, or an event of ``kinds``, comes after ``ts``."""
        if ts is None:
            return False
        if self._newest_success is not None and self._newest_success > ts:
            return True
        return any(k in self._latest and self._latest[k] > ts for k in set(kinds))

    def live(self, ts: datetime | None, recovery_kinds: Iterable[str] = ()) -> bool:
        """Inside the window and not recovered afterwards: evidence about the failing backup. An undated record is
        not when the bundle dates anything (nothing places it near the backup); in a paste without any time (one
        event's details, ``systemctl status``) the undated records are all the evidence there is."""
        if ts is None:
            return self.end is None
        return self.in_window(ts) and not self.followed_by(ts, recovery_kinds)

    def worked_after(self, ts: datetime) -> bool:
        """The agent worked normally after ``ts`` up to the end of the evidence: its heartbeats or goal states go
        on for at least :data:`PASSED_AFTER`, the newest within :data:`HEARTBEAT_GAP` of the end, and no heartbeat
        after ``ts`` counts a failed goal-state fetch. A failure that goes on stops that work or is counted in it."""
        if self.end is None or bisect_right(self._troubled, ts) < len(self._troubled):
            return False
        if bisect_right(self._work, ts) == len(self._work):
            return False  # nothing of the agent's work after it
        newest = self._work[-1]
        return newest - ts >= PASSED_AFTER and self.end - newest <= HEARTBEAT_GAP

    def downtimes(self) -> list[tuple[Event, datetime | None]]:
        """Each shutdown of the guest with the boot that ended it: a shutdown record and the next boot or agent
        start (None when the evidence shows none); the records of one shutdown (the command, ``System is powering
        down``, the file systems synced) are one downtime, its first record. Computed once."""
        if self._downtimes is not None:
            return self._downtimes
        dated = [e for e in self.events if e.ts is not None]
        found: list[tuple[Event, datetime | None]] = []
        boot_kinds = ("system.boot", "agent.start")
        for i, e in enumerate(dated):
            if e.kind != "system.shutdown":
                continue
            if found and (found[-1][1] is None or found[-1][1] > e.ts):  # type: ignore[operator]
                continue  # another record of the same shutdown
            found.append((e, next((b.ts for b in dated[i + 1:] if b.kind in boot_kinds), None)))
        self._downtimes = found
        return found

    def powered_off(self, start: datetime, end: datetime) -> Event | None:
        """The guest shutdown whose downtime holds ``start``..``end`` (the agent's silence, a run it could not run),
        give or take :data:`HEARTBEAT_GAP` on either side: what explains that silence."""
        for shutdown, boot in self.downtimes():
            assert shutdown.ts is not None
            back = boot or self.end or shutdown.ts
            if shutdown.ts - HEARTBEAT_GAP <= start <= back and end <= back + HEARTBEAT_GAP:
                return shutdown
        return None

    def around_failed_run(self, ts: datetime | None, lead: timedelta = LEAD_UP) -> bool:
        """``ts`` falls inside a run that did not succeed or in the ``lead`` before it ("around the snapshot"); a
        run without a final status lasts :data:`RUN_SPAN` past its last record. With no run in the bundle there
        is nothing to measure against: any dated time is."""
        if ts is None:
            return self.end is None
        if not self.runs:
            return True
        for r in self.runs:
            if r.ok:
                continue
            end = r.last_ts + (NEAR_RUN if r.ended else RUN_SPAN)
            if r.ts - lead <= ts <= end:
                return True
        return False

    @property
    def attempts(self) -> list[Step]:
        """The first dated step of every run, in time order: when each backup attempt began."""
        return [r.dated[0] for r in self.runs]

    @property
    def last_run(self) -> Run | None:
        """The newest run: the backup a failing bundle is about."""
        return self.runs[-1] if self.runs else None

    @property
    def last_attempt(self) -> Step | None:
        return self.attempts[-1] if self.runs else None

    @property
    def last_attempt_ok(self) -> bool:
        """The newest run ended with a successful snapshot."""
        last = self.last_run
        return last is not None and last.ok

    @property
    def ended_seqs(self) -> set[str]:
        """Sequence numbers whose run reached an end (a status of its own, a re-published one included)."""
        return {r.seq for r in self.runs if r.seq is not None and r.ended}

    def unfinished(self) -> Run | None:
        """The newest run, when the agent or the extension began it and nothing reported its end up to the end
        of the evidence (linux-formats §2.9: extension.log activity without a final status; the status file
        stays ``transitioning`` and the agent keeps reporting it so): no final status of its own, no ending
        record of any run after it began, at least ``STATUS_GRACE`` old when the evidence ends, and a source in
        the bundle that would have shown its end (:attr:`outcome_shown`)."""
        run = self.last_run
        began = run.ran if run is not None else None
        if run is None or began is None or run.ended or not self.outcome_shown:
            return None
        if self.end is None or not self.in_window(began.ts):
            return None
        if self.end - began.ts < STATUS_GRACE:
            return None
        if any(e.ts is not None and e.ts >= began.ts and e.kind in ENDING_KINDS for e in self.events):
            return None
        return run

    def near_run(self, ts: datetime | None, margin: timedelta = NEAR_RUN) -> bool:
        """``ts`` falls inside a run, or within ``margin`` of one (before its first or after its last record)."""
        return ts is not None and any(r.ts - margin <= ts <= r.last_ts + margin for r in self.runs)

    def window_events(self, *kinds: str) -> list[Event]:
        wanted = set(kinds)
        return [e for e in self.events if e.kind in wanted and self.in_window(e.ts)]


def outcome_shown(analysis: Analysis, events: Iterable[Event]) -> bool:
    """The bundle holds a source that shows how a backup run ended: one of :data:`OUTCOME_SOURCES`, a Linux
    goal-state agent of :data:`TERMINAL_SUMMARY` or later, or that agent's summary of extension states itself.
    An older agent's log shows only that it invoked the extension (``Enable extension [main/handle.sh enable]``)."""
    if analysis.has(*OUTCOME_SOURCES):
        return True
    versions = (version_tuple(f.value) or () for f in analysis.facts_named("agent.goal_state_version"))
    if any(v >= TERMINAL_SUMMARY for v in versions):
        return True
    return any(e.kind == "extension.status" and isinstance(e.attrs.get("statuses"), dict) for e in events)


def _inside(ts: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if ts is None:
        return True
    return (since is None or ts >= since) and (until is None or ts <= until)


# --- steps: which record proves which stage ------------------------------------------------------------------


def steps(events: Iterable[Event], facts: Iterable[Fact]) -> list[Step]:
    """The run stages that the records of a bundle prove, once each."""
    found: dict[tuple[Any, ...], Step] = {}
    for e in events:
        step = _event_step(e)
        if step is not None:
            found.setdefault((step.ts, step.stage, step.seq, step.task_id, step.outcome, step.republished), step)
    for f in facts:
        step = _fact_step(f)
        if step is not None:
            found.setdefault((step.ts, step.stage, step.seq, step.task_id, None, False), step)
    return sorted(found.values(), key=lambda s: (s.ts, STAGES.index(s.stage)))


def _event_step(e: Event) -> Step | None:
    if e.ts is None:
        return None
    a = e.attrs
    stage, outcome = _stage(e)
    if stage is None:
        return None
    return Step(e.ts, stage, e.path, e.line, e.message, _str(a.get("seq")), _str(a.get("task_id")), outcome,
                bool(a.get("republished")))


def _stage(e: Event) -> tuple[str | None, str | None]:
    """(stage, outcome) of an event, or (None, None) when it is no step of a backup run."""
    kind, a = e.kind, e.attrs
    if kind == "extension.enable" and about_vmsnapshot(e):
        return ("request" if e.source == "extension_state" else "invocation"), None
    if kind.startswith("extension.") and kind.endswith(".failed") and about_vmsnapshot(e):
        return "invocation", "error"
    if kind == "extension.status":
        statuses = a.get("statuses")  # "All extensions ... reached a terminal state: [(name, status)]"
        if isinstance(statuses, dict):
            found = [str(v).lower() for k, v in statuses.items() if BACKUP_EXTENSION.search(str(k))]
            if not found:
                return None, None
            # the agent reports a run in progress as transitioning until the extension writes its final status
            return ("start", None) if found[0] == "transitioning" else ("end", _STATUS_WORDS.get(found[0]))
        if not about_vmsnapshot(e):
            return None, None
        status = str(a.get("status", "")).lower()
        if status == "missing":  # WaAppAgent waits for <seq>.status: it ran the extension
            return "invocation", None
        if status == "transitioning" or as_int(a.get("code")) == _TEMP_CODE:
            return "start", None
        return "end", _STATUS_WORDS.get(status, "error" if status else None)
    if kind == "snapshot.start":
        return "start", None
    if kind == "snapshot.status":
        code = as_int(a.get("ext_code"))
        if code is None:
            return ("snapshot", "success") if a.get("succeeded") else ("snapshot", None)
        if code == _TEMP_CODE:
            return "start", None
        return "end", "success" if code in _SUCCESS_CODES else "error"
    if kind == "snapshot.timeout":
        return "end", "error"
    if kind == "snapshot.done" or (kind.startswith("snapshot.") and e.attrs.get("succeeded")):
        return "snapshot", "success"
    if kind in ("snapshot.freeze.start", "snapshot.thaw"):
        return "snapshot", None
    if kind in ("snapshot.freeze.failed", "snapshot.freeze.timeout", "snapshot.thaw.failed", "snapshot.limit"):
        return "snapshot", "error"
    return None, None


def _fact_step(f: Fact) -> Step | None:
    """A request that a state file proves (its events, if any, are dated by the same command start)."""
    value = f.value if isinstance(f.value, dict) else {}
    if f.name != "vmsnapshot.invocation" or value.get("source") not in _STATE_SOURCES:
        return None  # log sources: their events are steps already
    ts = parse_ts(value.get("ts"))
    if ts is None:
        return None
    text = f.text or say("evidence.backup_requested", seq=_str(value.get("seq")), task_id=_str(value.get("task_id")))
    return Step(ts, "request", f.path, f.line, text, _str(value.get("seq")), _str(value.get("task_id")))


# --- runs: steps grouped by sequence number and task id ------------------------------------------------------


def group_runs(found: Iterable[Step]) -> list[Run]:
    """Steps (in time order) grouped into runs: by task id, else by sequence number, else by time (the
    run in progress); a new request of a sequence number already requested at another time, or a record
    after a run ended, starts a new run. Runs holding only re-published statuses are dropped: nothing
    dates them."""
    runs: list[Run] = []
    by_task: dict[str, Run] = {}
    by_seq: dict[str, Run] = {}
    for s in sorted(found, key=lambda s: (s.ts, STAGES.index(s.stage))):
        run = _run_of(s, runs, by_task, by_seq)
        if run is None:
            run = Run()
            runs.append(run)
        run.add(s)
        if s.task_id:
            by_task[s.task_id] = run
        if s.seq:
            by_seq[s.seq] = run
    kept = [r for r in runs if r.dated]
    return sorted(kept, key=lambda r: r.ts)


def _run_of(s: Step, runs: list[Run], by_task: dict[str, Run], by_seq: dict[str, Run]) -> Run | None:
    if s.task_id and s.task_id in by_task:
        return by_task[s.task_id]
    if s.seq and s.seq in by_seq:
        run = by_seq[s.seq]
        if s.task_id and run.task_id and s.task_id != run.task_id:
            return None  # the sequence number was reused (extension reinstalled): another backup
        if s.stage == "request" and run.requested is not None and abs(run.requested.ts - s.ts) > timedelta(minutes=1):
            return None
        return run
    if s.republished:
        return None  # a re-published status belongs to its own sequence number only, never by time
    if s.seq or s.task_id:
        last = runs[-1] if runs else None
        if s.stage == "request" or last is None or not _young(last, s):
            return None
        if last.seq is None and last.task_id is None:
            return last  # the keyless records of this run came first
        if not last.ended and (s.seq is None or last.seq is None) and (s.task_id is None or last.task_id is None):
            return last  # the other key of the run in progress: the extension's task id of the agent's sequence
        return None
    if runs and _young(runs[-1], s) and not (runs[-1].ended and s.stage in ("request", "invocation", "start")):
        return runs[-1]
    return None


def _young(run: Run, s: Step) -> bool:
    return bool(run.dated) and s.ts - run.last_ts <= RUN_SPAN


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
