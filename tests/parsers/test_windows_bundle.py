"""A Windows bundle folder through analyzer.api.parse_bundle: one UTC-ordered stream across agent logs,
.evtx and local-time exports, converted with the registry's time zone."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from analyzer.api import parse_bundle
from analyzer.model import Options
from tests.conftest import REFDATA
from tests.parsers.windows_helpers import utf16

AGENT_LOG = """[00000006] [07/06/2018 18:30:00.00] [INFO]  WindowsAzureGuestAgent starting. Version 2.7.41491.949
[00000020] [07/06/2018 18:39:00.00] [HEART] WindowsAzureGuestAgent Heartbeat.
[00000024] [07/06/2018 18:39:30.00] [WARN] Empty DHCP option data returned
"""
# exported on a VM at UTC+2: 20:39:45 local is 18:39:45 UTC
CSV = ("Level,Date and Time,Source,Event ID,Task Category\n"
       'Error,7/6/2018 8:39:45 PM,Service Control Manager,7034,None,"The RdAgent service terminated unexpectedly.  '
       'It has done this 1 time(s)."\n')
REG = ("Windows Registry Editor Version 5.00\n\n"
       "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation]\n"
       '"Bias"=dword:ffffffc4\n"ActiveTimeBias"=dword:ffffff88\n')


def _bundle(root: Path) -> Path:
    logs = root / "C" / "WindowsAzure" / "Logs"
    logs.mkdir(parents=True)
    (logs / "WaAppAgent.log").write_bytes(utf16(AGENT_LOG))
    evtx = root / "C" / "Windows" / "System32" / "winevt" / "Logs"
    evtx.mkdir(parents=True)
    shutil.copy(REFDATA / "windows" / "2-vss_7-System.evtx", evtx / "System.evtx")
    (root / "VM1_evt_System.csv").write_bytes(utf16(CSV))
    (root / "TimeZone.reg").write_bytes(utf16(REG))
    return root


def test_one_utc_ordered_stream(tmp_path: Path) -> None:
    analysis, info = parse_bundle(_bundle(tmp_path / "bundle"), Options(keep_all_events=True))
    try:
        assert info.os == "windows"
        assert {s.parser for s in analysis.sources} == {"wa_app_agent_log", "evtx", "event_csv", "registry_export"}
        assert all(s.status == "parsed" for s in analysis.sources)
        events = list(analysis.timeline.events())
        assert len(events) == 3 + 1160 + 1
        stamps = [e.ts for e in events]
        assert all(ts is not None and ts.tzinfo is not None for ts in stamps)
        assert stamps == sorted(stamps)  # type: ignore[type-var]
        crash = next(e for e in events if e.source == "event_csv")
        assert crash.ts == datetime(2018, 7, 6, 18, 39, 45, tzinfo=UTC) and crash.attrs["tz"] == "converted"
        dhcp = next(e for e in events if e.kind == "dhcp.error")
        assert events.index(dhcp) < events.index(crash)  # 18:39:30 UTC agent line before the 20:39:45 local record
        assert analysis.fact("agent.windows_version").value == "2.7.41491.949"  # type: ignore[union-attr]
        assert analysis.fact("tz.utc_offset_minutes").value == 120  # type: ignore[union-attr]
        assert {"wa_app_agent_log", "evtx", "event_csv", "registry_export"} <= analysis.present.keys()
    finally:
        analysis.timeline.close()
