"""Which Windows warnings and errors concern the backup (``Event.alarm``) and which are ``unrelated``: the same
rule for every export (EvtRender XML, Event Viewer CSV, the real .evtx files of the reference data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.parsers.windows_helpers import run, utf16


def _xml(provider: str, event_id: int, level: int, message: str, data: str = "") -> str:
    """One record in EvtRender's shape (windows-formats.md 2.2)."""
    return ("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
            f"<Provider Name='{provider}'/><EventID Qualifiers='0'>{event_id}</EventID><Level>{level}</Level>"
            "<TimeCreated SystemTime='2024-06-10T02:00:05.0000000Z'/><EventRecordID>7</EventRecordID>"
            f"<Channel>System</Channel><Computer>vm1</Computer></System><EventData>{data}</EventData>"
            f"<RenderingInfo Culture='en-US'><Message>{message}</Message></RenderingInfo></Event>")


#: (provider, id, level, message, data, alarm): records of real providers with the messages of their templates
CASES = [
    ("Microsoft-Windows-DistributedCOM", 10016, 2, "The application-specific permission settings do not grant "
     "Local Activation permission for the COM Server application", "", False),
    ("Microsoft-Windows-DNS-Client", 1014, 3, "Name resolution for the name wpad timed out.", "", False),
    ("Service Control Manager", 7023, 2, "The Print Spooler service terminated with the following error: %%1722",
     "<Data Name='param1'>Print Spooler</Data><Data Name='param2'>%%1722</Data>", False),
    ("Service Control Manager", 7030, 2, "The Interactive Services Detection service is marked as an interactive "
     "service.", "", False),
    ("Service Control Manager", 7034, 2, "The Windows Azure Guest Agent service terminated unexpectedly.  It has done "
     "this 1 time(s).", "<Data Name='param1'>Windows Azure Guest Agent</Data><Data Name='param2'>1</Data>", True),
    ("Service Control Manager", 7000, 2, "The IaaSVmProvider service failed to start due to the following error: "
     "The service cannot be started.", "<Data Name='param1'>IaaSVmProvider</Data><Data Name='param2'>%%1058</Data>",
     True),
    ("VSS", 8193, 2, "Volume Shadow Copy Service error: Unexpected error calling routine CoCreateInstance. "
     "hr = 0x80040154.", "", True),
    ("VSS", 8229, 3, "A VSS writer has rejected an event with error 0x800423f4.", "", True),
    ("VSS", 13, 2, "Volume Shadow Copy Service information: The COM Server with CLSID {4e14fba2} cannot be started.",
     "", True),  # an id no rule maps, in the shadow-copy family: kept
    ("Application Error", 1000, 2, "Faulting application name: chrome.exe, version: 120.0.0.0", "", False),
    ("Application Error", 1000, 2, "Faulting application name: IaaSBcdrExtension.exe, version: 1.0.92.0", "", True),
    (".NET Runtime", 1026, 2, "Application: WindowsAzureGuestAgent.exe Framework Version: v4.0.30319 Description: "
     "The process was terminated due to an unhandled exception.", "", True),
    ("MSSQLSERVER", 18456, 2, "Login failed for user 'sa'. Reason: Password did not match.", "", False),
    ("SQLWRITER", 24583, 2, "Sqllib error: OLEDB Error encountered calling ICommandText::Execute. hr = 0x80040e14.",
     "", True),
    ("MsiInstaller", 1015, 3, "Failed to connect to server. Error: 0x80070005", "", False),
    ("Microsoft-Windows-AppLocker", 8004, 2, r"%OSDRIVE%\USERS\BOB\GAME.EXE was prevented from running.", "", False),
    ("Microsoft-Windows-AppLocker", 8004, 2, r"%OSDRIVE%\PACKAGES\PLUGINS\MICROSOFT.AZURE.RECOVERYSERVICES.VMSNAPSHOT"
     r"\1.0.92.0\IAASBCDREXTENSION.EXE was prevented from running.", "", True),
    ("Microsoft-Windows-Kernel-Power", 41, 1, "The system has rebooted without cleanly shutting down first.", "", True),
    ("Microsoft-Windows-Dhcp-Client", 1001, 3, "Your computer was not assigned an address from the network.", "",
     True),
    ("Service Control Manager", 7036, 4, "The Print Spooler service entered the stopped state.", "", False),  # info
]


@pytest.mark.parametrize(("provider", "event_id", "level", "message", "data", "alarm"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[5]}" for c in CASES])
def test_alarm_or_unrelated_in_xml_and_csv(provider: str, event_id: int, level: int, message: str, data: str,
                                           alarm: bool) -> None:
    (e,), _ = run("event_xml", _xml(provider, event_id, level, message, data).encode(), "winevt/Logs/System.xml")
    assert e.alarm is alarm, (e.kind, e.attrs)
    assert e.attrs.get("unrelated", False) is (not alarm and e.level in ("warning", "error", "critical"))
    name = {1: "Critical", 2: "Error", 3: "Warning", 4: "Information"}[level]
    quoted = message.replace('"', '""')
    csv = ("Level,Date and Time,Source,Event ID,Task Category\n"
           f'{name},6/10/2024 2:00:05 AM,{provider},{event_id},None,"{quoted}"\n')
    (c,), _ = run("event_csv", utf16(csv), "evt/System.csv")
    assert c.alarm is alarm, (c.kind, c.attrs)


@pytest.mark.parametrize("name", ["system.evtx", "2-vss_7-System.evtx"])
def test_a_real_system_log_full_of_other_services_raises_no_alarm(refdata: Path, name: str) -> None:
    events, _ = run("evtx", (refdata / "windows" / name).read_bytes(), f"winevt/Logs/{name}")
    worse = [e for e in events if e.level in ("warning", "error", "critical")]
    assert len(worse) > 20  # DCOM, DNS client, disks, other services' SCM errors
    assert [e for e in worse if e.alarm] == []
