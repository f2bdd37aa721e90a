"""Seed cause 4: the snapshot cannot be taken or its status cannot be retrieved."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from analyzer.detectors.base import Detector, Hit, NotEvaluable, Signature, sig
from analyzer.detectors.scope import ENDING_KINDS, Run, Scope
from analyzer.model import Analysis, Finding, say
from parsers.base import Event

FREEZE_HANG = timedelta(minutes=10)  # a hung task reported this soon after a freeze ended still belongs to it


class SnapshotTimeout(Detector):
    """Seed cause 4: the snapshot task was queued/delayed and timed out, or its status never came back."""

    id = "SNAPSHOT_TIMEOUT"
    seed_cause = 4
    error_codes = ("GuestAgentSnapshotTaskStatusError", "ExtensionFailedTimeoutVMNetworkUnresponsive",
                   "UserErrorBackupOperationInProgress", "VMRestorePointInternalError")
    ext_codes = (402,)
    sources = ("agent_log", "vmsnapshot_log", "extension_status", "vmsnapshot_windows_log", "windows_events")
    confidence = 0.7
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("snapshot.timeout", "snapshot.timeout"),  # L63: CRP timeout
        sig("ext-402", ("snapshot.status", "extension.status"), codes=(402,)),
        sig("L71", "snapshot.skipped", severity="info"),  # a repeated invocation of a run already done
        sig("L33", (), severity="warning", signals=("goal_state_processing_failed",)),
        sig("L32", (), severity="warning", signals=("status_not_reported",), vmsnapshot_only=True),
        sig("W-StatusFile", (), signals=("status_file_missing",), vmsnapshot_only=True),
        sig("W-VSS-12310-4003", (), event_ids=(12310, 4003), provider=r"^VSS$"),
        sig("W-VolSnap-8", (), event_ids=(8,), provider=r"volsnap|VolumeSnapshot"),
        sig("HRESULT", (), where={"hresults": ("0x80042313", "0x800423F2")}),  # flush writes / writer timeouts
    )

    def run(self, analysis: Analysis, scope: Scope | None = None) -> Finding | NotEvaluable | None:
        """A finding, or when there is none and the newest run began with nothing in the bundle that could show
        how it ended (``Scope.outcome_shown``): its outcome is unknown, and the sources that would show it are
        missing evidence."""
        scope = scope or Scope.of(analysis)
        result = super().run(analysis, scope)
        run = scope.last_run
        if result is None and not scope.outcome_shown and run is not None and run.ran is not None and not run.ended:
            return NotEvaluable(self.id, ["vmsnapshot_log", "extension_status", "vmsnapshot_windows_log"],
                                say("missing.run_outcome", run=run.describe(), record=run.ran.text))
        return result

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        # WaAppAgent logs "Status file ...\<seq>.status is not available ... yet" while it waits for a run's
        # status, on every run (windows-formats 1.3): evidence only of the run that never got a final status
        run = scope.unfinished()
        open_seq = run.seq if run is not None else None
        waited = {(e.path, e.line) for e in scope.events if e.kind == "extension.status"
                  and e.attrs.get("status") == "missing" and (open_seq is None or str(e.attrs.get("seq")) != open_seq)}
        hits = [h for h in self.match(scope, self.signatures) if (h.path, h.line) not in waited]
        return hits + self._unfinished(run)

    def _unfinished(self, run: Run | None) -> list[Hit]:
        """The newest run, begun but never ended up to collection (``Scope.unfinished``)."""
        if run is None or run.ran is None:
            return []
        began = run.ran
        text = say("evidence.attempt_unfinished", stage=say(f"stage.{began.stage}"), run=run.describe(),
                   record=began.text)
        return [Hit(began.ts, began.path, began.line, text, "error", True, "§2.9")]


class FsFreezeFailed(Detector):
    """Seed cause 4: a Linux file-system freeze or thaw failed or timed out (ext codes 121-124)."""

    id = "FS_FREEZE_FAILED"
    seed_cause = 4
    error_codes = ("UserErrorFsFreezeFailed", "UserErrorFsFreezeTimeout", "UserErrorUnableToOpenMount")
    ext_codes = (121, 122, 123, 124)
    sources = ("vmsnapshot_log", "extension_status", "waagent_log")
    os = "linux"
    confidence = 0.9
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("L64-L69", ("snapshot.freeze.timeout", "snapshot.freeze.failed", "snapshot.thaw.failed")),
        sig("ext-121-124", ("snapshot.status", "extension.status"), codes=(121, 122, 123, 124)),
        sig("L67", "snapshot.inconsistent", severity="warning"),
        sig("L68", "snapshot.lock.contention", severity="warning"),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        hits = self.match(scope, self.signatures) + self._hang(scope)
        for e in hung_during_freeze(scope):  # L70: the kernel reports hung tasks while file systems are frozen
            hits.append(Hit.of_event(e, "error", scope.live(e.ts), "L70"))
        return hits

    def _hang(self, scope: Scope) -> list[Hit]:
        """L70: the newest run never ended and its extension.log stops inside the freeze (a freeze start, no
        thaw after it, no kill of a process since): the freeze hung; the kernel's hung tasks, if any, are its
        consequence."""
        run = scope.unfinished()
        if run is None or run.ran is None:
            return []
        began = run.ran.ts
        last = None
        for e in scope.events:
            if e.ts is None or e.ts < began:
                continue
            if e.kind == "snapshot.freeze.start":
                last = e
            elif e.kind == "snapshot.thaw":
                last = None
        if last is None or any(e.kind == "system.oom" and e.ts is not None and e.ts >= last.ts for e in scope.events):
            return []  # killed inside the freeze (OOM): the kill, not the freeze, ended it
        text = say("evidence.freeze_never_thawed", run=run.describe(), record=last.message)
        return [Hit(last.ts, last.path, last.line, text, "error", True, "L70")]


def hung_during_freeze(scope: Scope) -> list[Event]:
    """Kernel hung-task reports while file systems were frozen: from a freeze start to its thaw (or the run's end,
    the next freeze, the end of the evidence when none is logged), reported up to ``FREEZE_HANG`` later. The
    frozen file systems block those tasks, so they are evidence of the freeze, not of an overloaded VM."""
    spans: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    hung: list[Event] = []
    for e in scope.events:
        if e.ts is None:
            continue
        if e.kind == "system.hung_task":
            hung.append(e)
        elif e.kind == "snapshot.freeze.start":
            if start is not None:
                spans.append((start, e.ts))
            start = e.ts
        elif start is not None and (e.kind == "snapshot.thaw" or e.kind in ENDING_KINDS):
            spans.append((start, e.ts))
            start = None
    if start is not None:
        spans.append((start, scope.end or start))
    return [e for e in hung if e.ts is not None
            and any(begin <= e.ts <= end + FREEZE_HANG for begin, end in spans)]


class SnapshotLimitReached(Detector):
    """Seed cause 4: the blob snapshot count or rate limit was hit (ext codes 85, 173)."""

    id = "SNAPSHOT_LIMIT_REACHED"
    seed_cause = 4
    error_codes = ("ExtensionFailedSnapshotLimitReachedError", "ExtensionFailedSnapshotRateExceededError",
                   "UserErrorRpCollectionLimitReached")
    ext_codes = (85, 173)
    sources = ("vmsnapshot_log", "extension_status", "vmsnapshot_windows_log")
    confidence = 0.9
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("snapshot.limit", "snapshot.limit"),  # L59: snapshot count or rate; restore point collection limit
        sig("ext-85-173", ("snapshot.status", "extension.status"), codes=(85, 173)),
        sig("L59", "snapshot.status", where={"error_code": ("ExtensionFailedSnapshotLimitReachedError",
                                                             "ExtensionFailedSnapshotRateExceededError")}),
    )


class ConcurrentBackups(Detector):
    """Seed cause 4 (bundle level): the bundle itself shows overlapping backups or throttled snapshot calls.
    The fleet-level form (many VMs of one cloud service at once) is judged in batch."""

    id = "CONCURRENT_BACKUPS"
    seed_cause = 4
    error_codes = ("UserErrorBackupOperationInProgress", "ExtensionFailedSnapshotRateExceededError",
                   "AzureIaaSVMBackupPerfMoreBackupQueueTime")
    ext_codes = (173,)
    sources = ("vmsnapshot_log", "extension_status", "vmsnapshot_windows_log", "agent_log")
    confidence = 0.7
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("ext-173", ("snapshot.status", "extension.status", "snapshot.limit"), codes=(173,)),
        sig("L59-rate", (), signals=("snapshot_rate_exceeded",)),
        sig("L59-rate", "snapshot.status", where={"error_code": "ExtensionFailedSnapshotRateExceededError"}),
        sig("InProgress", (), signals=("backup_in_progress",)),
        sig("InProgress", "snapshot.status", where={"error_code": "UserErrorBackupOperationInProgress"}),
    )
