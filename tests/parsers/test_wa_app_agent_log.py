"""Windows guest agent logs with the verbatim lines of windows-formats.md §1.3-1.4."""

# ruff: noqa: E501 - verbatim log lines are kept whole

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers.base import Event
from tests.parsers.windows_helpers import facts, run, utf16

WAAPPAGENT = r"""[00000006] [11/14/2019 05:52:13.44] [INFO]  WindowsAzureGuestAgent starting. Version 2.7.41491.949
[00000006] [11/14/2019 05:52:31.77] [WARN]  Waiting for OOBE to Complete ...
[00000006] [11/14/2019 06:02:33.43] [INFO]  StateExecutor initialization completed.
[00000020] [11/14/2019 06:02:33.43] [HEART] WindowsAzureGuestAgent Heartbeat.
[00000013] [11/11/2022 06:34:12.06] [INFO]  WriteGAPluginHeartbeat: HostGAPluginServiceClient is not initialized so setting isCurrentlyHealthy as false
[00000013] [11/11/2022 06:34:12.06] [WARN]  Reached Maximim error count:1000 so not incrementing the count anymore
[00000013] [11/11/2022 06:34:12.06] [WARN]  Error state triggered for caller:GAPluginPinger
======== Microsoft Azure VM Health Report - Start 2022-11-11T06:10:02.8000000Z =========
{"realTimeIsUniversal":true,
 "osVersion":"Microsoft Windows NT 6.2.9200.0"}
======== Microsoft Azure VM Health Report - End 2022-11-11T06:10:02.8506342Z =========
[00000012] [11/11/2022 06:10:02.85] [TRACE] VmHealthCollectorThread: Opening serial port
[00000031] 2025-01-08T07:38:01.487Z [WARN] Status file C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot\1.0.92.0\Status\792.status is not available for the Extension '' yet.
[00000038] 2025-01-08T07:38:10.014Z [WARN] Trying to download VMSettingsProfile with etag 13033797738084609833
[00000038] 2025-01-08T07:38:10.026Z [INFO]VMSettingsConsistenceCheckIfFabricSource Passed.
[00000010] 2021-01-12T16:35:45Z [ERROR] InstallPlugins() failed with exception: System.AggregateException: One or more errors occurred. ---> System.BadImageFormatException: An attempt was made to load a program with an incorrect format. (Exception from HRESULT: 0x8007000B)
   at Microsoft.WindowsAzure.GuestAgent.ExtensionStateMachine.PluginInstaller.PackageExpand(String packageFilePath, String destinationPath)
[00000011] [12/11/2018 06:27:55.66] [WARN]  (Ignoring) Exception while fetching supported versions from HostGAPlugin: System.Net.WebException: Unable to connect to the remote server ---> System.Net.Sockets.SocketException: An attempt was made to access a socket in a way forbidden by its access permissions 168.63.129.16:32526
[00000006] [06/20/2019 07:44:28.93] [INFO] Attempting to discover fabric address on interface Npcap Loopback Adapter
[00000024] [06/20/2019 07:44:28.93] [WARN] Empty DHCP option data returned
[00000006] [06/20/2019 07:44:28.93] [ERROR] Did not discover fabric address on interface Npcap Loopback Adapter
[00000004] [07/18/2019 14:46:28.89] [WARN] WindowsAzureGuestAgent could not be stopped. Exception: System.NullReferenceException: Object reference not set to an instance of an object.
[00000004] [01/12/2019 00:30:47.24] [ERROR] RdCrypt Initialization failed. Error Code: -2147023143.
"""

