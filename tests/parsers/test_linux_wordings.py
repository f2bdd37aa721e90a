"""Every wording of the agent and the backup extension gets its kind in every line generation and copy.

The rows are the [real] lines of linux-formats.md §6 (L1-L77) and §2.2, the older (2.2.x era) wordings,
and the lines a healthy agent writes on every run, which must not read as failures. Each is rendered
in generations G0-G4, as the agent's own file, a syslog copy and a journal export, LF and CRLF.
"""

from __future__ import annotations

from typing import Any

import pytest

from analyzer.locale import word
from parsers.base import GENERIC_KIND, Event
from tests.parsers.linux_render import COPIES, GENERATIONS, copy, record
from tests.parsers.windows_helpers import run

VMS = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0]"
CMD = "python3 -u /usr/sbin/waagent -run-exthandlers"

# (message, level, component, kind, attrs that must be there)
AGENT_LINES: list[tuple[str, str, str, str, dict[str, Any]]] = [
    # --- versions, start, update (L1-L9) ---
    ("Azure Linux Agent Version: WALinuxAgent-2.0.18", "INFO", "Daemon", "agent.version", {"version": "2.0.18"}),
    ("Windows Azure Linux Agent Version: WALinuxAgent-2.0.13", "INFO", "Daemon", "agent.version",
     {"version": "2.0.13"}),
    ("Azure Linux Agent Version:2.2.20", "INFO", "Daemon", "agent.version", {"version": "2.2.20", "role": "daemon"}),
    ("Agent WALinuxAgent-2.2.20 is running as the goal state agent", "INFO", "ExtHandler", "agent.version",
     {"version": "2.2.20", "role": "exthandler"}),
    ("[HEARTBEAT] Agent WALinuxAgent-2.2.51 is running as the goal state agent [DEBUG HeartbeatCounter: 1;"
     "HeartbeatId: 6F7A0C1E;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]", "INFO", "ExtHandler",
     "agent.heartbeat", {"version": "2.2.51"}),
    ("WALinuxAgent-2.2.46 running as process 1853", "INFO", "ExtHandler", "agent.start", {"version": "2.2.46"}),
    ("Installed Agent WALinuxAgent-2.2.20 is the most current agent", "INFO", "Daemon", "agent.update",
     {"latest": True}),
    ("Agent WALinuxAgent-2.2.17 discovered WALinuxAgent-2.2.18 as an update and will exit", "INFO", "ExtHandler",
     "agent.update", {"version": "2.2.18"}),
    ("Agent WALinuxAgent-2.2.12 is blacklisted - skipping download", "WARNING", "ExtHandler", "agent.crash",
     {"version": "2.2.12"}),
    # --- crashes, loops, orphans (L10-L17, the 2.2.x wordings) ---
    (f"Agent WALinuxAgent-2.1.5.6 launched with command '{CMD}' failed with exception: Agent WALinuxAgent-2.1.5.6 "
     "restarted more than 3 times in 300 seconds", "WARNING", "Daemon", "agent.crash", {"restarts": "3"}),
    (f"Agent WALinuxAgent-2.2.46 launched with command '{CMD}' failed with return code: 1", "WARNING", "Daemon",
     "agent.crash", {"exit_code": "1"}),
    (f"Agent WALinuxAgent-2.2.46 launched with command '{CMD}' returned code: 1", "WARNING", "Daemon",
     "agent.crash", {"exit_code": "1"}),
    ("Agent WALinuxAgent-2.2.10 failed with exception: [Errno 20] Not a directory: '/var/log/azure/x'", "WARNING",
     "ExtHandler", "agent.crash", {"version": "2.2.10"}),
    ("WALinuxAgent-2.2.2 did not terminate cleanly", "INFO", "ExtHandler", "agent.crash", {}),
    ("Monitor thread died, restarting", "WARNING", "ExtHandler", "agent.crash", {"thread_name": "Monitor"}),
    ("Daemon ended with exception -- Sleep 15 seconds and restart daemon", "ERROR", "Daemon", "agent.crash", {}),
    (f"Agent WALinuxAgent-2.2.45 launched with command '{CMD}' is successfully running", "INFO", "Daemon",
     "agent.launch", {"version": "2.2.45"}),
    ("WALinuxAgent-2.2.15 waiting for orphan process 4035 to terminate", "INFO", "ExtHandler", "agent.blocked",
     {"pid": "4035", "killed": False}),
    ("WALinuxAgent-2.2.15 forcibly terminated orphan process 4035", "WARNING", "ExtHandler", "agent.blocked",
     {"pid": "4035", "killed": True}),
    ("Disabling the guest agent by sleeping forever; to re-enable, remove /var/lib/waagent/disable_agent and "
     "restart", "WARNING", "Daemon", "agent.config", {"key": "disable_agent"}),
    # --- extension (L18-L34) ---
    ("Event: name=Microsoft.Azure.RecoveryServices.VMSnapshotLinux, op=None, message=[ExtensionError] Downgrade not "
     "allowed, duration=0", "ERROR", "ExtHandler", "extension.update.failed", {}),
    ("Event: name=Microsoft.Azure.RecoveryServices.VMSnapshotLinux, op=Install, message=[ExtensionError] Non-zero "
     "exit code: 127, main/handle.sh install, duration=0", "ERROR", "ExtHandler", "extension.install.failed",
     {"exit_code": "127"}),
    ("Failed to save handler status: [Errno 2] No such file or directory: '/var/lib/waagent/Microsoft.Azure."
     "RecoveryServices.VMSnapshotLinux-1.0.9120.0/config/HandlerStatus'", "ERROR", VMS, "extension.load.failed", {}),
    ("[ExtensionOperationError] Non-zero exit code: 3, /var/lib/waagent/Microsoft.Azure.RecoveryServices."
     "VMSnapshotLinux-1.0.9156.0/main/handle.sh install", "ERROR", VMS, "extension.install.failed",
     {"exit_code": "3"}),
    ("ModuleNotFoundError: No module named 'imp'", "ERROR", VMS, "extension.load.failed", {"module": "imp"}),
    ("[ExtensionError] Timeout(300): bin/custom-script-shim enable", "ERROR", "ExtHandler",
     "extension.enable.failed", {"timeout": "300"}),
    ("[ExtensionError] Timeout(300);CPUThrottledTime(250secs): main/handle.sh enable", "ERROR", VMS,
     "extension.enable.failed", {"cpu_throttled_secs": "250", "starved": True}),
    ("Incarnation 1 failed to get Prod package list: (000008)Failed to fetch ExtensionManifest from all sources",
     "WARNING", "ExtHandler", "extension.download.failed", {}),
    ("Exception retrieving extension handlers: [ProtocolError] /var/lib/waagent/GoalState.11.xml is missing.",
     "WARNING", "ExtHandler", "extension.load.failed", {}),
    # --- DHCP, routes, endpoint (L35-L44) ---
    ("No route exists to 168.63.129.16", "WARNING", "Daemon", "dhcp.error", {"route": "missing"}),
    ("/proc/net/route contains no routes", "ERROR", "Daemon", "dhcp.error", {"route": "missing"}),
    ("Primary interface examination will retry silently", "WARNING", "Daemon", "dhcp.error", {"route": "missing"}),
    ("Failed to send DHCP request: [DhcpError] [Errno 1] Operation not permitted", "WARNING", "ExtHandler",
     "dhcp.error", {}),
    ("Protocol endpoint not found: WireProtocol, [ProtocolError] [DhcpError] Failed to receive dhcp response.",
     "INFO", "Daemon", "dhcp.error", {}),
    ("Protocol endpoint not found: WireProtocol, [000008] [Wireserver Exception] [000009] [HTTP Failed] HTTP GET "
     "IOError [Errno 113] No route to host", "INFO", "Daemon", "wireserver.error", {}),
    ("cached endpoint not found", "INFO", "ExtHandler", "dhcp.cache_miss", {}),
    ("Cache exists [False]", "INFO", "ExtHandler", "dhcp.cache_miss", {}),
    ("WireServer is not responding. Reset endpoint", "INFO", "ExtHandler", "wireserver.error", {}),
    ("Wire server endpoint:10.16.0.141,10.16.0.142", "INFO", "ExtHandler", "wireserver.endpoint",
     {"endpoint": "10.16.0.141,10.16.0.142"}),
    ("Retry detect protocols: retry=332", "INFO", "Daemon", "protocol.retry", {"retry": "332"}),
    # --- WireServer (L45-L53) ---
    ("Inner error: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET http://168.63.129.16/machine/"
     "?comp=goalstate -- IOError timed out -- 6 attempts made", "WARNING", "ExtHandler", "wireserver.error",
     {"attempts": "6"}),
    ("[HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP GET IOError [Errno 113] No route to host", "INFO",
     "ExtHandler", "wireserver.error", {}),
    ("Service temporarily unavailable, sleeping 15s before retrying.", "WARNING", "ExtHandler", "wireserver.error",
     {}),
    ("Exception retrieving extension handlers: [000008] Calling wire server failed: 503", "WARNING", "ExtHandler",
     "wireserver.error", {}),
    ("Exception retrieving extension handlers: (000008)(000009)HTTP GET failed", "WARNING", "ExtHandler",
     "wireserver.error", {}),
    ("Exception retrieving agent manifests: (000008)(000009)HTTP GET failed", "WARNING", "ExtHandler",
     "wireserver.error", {}),
    ("An error occurred while retrieving the goal state: [ProtocolError] [Wireserver Exception] timed out",
     "WARNING", "ExtHandler", "wireserver.error", {}),
    ("Error fetching the goal state: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET "
     "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made", "ERROR", "ExtHandler",
     "wireserver.error", {}),
    ("Fetching the goal state recovered from previous errors. Fetched etag_13848932411473871259", "INFO",
     "ExtHandler", "wireserver.recovered", {}),
    ("HostGAPlugin: Exception Get API versions: [HttpError] timed out", "WARNING", "ExtHandler", "wireserver.error",
     {"endpoint": "hostgaplugin"}),
    ("Event: name=WALinuxAgent, op=ReportStatus, message=HostGAPlugin: Exception Put VM status: [000009] HTTP PUT "
     "failed, duration=0", "ERROR", "ExtHandler", "wireserver.error", {"endpoint": "hostgaplugin"}),
    ("Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: [HTTP Failed] [503: Service Unavailable]",
     "WARNING", "ExtHandler", "wireserver.error", {"endpoint": "hostgaplugin"}),
    # a refusal (4xx) is an answer; the agent falls back from a failed FastTrack fetch to the WireServer
    ("Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: [HTTP Failed] [400: Bad Request]",
     "WARNING", "ExtHandler", GENERIC_KIND, {}),
    ("An error occurred while retrieving the goal state: [ProtocolError] GET vmSettings [correlation ID: "
     "b665ec6a-0710-6bf5-5915-a528c88ace0b eTag: 64877035]: Timeout", "WARNING", "ExtHandler", GENERIC_KIND, {}),
    ("Error in SendHostPluginHeartbeat: [ResourceGoneError] [HTTP Failed] [410: Gone]", "WARNING", "ExtHandler",
     "goalstate.stale", {}),
    # a stale goal state (410) is an answer, also when the retries for it run out (L50, L52)
    ("Goal state is stale, re-fetching", "INFO", "ExtHandler", "goalstate.stale", {}),
    ("Exception retrieving extension handlers: [ProtocolError] Exceeded max retry updating goal state", "WARNING",
     "ExtHandler", "goalstate.stale", {"exhausted": True}),
    ("Event: name=WALinuxAgent, op=ExtensionProcessing, message=Exception retrieving extension handlers: "
     "[ProtocolError] Exceeded max retry updating goal state, duration=0", "ERROR", "ExtHandler", "goalstate.stale",
     {}),
    ("Error fetching the goal state: [ResourceGoneError] [HTTP Failed] [410: Gone] b'The page you requested was "
     "removed.'", "ERROR", "ExtHandler", "goalstate.stale", {}),
    # --- storage, proxy (L54-L62) ---
    ("Exception uploading status blob: [000009] [HTTP Failed] HTTP PUT IOError timed out", "WARNING", "ExtHandler",
     "storage.error", {}),
    ("HTTP proxy: [172.16.0.1:3128]", "VERBOSE", "ExtHandler", "agent.config", {"host": "172.16.0.1"}),
    ("httplib does not support https tunnelling (new in python 2.7)", "WARNING", "ExtHandler", "network.error", {}),
    # --- resources (L74-L76) ---
    ("Disabling resource usage monitoring. Reason: The agent has been throttled for 121 seconds", "INFO",
     "ExtHandler", "system.resource_exhaustion", {}),
    # --- healthy runs write these every time: never a failure ---
    ("Log Collector exited with code 0", "INFO", "ExtHandler", GENERIC_KIND, {}),
    ("Log Collector exited with code -9", "INFO", "ExtHandler", "agent.collector.failed", {"exit_code": "-9"}),
    (f"ExtHandler process WALinuxAgent-2.9.1.1 launched with command '{CMD}' exited with return code: 0", "INFO",
     "Daemon", GENERIC_KIND, {}),
    ("Agent WALinuxAgent-2.2.10 error state: Last Failure: 0.0, Total Failures: 0, Fatal: False", "INFO",
     "ExtHandler", GENERIC_KIND, {}),
    ("Protocol endpoint not found: MetadataProtocol, [000008] 404 - GET: http://169.254.169.254/Microsoft.Compute/"
     "identity?api-version=2015-05-01", "INFO", "Daemon", GENERIC_KIND, {}),
    ("Route to 168.63.129.16 exists", "INFO", "Daemon", "dhcp.ok", {}),
    ("Cache exists [True]", "INFO", "Daemon", "dhcp.ok", {}),
    ("Test for route to 168.63.129.16", "INFO", "Daemon", GENERIC_KIND, {}),
    ("WireServer endpoint is not found. Rerun dhcp handler", "INFO", "Daemon", GENERIC_KIND, {}),
    ("Status Blob type is unspecified -- assuming it is a BlockBlob", "INFO", "ExtHandler", GENERIC_KIND, {}),
    ("[PERIODIC] Using host plugin as default channel.", "INFO", "ExtHandler", GENERIC_KIND, {}),
    ("Checking for agent updates (family: Prod)", "INFO", "ExtHandler", GENERIC_KIND, {}),
    ("Target handler state: enabled [incarnation 2]", "INFO", VMS, "extension.state", {"state": "enabled"}),
    ("Enable extension: [main/handle.sh enable]", "INFO", VMS, "extension.enable", {}),
]


