"""Windows-only causes: IaaSVmProvider (seed cause 3), SQL/VSS and security software (seed cause 4)."""

from __future__ import annotations

from typing import ClassVar

from analyzer.detectors.base import Detector, Hit, NotEvaluable, Signature, fact_values, sig
from analyzer.detectors.scope import Scope, as_int
from analyzer.model import Analysis, Finding, say

_START_NAMES = {0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled"}
_WAITING = (2, 3, 4, 5)  # VSS_WRITER_STATE waiting for freeze/thaw/post-snapshot/completion: a writer mid-backup
_VSS_SERVICES = ("VSS", "SQLWriter", "COMSysApp", "MSDTC", "EventSystem", "swprv")  # key names (display mapped)


class IaaSVmProviderNotAutomatic(Detector):
    """Seed cause 3 (Windows): the IaaSVmProvider service is disabled or not set to Automatic."""

    id = "IAASVMPROVIDER_NOT_AUTOMATIC"
    seed_cause = 3
    error_codes = ("GuestAgentSnapshotTaskStatusError", "ExtensionSnapshotFailedCOM")
    sources = ("registry_export", "service_listing")
    facts = ("service.start_type",)
    os = "windows"
    confidence = 0.9
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("SCM-7040", ("service.state", "windows.event"), event_ids=(7040,), severity="warning",
            where={"service": "IaaSVmProvider", "start_type": ("disabled", "manual")}),
        sig("SCM-7000", ("service.state", "windows.event"), event_ids=(7000, 7023),
            where={"service": "IaaSVmProvider"}),
        # the extension's log: the provider not running, not startable or not registered with VSS (windows-formats
        # 5.8: 0x80042304 VSS_E_PROVIDER_NOT_REGISTERED)
        sig("W-Provider-log", (), severity="warning", signals=("provider_unavailable",), vmsnapshot_only=True),
        sig("W-0x80042304", (), where={"hresults": "0x80042304"}, vmsnapshot_only=True),
    )

    def evaluable(self, analysis: Analysis) -> bool:
        return any(_is_provider(v) for _, v in fact_values(analysis, "service.start_type")) or any(
            _is_provider(e.attrs) for e in analysis.timeline.notable if e.kind in ("service.state", "service.crash"))

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        hits = self.match(scope, self.signatures)
        found = [(f, v) for f, v in fact_values(analysis, "service.start_type") if _is_provider(v)]
        if found:
            f, v = found[-1]
            start = as_int(v.get("start"))
            if start != 2:
                name = v.get("start_name") or _START_NAMES.get(start if start is not None else -1)
                shown = say(f"start_type.{name}") if name in _START_NAMES.values() else name
                hits.append(Hit.of_fact(f, "error" if start == 4 else "warning", True,
                                        f.text or say("evidence.provider_start", start=v.get("start"), name=shown),
                                        "W§6.2"))
            elif hits:  # set back to Automatic since: earlier changes are history
                for h in hits:
                    h.live, h.severity = False, "info"
        return hits


def _is_provider(v: dict[str, object]) -> bool:
    return str(v.get("service", "")).lower() == "iaasvmprovider"


class SqlVssFullBackup(Detector):
    """Seed cause 4 (Windows): SQL Server is present and ``USEVSSCOPYBACKUP`` is not set, so VM backup
    takes VSS full backups that delay the snapshot."""

    id = "SQL_VSS_FULL_BACKUP"
    seed_cause = 4
    error_codes = ("GuestAgentSnapshotTaskStatusError", "ExtensionFailedVssWriterInBadState")
    sources = ("registry_export",)
    facts = ("registry.bcdr",)
    os = "windows"
    severity = "warning"
    confidence = 0.7
    # SQL Server's side of a VSS full backup that failed or timed out (windows-formats 5.5): the VDI session
    # aborted, the SQL writer's BACKUP DATABASE failed, the backup device failed
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("W-SQLVDI-1", (), event_ids=(1,), provider=r"^SQLVDI$"),
        sig("W-SQLWRITER-24583", (), event_ids=(24583,), provider=r"^SQLWRITER$"),
        sig("W-MSSQL-3041-18210", (), event_ids=(3041, 18210), provider=r"^MSSQL(?:SERVER|\$\w+)$"),
    )

    def run(self, analysis: Analysis, scope: Scope | None = None) -> Finding | NotEvaluable | None:
        if self.applies(analysis) and not self._sql(analysis):
            return None  # no SQL Server: nothing to judge, nothing missing
        return super().run(analysis, scope)

    @staticmethod
    def _sql(analysis: Analysis) -> list[Hit]:
        hits = [Hit.of_fact(f, "warning", True, f.text or say("evidence.sql_present"), "W§5.5")
                for f in analysis.facts_named("sql.present") if f.value]
        hits += [Hit.of_event(e, "warning", True, "W§5.5") for e in analysis.timeline.notable if e.kind == "sql.backup"]
        return hits[:3]

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        values = {str(v.get("name", "")).lower(): (f, v) for f, v in fact_values(analysis, "registry.bcdr")}
        copy = values.get("usevsscopybackup")
        if copy is not None and str(copy[1].get("value", "")).strip().lower() == "true":
            return []
        severity = "error" if not scope.last_attempt_ok and scope.attempts else "warning"
        hits = [Hit(h.ts, h.path, h.line, h.text, severity, True, h.ref) for h in self._sql(analysis)]
        for key in ("usevsscopybackup", "usevssfullbackup"):
            if key in values:
                f, v = values[key]
                hits.append(Hit.of_fact(f, severity, True, f.text or f"{v.get('name')} = {v.get('value')}", "W§6.1"))
        if copy is None:
            path = (analysis.present.get("registry_export") or [r"HKLM\SOFTWARE\Microsoft\BcdrAgent"])[0]
            hits.append(Hit(None, path, None, say("evidence.vss_copy_backup_unset"), severity, True, "W§6.1"))
        for h in self.match(scope, self.signatures):
            h.severity = severity if h.live else "info"
            hits.append(h)
        return hits


