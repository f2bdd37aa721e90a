"""What the Windows backup extension's own log (IaaSBcdrExtension.log) and SQL Server's events say about a failed
run is evidence of the finding that names it (windows-formats.md 5.5, 5.8, 5.9; error-codes.md): the writer
HRESULTs and ``ExtensionFailedVssWriterInBadState`` (VSS_WRITER_FAILED), the VC++ runtime that would not install
(EXTENSION_LOAD_FAILED), the provider not running or not registered (IAASVMPROVIDER_NOT_AUTOMATIC), the VDI and
SQL writer aborts of a VSS full backup (SQL_VSS_FULL_BACKUP). Such records are then explained, not listed as
unexplained errors; the root cause is the finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.model import severity_rank
from tests.detectors.test_windows_reference import _xml
from tests.detectors.windows_bundles import EXT, VERSION, WindowsBundle, agent_line
from tests.parsers.windows_helpers import utf16

REG = "Windows Registry Editor Version 5.00\r\n\r\n"
PROVIDER_MANUAL = (REG + "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\IaaSVmProvider]\r\n"
                   '"Start"=dword:00000003\r\n')
SQL_NO_COPY = (REG + "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent]\r\n\"IsProviderInstalled\"=\"True\"\r\n\r\n"
               "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SQLWriter]\r\n\"Start\"=dword:00000002\r\n")

CASES = {
    "writer-hresult": (["VSS writer 'System Writer' failed. State: [9] Failed at freeze. hr = 0x800423F4",
                        "DoSnapshotSet failed. hr = 0x800423F4. ExtensionFailedVssWriterInBadState"],
                       None, "VSS_WRITER_FAILED"),
    "writer-not-responding": (["Writer 'SqlServerWriter' did not respond, hr = 0x80042319 VSS_E_WRITER_NOT_RESPONDING"],
                              None, "VSS_WRITER_FAILED"),
    "vcredist": (["Prerequisite installation failed: vcredist2013_x64.exe exit code 1401",
                  "Enable failed: ExtensionVCRedistInstallationFailure"], None, "EXTENSION_LOAD_FAILED"),
    "provider": (["IaaSVmProvider service is not running. StartType: Manual",
                  "Failed to start service IaaSVmProvider. Win32 error 1058",
                  "AddToSnapshotSet failed: the Azure IaaS VM provider is not registered with VSS. hr = 0x80042304"],
                 PROVIDER_MANUAL, "IAASVMPROVIDER_NOT_AUTOMATIC"),
}


@pytest.mark.parametrize(("fmt", "wide"), [("A", False), ("B", True)])
@pytest.mark.parametrize("failure", CASES)
def test_the_extension_log_of_a_failed_run_is_evidence(tmp_path: Path, failure: str, fmt: str, wide: bool) -> None:
    lines, reg, finding = CASES[failure]
    bundle = WindowsBundle(fmt=fmt, utf16=wide, status="error", code=2).write(tmp_path / "b")
    log = bundle / "WindowsAzure" / "Logs" / "Plugins" / EXT / VERSION / "IaaSBcdrExtension.log"
    text = (utf16 if wide else str.encode)  # the extension writes in the encoding of its log
    records = [agent_line(0.8, "INFO", "IaaSBcdrExtension started. SequenceNumber: 12", fmt, 1)]
    records += [agent_line(1.5 + i / 10, "ERROR", msg, fmt, 1) for i, msg in enumerate(lines)]
    log.write_bytes(text("\r\n".join(records) + "\r\n"))
    if reg:
        (bundle / "services.reg").write_bytes(utf16(reg))
    report = analyze(bundle)
    problems = {f.id: f.severity for f in report.findings if severity_rank(f.severity) >= severity_rank("warning")}
    assert report.verdict.root_cause == finding, problems
    assert report.unexplained == [], [u.template for u in report.unexplained]


def test_sql_aborts_of_a_vss_full_backup_are_its_evidence(tmp_path: Path) -> None:
    bundle = WindowsBundle(status="error", code=2).write(tmp_path / "b")
    (bundle / "bcdr.reg").write_bytes(utf16(SQL_NO_COPY))
    (bundle / "Application.xml").write_text("<Events>" + _xml(
        "SQLVDI", 1, 2, "SQLVDI: Loc=TriggerAbort. Desc=invoked. ErrorCode=(0). Process=3720. Thread=9404. Server. "
        "Instance=MSSQLSERVER. VD=Global\\{DF1DD65F-F8AD-4946-A764-F62166C541E2}1_SQLVDIMemoryName_0.", 2) + _xml(
        "SQLWRITER", 24583, 2, "Sqllib error: OLEDB Error encountered calling ICommandText::Execute. hr = 0x80040e14. "
        "SQLSTATE: 42000, Native Error: 3013", 3) + "</Events>")
    report = analyze(bundle)
    assert report.verdict.root_cause == "SQL_VSS_FULL_BACKUP"
    sql = next(f for f in report.findings if f.id == "SQL_VSS_FULL_BACKUP")
    assert any("TriggerAbort" in e.text for e in sql.evidence) and any("Sqllib error" in e.text for e in sql.evidence)
    assert report.unexplained == [], [u.template for u in report.unexplained]
