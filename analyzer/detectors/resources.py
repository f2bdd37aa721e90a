"""Seed cause 4: the VM itself keeps the snapshot from running: overload, or shut down from inside."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from analyzer.detectors.base import Detector, Hit, Signature, sig
from analyzer.detectors.scope import Scope
from analyzer.detectors.snapshot import hung_during_freeze
from analyzer.model import Analysis
from parsers.base import Event

QUICK_RESTART = timedelta(minutes=15)  # back up this soon: a restart, not a power-off
CRASH_MARKERS = timedelta(minutes=2)  # the boot's own records around an unexpected-shutdown marker
_STATE_PARSERS = frozenset({"extension_state", "agent_state", "wire_xml"})  # dated by content, not written then


class HighResourceUsage(Detector):
    """Seed cause 4: CPU above ~90 % or memory exhausted around the snapshot: the task queues and times out."""

    id = "HIGH_RESOURCE_USAGE"
    seed_cause = 4
    error_codes = ("ExtensionFailedTimeoutVMNetworkUnresponsive", "ExtensionFailedOutOfMemoryError",
                   "ExtensionInstallProviderCOMMemoryQuotaReached", "VMRestorePointClientError")
    sources = ("syslog", "waagent_log", "windows_events")
    confidence = 0.65
    signatures: ClassVar[tuple[Signature, ...]] = (
        # L17: the agent's own log collector is killed in its cgroup by design; that is not VM pressure
        sig("L76", "system.oom", unless={"target": "log_collector"}),
        # L74: the extension was killed at its timeout while throttled for much of it: starved of CPU
        sig("L74", "extension.enable.failed", where={"starved": "True"}),
        sig("exhaustion", "system.resource_exhaustion"),
        # the extension's own verdict, by code or by its catalog message
        sig("codes", (), where={"error_code": ("ExtensionFailedTimeoutVMNetworkUnresponsive",
                                               "ExtensionFailedOutOfMemoryError")}),
        sig("hung", "system.hung_task", severity="warning"),
        sig("W-RED-2004", (), event_ids=(2004,), provider=r"Resource-Exhaustion"),
        sig("W-VSS-11-12-12297", (), event_ids=(11, 12, 12297), provider=r"^VSS$"),
        sig("W-VolSnap-25", (), event_ids=(25,), provider=r"volsnap|VolumeSnapshot", severity="warning"),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        """Pressure counts toward the failing backup only around its snapshot (DESIGN 3.5): inside a failed
        run or the lead-up to it; a daily OOM of an application hours away is reported at info, like a
        problem that recovered."""
        frozen = {(e.path, e.line) for e in hung_during_freeze(scope)}  # the freeze's evidence, not overload
        hits = [h for h in self.match(scope, self.signatures)
                if scope.in_window(h.ts) and not (h.ref == "hung" and (h.path, h.line) in frozen)]
        for h in hits:
            h.live = h.live and scope.around_failed_run(h.ts)
        return hits


class VmShutdownInGuest(Detector):
    """Seed cause 4: the VM was shut down from inside the guest (RDP, shutdown command) around the backup."""

    id = "VM_SHUTDOWN_IN_GUEST"
    seed_cause = 4
    error_codes = ("GuestAgentSnapshotTaskStatusError",)
    sources = ("syslog", "windows_events")
    confidence = 0.6

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        """Power-offs in the window (restarts are normal), and any shutdown whose downtime swallowed
        a backup attempt."""
        events = [e for e in scope.events if e.ts is not None]
        hits = []
        for i, e in enumerate(events):
            if e.kind != "system.shutdown" or not scope.in_window(e.ts):
                continue
            boot = next((b.ts for b in events[i + 1:] if b.kind in ("system.boot", "agent.start")), None)
            assert e.ts is not None
            swallowed = any(e.ts <= a.ts <= (boot or scope.end or a.ts) for a in scope.attempts)
            quick = boot is not None and boot - e.ts < QUICK_RESTART
            power_off = not quick and not e.attrs.get("restart")  # the parser read whether it says it restarts
            if swallowed or power_off:
                hits.append(Hit.of_event(e, "error" if swallowed else "warning", scope.live(e.ts), "W§5.6"))
        return hits + self._crashed(events, scope)

    @staticmethod
    def _crashed(events: list[Event], scope: Scope) -> list[Hit]:
        """An unexpected shutdown (EventLog 6008, Kernel-Power 41; logged at the next boot) whose downtime,
        from the VM's last log record before it (state files are dated by their content), swallowed a run."""
        hits = []
        for i, e in enumerate(events):
            if e.kind != "system.unexpected_shutdown" or not scope.in_window(e.ts):
                continue
            assert e.ts is not None
            before = [b.ts for b in events[:i] if b.ts is not None and b.ts < e.ts - CRASH_MARKERS
                      and not b.kind.startswith("system.") and b.source not in _STATE_PARSERS]
            down = max(before) if before else None
            if down is not None and any(down < a.ts < e.ts for a in scope.attempts):
                hits.append(Hit.of_event(e, "error", scope.live(e.ts), "W§5.6"))
        return hits