def _kind_of(line: str, how: str, crlf: bool) -> Event:
    text = copy(line, how) + ("\r\n" if crlf else "\n")
    parser, path = ("waagent_log", "var/log/waagent.log") if how == "file" else ("syslog", "var/log/syslog")
    events, ctx = run(parser, text.encode(), path)
    (e,) = [e for e in events if e.line == 1]
    assert not [p for p in ctx.problems if "timestamp" in word(p.message)]
    return e


def _written_by(gen: str, msg: str, level: str, component: str) -> bool:
    """Whether generation ``gen`` writes the line: G0 has no VERBOSE level, and a message starting with ``[``
    reads as G0's extension prefix; ``[HEARTBEAT]`` came with G4 (2.2.47)."""
    if gen == "G0" and (level == "VERBOSE" or (msg.startswith("[") and not component.startswith("["))):
        return False
    return gen == "G4" or not msg.startswith("[HEARTBEAT]")


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize(("msg", "level", "component", "kind", "attrs", "gen"),
                         [(*row, gen) for row in AGENT_LINES for gen in GENERATIONS if _written_by(gen, *row[:3])],
                         ids=lambda v: v[:50] if isinstance(v, str) else None)
def test_agent_wording(msg: str, level: str, component: str, kind: str, attrs: dict[str, Any], gen: str,
                       how: str) -> None:
    e = _kind_of(record(msg, level, gen, component=component), how, crlf=gen in ("G1", "G3"))
    assert e.kind == kind, (e.message, e.attrs)
    assert {k: e.attrs.get(k) for k in attrs} == attrs
    assert (e.attrs.get("via") == "syslog") == (how != "file")


