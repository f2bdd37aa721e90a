"""Seed cause 2: the VM agent is out of date, not running, not updating, or logging too little."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import ClassVar

from analyzer.detectors.base import (
    NO_VALUES,
    Detector,
    Hit,
    Signature,
    conf_value,
    fact_values,
    is_no,
    sig,
)
from analyzer.detectors.scope import HEARTBEAT_GAP, Scope, as_int, parse_ts, version_tuple
from analyzer.model import Analysis, Message, say
from parsers.base import Event, Fact

LINUX_MINIMUM = (2, 2, 53, 1)  # KB 4049215: goal-state agent, since July 2022
WINDOWS_MINIMUM = (2, 7, 1198, 911)  # Azure/WindowsVMAgent release notes
# linux-formats §4.2: ranges with known hard failures (all below the minimum; named in the explanation)
BROKEN_RANGES = (
    ((2, 0), (2, 1, 99), "note.agent_range.2.0"),  # no current wire protocol or extension fixes
    ((2, 1, 5), (2, 1, 6, 99), "note.agent_range.2.1.5"),  # no extensions after an auto-update (KB 3200481)
    ((2, 2, 19), (2, 2, 29, 99), "note.agent_range.2.2.19"),  # GoalState.N.xml is missing, unreported status
)
INVOKE_LIMIT = timedelta(minutes=140)  # the extension refuses work started earlier (ext code 402)
# the daemon relaunches the extension handler: more than 3 launches in 5 min is a loop (CHILD_LAUNCH_RESTART_MAX)
RELAUNCH_MAX, RELAUNCH_WINDOW = 3, timedelta(minutes=5)
# the new extension handler waits (3 s apart) for the old one to exit: 3 waits means the old one is stuck,
# a minute of them that it blocks the handler (after 15 min it is killed: "forcibly terminated")
ORPHAN_WAITS, ORPHAN_BLOCKED = 3, timedelta(minutes=1)
_LATE = ("L63", "ext-402")
_OFF = "/powered-off"  # the ref suffix of a hit the guest's shutdown explains
_STOPPED = ("Stopped", "Stopping", "Failed")
_ALIVE = ("agent.start", "agent.heartbeat", "agent.launch", "agent.version", "goalstate.fetched")
_LOCAL_RESOURCES = ("disk", "read-only", "disk-io", "permission")
_AGENT_SERVICES = ("RdAgent", "WindowsAzureGuestAgent")  # service key names (display names mapped by the parser)
_AGENT_SERVICE_KEYS = frozenset(s.lower() for s in _AGENT_SERVICES)


@dataclass(frozen=True)
class AgentVersion:
    version: str
    role: str  # goal-state | daemon | windows
    fact: Fact | None = None
    event: Event | None = None

    @property
    def ts(self) -> datetime | None:
        return parse_ts(self.event.ts if self.event else (self.fact.ts if self.fact else None))

    def hit(self, severity: str, live: bool = True) -> Hit:
        if self.event is not None:
            return Hit.of_event(self.event, severity, live, self.role)
        assert self.fact is not None
        text = self.fact.text or say("evidence.agent_version", role=say(f"role.{self.role}"), version=self.version)
        return Hit.of_fact(self.fact, severity, live, text, self.role)


def agent_version(analysis: Analysis) -> AgentVersion | None:
    """The version support compares: the goal-state agent, the daemon only when no goal-state version
    is known (linux-formats §4.2); the Windows guest agent on Windows. The newest statement wins."""
    stated = [e for e in analysis.timeline.notable if e.kind in ("agent.version", "agent.heartbeat")]
    for role, fact_name, event_roles in (("windows", "agent.windows_version", ("windows",)),
                                         ("goal-state", "agent.goal_state_version", ("exthandler", "goal_state")),
                                         ("daemon", "agent.daemon_version", ("daemon",))):
        found = [AgentVersion(str(f.value), role, fact=f) for f in analysis.facts_named(fact_name)
                 if version_tuple(f.value)]
        found += [AgentVersion(str(e.attrs["version"]), role, event=e) for e in stated
                  if (e.attrs.get("role") in event_roles or (role == "goal-state" and e.kind == "agent.heartbeat"))
                  and version_tuple(e.attrs.get("version"))]
        if found:
            dated = [v for v in found if v.ts is not None]
            return max(dated, key=lambda v: v.ts) if dated else found[-1]  # type: ignore[arg-type, return-value]
    return None


def is_outdated(v: AgentVersion) -> bool:
    vt = version_tuple(v.version) or ()
    return vt < (WINDOWS_MINIMUM if v.role == "windows" else LINUX_MINIMUM)


class AgentOutdated(Detector):
    """Seed cause 2: the goal-state agent is below the supported minimum (Linux 2.2.53.1, Windows 2.7.1198.911)."""

    id = "AGENT_OUTDATED"
    seed_cause = 2
    error_codes = ("UserErrorGuestAgentStatusUnavailable", "GuestAgentSnapshotTaskStatusError",
                   "UserErrorGuestAgentVersionUnsupported", "BackUpOperationFailed",
                   "ExtensionOperationFailedForManagedDisks")
    sources = ("agent_log", "waagent_status_json")
    facts = ("agent.goal_state_version", "agent.daemon_version", "agent.windows_version")
    confidence = 0.85

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        v = agent_version(analysis)
        if v is None or not is_outdated(v):
            return []
        return [v.hit("warning" if scope.last_attempt_ok else "error")]

    def notes(self, analysis: Analysis, scope: Scope, hits: list[Hit]) -> list[Message]:
        v = agent_version(analysis)
        assert v is not None
        minimum = ".".join(map(str, WINDOWS_MINIMUM if v.role == "windows" else LINUX_MINIMUM))
        vt = version_tuple(v.version) or ()
        ranges = [say(key) for lo, hi, key in BROKEN_RANGES if lo <= vt <= hi]
        return [say("note.agent_below_minimum", role=say(f"role.{v.role}"), version=v.version, minimum=minimum),
                *ranges]


class AgentNotRunning(Detector):
    """Seed cause 2: the agent stopped, crash-loops, misses heartbeats or invokes the extension too late."""

    id = "AGENT_NOT_RUNNING"
    seed_cause = 2
    error_codes = ("GuestAgentSnapshotTaskStatusError", "UserErrorGuestAgentStatusUnavailable",
                   "VMAgentStatusCommunicationError", "BCMCrpInternalError",
                   "ManagedRPCreationFailedInCrpButExtensionSucceeded")
    ext_codes = (402,)
    sources = ("agent_log", "vmsnapshot_log", "windows_events", "syslog", "service_listing")
    confidence = 0.75
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("L7", "agent.crash", severity="warning", signals=("agent_blacklisted",)),
        # L10-L15; on Windows the agent not stopped, RdCrypt or certificate-store failures, .NET Runtime 1026
        sig("L10-L15", "agent.crash"),
        sig("L14", "agent.config", where={"key": "disable_agent"}),
        sig("L63", "snapshot.timeout"),
        sig("ext-402", ("snapshot.status", "extension.status", "snapshot.timeout"), codes=(402,)),
        sig("W-SCM", ("service.state", "service.crash", "windows.event"), where={"service": _AGENT_SERVICES},
            event_ids=(7000, 7009, 7011, 7022, 7031, 7034)),
        sig("L17", "system.oom", where={"target": "agent"}),
        # the agent fails on the VM itself (disk full, read-only file system, a file it may not write): whatever
        # network call the record names, the agent cannot do its work (error-codes: free space on the OS disk)
        sig("local", "agent.local_error"),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        beats = [e.ts for e in scope.events if e.kind == "agent.heartbeat" and e.ts is not None]
        hits = [h for h in self.match(scope, self.signatures)
                if h.ref not in _LATE or h.ts is None or not _alive(beats, _asked(scope, h.ts), h.ts)]
        for h in hits:  # a run invoked too late because the guest was shut down: the shutdown explains it
            if h.ref in _LATE and h.ts is not None and scope.powered_off(_asked(scope, h.ts), h.ts):
                _explained(h)
        return (hits + self._late(scope, beats) + self._heartbeat_gaps(scope) + self._relaunch_loops(scope)
                + self._orphan_waits(scope) + self._service_stopped(scope)
                + self._windows_service_down(analysis, scope))

    def notes(self, analysis: Analysis, scope: Scope, hits: list[Hit]) -> list[Message]:
        """What the agent's local failures point at (a full disk, a read-only file system, ...); the guest
        shutdown that explains its silence."""
        local = {(h.path, h.line) for h in hits if h.ref == "local"}
        resources = sorted({str(e.attrs.get("resource")) for e in scope.events
                            if e.kind == "agent.local_error" and (e.path, e.line) in local})
        notes = [say(f"note.agent_local_error.{r}") for r in resources if r in _LOCAL_RESOURCES]
        if any(h.ref.endswith(_OFF) for h in hits):
            notes.append(say("note.agent_silent_while_off"))
        return notes


    def _service_stopped(self, scope: Scope) -> list[Hit]:
        """The agent's service stopped or failed and nothing shows it running again (a stop followed by a start
        is a restart); ``systemctl status`` pasted without a date is the state at the time of the paste."""
        hits = []
        for e in scope.events:
            if e.kind != "agent.service" or e.attrs.get("action") not in _STOPPED:
                continue
            back = e.ts is not None and any(x.ts is not None and x.ts > e.ts and _running(x) for x in scope.events)
            # a stop the agent came back from (a reboot, an update) is context: info, never an unexplained error
            hits.append(Hit.of_event(e, "info", False, "service") if back
                        else Hit.of_event(e, "error", _persists(scope, e.ts), "service"))
        return hits

    def _windows_service_down(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        """The guest agent's services stopped or disabled (error-codes §1: SCM 7036, sc / Get-Service): a
        listing shows them at collection time; a 7036 "stopped" counts while no later record of that service
        or of the agent (start, heartbeat) shows it back."""
        hits = []
        for f, v in fact_values(analysis, "service.state") + fact_values(analysis, "service.start_type"):
            service = str(v.get("service", ""))
            if service.lower() not in _AGENT_SERVICE_KEYS:
                continue
            if f.name == "service.state" and str(v.get("state", "")).lower() in ("stopped", "stop_pending"):
                hits.append(Hit.of_fact(f, "error", True, say("evidence.service_state", service=service,
                                                               state=str(v.get("state")).lower()), "W-SCM"))
            elif f.name == "service.start_type" and as_int(v.get("start")) == 4:
                hits.append(Hit.of_fact(f, "error", True, say("evidence.service_start", service=service,
                                                               start=str(v.get("start_name") or "disabled")), "W-SCM"))
        stops = [e for e in scope.events if e.kind == "service.state" and e.ts is not None
                 and str(e.attrs.get("service", "")).lower() in _AGENT_SERVICE_KEYS
                 and str(e.attrs.get("state", "")).lower() == "stopped"]
        for e in stops:
            assert e.ts is not None
            back = any(later.ts is not None and later.ts > e.ts and (
                _running(later) or (
                    later.kind == "service.state" and later.attrs.get("service") == e.attrs.get("service")
                    and str(later.attrs.get("state", "")).lower() != "stopped")) for later in scope.events)
            if not back:
                hits.append(Hit.of_event(e, "error", _persists(scope, e.ts), "W-SCM-7036"))
        return hits

    def _relaunch_loops(self, scope: Scope) -> list[Hit]:
        """The daemon launching the extension handler again and again (each launch "is successfully running")."""
        launches = [e for e in scope.events if e.kind == "agent.launch" and e.ts is not None]
        looping: dict[int, Event] = {}
        for i in range(len(launches) - RELAUNCH_MAX):
            first, last = launches[i], launches[i + RELAUNCH_MAX]
            if last.ts - first.ts <= RELAUNCH_WINDOW:  # type: ignore[operator]
                looping.update({id(e): e for e in launches[i:i + RELAUNCH_MAX + 1]})
        return [Hit.of_event(e, "error", scope.live(e.ts), "L10") for e in looping.values()]

    def _orphan_waits(self, scope: Scope) -> list[Hit]:
        """The extension handler blocked by the previous one that does not exit (a hung extension command)."""
        by_pid: dict[str, list[Event]] = {}
        for e in scope.events:
            if e.kind == "agent.blocked":
                by_pid.setdefault(str(e.attrs.get("pid")), []).append(e)
        hits = []
        for events in by_pid.values():
            killed = [e for e in events if e.attrs.get("killed")]
            dated = [e.ts for e in events if e.ts is not None]
            span = max(dated) - min(dated) if dated else timedelta(0)
            if killed or span >= ORPHAN_BLOCKED or len(events) >= ORPHAN_WAITS:
                severity = "error" if killed or span >= ORPHAN_BLOCKED else "warning"
                hits += [Hit.of_event(e, severity, scope.live(e.ts), "orphan") for e in killed or events]
        return hits

    def _late(self, scope: Scope, beats: list[datetime]) -> list[Hit]:
        """A backup requested at its command start that the agent ran more than 140 min later while no
        heartbeat shows it running meanwhile, or never ran at all while the evidence goes on past the
        limit. Any record of the run's invocation, start or end (its status file) proves it ran; a run
        without one may still have been run by a record that names no sequence number (a later run of the
        same or an unknown sequence number)."""
        hits = []
        for i, run in enumerate(scope.runs):
            request = run.requested
            if request is None or not scope.in_window(request.ts):
                continue
            proof = run.ran
            if proof is None and run.ended:
                continue  # a final status: it ran, when exactly the bundle does not say
            if proof is None:
                later = (r.ran for r in scope.runs[i + 1:] if r.requested is None and r.seq in (None, run.seq))
                proof = next((p for p in later if p is not None), None)
            until = proof.ts if proof else (scope.end or request.ts)
            if until - request.ts > INVOKE_LIMIT and not (proof and _alive(beats, request.ts, until)):
                delay = until - request.ts
                requested = f"{request.ts:%Y-%m-%dT%H:%M:%SZ}"
                text = say("evidence.backup_invoked_late", requested=requested, run=run.describe(),
                           minutes=int(delay.total_seconds() // 60)) if proof else \
                    say("evidence.backup_never_invoked", requested=requested, run=run.describe())
                hit = Hit(request.ts, request.path, request.line, text, "error", scope.live(request.ts), "L63")
                hits.append(_explained(hit) if scope.powered_off(request.ts, until) else hit)
        return hits

    def _heartbeat_gaps(self, scope: Scope) -> list[Hit]:
        """Heartbeats stop for more than 65 min while a backup attempt falls into the silence."""
        beats = [e for e in scope.events if e.kind == "agent.heartbeat" and e.ts is not None]
        hits: list[Hit] = []
        for before, after in zip(beats, [*beats[1:], None], strict=False):
            assert before.ts is not None
            until = after.ts if after is not None else scope.end
            if until is None or until - before.ts <= HEARTBEAT_GAP:
                continue
            if any(before.ts < a.ts < until for a in scope.attempts):
                minutes = int((until - before.ts).total_seconds() // 60)
                text = say("evidence.heartbeat_gap", minutes=minutes, record=before.message)
                hit = Hit(before.ts, before.path, before.line, text, "error", scope.live(before.ts), "L16")
                hits.append(_explained(hit) if scope.powered_off(before.ts, until) else hit)
        return hits


def _persists(scope: Scope, ts: datetime | None) -> bool:
    """A stop of the agent that no record shows it back from lasts up to the collection time: live unless a
    successful run follows it, however far before the end of the bundle it is (an event export's newest records
    may come days after the agent's last one, also records whose text could not be read)."""
    return scope.live(ts) or (ts is not None and not scope.followed_by(ts))


def _explained(hit: Hit) -> Hit:
    """The agent's silence while the guest was shut down (``Scope.powered_off``): a consequence of that shutdown
    (VM_SHUTDOWN_IN_GUEST), context only."""
    hit.severity, hit.live, hit.ref = "info", False, hit.ref + _OFF
    return hit


def _running(e: Event) -> bool:
    """A record that the agent runs: its own start or heartbeat, or its service (re)started."""
    if e.kind == "agent.service":
        return e.attrs.get("action") in ("Started", "Starting", "Running")
    return e.kind in _ALIVE


def _asked(scope: Scope, invoked: datetime) -> datetime:
    """When the backup invoked (too late) at ``invoked`` was requested: its ``command_start``, or at
    least 140 min before."""
    asked = [r.requested.ts for r in scope.runs if r.requested and r.requested.ts <= invoked - INVOKE_LIMIT]
    return max(asked) if asked else invoked - INVOKE_LIMIT


def _alive(beats: list[datetime], start: datetime, end: datetime) -> bool:
    """Heartbeats cover ``start``..``end`` with no gap of two missed beats: the agent was running."""
    inside = [b for b in beats if start - HEARTBEAT_GAP <= b <= end + HEARTBEAT_GAP]
    if not inside or inside[0] > start + HEARTBEAT_GAP or inside[-1] < end - HEARTBEAT_GAP:
        return False
    return all(b - a <= HEARTBEAT_GAP for a, b in pairwise(inside))


class AgentAutoUpdateDisabled(Detector):
    """Seed cause 2: ``AutoUpdate.Enabled=n`` / ``AutoUpdate.UpdateToLatestVersion=n`` keeps an old agent."""

    id = "AGENT_AUTO_UPDATE_DISABLED"
    seed_cause = 2
    error_codes = ("UserErrorGuestAgentVersionUnsupported",)
    sources = ("waagent_conf", "waagent_log")
    facts = ("conf.AutoUpdate.Enabled", "conf.AutoUpdate.UpdateToLatestVersion")
    os = "linux"
    confidence = 0.9
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("L6", "agent.config", severity="warning",
            where={"key": ("AutoUpdate.Enabled", "AutoUpdate.UpdateToLatestVersion"), "value": NO_VALUES}),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        v = agent_version(analysis)
        severity = "warning" if v is None or is_outdated(v) else "info"
        hits = []
        for key in ("AutoUpdate.Enabled", "AutoUpdate.UpdateToLatestVersion"):
            f = conf_value(analysis, key)
            if f is not None and is_no(f.value):
                hits.append(Hit.of_fact(f, severity, True, f.text or f"{key}={f.value}", "conf"))
        for e in scope.events:
            if self.signatures[0].matches(e):
                hits.append(Hit.of_event(e, severity, True, "L6"))
        return hits


class VerboseLoggingDisabled(Detector):
    """Seed cause 2: backups fail and ``Logs.Verbose`` is off; advice to turn it on (info)."""

    id = "VERBOSE_LOGGING_DISABLED"
    seed_cause = 2
    sources = ("waagent_conf",)
    facts = ("conf.Logs.Verbose",)
    os = "linux"
    severity = "info"
    confidence = 0.5

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        if scope.last_attempt_ok:
            return []
        f = conf_value(analysis, "Logs.Verbose")
        if f is not None:
            return [Hit.of_fact(f, "info", True, f.text or f"Logs.Verbose={f.value}", "conf")] if is_no(f.value) else []
        path = (analysis.present.get("waagent_conf") or ["etc/waagent.conf"])[0]
        return [Hit(None, path, None, say("evidence.logs_verbose_unset"), "info", True, "conf")]