class VssWriterFailed(Detector):
    """Seed cause 4 (Windows): a VSS writer or service is in a bad state, or writes could not be held."""

    id = "VSS_WRITER_FAILED"
    seed_cause = 4
    error_codes = ("ExtensionFailedVssWriterInBadState", "ExtensionFailedVssServiceInBadState",
                   "ExtensionSnapshotFailedCOM", "ExtensionInstallationFailedCOM", "ExtensionInstallationFailedMDTC",
                   "ExtensionSnapshotBitlockerError")
    sources = ("windows_events", "vss_writers", "vmsnapshot_windows_log")
    facts = ("vss.writer",)
    os = "windows"
    signatures: ClassVar[tuple[Signature, ...]] = (
        # VSS 11/12/12297, 12310/4003 and VolSnap 8/25 are load and timeout signs: other detectors own them
        sig("W-VSS", (), event_ids=(8193, 8194, 8229, 12289, 12292, 12293, 12298, 12301, 12302, 13, 20, 22, 38, 39,
                                    40, 8213, 8230), provider=r"^VSS$"),
        sig("W-VolSnap-35", (), event_ids=(35,), provider=r"volsnap|VolumeSnapshot"),
        sig("W-SCM", ("service.state", "service.crash", "windows.event"), where={"service": _VSS_SERVICES},
            event_ids=(7000, 7001, 7023, 7031, 7034)),
        # provider error, writes not held (VSS_E_HOLD_WRITES_TIMEOUT, any wording), MSDTC unavailable
        sig("HRESULT", (), where={"hresults": ("0x8004230F", "0x80042314", "0x8004E00F")}),
        # writer errors (windows-formats 5.8) and the Azure error codes the extension's log names
        sig("W-Writer-HRESULT", (), where={"hresults": ("0x800423F3", "0x800423F4", "0x80042315", "0x80042318",
                                                         "0x80042319")}),
        sig("W-Writer-code", (), where={"error_code": ("ExtensionFailedVssWriterInBadState",
                                                      "ExtensionFailedVssServiceInBadState",
                                                      "ExtensionSnapshotFailedCOM", "ExtensionInstallationFailedCOM",
                                                      "ExtensionInstallationFailedMDTC",
                                                      "ExtensionSnapshotBitlockerError")}),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        # VSS 8194 (IVssWriterCallback security) is logged whenever any requestor queries the writers: it is
        # about the backup only near one of its runs; elsewhere it is noted at info (and so explained)
        unrelated = {(e.path, e.line) for e in scope.events if as_int(e.attrs.get("event_id")) == 8194
                     and str(e.attrs.get("provider", "")).upper() == "VSS" and not scope.near_run(e.ts)}
        hits = self.match(scope, self.signatures)
        for h in hits:
            if (h.path, h.line) in unrelated:
                h.severity, h.live = "info", False
        for f, v in fact_values(analysis, "vss.writer"):
            state = as_int(v.get("state"))
            error = bool(v.get("last_error"))  # the parser leaves it empty when the writer reports none
            if error or (state is not None and state not in (1, *_WAITING)):
                text = say("evidence.vss_writer", name=v.get("name"), state=v.get("state"),
                           state_text=v.get("state_text") or "", last_error=v.get("last_error") or "-")
                hits.append(Hit.of_fact(f, "error", not scope.last_attempt_ok, text, "W§2.6"))
        return hits


class ExtensionBlockedBySecuritySoftware(Detector):
    """Seed cause 4: AppLocker, antivirus or SELinux blocks the backup extension (IaaSBcdrExtension.exe)."""

    id = "EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE"
    seed_cause = 4
    error_codes = ("GuestAgentSnapshotTaskStatusError", "VMRestorePointInternalError", "ExtensionOperationFailed",
                   "UserErrorVmNotInDesirableState")
    sources = ("windows_events", "syslog")
    confidence = 0.75
    signatures: ClassVar[tuple[Signature, ...]] = (
        # AppLocker and antivirus blocks, a crash of IaaSBcdrExtension.exe (Application Error 1000), SELinux
        # denials of the agent
        sig("security.block", "security.block"),
    )