TRANSPARENT_INSTALLER = r"""[00000018] [11/11/2022 05:44:01.57] [INFO]  Generated the temp VMAgent logs file 'C:\WindowsAzure\CollectGuestLogsTemp\0d99db5c-6731-4f7c-a007-9f4d35bffa77.zip' with file size 172693 KB.
[00000018] [11/11/2022 05:44:01.57] [WARN]  The log file size '176838125' exceeds the max file size limit '104857600' for upload, not uploading the file.
[00000017] [11/11/2022 06:04:03.51] [TRACE] Going to check for new NetAgent Target version.
[00000017] [11/11/2022 06:04:03.51] [INFO]  NetAgent Retrieving target version from wireserver @ http://168.63.129.16/machine/plugins?comp=netagent&type=getpackageversion
[00000017] [11/11/2022 06:04:03.52] [TRACE] NetAgent version received from Host is same as that in VM: 1.0.0.178. Existing: 1.0.0.178
"""


def _by_line(text: str, path: str = "C/WindowsAzure/Logs/WaAppAgent.log") -> dict[int, Event]:
    events, ctx = run("wa_app_agent_log", utf16(text), path)
    assert not ctx.problems
    return {e.line: e for e in events}


def test_format_a_is_utc_and_the_start_banner_gives_the_version() -> None:
    events, ctx = run("wa_app_agent_log", utf16(WAAPPAGENT), "C/WindowsAzure/Logs/WaAppAgent.log")
    start = events[0]
    assert start.ts == datetime(2019, 11, 14, 5, 52, 13, 440000, tzinfo=UTC)
    assert start.kind == "agent.start" and start.attrs["version"] == "2.7.41491.949"
    assert start.component == "WaAppAgent" and start.attrs["tid"] == "00000006"
    assert facts(ctx, "agent.windows_version") == ["2.7.41491.949"]
    assert facts(ctx, "vmsnapshot.version") == ["1.0.92.0"]


def test_kinds_of_the_documented_lines() -> None:
    e = _by_line(WAAPPAGENT)
    assert e[2].level == "warning" and e[2].kind == "log"
    assert e[4].kind == "agent.heartbeat"
    assert e[5].kind == "wireserver.error" and e[7].kind == "wireserver.error"
    assert e[6].kind == "log"
    status = e[13].attrs
    assert status["status"] == "missing" and status["seq"] == 792 and status["version"] == "1.0.92.0"
    assert e[15].message == "VMSettingsConsistenceCheckIfFabricSource Passed."
    failed = e[16]
    assert failed.kind == "extension.install.failed" and failed.attrs["hresults"] == ["0x8007000B"]
    assert failed.message.endswith("destinationPath)")  # the stack-trace line is folded in
    assert e[18].kind == "wireserver.error" and e[18].attrs["endpoint"] == "168.63.129.16:32526"
    assert e[19].kind == "log"
    assert e[20].kind == "dhcp.error" and e[21].attrs["interface"] == "Npcap Loopback Adapter"
    assert e[22].kind == "agent.crash"
    assert e[23].attrs["hresults"] == ["0x800706D9"]  # signed decimal normalized


def test_health_report_block_is_one_event_and_no_banner_is_a_record() -> None:
    e = _by_line(WAAPPAGENT)
    report = e[8]
    assert report.attrs["report"] == {"realTimeIsUniversal": True, "osVersion": "Microsoft Windows NT 6.2.9200.0"}
    assert report.ts == datetime(2022, 11, 11, 6, 10, 2, 850634, tzinfo=UTC)
    assert 9 not in e and 10 not in e and 11 not in e
    assert e[12].ts == datetime(2022, 11, 11, 6, 10, 2, 850000, tzinfo=UTC)
    assert e[12].level == "debug"  # TRACE


def test_transparent_installer_log_bom_less_utf16() -> None:
    events, ctx = run("wa_app_agent_log", utf16(TRANSPARENT_INSTALLER, bom=False),
                      "C/WindowsAzure/Logs/TransparentInstaller.log")
    assert len(events) == 5 and not ctx.problems
    assert events[0].component == "TransparentInstaller" and events[1].level == "warning"
    assert [e.kind for e in events] == ["log"] * 5  # an info line naming the WireServer is no failure
    # the log collection declining an upload over its size limit is about diagnostics, not the backup
    assert events[1].attrs.get("unrelated") and not events[1].alarm