PY3 = "2024-01-14 22:16:48.792020 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]"
PY2 = "2019/03/01 17:58:35 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]"
BUFFERED = "2021/02/26 09:41:45.748364  Info  "

EXTENSION_LINES: list[tuple[str, str, dict[str, Any]]] = [
    ("Failed to open file or aquire lock:  [Errno 11] Resource temporarily unavailable", "snapshot.lock.contention",
     {}),
    ("Retry to aquire lock count: 2", "snapshot.lock.contention", {"count": 2}),
    ("Mount Points already freezed by some other processor", "snapshot.lock.contention", {}),
    ("Failed to FIFREEZE: /data/dblog", "snapshot.freeze.failed", {"mount": "/data/dblog"}),
    ("Failed to FITHAW: /usr/sap", "snapshot.thaw.failed", {"mount": "/usr/sap"}),
    ("snapshot result inconsistent", "snapshot.inconsistent", {}),
    ("T:S snapshot result: errorcode: 409 StatusCode.FailedRetryableSnapshotFailedRestrictedNetwork,",
     "snapshot.status", {"ext_code": 761}),
    ("dosnapshot responseBody: StatusCode:500, ErrorMessage: Could not find config corresponding to the Disk",
     "wireserver.error", {"status_code": "500", "endpoint": "hostsnapshot"}),
    ("PreSnapshot: Status Code: 503", "wireserver.error", {"endpoint": "hostsnapshot"}),
    ("CRP timeout limit has reached, will not take snapshot.", "snapshot.timeout", {}),
    ("freeze_safe after returning from startproc : sig_handle=0", "snapshot.freeze.start", {}),
    ("T:S freeze, timeout value 60", "snapshot.freeze.start", {"timeout": "60"}),
    # every healthy run
    ("Retry to aquire lock count: 0", GENERIC_KIND, {}),
    ("PreSnapshot: Status Code: 200", GENERIC_KIND, {}),
    ('dosnapshot responseBody: {"snapshotInfo": [{"isSuccessful": true, "errorMessage": ""}], "statusCode": 200}',
     GENERIC_KIND, {}),
    ("dosnapshot responseBody: isSuccessful: True, statusCode: 200", GENERIC_KIND, {}),
    ("the sequence number are same, so skip, current:12== last:12", "snapshot.skipped", {"seq": "12"}),
    ("T:S snapshotall ends...", "snapshot.done", {}),
]


