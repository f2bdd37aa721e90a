"""Seed cause 3: the backup extension cannot run, load or update (Linux agent side)."""

from __future__ import annotations

import re
from dataclasses import replace
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
from analyzer.detectors.scope import Scope, version_tuple
from analyzer.model import Analysis, Message, say
from parsers.extension_names import BACKUP_EXTENSION

_FAILED_KINDS = ("extension.download.failed", "extension.install.failed", "extension.enable.failed",
                 "extension.update.failed", "extension.load.failed")
_LINUX_EXT = re.compile(r"VMSnapshotLinux", re.IGNORECASE)
# linux-formats §4.3: builds known broken on newer Python, as (build, first broken Python)
BROKEN_BUILDS = {(1, 0, 9217, 0): (3, 12), (1, 0, 9218, 0): (3, 12), (1, 0, 9225, 0): (3, 14)}
# distributions whose system Python is new enough to break those builds (Python version unknown otherwise)
_DISTRO_PYTHON = ((re.compile(r"ubuntu\D*26\.04"), (3, 14)), (re.compile(r"ubuntu\D*24\.04"), (3, 12)))


class ExtensionsDisabled(Detector):
    """Seed cause 3: ``Extensions.Enabled=n`` / ``ProvisionGuestAgent=false``: no extension can run."""

    id = "EXTENSIONS_DISABLED"
    seed_cause = 3
    error_codes = ("GuestAgentSnapshotTaskStatusError", "380008 AzureVmOffline", "UserErrorVmNotInDesirableState")
    sources = ("waagent_conf", "waagent_log", "ovf_env_xml")
    facts = ("conf.Extensions.Enabled", "ovf.provision_guest_agent")
    os = "linux"
    confidence = 0.95
    signatures: ClassVar[tuple[Signature, ...]] = (
        sig("L31", "agent.config", where={"key": "Extensions.Enabled", "value": NO_VALUES}),
        sig("L14", "agent.config", where={"key": "disable_agent"}),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        hits = [h for h in self.match(scope, self.signatures) if h.live]
        f = conf_value(analysis, "Extensions.Enabled")
        if f is not None and is_no(f.value):
            hits.append(Hit.of_fact(f, "error", True, f.text or f"Extensions.Enabled={f.value}", "conf"))
        ovf = analysis.fact("ovf.provision_guest_agent")
        if ovf is not None and ovf.value is False:
            hits.append(Hit.of_fact(ovf, "error", True, ovf.text or "ProvisionGuestAgent = false", "ovf"))
        for e in scope.events:
            if e.kind == "agent.config" and str(e.attrs.get("key")) == "Extensions.Enabled" and \
                    is_no(e.attrs.get("value")) and scope.in_window(e.ts):
                hits.append(Hit.of_event(e, "error", True, "L31"))
        return _unique(hits)


class ExtensionLoadFailed(Detector):
    """Seed cause 3: the VMSnapshot extension fails to download, install, enable, update or load."""

    id = "EXTENSION_LOAD_FAILED"
    seed_cause = 3
    error_codes = ("ExtensionOperationFailedForManagedDisks", "ExtensionOperationFailed",
                   "UserErrorVmProvisioningStateFailed", "ExtensionStuckInDeletionState",
                   "ExtensionConfigParsingFailure", "ExtensionInstallationFailure",
                   "ExtensionVCRedistInstallationFailure", "GuestAgentPluginInstallCommandProcessingFailed",
                   "GuestAgentCertificateNotFound")
    ext_codes = (11, 16)
    sources = ("agent_log", "extension_command_log", "vmsnapshot_log", "handler_state", "extension_status",
               "vmsnapshot_windows_log", "windows_events")
    signatures: ClassVar[tuple[Signature, ...]] = (
        # L74: killed at its timeout while starved of CPU: a symptom of HIGH_RESOURCE_USAGE, not a load failure
        sig("L23-starved", "extension.enable.failed", severity="warning", vmsnapshot_only=True,
            where={"starved": "True"}),
        # L18, L20-L21, L23, L24-L26, L34: downgrade, exit codes, python unknown, timeouts, downloads, versions
        sig("extension.failed", _FAILED_KINDS, vmsnapshot_only=True),
        sig("L22", "extension.load.failed", where={"module": ("imp", "crypt")}),
        sig("L30", (), signals=("goal_state_file_missing",)),
        sig("L28", (), signals=("manifest_fetch_failed",)),
        sig("L69", (), signals=("certificate_load_failed",)),
        sig("ext-11-16", ("snapshot.status", "extension.status"), codes=(11, 16)),
        sig("W-InstallPlugins", (), signals=("install_plugins_failed",)),
        sig("W-VCRedist", "extension.install.failed", where={"component": "vcredist"}),
        # the extension's own log names the Azure error code or a VC++ installer that failed (windows-formats 5.9)
        sig("W-VCRedist-code", (), where={"error_code": "ExtensionVCRedistInstallationFailure"}),
        sig("W-VCRedist-log", (), signals=("vcredist_failed",), vmsnapshot_only=True),
    )

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        hits = self.match(scope, self.signatures)
        for f, v in fact_values(analysis, "extension.handler_state"):
            if BACKUP_EXTENSION.search(f"{v.get('extension', '')} {f.path}") and \
                    str(v.get("state", "")).lower() in ("failed", "failedupgrade"):
                hits.append(Hit.of_fact(f, "error", not scope.last_attempt_ok,
                                        say("evidence.handler_state", state=v.get("state"),
                                            extension=v.get("extension") or f.path), "§3.7"))
        for f, v in fact_values(analysis, "extension.handler_status"):
            if BACKUP_EXTENSION.search(f"{v.get('extension', '')} {f.path}") and \
                    str(v.get("status", "")).lower() == "notready" and v.get("message"):
                hits.append(Hit.of_fact(f, "warning", not scope.last_attempt_ok,
                                        say("evidence.handler_status_not_ready", message=v.get("message")), "§3.7"))
        return hits


class SnapshotExtensionOutdated(Detector):
    """Seed cause 3: the installed VMSnapshotLinux build is known broken on this VM's Python."""

    id = "SNAPSHOT_EXTENSION_OUTDATED"
    seed_cause = 3
    error_codes = ("ExtensionOperationFailedForManagedDisks", "GuestAgentSnapshotTaskStatusError")
    sources = ("waagent_log", "extension_command_log", "vmsnapshot_log", "extensions_config_xml",
               "extension_status", "handler_state")
    facts = ("vmsnapshot.version", "extension.plugin")
    os = "linux"
    confidence = 0.85

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        version = installed_version(analysis)
        if version is None:
            return []
        vt, where = version
        broken_on = BROKEN_BUILDS.get(vt)
        if broken_on is None:
            return []
        python = python_version(analysis)
        if python is not None and python < broken_on:
            return []
        severity = "error" if python is not None or not scope.last_attempt_ok else "info"
        return [replace(where, severity=severity, ref="§4.3")]

    def notes(self, analysis: Analysis, scope: Scope, hits: list[Hit]) -> list[Message]:
        version = installed_version(analysis)
        python = python_version(analysis)
        assert version is not None
        vt = version[0]
        needed = ".".join(map(str, BROKEN_BUILDS[vt]))
        shown = ".".join(map(str, python)) if python else say("word.unknown")
        return [say("note.vmsnapshot_broken_python", version=".".join(map(str, vt)), python=shown, needed=needed)]


def installed_version(analysis: Analysis) -> tuple[tuple[int, ...], Hit] | None:
    """The newest VMSnapshotLinux version the bundle names, with where it was read."""
    found: list[tuple[tuple[int, ...], Hit]] = []
    for f in analysis.facts_named("vmsnapshot.version"):
        vt = version_tuple(f.value)
        if vt:
            text = f.text or say("evidence.extension_version", name="VMSnapshotLinux", version=f.value)
            found.append((vt, Hit.of_fact(f, "error", True, text)))
    for f, v in fact_values(analysis, "extension.plugin"):
        vt = version_tuple(v.get("version"))
        if vt and _LINUX_EXT.search(str(v.get("name", ""))):
            text = f.text or say("evidence.extension_version", name=v.get("name"), version=v.get("version"))
            found.append((vt, Hit.of_fact(f, "error", True, text)))
    for e in analysis.timeline.notable:
        if not e.kind.startswith("extension.") or e.attrs.get("version") is None:
            continue
        vt = version_tuple(e.attrs.get("version"))
        if vt and len(vt) == 4 and _LINUX_EXT.search(
                str(e.attrs.get("extension", "")) + e.message):
            found.append((vt, Hit.of_event(e, "error", True)))
    return max(found, key=lambda x: x[0]) if found else None


def python_version(analysis: Analysis) -> tuple[int, ...] | None:
    """Python of the VM: the agent's, the extension telemetry's, or the distribution's default."""
    f = analysis.fact("agent.python_version")
    if f is not None and version_tuple(f.value):
        return version_tuple(f.value)
    for _, v in reversed(fact_values(analysis, "extension.status")):
        telemetry = v.get("telemetry")
        if isinstance(telemetry, dict) and version_tuple(telemetry.get("pythonVersion")):
            return version_tuple(telemetry.get("pythonVersion"))
    distro = analysis.fact("host.distro")
    for rx, py in _DISTRO_PYTHON:
        if distro is not None and rx.search(str(distro.value).lower()):
            return py
    return None


def _unique(hits: list[Hit]) -> list[Hit]:
    seen: set[tuple[str, int | None]] = set()
    out = []
    for h in hits:
        if (h.path, h.line) not in seen:
            seen.add((h.path, h.line))
            out.append(h)
    return out
