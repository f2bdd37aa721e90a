"""Windows bundles written as the guest leaves them (``C:\\WindowsAzure``, ``C:\\Packages``), for the run and
time tests: the agent's log in format A or B, the VMSnapshot settings and status files, the extension's
log, the agent's aggregate status, in UTF-8 or UTF-16 with CRLF."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.parsers.windows_helpers import utf16

T0 = datetime(2024, 6, 10, 2, 0, tzinfo=UTC)  # the backup service asks at 02:00 UTC
EXT = "Microsoft.Azure.RecoveryServices.VMSnapshot"
VERSION = "1.0.92.0"
TASK = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
PLUGIN = f"C:\\Packages\\Plugins\\{EXT}\\{VERSION}"

#: ways the agent's enable line is worded across versions (what the parser must read)
ENABLE_LINES = (
    "Enable plugin {ext} with settings file {plugin}\\RuntimeSettings\\{seq}.settings",
    "Enabling plugin '{ext}', version '{version}', SeqNo: {seq}",
    "Executing command {plugin}\\IaaSBcdrExtension.exe enable for plugin {ext}_{version} "
    "(RuntimeSettings\\{seq}.settings)",
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ticks(t: datetime) -> int:
    return int((t - datetime(1, 1, 1, tzinfo=UTC)).total_seconds()) * 10**7


def agent_line(minutes: float, level: str, message: str, fmt: str = "B", tid: int = 12) -> str:
    t = at(minutes)
    if fmt == "A":
        return f"[{tid:08d}] [{t:%m/%d/%Y %H:%M:%S}.{t.microsecond // 10000:02d}] [{level}]  {message}"
    return f"[{tid:08d}] {t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z [{level}] {message}"


@dataclass
class WindowsBundle:
    """What the bundle shows; ``write`` lays it out. Times are minutes after T0."""

    seq: int = 12
    fmt: str = "B"
    utf16: bool = False
    enable_line: str = ENABLE_LINES[0]
    settings: bool = True
    enable_at: float | None = 0.7  # the agent runs the plugin
    ext_start_at: float | None = 0.8  # IaaSBcdrExtension starts
    status_at: float | None = 3.2  # the status file's timestampUTC
    status: str = "success"
    code: int = 1
    heartbeats: tuple[float, ...] = tuple(range(-60, 241, 30))
    aggregate_at: float | None = None  # the agent re-publishes the status at this time
    agent_lines: list[tuple[float, str, str]] = field(default_factory=list)  # (minutes, level, message)

    def encode(self, text: str) -> bytes:
        return utf16(text) if self.utf16 else text.replace("\n", "\r\n").encode()

    def write(self, root: Path) -> Path:
        plugin = root / "Packages" / "Plugins" / EXT / VERSION
        logs = root / "WindowsAzure" / "Logs"
        (plugin / "RuntimeSettings").mkdir(parents=True)
        (plugin / "Status").mkdir()
        (logs / "Plugins" / EXT / VERSION).mkdir(parents=True)
        if self.settings:
            public = {"locale": "en-us", "taskId": TASK, "commandStartTimeUTCTicks": str(ticks(T0)),
                      "vmType": "microsoft.compute/virtualmachines"}
            doc = {"runtimeSettings": [{"handlerSettings": {"protectedSettingsCertThumbprint": "AB12",
                                                            "protectedSettings": "MIIB", "publicSettings": public}}]}
            (plugin / "RuntimeSettings" / f"{self.seq}.settings").write_text(json.dumps(doc))
        if self.status_at is not None:
            (plugin / "Status" / f"{self.seq}.status").write_text(json.dumps([self._status(self.status_at)]))
        lines = [(-90.0, "INFO", "WindowsAzureGuestAgent starting. Version 2.7.41491.1102")]
        lines += [(m, "HEART", "WindowsAzureGuestAgent Heartbeat.") for m in self.heartbeats]
        if self.enable_at is not None:
            lines.append((self.enable_at, "INFO", self.enable_line.format(ext=EXT, plugin=PLUGIN, seq=self.seq,
                                                                          version=VERSION)))
        lines += self.agent_lines
        text = "\n".join(agent_line(m, lvl, msg, self.fmt) for m, lvl, msg in sorted(lines, key=lambda x: x[0]))
        (logs / "WaAppAgent.log").write_bytes(self.encode(text + "\n"))
        if self.ext_start_at is not None:
            ext_log = [agent_line(self.ext_start_at, "INFO", f"IaaSBcdrExtension started. SequenceNumber: {self.seq}",
                                  tid=1),
                       agent_line(self.ext_start_at + 0.01, "INFO", f"TaskId: {TASK}", tid=1)]
            (logs / "Plugins" / EXT / VERSION / "IaaSBcdrExtension.log").write_bytes(self.encode("\n".join(ext_log)))
        if self.aggregate_at is not None:
            (logs / "AggregateStatus").mkdir()
            stamp = f"{at(self.aggregate_at):%Y-%m-%dT%H:%M:%SZ}"
            status = self._status(self.aggregate_at)
            doc = {"version": "1.1", "timestampUTC": stamp, "aggregateStatus": {
                "guestAgentStatus": {"version": "2.7.41491.1102", "status": "Ready",
                                     "formattedMessage": {"lang": "en-US", "message": "GuestAgent is running"}},
                "handlerAggregateStatus": [{"handlerName": EXT, "handlerVersion": VERSION, "status": "Ready",
                                            "code": 0, "runtimeSettingsStatus": {
                                                "sequenceNumber": self.seq,
                                                "settingsStatus": {**status, "timestampUTC": stamp}}}]}}
            (logs / "AggregateStatus" / "aggregatestatus.json").write_text(json.dumps(doc))
        return root

    def _status(self, minutes: float) -> dict[str, object]:
        return {"version": "1.0", "timestampUTC": f"{at(minutes):%Y-%m-%dT%H:%M:%SZ}",
                "status": {"name": EXT, "operation": "Enable", "status": self.status, "code": str(self.code),
                           "formattedMessage": {"lang": "en-US", "message": "Enable Succeeded" if self.code == 1
                                                else "Enable failed"},
                           "taskId": TASK, "commandStartTimeUTCTicks": str(ticks(T0))}}