@pytest.mark.parametrize("form", ["py3", "py2", "buffered"])
@pytest.mark.parametrize(("msg", "kind", "attrs"), EXTENSION_LINES, ids=[row[0][:50] for row in EXTENSION_LINES])
def test_extension_wording(msg: str, kind: str, attrs: dict[str, Any], form: str) -> None:
    line = {"py3": PY3, "py2": PY2, "buffered": BUFFERED}[form] + msg + ("  \r\n" if form == "buffered" else "\n")
    events, _ = run("vmsnapshot_log", line.encode(),
                    "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log")
    (e,) = events
    assert e.kind == kind, (e.message, e.attrs)
    assert {k: e.attrs.get(k) for k in attrs} == attrs


@pytest.mark.parametrize(("msg", "level"), [
    ("T:S Enable failed with error: failed to update blob properties StatusCode.error,", "error"),
    ("T:S Enable failed with FailedSnapshotLimitReached errror StatusCode.FailedSnapshotLimitReached,", "error"),
    ("Transitioning state in extension StatusCode.ExtensionTempTerminalState,", "info"),
    ("T:S Enable Succeeded StatusCode.success,", "info"),
])
def test_a_failed_status_code_is_an_error_whatever_the_line_level(msg: str, level: str) -> None:
    (e,), _ = run("vmsnapshot_log", (PY3 + msg + "\n").encode(),
                  "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log")
    assert e.kind == "snapshot.status" and e.level == level


