"""Warnings the agents write on healthy runs are marked ``routine`` by their parser (level kept as written), so
they are never unexplained errors; a warning of another wording stays an alarm."""

from __future__ import annotations

import pytest

from tests.parsers.windows_helpers import run, utf16

VMS = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"


@pytest.mark.parametrize("line", [
    # G4 and G3 (the telemetry collector exists from 2.2.4x), the syslog copy of the G4 record
    f"2024-06-10T03:17:12.418734Z WARNING ExtHandler ExtHandler Dropped events for Extension: {VMS}; Details:",
    f"2020-04-22T04:21:25.227517Z WARNING ExtHandler Dropped events for Extension: {VMS}; Details:",
    # the environment thread: no dhclient to watch, udev rules moved aside (G4, G2)
    "2024-06-10T03:17:12.418734Z WARNING EnvHandler ExtHandler Dhcp client is not running.",
    "2019/06/10 03:17:12.418734 WARNING ExtHandler Move rules file 70-persistent-net.rules to "
    "/var/lib/waagent/70-persistent-net.rules",
])
def test_linux_agent_routine_warnings(line: str) -> None:
    for parser, text, path in (("waagent_log", line, "var/log/waagent.log"),
                               ("syslog", f"Jun 10 03:17:12 vm1 python3[1036]: {line}", "var/log/syslog")):
        (e,), _ = run(parser, (text + "\n\tEvent too old (2 events)\n").encode(), path)
        assert e.level == "warning" and e.attrs.get("routine") is True and not e.alarm
    other = line.replace("Dropped events for", "Failed to send events for").replace("Dhcp client is not running",
                         "Dhcp client is not responding").replace("Move rules file", "Failed to move rules file")
    (e,), _ = run("waagent_log", other.encode(), "var/log/waagent.log")
    assert e.alarm


@pytest.mark.parametrize("text", [
    "[00000006] [11/14/2019 05:52:31.77] [WARN]  Waiting for OOBE to Complete ...",
    "[00000038] 2025-01-08T07:38:10.014Z [WARN] Trying to download VMSettingsProfile with etag 13033797738084609833",
])
def test_windows_agent_routine_warnings(text: str) -> None:
    (e,), _ = run("wa_app_agent_log", utf16(text + "\n"), "C/WindowsAzure/Logs/WaAppAgent.log")
    assert e.level == "warning" and e.attrs.get("routine") is True and not e.alarm
    (other,), _ = run("wa_app_agent_log", utf16(text.replace("Waiting for OOBE", "Failed waiting for OOBE")
                                                .replace("Trying to download", "Failed to download") + "\n"),
                      "C/WindowsAzure/Logs/WaAppAgent.log")
    assert other.alarm