@pytest.mark.parametrize("size,limit", [("176838125", "104857600"), ("2147483648", "52428800")])
@pytest.mark.parametrize("prefix", ["[00000018] [11/11/2022 05:44:01.57] [WARN]  ", "[00000018] 2024-05-01T10:00:00Z [WARN] ",
                                    "[00000018] [11/11/2022 05:44:01.57] [ERROR] "])
def test_the_upload_size_limit_of_the_log_collection_is_never_an_alarm(size: str, limit: str, prefix: str) -> None:
    line = f"{prefix}The log file size '{size}' exceeds the max file size limit '{limit}' for upload, not uploading the file.\n"
    (e,), _ = run("wa_app_agent_log", line.encode(), "C/WindowsAzure/Logs/TransparentInstaller.log")
    assert e.attrs.get("unrelated") and not e.alarm


def test_plugin_command_execution_log_component_is_the_plugin() -> None:
    line = "[00000010] 2021-01-12T16:35:45Z [INFO]  Command execution started.\n"
    (e,), _ = run("wa_app_agent_log", line.encode(),
                  "C/WindowsAzure/Logs/Plugins/Microsoft.Compute.CustomScriptExtension/1.10/CommandExecution.log")
    assert e.component == "Microsoft.Compute.CustomScriptExtension"


def test_unknown_layout_falls_back_to_leading_iso_times() -> None:
    text = "2024-05-01 10:00:00.123 [ERROR] telemetry upload failed\n  detail line\nno time here\n"
    (e,), _ = run("wa_app_agent_log", text.encode(), "C/WindowsAzure/Logs/Telemetry.log")
    assert e.ts == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC) and e.level == "error"
    assert e.message.splitlines() == ["telemetry upload failed", "  detail line", "no time here"]


ENABLES = r"""[00000012] 2024-06-10T02:00:41.100Z [INFO]  Enable plugin Microsoft.Azure.RecoveryServices.VMSnapshot with settings file C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot\1.0.92.0\RuntimeSettings\12.settings
[00000012] [06/11/2024 02:00:41.10] [INFO]  Enabling plugin 'Microsoft.Azure.RecoveryServices.VMSnapshot', version '1.0.92.0', SeqNo: 13
[00000012] 2024-06-12T02:00:41Z [INFO] Executing command C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot\1.0.93.0\IaaSBcdrExtension.exe enable
[00000012] 2024-06-13T02:00:41Z [ERROR] Enable plugin Microsoft.Azure.RecoveryServices.VMSnapshot_1.0.93.0 failed with exception: System.IO.IOException (RuntimeSettings\15.settings)
[00000012] 2024-06-13T02:05:00Z [INFO] Plugin Microsoft.Azure.RecoveryServices.VMSnapshot_1.0.93.0 current state: Enabled, desired state: Enabled
[00000012] 2024-06-13T02:06:00Z [INFO] Enable plugin Microsoft.Compute.BGInfo with settings C:\Packages\Plugins\Microsoft.Compute.BGInfo\2.1\RuntimeSettings\3.settings
"""


def test_the_agent_enabling_the_backup_extension() -> None:
    events, _ = run("wa_app_agent_log", utf16(ENABLES))
    kinds = [(e.kind, e.attrs.get("seq"), e.attrs.get("version")) for e in events]
    assert kinds == [("extension.enable", 12, "1.0.92.0"), ("extension.enable", 13, "1.0.92.0"),
                     ("extension.enable", None, "1.0.93.0"), ("extension.enable.failed", 15, "1.0.93.0"),
                     ("log", None, None), ("log", None, None)]
    assert all(e.attrs["extension"] == "Microsoft.Azure.RecoveryServices.VMSnapshot" for e in events[:4])