@pytest.mark.parametrize(("msg", "kind", "attrs"), [
    ("walinuxagent.service: Main process exited, code=exited, status=1/FAILURE", "agent.crash", {"exit_code": "1"}),
    ("waagent.service: Failed with result 'exit-code'.", "agent.crash", {"result": "exit-code"}),
    ("walinuxagent.service: Main process exited, code=exited, status=0/SUCCESS", GENERIC_KIND, {}),
    ("Stopped Azure Linux Agent.", "agent.service", {"action": "Stopped"}),
    ("Started Azure Linux Agent.", "agent.service", {"action": "Started"}),
    ("walinuxagent.service: Deactivated successfully.", "agent.service", {"action": "Stopped"}),
    ("INFO: task jbd2/sda1-8:412 blocked for more than 120 seconds.", "system.hung_task", {"seconds": "120"}),
])
def test_systemd_and_kernel_lines(msg: str, kind: str, attrs: dict[str, Any]) -> None:
    prog = "kernel" if "task" in msg else "systemd[1]"
    events, _ = run("syslog", f"Jun 10 02:00:00 vm1 {prog}: {msg}\n2024-06-10T02:00:01.000000Z INFO x\n".encode(),
                    "var/log/syslog")
    (e,) = [e for e in events if e.line == 1]
    assert e.kind == kind and {k: e.attrs.get(k) for k in attrs} == attrs


