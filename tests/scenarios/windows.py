"""Windows VMs: the guest agent (WaAppAgent.log), the VMSnapshot extension and the event logs.

Formats and messages come from ../shared/reference/windows-formats.md: WaAppAgent.log formats A and B
(§1.3), VMSnapshot plugin files (§1.5), event templates per provider and id (§5), registry keys (§6),
``vssadmin`` and ``systeminfo`` output (§2.6, general Windows knowledge where the reference says so).
No public sample of IaaSBcdrExtension.log exists (§1.5, "treat it as opaque text"): its lines here use
the guest agent's record prefix and the words the issue quotes (``SequenceNumber``, ``TaskId``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.scenarios.vm import VM, Variant, dotnet_ticks

VMS = "Microsoft.Azure.RecoveryServices.VMSnapshot"
PLUGIN_DIR = "C:/Packages/Plugins/" + VMS
PLUGIN_LOGS = "C:/WindowsAzure/Logs/Plugins/" + VMS
MODERN_AGENTS = ("2.7.41491.1102", "2.7.41491.1123", "2.7.41491.1140", "2.7.41491.1161")

SCM = ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}", "Service Control Manager")
DISPLAY = {"VSS": "Volume Shadow Copy", "WindowsAzureGuestAgent": "Windows Azure Guest Agent",
           "RdAgent": "RdAgent", "IaaSVmProvider": "IaaSVmProvider", "SQLWriter": "SQL Server VSS Writer",
           "MSSQLSERVER": "SQL Server (MSSQLSERVER)", "swprv": "Microsoft Software Shadow Copy Provider"}


@dataclass
class WinEvent:
    t: datetime
    channel: str  # System | Application
    provider: str
    event_id: int
    level: int  # 1 critical 2 error 3 warning 4 information
    message: str
    data: list[tuple[str | None, str]] = field(default_factory=list)
    qualifiers: int | None = None
    guid: str | None = None
    source_name: str | None = None
    task: int = 0
    keywords: str = "0x80000000000000"
    user: str = "N/A"


LEVEL_NAME = {1: "Critical", 2: "Error", 3: "Warning", 4: "Information"}


class WindowsVM(VM):
    os = "windows"

    def __init__(self, variant: Variant, story: str, t0: datetime, *, agent: str | None = None,
                 ext_version: str = "1.0.92.0") -> None:
        super().__init__(variant, story, t0)
        self.host = self.host.upper()
        self.agent = agent or self.rng.choice(MODERN_AGENTS)
        self.ext_version = ext_version
        self.waa: list[tuple[datetime, str, str, int]] = []  # (t, LEVEL, msg, tid)
        self.bcdr: list[tuple[datetime, str, str]] = []
        self.events: list[WinEvent] = []
        self.registry: dict[str, list[tuple[str, str]]] = {}
        self.services: dict[str, tuple[str, str]] = {}  # name -> (state, start type)
        self.writers: list[tuple[str, str, int, str, str]] = []  # name, id, state, text, last error
        self.seq = self.rng.randint(3, 900)
        self.record_id = self.rng.randint(10_000, 90_000)
        self.os_name = self.rng.choice(["Microsoft Windows Server 2019 Datacenter",
                                        "Microsoft Windows Server 2022 Datacenter",
                                        "Microsoft Windows Server 2016 Datacenter"])
        self.aggregate: list[tuple[datetime, int, str, int]] = []  # published (t, seq, status, code)
        self.registry_value("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\IaaSVmProvider",
                            "Start", "dword:00000002")
        self.service("IaaSVmProvider", "RUNNING", "AUTO_START")
        self.service("VSS", "RUNNING", "AUTO_START")

    # --- recording -------------------------------------------------------------------------------

    def log(self, t: datetime, msg: str, level: str = "INFO", tid: int | None = None) -> None:
        self.earliest = min(self.earliest, t)
        self.waa.append((t, level, msg, tid or self.rng.choice([6, 10, 12, 18, 31, 38])))

    def ext_log(self, t: datetime, msg: str, level: str = "INFO") -> None:
        self.earliest = min(self.earliest, t)
        self.bcdr.append((t, level, msg))

    def event(self, t: datetime, channel: str, provider: str, event_id: int, level: int, message: str,
              data: list[tuple[str | None, str]] | None = None, **kw: object) -> None:
        self.earliest = min(self.earliest, t)
        self.events.append(WinEvent(t, channel, provider, event_id, level, message, data or [], **kw))  # type: ignore[arg-type]

    def registry_value(self, key: str, name: str, value: str) -> None:
        self.registry.setdefault(key, []).append((name, value))

    def service(self, name: str, state: str, start: str) -> None:
        self.services[name] = (state, start)

    # --- routine ---------------------------------------------------------------------------------

    def agent_start(self, t: datetime) -> None:
        self.log(t, f"WindowsAzureGuestAgent starting. Version {self.agent}", tid=6)
        self.log(t + timedelta(seconds=18), "StateExecutor initialization completed.", tid=6)
        self.scm_state(t - timedelta(seconds=3), "WindowsAzureGuestAgent", "running")

    def routine(self, start: datetime, end: datetime, *, noise: bool = True) -> None:
        t = start + timedelta(seconds=self.rng.randint(10, 50))
        while t < end:
            self.log(t, "WindowsAzureGuestAgent Heartbeat.", "HEART", tid=20)
            t += timedelta(minutes=5, milliseconds=self.rng.randint(0, 90))
        if not noise:
            return
        span = (end - start).total_seconds()
        for _ in range(self.rng.randint(2, 4)):
            when = start + timedelta(seconds=self.rng.uniform(0, span))
            etag = self.rng.getrandbits(63)
            self.log(when, f"Trying to download VMSettingsProfile with etag {etag}", "WARN", tid=38)
            self.log(when + timedelta(milliseconds=12), "VMSettingsConsistenceCheckIfFabricSource Passed.", tid=38)
        when = start + timedelta(seconds=self.rng.uniform(0, span))
        self.log(when, "Getting plugin locations for plugin 'Microsoft.Compute.CustomScriptExtension'. Current "
                       "Version: '1.10.15', Requested Version: '1.10'")
        self.log(when + timedelta(milliseconds=30), "Auto-Upgrade mode. Highest public version for plugin "
                 "'Microsoft.Compute.CustomScriptExtension' with requested version: '1.10', is: '1.10.15'")

    def scm_state(self, t: datetime, service: str, state: str) -> None:
        display = DISPLAY.get(service, service)
        self.event(t, "System", SCM[0], 7036, 4, f"The {display} service entered the {state} state.",
                   [("param1", display), ("param2", state)], qualifiers=16384, guid=SCM[1], source_name=SCM[2])

    # --- a backup -------------------------------------------------------------------------------------

    def backup(self, requested: datetime, outcome: str = "success", *, invoked: datetime | None = None,
               transient_warning: bool = False) -> int:
        """The VMSnapshot plugin runs for a new sequence number; ``outcome`` is success, vss_writer,
        timeout (status never written), crash (extension dies), crp_timeout, provider, or none (no status)."""
        self.seq += 1
        seq = self.seq
        task = self.guid()
        self.attempts.append(requested)
        invoked = invoked or requested + timedelta(seconds=self.rng.randint(25, 70))
        settings = f"C:\\Packages\\Plugins\\{VMS}\\{self.ext_version}\\RuntimeSettings\\{seq}.settings"
        status = f"C:\\Packages\\Plugins\\{VMS}\\{self.ext_version}\\Status\\{seq}.status"
        self.log(invoked, f"Enable plugin {VMS} {self.ext_version} with settings file {settings}", tid=12)
        public = {"locale": "en-us", "taskId": task, "commandStartTimeUTCTicks": str(dotnet_ticks(requested)),
                  "vmType": "microsoft.compute/virtualmachines"}
        self.file(f"{PLUGIN_DIR}/{self.ext_version}/RuntimeSettings/{seq}.settings", json.dumps({"runtimeSettings": [
            {"handlerSettings": {"protectedSettingsCertThumbprint": "3A4F1C9E0B7D2E8F6A5B4C3D2E1F0A9B8C7D6E5F",
                                 "protectedSettings": "MIIB8AYJKoZIhvcNAQcDoIIB4TCCAd0CAQAxggFpMIIBZQIBADBNMDkx",
                                 "publicSettings": public}}]}))
        self.file(f"{PLUGIN_DIR}/{self.ext_version}/SeqNumber.txt", str(seq))
        t = invoked + timedelta(seconds=2)
        if transient_warning:  # the agent polls before the extension wrote its first status
            self.log(t + timedelta(seconds=3), f"Status file {status} is not available for the Extension '' yet.",
                     "WARN", tid=31)
        self.ext_log(t, f"IaaSBcdrExtension started. Version: {self.ext_version}, SequenceNumber: {seq}, "
                        f"TaskId: {task}")
        self.ext_log(t + timedelta(milliseconds=300), f"CommandStartTimeUTCTicks: {dotnet_ticks(requested)}")
        if outcome == "crp_timeout":
            self.ext_log(t + timedelta(seconds=1), "CRP timeout limit has reached, will not take snapshot.", "ERROR")
            self._status(seq, task, requested, t + timedelta(seconds=2), "error", 402,
                         "FailedGuestAgentInvokedCommandTooLate")
            return seq
        self.scm_state(t + timedelta(seconds=4), "VSS", "running")
        self.ext_log(t + timedelta(seconds=5), "Starting VSS snapshot set creation (backup type: VSS_BT_FULL)")
        done = t + timedelta(seconds=self.rng.randint(40, 120))
        if outcome == "vss_writer":
            self.ext_log(done, "Writer 'SqlServerWriter' is in failed state VSS_WS_FAILED_AT_PREPARE_SNAPSHOT, "
                               "hr = 0x800423f4", "ERROR")
            self.ext_log(done + timedelta(seconds=1), "Snapshot failed with ExtensionFailedVssWriterInBadState",
                         "ERROR")
            self._status(seq, task, requested, done + timedelta(seconds=2), "error", 2,
                         "ExtensionFailedVssWriterInBadState")
        elif outcome in ("timeout", "none"):  # no final status: the snapshot never came back
            for k in range(1, 4):
                self.log(t + timedelta(minutes=15 * k), f"Status file {status} is not available for the Extension "
                         "'' yet.", "WARN", tid=31)
        elif outcome == "provider":
            self.ext_log(done, "Failed to start the IaaSVmProvider service: the service is disabled (0x80070422)",
                         "ERROR")
            self.ext_log(done + timedelta(seconds=1), "Snapshot failed: the VSS provider could not be registered",
                         "ERROR")
            self._status(seq, task, requested, done + timedelta(seconds=2), "error", 2,
                         "Snapshot failed: the backup VSS provider is not available")
        elif outcome == "crash":
            pass
        else:
            self.ext_log(done, "VSS snapshot set created successfully")
            self.ext_log(done + timedelta(seconds=6), "Snapshot completed successfully")
            self._status(seq, task, requested, done + timedelta(seconds=8), "success", 1, "Enable Succeeded")
            self.scm_state(done + timedelta(minutes=3), "VSS", "stopped")
        return seq

    def _status(self, seq: int, task: str, requested: datetime, t: datetime, status: str, code: int,
                message: str) -> None:
        self.file(f"{PLUGIN_DIR}/{self.ext_version}/Status/{seq}.status", json.dumps([{
            "version": 1.0, "timestampUTC": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": {"name": VMS, "operation": "Enable", "status": status, "code": code,
                       "configurationAppliedTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "formattedMessage": {"lang": "en-US", "message": message}, "taskId": task,
                       "commandStartTimeUTCTicks": str(dotnet_ticks(requested)), "substatus": []}}]))
        self.aggregate.append((t, seq, status, code))

    def publish_status(self, t: datetime) -> None:
        """The agent writes its aggregate status: the last known VMSnapshot status, stamped now."""
        if not self.aggregate:
            return
        _, seq, status, code = self.aggregate[-1]
        stamp = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        blob = {"version": "1.1", "timestampUTC": stamp, "aggregateStatus": {
            "guestAgentStatus": {"version": self.agent, "status": "Ready", "formattedMessage": {
                "lang": "en-US", "message": "GuestAgent is running and processing the extensions."}},
            "handlerAggregateStatus": [{"handlerVersion": self.ext_version, "handlerName": VMS, "status": "Ready",
                                        "code": 0, "useExactVersion": True, "runtimeSettingsStatus": {
                                            "settingsStatus": {"status": {"name": VMS, "operation": "Enable",
                                                                          "status": status, "code": code,
                                                                          "formattedMessage": {"lang": "en-US",
                                                                                               "message": ""}},
                                                               "version": 1.0, "timestampUTC": stamp},
                                            "sequenceNumber": seq}}]}}
        self.file(f"C:/WindowsAzure/Logs/AggregateStatus/aggregatestatus_{t:%Y%m%d%H%M%S}.json", json.dumps(blob))
