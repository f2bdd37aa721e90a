"""Every detector: it fires on its evidence, stays quiet without it, and is not evaluable without its sources."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from analyzer.detectors import BUILTIN
from analyzer.detectors.base import NotEvaluable
from analyzer.model import Analysis, Finding
from analyzer.report.wording import Wording
from parsers.linux_agent._signatures import SYSTEM_TABLE
from tests.detectors.helpers import VMS, analysis, attempt, classified, ev, fact, success

HB = "[HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal state agent"
WIN = ("wa_app_agent_log", "evtx", "registry_export")


def _win(events=(), facts=(), present=WIN) -> Analysis:  # type: ignore[no-untyped-def]
    return analysis(list(events), list(facts), present, os="windows")


# id -> (fires, quiet, not evaluable)
CASES: dict[str, tuple[Callable[[], Analysis], Callable[[], Analysis], Callable[[], Analysis]]] = {
    "WIRESERVER_UNREACHABLE": (
        lambda: analysis([attempt(0), ev(5, "wireserver.error", "Error fetching the goal state: timed out")]),
        lambda: analysis([attempt(0), ev(5, "goalstate.fetched", "ProcessExtensionsGoalState started"), success(6)]),
        lambda: analysis(present=("dhcp_lease",))),
    "STORAGE_UNREACHABLE": (
        lambda: analysis([attempt(0), ev(2, "snapshot.status", "StatusCode.FailedRetryableSnapshotFailedNoNetwork,",
                                         ext_code=76)], present=("vmsnapshot_log",)),
        lambda: analysis([attempt(0), success(1)], present=("vmsnapshot_log",)),
        lambda: analysis(present=("syslog",))),
    "AGENT_OUTDATED": (
        lambda: analysis(facts=[fact("agent.goal_state_version", "2.2.45", "var/log/waagent.log")]),
        lambda: analysis(facts=[fact("agent.daemon_version", "2.2.45", "var/log/waagent.log"),
                                fact("agent.goal_state_version", "2.9.1.1", "var/log/waagent.log")]),
        lambda: analysis(present=("syslog",))),
    "AGENT_NOT_RUNNING": (
        lambda: analysis([ev(-60, "agent.heartbeat", HB, version="2.9.1.1"), attempt(30),
                          ev(120, "agent.heartbeat", HB, version="2.9.1.1")]),
        lambda: analysis([ev(-20, "agent.heartbeat", HB), attempt(0), ev(10, "agent.heartbeat", HB), success(2)]),
        lambda: analysis(present=("dhcp_lease",))),
    "AGENT_AUTO_UPDATE_DISABLED": (
        lambda: analysis(facts=[fact("conf.AutoUpdate.Enabled", "n")], present=("waagent_conf",)),
        lambda: analysis(facts=[fact("conf.AutoUpdate.Enabled", "y")], present=("waagent_conf",)),
        lambda: analysis(present=("syslog",))),
    "VERBOSE_LOGGING_DISABLED": (
        lambda: analysis([attempt(0)], [fact("conf.Logs.Verbose", "n")], present=("waagent_conf",)),
        lambda: analysis([attempt(0), success(1)], [fact("conf.Logs.Verbose", "n")], present=("waagent_conf",)),
        lambda: analysis([attempt(0)])),
    "EXTENSIONS_DISABLED": (
        lambda: analysis(facts=[fact("conf.Extensions.Enabled", "n")], present=("waagent_conf",)),
        lambda: analysis(facts=[fact("conf.Extensions.Enabled", "y")], present=("waagent_conf",)),
        lambda: analysis(present=("syslog",))),
    "EXTENSION_LOAD_FAILED": (
        lambda: analysis([ev(0, "extension.install.failed", "Non-zero exit code: 3, main/handle.sh install",
                             extension=VMS)]),
        lambda: analysis([ev(0, "extension.install.failed", "Non-zero exit code: 1, bin/custom-script-shim install",
                             extension="Microsoft.Azure.Extensions.CustomScript")]),
        lambda: analysis(present=("syslog",))),
    "SNAPSHOT_EXTENSION_OUTDATED": (
        lambda: analysis(facts=[fact("vmsnapshot.version", "1.0.9218.0"), fact("agent.python_version", "3.12.3")]),
        lambda: analysis(facts=[fact("vmsnapshot.version", "1.0.9218.0"), fact("agent.python_version", "3.10.12")]),
        lambda: analysis(present=("syslog",))),
    "IAASVMPROVIDER_NOT_AUTOMATIC": (
        lambda: _win(facts=[fact("service.start_type", {"service": "IaaSVmProvider", "start": 4}, "p.reg")]),
        lambda: _win(facts=[fact("service.start_type", {"service": "IaaSVmProvider", "start": 2}, "p.reg")]),
        lambda: _win(present=("wa_app_agent_log",))),
    "SNAPSHOT_TIMEOUT": (
        lambda: analysis([attempt(0), ev(2, "snapshot.timeout", "CRP timeout limit has reached")]),
        lambda: analysis([attempt(0), success(3), ev(60, "agent.heartbeat", HB)]),
        lambda: analysis(present=("syslog",))),
    "FS_FREEZE_FAILED": (
        lambda: analysis([attempt(0), ev(1, "snapshot.freeze.failed", "Failed to FIFREEZE: /data")],
                         present=("vmsnapshot_log",)),
        lambda: analysis([attempt(0), ev(1, "snapshot.freeze.start", "T:S freeze, timeout value 60"), success(2)],
                         present=("vmsnapshot_log",)),
        lambda: analysis(present=("syslog",))),
    "SQL_VSS_FULL_BACKUP": (
        lambda: _win(facts=[fact("sql.present", True, "a.evtx"),
                            fact("registry.bcdr", {"name": "IsProviderInstalled", "value": "True"}, "b.reg")]),
        lambda: _win(facts=[fact("sql.present", True, "a.evtx"),
                            fact("registry.bcdr", {"name": "USEVSSCOPYBACKUP", "value": "TRUE"}, "b.reg")]),
        lambda: _win(facts=[fact("sql.present", True, "a.evtx")], present=("evtx",))),
    "VSS_WRITER_FAILED": (
        lambda: _win([ev(1, "vss.error", "Volume Shadow Copy Service error: Unexpected error", provider="VSS",
                         event_id=8193)]),
        lambda: _win([ev(1, "vss.error", "The shadow copy could not be committed - operation timed out.",
                         provider="VSS", event_id=12310)]),
        lambda: _win(present=("registry_export",))),
    "VM_SHUTDOWN_IN_GUEST": (
        lambda: analysis([attempt(0), ev(1, "system.shutdown", "System is powering down.", source="syslog")],
                         present=("syslog",)),
        lambda: analysis([attempt(0), ev(-60, "system.shutdown", "System is rebooting.", source="syslog"),
                          ev(-58, "system.boot", "Linux version 5.15", source="syslog"), success(1)],
                         present=("syslog",)),
        analysis),
    "CONCURRENT_BACKUPS": (
        lambda: analysis([attempt(0), classified(1, "Retrying: SnapshotRateExceeded")], present=("vmsnapshot_log",)),
        lambda: analysis([attempt(0), classified(1, "The snapshot count against this blob has been exceeded")],
                         present=("vmsnapshot_log",)),
        lambda: analysis(present=("syslog",))),
    "HIGH_RESOURCE_USAGE": (
        lambda: analysis([attempt(0), classified(1, "Out of memory: Killed process 2867 (java)", table=SYSTEM_TABLE)],
                         present=("syslog",)),
        lambda: analysis([attempt(0), classified(1, "Memory cgroup out of memory: Killed process 7211 (python3) "
                                                    "oom_memcg=/azure.slice/azure-walinuxagent-logcollector.slice",
                                                 table=SYSTEM_TABLE)],
                         present=("syslog",)),
        lambda: analysis(present=("dhcp_lease",))),
    "DHCP_FAILURE": (
        lambda: analysis([ev(1, "dhcp.error", "Protocol endpoint not found: WireProtocol, [DhcpError]")]),
        lambda: analysis(facts=[fact("dhcp.lease", {"interface": "eth0", "option_245": "168.63.129.16",
                                                    "expired": False}, "dhclient.leases")], present=("dhcp_lease",)),
        lambda: analysis(present=("syslog",))),
    "SNAPSHOT_LIMIT_REACHED": (
        lambda: analysis([attempt(0), ev(1, "snapshot.status", "StatusCode.FailedSnapshotLimitReached,", ext_code=85)],
                         present=("vmsnapshot_log",)),
        lambda: analysis([attempt(0), success(1)], present=("vmsnapshot_log",)),
        lambda: analysis(present=("syslog",))),
    "EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE": (
        # Application Error 1000 for the extension's image, as parsers/windows_events/_records.py classifies it
        lambda: _win([ev(1, "security.block", "Faulting application name: IaaSBcdrExtension.exe, version: 1.0.92.0",
                         image="IaaSBcdrExtension.exe")], present=("evtx",)),
        lambda: _win([ev(1, "service.crash", "Faulting application name: notepad.exe, version: 10.0",
                         image="notepad.exe")], present=("evtx",)),
        lambda: _win(present=("registry_export",))),
}


def _detector(finding_id: str):  # type: ignore[no-untyped-def]
    return next(cls() for cls in BUILTIN if cls.id == finding_id)


def test_every_detector_has_cases() -> None:
    assert set(CASES) == {cls.id for cls in BUILTIN}


@pytest.mark.parametrize("finding_id", sorted(CASES))
def test_fires(finding_id: str) -> None:
    result = _detector(finding_id).run(CASES[finding_id][0]())
    assert isinstance(result, Finding), result
    assert result.id == finding_id and result.evidence and len(result.evidence) <= 8
    assert result.records >= len(result.evidence) and all(e.text or e.message for e in result.evidence)
    for lang in ("en", "cs"):  # the detector returns no words; the locale files word all of it
        w = Wording(lang)
        assert w.remediation(result) and w.title(result) != finding_id and w.explanation(result)
        assert all(w.evidence(e) for e in result.evidence)
    assert all(e.ts is None or e.ts.endswith("Z") for e in result.evidence)
    assert result.severity != "info" or finding_id in ("VERBOSE_LOGGING_DISABLED",)


@pytest.mark.parametrize("finding_id", sorted(CASES))
def test_does_not_fire(finding_id: str) -> None:
    result = _detector(finding_id).run(CASES[finding_id][1]())
    assert result is None or (isinstance(result, Finding) and result.severity == "info"), result


@pytest.mark.parametrize("finding_id", sorted(CASES))
def test_not_evaluable(finding_id: str) -> None:
    result = _detector(finding_id).run(CASES[finding_id][2]())
    assert isinstance(result, NotEvaluable) and result.detector == finding_id and result.missing


def test_an_unset_vss_copy_backup_points_at_the_registry_key_when_no_export_is_named() -> None:
    """The registry read without a .reg member to name (facts only): the evidence names the key itself."""
    found = _detector("SQL_VSS_FULL_BACKUP").run(_win(facts=[
        fact("sql.present", True, "a.evtx"), fact("registry.bcdr", {"name": "IsProviderInstalled", "value": "1"}, "")],
        present=("evtx",)))
    assert isinstance(found, Finding)
    assert "HKLM\\SOFTWARE\\Microsoft\\BcdrAgent" in [e.path for e in found.evidence]