# --- issue 13 (holdout class C): the inner error decides, not the network-ish prefix ------------------------
NETWORK_PREFIXES = ("Error fetching the goal state: ", "Fetching the goal state is still failing: ",
                    "Error fetching goal state: ", "Exception retrieving extension handlers: ",
                    "An error occurred while retrieving the goal state: ", "HostGAPlugin: Exception Get API versions: ",
                    "Failed to upload status blob: ", "Protocol endpoint not found: WireProtocol, ",
                    "Failed to download artifacts: ")
LOCAL_ERRORS = (
    ("[Errno 28] No space left on device", "agent.local_error", "disk"),
    ("OSError: [Errno 28] No space left on device: '/var/lib/waagent/history/2024-04-18T07-23-50__12'",
     "agent.local_error", "disk"),
    ("[Errno 122] Disk quota exceeded", "agent.local_error", "disk"),
    ("[Errno 30] Read-only file system: '/var/lib/waagent/GoalState.1.xml'", "agent.local_error", "read-only"),
    ("[Errno 5] Input/output error", "agent.local_error", "disk-io"),
    ("PermissionError: [Errno 13] Permission denied: '/var/lib/waagent/Certificates.pem'", "agent.local_error",
     "permission"),
    ("[Errno 12] Cannot allocate memory", "system.resource_exhaustion", "memory"),
    ("MemoryError", "system.resource_exhaustion", "memory"),
)
NETWORK_ERRORS = ("[ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET "
                  "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made",
                  "[HTTP Failed] HTTP GET IOError [Errno 113] No route to host",
                  "[Errno 111] Connection refused", "[Errno 104] Connection reset by peer")


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize("prefix", NETWORK_PREFIXES)
def test_a_local_inner_error_is_local_whatever_the_prefix(prefix: str, gen: str, how: str) -> None:
    for inner, kind, resource in LOCAL_ERRORS:
        for level in ("WARNING", "ERROR"):
            e = _kind_of(record(prefix + inner, level, gen, component="ExtHandler"), how, crlf=gen == "G3")
            assert (e.kind, e.attrs.get("resource")) == (kind, resource), (e.message, e.attrs)
            assert e.alarm  # never a routine record: a lead when nothing explains it


