"""Missing evidence: which source would have let a detector judge, and the exact command to collect it."""

from __future__ import annotations

from analyzer.detectors.base import NotEvaluable
from analyzer.model import Analysis, MissingEvidence, say
from analyzer.sources import source_os

_LINUX_BUNDLE = ("sudo waagent -collect-logs -full, then attach /var/lib/waagent/logcollector/logs.zip "
                 "(or: sudo tar czf backup-logs.tgz /var/lib/waagent/*.xml /var/log/waagent.log* /var/log/azure/*)")
_EVENTS = r"wevtutil epl System System.evtx && wevtutil epl Application Application.evtx"
_VMS_LINUX = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
_VMS_STATE = "sudo tar czf vmsnapshot-state.tgz /var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshot*"
_PLUGIN_LOGS = r"copy C:\WindowsAzure\Logs (WaAppAgent.log, Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot\*)"

COLLECT: dict[str, str] = {
    "waagent_log": _LINUX_BUNDLE,
    "extension_command_log": _LINUX_BUNDLE,
    "vmsnapshot_log": f"sudo tar czf vmsnapshot-logs.tgz /var/log/azure/{_VMS_LINUX}",
    "goal_state_xml": "sudo tar czf waagent-xml.tgz /var/lib/waagent/*.xml",
    "extensions_config_xml": "sudo tar czf waagent-xml.tgz /var/lib/waagent/*.xml",
    "ovf_env_xml": "sudo cp /var/lib/waagent/ovf-env.xml .",
    "waagent_conf": "cp /etc/waagent.conf .",
    "waagent_status_json": _LINUX_BUNDLE,
    "dhcp_lease": "sudo tar czf leases.tgz /var/lib/dhcp /var/lib/dhclient /var/lib/NetworkManager/*.lease "
                  "/run/systemd/netif/leases",
    "syslog": "sudo journalctl --since -3days > journal.txt (or copy /var/log/syslog* / /var/log/messages*)",
    "handler_state": _VMS_STATE,
    "extension_status": _VMS_STATE,
    "wa_app_agent_log": _PLUGIN_LOGS,
    "vmsnapshot_windows_log": _PLUGIN_LOGS,
    "evtx": _EVENTS,
    "event_xml": _EVENTS,
    "event_csv": _EVENTS,
    "event_text": _EVENTS,
    "registry_export": r"reg export HKLM\SOFTWARE\Microsoft\BcdrAgent bcdr.reg && "
                       r"reg export HKLM\SYSTEM\CurrentControlSet\Services\IaaSVmProvider iaasvmprovider.reg",
    "service_listing": "sc qc IaaSVmProvider > sc_qc_iaasvmprovider.txt",
    "vss_writers": "vssadmin list writers > vssadmin_writers.txt",
}
# sources found on both systems ("any" in analyzer/sources.py) are collected differently on Windows
_WIN_PLUGIN_STATE = (r"copy C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot "
                     r"(Status\*.status, RuntimeSettings\*.settings, SeqNumber.txt)")
COLLECT_WINDOWS: dict[str, str] = {"extension_status": _WIN_PLUGIN_STATE, "handler_state": _WIN_PLUGIN_STATE}
AGENT_LOGS = {"linux": "waagent_log", "windows": "wa_app_agent_log"}


def collect_command(source: str, os_name: str) -> str:
    """The command that collects ``source`` on a VM of ``os_name``."""
    return COLLECT_WINDOWS.get(source, COLLECT[source]) if os_name == "windows" else COLLECT[source]


def _pick(sources: list[str], os_name: str) -> str | None:
    """The first alternative that fits the bundle's OS and that we know how to collect."""
    for s in sources:
        if s in COLLECT and (os_name == "unknown" or source_os(s) in (os_name, "any")):
            return s
    return None


def missing_evidence(analysis: Analysis, not_evaluable: list[NotEvaluable]) -> list[MissingEvidence]:
    wanted: dict[str, list[str]] = {}
    for ne in not_evaluable:
        source = _pick(ne.missing, analysis.os)
        if source is not None:
            wanted.setdefault(source, []).append(ne.detector)
    out = []
    if not analysis.has("waagent_log", "wa_app_agent_log"):
        for os_name, source in AGENT_LOGS.items():
            if analysis.os in (os_name, "unknown"):
                out.append(MissingEvidence(source, say("missing.agent_log"), COLLECT[source]))
                wanted.pop(source, None)
    for source, detectors in wanted.items():
        out.append(MissingEvidence(source, say("missing.needed_by", detectors=detectors),
                                   collect_command(source, analysis.os)))
    return out