@pytest.mark.parametrize("gen", GENERATIONS)
def test_network_inner_errors_stay_the_networks(gen: str) -> None:
    for inner in NETWORK_ERRORS:
        e = _kind_of(record("Error fetching the goal state: " + inner, "ERROR", gen), "file", crlf=False)
        assert e.kind == "wireserver.error", e.message
    # a firewall appliance refuses DHCP with EPERM, naming no file (L36): DHCP's, not a local permission problem
    e = _kind_of(record("Failed to send DHCP request: [DhcpError] [Errno 1] Operation not permitted", "WARNING",
                        gen), "file", crlf=False)
    assert e.kind == "dhcp.error"


def test_a_local_inner_error_in_a_telemetry_event_and_a_traceback() -> None:
    payload = ("Event: name=WALinuxAgent, op=FetchGoalState, message=Error fetching the goal state: [Errno 28] No "
               "space left on device, duration=0")
    assert _kind_of(record(payload, "ERROR", "G4"), "file", crlf=False).kind == "agent.local_error"
    traceback = ("Error fetching the goal state: [Errno 28] No space left on device\nTraceback (most recent call "
                 "last):\n  File \"bin/WALinuxAgent-2.10.0.8-py3.6.egg/azurelinuxagent/ga/update.py\", line 472, in "
                 "_try_update_goal_state\nOSError: [Errno 28] No space left on device")
    lines = traceback.split("\n")
    text = record(lines[0], "ERROR", "G4") + "\n" + "\n".join(lines[1:])
    assert _kind_of(text, "file", crlf=True).kind == "agent.local_error"


# --- issue 13 (holdout class F): other extensions' failures do not answer the backup question --------------
OMS = "Microsoft.EnterpriseCloud.Monitoring.OmsAgentForLinux"
CSE = "Microsoft.Azure.Extensions.CustomScript"
# (message, component): records about another extension, by its log prefix, telemetry name or handler directory
OTHER_EXTENSION_ALARMS = [
    ("Non-zero exit code: 52, /var/lib/waagent/" + OMS + "-1.14.23/omsagent_shim.sh -enable", f"[{OMS}-1.14.23]"),
    (f"Event: name={CSE}, op=Enable, message=[ExtensionOperationError] Non-zero exit code: 1, bin/custom-script-shim "
     "enable, duration=1432", "ExtHandler"),
    (f"[ExtensionStatusError] Status file /var/lib/waagent/{OMS}-1.14.23/status/4.status does not exist",
     "ExtHandler"),
    ("[ExtensionError] Timeout(300): bin/custom-script-shim enable", f"[{CSE}-2.1.10]"),
    ("Failed to download artifacts: [ExtensionDownloadError] Failed to download extension: "
     "Microsoft.OSTCExtensions.LinuxDiagnostic-3.0.141", "[Microsoft.OSTCExtensions.LinuxDiagnostic-3.0.141]"),
]
BACKUP_OR_AGENT_ALARMS = [
    ("[ExtensionError] Timeout(300): main/handle.sh enable", VMS),
    ("Event: name=Microsoft.Azure.RecoveryServices.VMSnapshotLinux, op=Enable, message=[ExtensionOperationError] "
     "Non-zero exit code: 1, main/handle.sh enable, duration=1432", "ExtHandler"),
    ("Error fetching the goal state: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET "
     "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made", "ExtHandler"),
    ("Exception processing goal state: 'NoneType' object has no attribute 'ext_handlers'", "ExtHandler"),
]


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("gen", GENERATIONS)
def test_other_extensions_records_are_marked(gen: str, how: str) -> None:
    for rows, other in ((OTHER_EXTENSION_ALARMS, True), (BACKUP_OR_AGENT_ALARMS, False)):
        for msg, component in rows:
            if gen == "G0" and msg.startswith("[") and not component.startswith("["):
                continue  # G0 reads a leading bracket as its extension prefix
            for level in ("WARNING", "ERROR"):
                e = _kind_of(record(msg, level, gen, component=component), how, crlf=gen == "G1")
                assert bool(e.attrs.get("other_extension")) is other, (e.message, e.attrs)
                assert e.alarm  # still a lead when the bundle shows nothing of the backup itself
