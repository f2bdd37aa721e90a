"""Failure signatures of the Linux agent, the VMSnapshotLinux extension and the kernel: message -> kind + attrs.

Detectors find evidence by ``Event.kind``, ``signal`` and attrs (docs/vocabulary.md); these tables are the
one place where message texts (linux-formats.md §6, L1-L77) become kinds (:mod:`parsers.signatures`). The
record (L45, one line in the log)

    Inner error: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed]
    GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made

becomes ``wireserver.error`` with ``url``, ``method``, ``attempts``. Needles mostly start with an upper-case
letter or ``[``, so the gate rejects ordinary lines after one scan.
"""

from __future__ import annotations

import re

from parsers.base import GENERIC_KIND
from parsers.signatures import SAME, Attrs, Sig, SignatureTable, yields

# VMSnapshot ExtensionErrorCodeEnum (error-codes.md §3): name in the log -> numeric extension code.
EXT_CODES: dict[str, int] = {
    "success_appconsistent": 0, "success": 1, "error": 2, "SuccessAlreadyProcessedInput": 3,
    "ExtensionTempTerminalState": 4, "error_parameter": 11, "error_12": 12, "error_wrong_time": 13,
    "error_same_taskid": 14, "error_http_failure": 15, "FailedHandlerGuestAgentCertificateNotFound": 16,
    "FailedInvalidDataDiskLunList": 17, "FailedRetryableSnapshotFailedNoNetwork": 76,
    "FailedSnapshotLimitReached": 85, "FailedRetryableFsFreezeFailed": 121, "FailedRetryableFsFreezeTimeout": 122,
    "FailedRetryableUnableToOpenMount": 123, "FailedSafeFreezeBinaryNotFound": 124,
    "FailedRetryableSnapshotRateExceeded": 173, "FailedPrepostPreScriptFailed": 300,
    "FailedPrepostPostScriptFailed": 301, "FailedPrepostPreScriptNotFound": 302, "FailedPrepostPostScriptNotFound": 303,
    "FailedPrepostPluginhostConfigParsing": 304, "FailedPrepostPluginConfigParsing": 305,
    "FailedPrepostPreScriptPermissionError": 306, "FailedPrepostPostScriptPermissionError": 307,
    "FailedPrepostPreScriptTimeout": 308, "FailedPrepostPostScriptTimeout": 309,
    "FailedPrepostPluginhostPreTimeout": 310, "FailedPrepostPluginhostPostTimeout": 311,
    "FailedPrepostCheckSumMismatch": 312, "FailedPrepostPluginhostConfigNotFound": 313,
    "FailedPrepostPluginhostConfigPermissionError": 314, "FailedPrepostPluginhostConfigOwnershipError": 315,
    "FailedPrepostPluginConfigNotFound": 316, "FailedPrepostPluginConfigPermissionError": 317,
    "FailedPrepostPluginConfigOwnershipError": 318, "FailedGuestAgentInvokedCommandTooLate": 402,
    "FailedWorkloadPreError": 500, "FailedWorkloadConfParsingError": 501, "FailedWorkloadInvalidRole": 502,
    "FailedWorkloadInvalidWorkloadName": 503, "FailedWorkloadPostError": 504,
    "FailedWorkloadAuthorizationMissing": 505, "FailedWorkloadConnectionError": 506,
    "FailedWorkloadIPCDirectoryMissing": 507, "FailedWorkloadDatabaseStatusChanged": 508,
    "FailedWorkloadDatabaseNotOpen": 508, "FailedWorkloadQuiescingError": 509, "FailedWorkloadQuiescingTimeout": 510,
    "FailedWorkloadDatabaseInNoArchiveLog": 511, "FailedWorkloadLogModeChanged": 512,
    "FailedHostSnapshotRemoteServerError": 556, "FailedRetryableSnapshotFailedRestrictedNetwork": 761,
}

WIRESERVER_IP = "168.63.129.16"
RESTART = re.compile(r"restart|reboot", re.IGNORECASE)  # a shutdown that restarts (Linux and Windows wordings)
#: the extension's words for a snapshot that succeeded; any snapshot record saying one is marked ``succeeded``
SNAPSHOT_SUCCEEDED = ("T:S snapshotall ends", "Snaphotting (Host) Completed", "Enable Succeeded")
_EXT_OPS = {"install": "install", "enable": "enable", "update": "update", "download": "download"}


@yields("wireserver.error", "storage.error", "network.error", attrs=("endpoint",))
def _by_url(kind: str, attrs: Attrs, text: str) -> str:
    """HTTP failures: the wire server (or no URL: the agent's default peer), storage, anything else."""
    url = attrs.get("url", "")
    if not url or WIRESERVER_IP in url:
        if ":32526" in url:
            attrs["endpoint"] = "hostgaplugin"
        return "wireserver.error"
    return "storage.error" if ".blob." in url else "network.error"


@yields("extension.install.failed", "extension.enable.failed", "extension.update.failed",
        "extension.download.failed", "extension.load.failed", attrs=("op",))
def _by_command(kind: str, attrs: Attrs, text: str) -> str:
    """``Non-zero exit code: 3, .../handle.sh install`` -> extension.install.failed (operation = last word)."""
    words = attrs.get("command", "").split()
    op = _EXT_OPS.get(words[-1].lower()) if words else None
    if op:
        attrs["op"] = op
    return f"extension.{op}.failed" if op else "extension.load.failed"


@yields(SAME, attrs=("ext_code",))
def _status_code(kind: str, attrs: Attrs, text: str) -> str:
    code = EXT_CODES.get(attrs.get("status_code", ""))
    if code is not None:
        attrs["ext_code"] = code
    return kind


_STALE = re.compile(r"Exceeded max retry updating goal state|ResourceGone|resource gone|\b410\b|Goal state is stale")
_NO_CONNECTION = re.compile(r"\[HTTP Failed\]|HTTP (?:GET|PUT|POST|HEAD) failed|IOError|timed out|Calling wire server "
                            r"failed|\[Wireserver (?:Exception|Failed)\]|No route to host|Network is unreachable|"
                            r"Connection refused|Connection reset|Errno 1(?:01|10|11|13)\b")
# a local failure inside a network-ish record (``Error fetching the goal state: [Errno 28] No space left on
# device``): the inner error decides. EPERM without a path stays the network's ([DhcpError] [Errno 1] of a
# firewall appliance, L36); a permission error naming a file is local.
_LOCAL_ERRORS = (
    ("disk", re.compile(r"\[Errno (?:28|122)\]|No space left on device|Disk quota exceeded|\bENOSPC\b")),
    ("read-only", re.compile(r"\[Errno 30\]|Read-only file system|\bEROFS\b")),
    ("disk-io", re.compile(r"\[Errno 5\] Input/output error")),
    ("memory", re.compile(r"\[Errno 12\]|Cannot allocate memory|\bMemoryError\b|\bENOMEM\b")),
    ("permission", re.compile(r"\bPermissionError\b|\[Errno (?:1|13)\] (?:Operation not permitted|Permission denied)"
                              r": '")),
)
#: kinds of records about the network whose inner error may be a local one
NETWORK_KINDS = frozenset({"wireserver.error", "storage.error", "network.error", "dhcp.error", "goalstate.stale",
                           "extension.processing.failed", "extension.download.failed"})
_COUNT = re.compile(r"count:?\s*(\d+)")
# the WireServer or HostGAPlugin refused a request ([HTTP Failed] [400: Bad Request]): it answered
_REFUSED = re.compile(r"\[4(?!10)\d\d: ")


@yields(SAME, GENERIC_KIND, "goalstate.stale", "dhcp.error", "wireserver.error", "storage.error",
        "network.error", attrs=("routine", "exhausted", "endpoint"))
def _by_inner_error(kind: str, attrs: Attrs, text: str) -> str:
    """An agent failure line is what its inner error says: a 410 / stale goal state means the WireServer
    answered (``goalstate.stale``), a DHCP error is DHCP's, a failed HTTP call or socket error is the
    WireServer's; otherwise the row's own kind. The probe of the metadata protocol is routine."""
    if "MetadataProtocol" in text or "GET vmSettings" in text or _REFUSED.search(text):
        attrs["routine"] = True  # a probe, a FastTrack fetch the agent falls back from, or a refusal: it answered
        return GENERIC_KIND
    if _STALE.search(text):
        return _stale(attrs, text)
    if "DhcpError" in text:
        return "dhcp.error"
    if _NO_CONNECTION.search(text):
        return _by_url("wireserver.error", attrs, text)
    return kind


def local_inner_error(kind: str, attrs: Attrs, text: str) -> str:
    """A network-ish record whose inner error is local (disk full, read-only or failing disk, no memory, a file
    it may not touch) is that local failure: ``system.resource_exhaustion`` for memory, ``agent.local_error``
    otherwise (``resource``: disk, read-only, disk-io, permission); any other record keeps ``kind``."""
    for resource, rx in _LOCAL_ERRORS:
        if rx.search(text[:8192]):
            attrs["resource"] = resource
            attrs.pop("routine", None)
            return "system.resource_exhaustion" if resource == "memory" else "agent.local_error"
    return kind


def _stale(attrs: Attrs, text: str) -> str:
    """A stale goal state (410) comes with every new goal state on a busy VM: routine, unless the agent's
    retries for it ran out and it skipped that goal state."""
    attrs["exhausted"] = "Exceeded max retry" in text
    if not attrs["exhausted"]:
        attrs["routine"] = True
    return "goalstate.stale"


@yields(SAME, GENERIC_KIND, "goalstate.stale", "wireserver.error", "storage.error", "network.error",
        attrs=("routine", "exhausted", "endpoint"))
def _http_failed(kind: str, attrs: Attrs, text: str) -> str:
    """``[HTTP Failed]``: a 410 is an answer (stale goal state), another 4xx a refusal; otherwise by the URL's host."""
    if _STALE.search(text):
        return _stale(attrs, text)
    if _REFUSED.search(text):
        attrs["routine"] = True
        return GENERIC_KIND
    return _by_url(kind, attrs, text)


@yields(SAME, GENERIC_KIND, attrs=("count",))
def _lock(kind: str, attrs: Attrs, text: str) -> str:
    """``Retry to aquire lock count: 0`` follows every freeze that got the lock: only a failed open or
    acquire, another freezer, or a count above 0 is contention."""
    m = _COUNT.search(text)
    if m is not None:
        attrs["count"] = int(m.group(1))
        if attrs["count"] == 0:
            return GENERIC_KIND
    return kind


@yields(SAME, GENERIC_KIND, attrs=("endpoint", "status_code"))
def _host_response(kind: str, attrs: Attrs, text: str) -> str:
    """``dosnapshot responseBody: ...``: the host snapshot service's answer; an error only when it says so."""
    attrs["endpoint"] = "hostsnapshot"
    code = re.search(r"[Ss]tatus[Cc]ode\W{0,3}(\d{3})", text[:4096])
    if code is not None:
        attrs["status_code"] = code.group(1)
    ok = re.search(r"isSuccessful\W{0,3}(true|false)", text[:4096], re.IGNORECASE)
    if (ok is not None and ok.group(1).lower() == "true") or (code is not None and code.group(1).startswith("2")):
        return GENERIC_KIND
    return kind if code is not None or ok is not None else GENERIC_KIND


@yields(SAME, GENERIC_KIND)
def _exit_code(kind: str, attrs: Attrs, text: str) -> str:
    """A process exit with code 0 is an ordinary end (the extension handler exits so on every update)."""
    return GENERIC_KIND if attrs.get("exit_code") == "0" else kind


@yields("extension.install.failed", "extension.enable.failed", "extension.update.failed",
        "extension.download.failed", "extension.load.failed", attrs=("starved", "op"))
def _throttled(kind: str, attrs: Attrs, text: str) -> str:
    """``Timeout(300);CPUThrottledTime(N secs)``: throttled for a tenth of the timeout or more means the
    extension starved for CPU (``starved``); the command's failure is still the extension's."""
    secs, timeout = attrs.get("cpu_throttled_secs"), attrs.get("timeout")
    if secs is not None and timeout is not None and int(secs) * 10 >= int(timeout):
        attrs["starved"] = True
    return _by_command(kind, attrs, text)


@yields(SAME, GENERIC_KIND, attrs=("endpoint",))
def _presnapshot(kind: str, attrs: Attrs, text: str) -> str:
    attrs["endpoint"] = "hostsnapshot"
    return kind if attrs.get("status_code") != "200" else GENERIC_KIND


@yields(SAME, attrs=("statuses",), digit_blind=True)
def _statuses(kind: str, attrs: Attrs, text: str) -> str:
    found = dict(re.findall(r"\('([^']+)', '([^']+)'\)", text[:8192]))
    if found:
        attrs["statuses"] = found
    return kind


@yields(SAME, attrs=("*",), digit_blind=True)
def _heartbeat(kind: str, attrs: Attrs, text: str) -> str:
    debug = re.search(r"\[DEBUG ([^\]]*)\]", text[:4096])
    if debug:
        for key, value in re.findall(r"(\w+): ([^;\]]*)", debug.group(1)):
            attrs[key] = value.strip()
    return kind


@yields(SAME, attrs=("target",))
def _oom_target(kind: str, attrs: Attrs, text: str) -> str:
    """Whose memory ran out: the agent's log collector (killed in its own cgroup by design, L17), the agent."""
    low = text[:4096].lower()
    if "logcollector" in low:
        attrs["target"] = "log_collector"
    elif "waagent" in low or "walinuxagent" in low:
        attrs["target"] = "agent"
    return kind


@yields(SAME, attrs=("restart",))
def _restart(kind: str, attrs: Attrs, text: str) -> str:
    """A shutdown that says it restarts the VM (``restart``: a reboot, not a power-off)."""
    attrs["restart"] = bool(RESTART.search(text[:4096]))
    return kind


@yields(SAME, attrs=("killed",))
def _killed(kind: str, attrs: Attrs, text: str) -> str:
    """The handler killed the orphan (``killed``: True) or still waits for it (False)."""
    attrs["killed"] = "killed" in attrs
    return kind


@yields(SAME, attrs=("value",))
def _config(kind: str, attrs: Attrs, text: str) -> str:
    if "value" not in attrs:
        attrs["value"] = "False"
    return kind


_URL = r"(?P<url>https?://[^\s)\]]+)"
_V = r"(?P<version>\d+(?:\.\d+)+)"
_WALA = "WALinuxAgent-"

AGENT: tuple[Sig, ...] = (
    # --- VMSnapshotLinux status codes and snapshot flow (L56-L73) -----------------------------
    Sig("snapshot.status", ("StatusCode.",), r"StatusCode\.(?P<status_code>\w+)", post=_status_code),
    Sig("snapshot.timeout", ("CRP timeout",), signal="crp_timeout"),
    Sig("snapshot.timing", ("utcNow is", "MAX_TIMESPAN"),
        r"command start time is (?P<command_start>[^\n]+?) and utcNow is (?P<utc_now>[^\n]+?)\s*$"
        r"|total_span_in_seconds: (?P<total_span_seconds>[\d.]+)"),
    Sig("snapshot.freeze.timeout", ("freeze timed-out", "freeze took longer than timeout")),
    Sig("snapshot.freeze.failed", ("Failed to FIFREEZE",), r"FIFREEZE:?\s*(?P<mount>\S*)"),
    Sig("snapshot.thaw.failed", ("Failed to FITHAW",), r"FITHAW:?\s*(?P<mount>\S*)"),
    Sig("snapshot.thaw.failed", ("Thaw from parent",)),
    Sig("snapshot.lock.contention", ("Failed to open file or aquire lock", "Retry to aquire lock",
                                     "Mount Points already freezed"), post=_lock),
    Sig("snapshot.freeze.failed", ("freeze failed for some mount", "file open failed for some mount",
                                   "safefreeze binary is missing")),
    Sig("snapshot.inconsistent", ("snapshot result inconsistent", "Snapshots are inconsistent",
                                  "Failed to receive timely Thaw"), signal="snapshot_inconsistent"),
    Sig("snapshot.inconsistent", ("SLEEP failure", "Unable to execute sleep", "Machine unable to sleep")),
    Sig("snapshot.freeze.start", ("T:S freeze, timeout value",), r"timeout value (?P<timeout>\d+)"),
    Sig("snapshot.freeze.start", ("Binary Freeze Started", "freeze_safe after returning")),
    Sig("snapshot.thaw", ("Binary Thaw Signal Received",)),
    Sig("snapshot.thaw", ("Thawing:",), r"Thawing: (?P<mount>\S+)"),
    Sig("snapshot.skipped", ("sequence number are same",), r"current:\s*(?P<seq>\d+)"),
    Sig("snapshot.script.failed", ("PreScript failed", "PostScript failed", "Plugin Host Precheck Failed")),
    Sig("snapshot.done", SNAPSHOT_SUCCEEDED),
    Sig("snapshot.start", ("starting enable",)),
    Sig("snapshot.start", ("taskId",), r"taskId:?\s*(?P<task_id>[0-9a-fA-F]{8}-[0-9a-fA-F-]{27})"),
    Sig("snapshot.limit", ("The snapshot count against",), signal="snapshot_count_limit"),
    Sig("snapshot.limit", ("SnapshotRateExceeded", "The rate of snapshot blob"), signal="snapshot_rate_exceeded"),
    Sig("snapshot.limit", ("Restore Point collection max limit",), signal="restore_point_limit"),
    Sig("snapshot.concurrent", ("BackupOperationInProgress", "another backup operation is currently in progress"),
        signal="backup_in_progress"),
    Sig("storage.error", ("Failed to call http", "Http connection response is None", "HttpCallGetResponse failed",
                          "blobs are empty or none", "GetBlobProperties: Failed", "statusBlobUploadError=true")),
    Sig("wireserver.error", ("PreSnapshot: Status Code",), r"Status Code: (?P<status_code>\d+)", post=_presnapshot),
    Sig("wireserver.error", ("Hitting wrong WireServer",), attrs={"endpoint": "hostsnapshot"}),
    Sig("wireserver.error", ("dosnapshot responseBody",), post=_host_response),
    # --- agent versions, start, heartbeat (L1-L9) ---------------------------------------------
    Sig("agent.heartbeat", ("[HEARTBEAT]",), extract=(r"WALinuxAgent-" + _V,), post=_heartbeat),
    Sig("agent.version", ("Azure Linux Agent Version",),
        r"Azure Linux Agent Version: ?(?:WALinuxAgent-)?" + _V, attrs={"role": "daemon"}),
    Sig("agent.start", ("Goal State Agent version",), r"Goal State Agent version " + _V, attrs={"role": "exthandler"}),
    Sig("agent.version", (_WALA,), r"Agent WALinuxAgent-" + _V + " is running as the goal state agent",
        attrs={"role": "exthandler"}),
    Sig("agent.start", (_WALA,), r"WALinuxAgent-" + _V + r" running as process (?P<pid>\d+)",
        attrs={"role": "exthandler"}),
    # ``waagent --version`` (L9): the daemon (package) and the goal-state agent, as pasted by users
    Sig("agent.version", (_WALA,), r"^WALinuxAgent-" + _V + r" running on (?P<distro>[^\n]+)",
        attrs={"role": "daemon"}),
    Sig("agent.version", ("Goal state agent:",), r"^Goal state agent: " + _V, attrs={"role": "exthandler"}),
    Sig("agent.update", (_WALA,), r"discovered WALinuxAgent-" + _V + " as an update"),
    Sig("agent.update", (_WALA,), r"Agent WALinuxAgent-" + _V + " (?:is the most current agent|to be the latest agent)",
        attrs={"latest": True}),
    Sig("agent.crash", (_WALA,), r"WALinuxAgent-" + _V + r" is (?P<blacklisted>(?:permanently )?blacklisted)",
        signal="agent_blacklisted"),
    Sig("agent.crash", (_WALA,), r"restarted more than (?P<restarts>\d+) times in (?P<seconds>\d+) seconds"),
    Sig("agent.crash", (_WALA, "Agent did not terminate"), r"did not terminate cleanly"),
    Sig("agent.crash", (_WALA,), r"launched with command '(?P<command>[^']*)' failed with "
                                 r"(?:return code: (?P<exit_code>-?\d+)|exception)"),
    Sig("agent.crash", (_WALA,), r"launched with command '(?P<command>[^']*)' returned code: (?P<exit_code>-?\d+)",
        post=_exit_code),
    Sig("agent.launch", (_WALA,), r"Agent WALinuxAgent-" + _V + r" launched with command '(?P<command>[^']*)' "
                                  r"is successfully running"),
    Sig("agent.crash", (_WALA,), r"Agent WALinuxAgent-" + _V + r" failed with exception: (?P<error>[^\n]*)"),
    Sig("agent.blocked", (_WALA,), r"WALinuxAgent-" + _V + r" (?:(?P<killed>forcibly terminated)|waiting for) "
                                   r"orphan process (?P<pid>\d+)", post=_killed),
    # a G1 line (no component) starting "ExtHandler process ..." reads as G2's ExtHandler component + "process ..."
    Sig("agent.crash", ("ExtHandler process", "exited with return code"),
        r"(?:^|ExtHandler )process (?P<pid>\S+) launched with command .* exited with return code: (?P<exit_code>-?\w+)",
        post=_exit_code),
    Sig("agent.crash", ("ended with exception -- Sleep",)),  # "Daemon ended ...": G1's "Daemon" reads as G2's prefix
    Sig("agent.crash", ("thread died",), r"(?P<thread_name>\w+) thread died"),
    # L17: the periodic log collector killed in its own cgroup; the agent itself runs on
    Sig("agent.collector.failed", ("Log Collector exited with code",), r"exited with code (?P<exit_code>-?\d+)",
        attrs={"process": "log_collector"}, post=_exit_code),
    Sig("agent.update", ("Unable to update Agent",), attrs={"failed": True}),
    Sig("agent.config", ("AutoUpdate.", "Extensions.Enabled"), r"(?P<key>[\w.]+) is set to (?P<value>False|True)"),
    Sig("agent.config", ("Extensions.Enabled", "Extension handling is disabled"),
        r"extension processing is disabled|Extension handling is disabled", attrs={"key": "Extensions.Enabled"},
        post=_config),
    Sig("agent.config", ("Protocol.EndpointDiscovery",), r"Protocol\.EndpointDiscovery=(?P<value>\w+)",
        attrs={"key": "Protocol.EndpointDiscovery"}),
    Sig("agent.config", ("Disabling the guest agent",), attrs={"key": "disable_agent", "value": "True"}),
    Sig("agent.config", ("HTTP proxy",), r"HTTP proxy: \[(?P<host>[^\]:]+):(?P<port>\d+)\]",
        attrs={"key": "HttpProxy"}),
    Sig("system.resource_exhaustion", ("Disabling resource usage monitoring", "The agent memory limit")),
    # --- extension load / install / enable (L18-L34) --------------------------------------------
    Sig("extension.load.failed", ("ModuleNotFoundError", "ImportError"),
        r"(?:ModuleNotFoundError|ImportError): No module named '?(?P<module>[\w.]+)"),
    Sig("extension.load.failed", ("python version unknown",), attrs={"reason": "no usable python"}),
    Sig("extension.load.failed", ("unable to load certificate", "required field empty or not correct"),
        signal="certificate_load_failed"),
    Sig("extension.load.failed", ("Failed to save handler status", "IsAnyDiskExcluded")),
    Sig("extension.update.failed", ("Downgrade not allowed",)),
    Sig("extension.load.failed", ("GoalState.",), r"(?P<file>\S*GoalState\.\d+\.xml) is missing",
        signal="goal_state_file_missing"),
    Sig("extension.enable.failed", ("Non-zero exit code",),
        r"Non-zero exit code: (?P<exit_code>-?\d+), (?P<command>[^\n]*)", post=_by_command),
    Sig("extension.enable.failed", ("Timeout(",),
        r"Timeout\((?P<timeout>\d+)\)(?:;CPUThrottledTime\((?P<cpu_throttled_secs>\d+) ?secs\))?: (?P<command>[^\n]*)",
        post=_throttled),
    Sig("system.resource_exhaustion", ("CPUThrottledTime(",), r"CPUThrottledTime\((?P<cpu_throttled_secs>\d+) ?secs\)"),
    Sig("extension.download.failed", ("Failed to fetch ExtensionManifest", "Failed to fetch manifest",
                                      "Failed to get ext handler pkgs"), signal="manifest_fetch_failed"),
    Sig("extension.download.failed", ("Failed to download", "Timeout downloading", "Download failed both",
                                      "Failed fetch manifests", "Prod package list", "Unable to fetch Bundle URI",
                                      "Unable to find version")),
    Sig("wireserver.error", ("Fetch failed from [",), r"Fetch failed from \[(?P<url>[^\]]+)\]", post=_http_failed),
    Sig("extension.status", ("[PERIODIC]",), r"extension (?P<extension>[\w.-]+)", attrs={"status": "missing"}),
    Sig("extension.processing.failed", ("ProcessExtensionsGoalState failed",
                                        "did not reach a terminal state within the allowed timeout"),
        signal="goal_state_processing_failed"),
    Sig("extension.processing.failed", ("Extension handling is on hold", "Dependent Extension")),
    Sig("extension.status", ("no status file was reported by extension", "couldn't read any status for"),
        attrs={"status": "missing"}, signal="status_not_reported"),
    Sig("extension.state", ("Target handler state",),
        extract=(r"Target handler state: (?P<state>\w+)"
                 r"(?: \[(?:incarnation (?P<incarnation>\d+)|(?P<etag>etag_\w+))\])?",)),
    Sig("extension.state", ("current handler state is", "Requested extension state"),
        extract=(r"state(?: is)?: (?P<state>\w+)",)),
    Sig("extension.enable", ("Enable extension",), r"^Enable extension:? \[(?P<command>[^\]]*)\]"),
    Sig(GENERIC_KIND, ("Update settings file",), extract=(r"Update settings file: (?P<seq>\d+)\.settings",)),
    Sig("extension.status", ("Extension status: [", "reached a terminal state"), post=_statuses),
    # --- DHCP and endpoint discovery (L35-L44) ---------------------------------------------------
    # no route at all, or none to the WireServer: nothing reaches it (DHCP_FAILURE -> WIRESERVER_UNREACHABLE)
    Sig("dhcp.error", ("No route exists to",), r"No route exists to (?P<endpoint>\S+)", attrs={"route": "missing"}),
    Sig("dhcp.error", ("contains no routes", "Primary interface examination will retry",
                       "DoDhcpWork: Missing default route"), attrs={"route": "missing"}),
    Sig("dhcp.ok", ("Route to 168.63.129.16 exists", "Cache exists [True]", "cached endpoint found")),
    # L38: no lease names the endpoint, so the agent asks DHCP itself: a step, a failure only if that fails
    Sig("dhcp.cache_miss", ("cached endpoint not found", "Cache exists [False]")),
    Sig("dhcp.error", ("Protocol endpoint not found",), post=_by_inner_error),
    Sig("dhcp.error", ("DhcpError", "HandleDhcpResponse", "Endpoint or Default Gateway", "Failed to receive dhcp")),
    Sig("protocol.retry", ("Retry detect protocol",), r"retry=(?P<retry>\d+)"),
    Sig("wireserver.endpoint", ("Wire server endpoint", "Discovered Windows Azure endpoint",
                                "Using hardcoded Wireserver endpoint"),
        r"endpoint:? ?(?P<endpoint>[\w.]+(?:,[\w.]+)*)"),
    # --- wire server and storage (L45-L55, L62) -------------------------------------------------
    Sig("wireserver.recovered", ("recovered from previous errors",)),
    Sig("storage.error", ("Exception uploading status blob", "Falling back to direct upload",
                          "Failed to upload status blob", "HttpPutBlockBlob("), extract=(_URL,)),
    # the 2.0 agent (G0) logs the request that failed: ``ERROR:HTTP Req: PUT https://x.blob.core.windows.net/...``
    Sig("wireserver.error", ("HTTP Req: GET http", "HTTP Req: PUT http", "HTTP Req: POST http"), post=_by_url,
        extract=(_URL,)),
    # a stale goal state (HTTP 410) means the WireServer answered, also when the retries for it ran out
    Sig("goalstate.stale", ("Goal state is stale", "Incarnation is out of date", "ResourceGoneError"),
        post=_by_inner_error),
    Sig("extension.processing.failed", ("Exception retrieving extension handlers",
                                        "Exception retrieving agent manifests"), post=_by_inner_error),
    Sig("wireserver.error", ("An error occurred while retrieving the goal state",
                             "Attempts to retrieve the goal state are failing", "Error fetching the goal state",
                             "Fetching the goal state is still failing", "Error fetching goal state"),
        post=_by_inner_error),
    Sig("wireserver.error", ("HostGAPlugin: Exception", "HostGAPlugin: Failed"), attrs={"endpoint": "hostgaplugin"},
        post=_by_inner_error),
    Sig("wireserver.error", ("[HTTP Failed]", "[HTTP Retry]", "HTTP GET failed", "HTTP PUT failed",
                             "HTTP POST failed"), post=_http_failed,
        extract=(_URL, r"\b(?P<method>GET|PUT|POST|HEAD|DELETE)\b", r"-- (?P<attempts>\d+) attempts made",
                 r"\bAttempt (?P<attempt>\d+) of (?P<attempt_max>\d+): ",
                 r"\[HTTP Failed\] (?:HTTP )?(?:(?:GET|PUT|POST|HEAD|DELETE) )?(?:\S+ -- )?(?P<error>[^\n]*?)"
                 r"(?: -- \d+ attempts made)?$")),
    Sig("wireserver.error", ("WireServer is not responding", "Service temporarily unavailable",
                             "Calling wire server failed", "[Wireserver Failed]", "[Wireserver Exception]",
                             "HttpPost(", "IOError  args")),
    Sig("network.error", ("https tunnelling", "Failed to construct ConfigurationProvider"), signal="proxy_unsupported"),
    # --- goal state processing (§2.9) -----------------------------------------------------------
    Sig("goalstate.fetched", ("ProcessGoalState completed", "Fetched a new incarnation", "Fetched new vmSettings",
                              "ProcessExtensionsGoalState started"),
        extract=(r"incarnation (?P<incarnation>\d+)",)),
    Sig(GENERIC_KIND, ("Python: ",), r"^Python: (?P<python>\d+(?:\.\d+)+)"),
    # --- routine: written at warning level on healthy runs, never a failure (Event.alarm) --------------
    # the telemetry collector drops extension events it cannot send (too old, too big, malformed); the
    # extension itself is not affected
    Sig(GENERIC_KIND, ("Dropped events for Extension",), attrs={"routine": True}),
    # 2.2.x at every protocol detection when the fabric prefers a newer wire protocol than the agent's 2012-11-30,
    # which it supports: a warning in some versions, the same information in others
    Sig(GENERIC_KIND, ("Server preferred version:",), attrs={"routine": True}),
    # the environment thread, periodically: no dhclient process to watch (systemd-networkd, NetworkManager's own
    # DHCP), and moving the udev persistent-net rules aside; the agent's own end-to-end tests ignore both
    Sig(GENERIC_KIND, ("Dhcp client is not running",), attrs={"routine": True}),
    Sig(GENERIC_KIND, ("Move rules file",), r"^Move rules file \S*persistent\S*\.rules to ", attrs={"routine": True}),
)

SYSTEM_LEVELS = {"system.oom": "error", "system.hung_task": "warning"}  # the kernel gives these lines no level
_AGENT_UNIT = r"(?:walinuxagent|waagent)\.service"
SYSTEM: tuple[Sig, ...] = (
    # the agent's service as systemd reports it (syslog, journal; a start after a stop is a restart)
    Sig("agent.crash", ("walinuxagent.service:", "waagent.service:"),
        _AGENT_UNIT + r": (?:Main process exited, code=\w+, status=(?P<exit_code>\d+)/(?!SUCCESS)"
        r"|Failed with result '(?P<result>[\w-]+)')", attrs={"process": "service"}),
    Sig("agent.service", ("Azure Linux Agent",), r"^(?P<action>Stopped|Started|Stopping|Starting) (?:the )?"
        r"(?:Windows )?Azure Linux Agent"),
    Sig("agent.service", ("walinuxagent.service:", "waagent.service:"),
        _AGENT_UNIT + r": (?:Deactivated successfully|Succeeded)", attrs={"action": "Stopped"}),
    Sig("system.oom", ("Out of memory", "out of memory"),
        r"[Oo]ut of memory: Kill(?:ed)? process (?P<pid>\d+) \((?P<process>[^)]*)\)", post=_oom_target),
    Sig("system.oom", ("invoked oom-killer",), r"(?P<process>\S+) invoked oom-killer", post=_oom_target),
    # SELinux denials of the agent (other processes' denials are no evidence about the backup)
    Sig("security.block", ("avc:",), r"avc:\s+denied.*\bwaagent", attrs={"image": "waagent"}),
    Sig("system.hung_task", ("blocked for more than",),
        r"task (?P<process>\S+?):(?P<pid>\d+) blocked for more than (?P<seconds>\d+) seconds"),
    Sig("system.shutdown", ("Reached target",), r"Reached target (?:System )?(?:Shutdown|Power-Off|Reboot|Halt)",
        attrs={"planned": True}, post=_restart),
    Sig("system.shutdown", ("System is powering down", "System is rebooting", "System is halting", "Power key pressed",
                            "Syncing filesystems and block devices", "Power down", "Restarting system",
                            "Shutting down."), attrs={"planned": True}, post=_restart),
    Sig("system.shutdown", ("COMMAND=",),
        r"^\s*(?P<user>\S+) : .*COMMAND=(?P<command>\S*(?:shutdown|reboot|poweroff|halt)\b.*"
        r"|\S*systemctl (?:poweroff|reboot|halt)\b.*|\S*init [06]\b.*)", attrs={"planned": True}, post=_restart),
    Sig("system.boot", ("Linux version",), r"Linux version (?P<kernel>\S+)"),
    Sig("system.boot", ("-- Reboot --",)),
)


def _inner_error(row_kind: str, kind: str, attrs: Attrs, text: str) -> str:
    """The whole table's rule: a record of a network kind is what its inner error says when that is local."""
    if kind in NETWORK_KINDS or (kind == GENERIC_KIND and row_kind in NETWORK_KINDS):
        return local_inner_error(kind, attrs, text)
    return kind


AGENT_TABLE = SignatureTable(AGENT, marks={"succeeded": SNAPSHOT_SUCCEEDED}, refine=_inner_error,
                             refine_kinds=NETWORK_KINDS)
SYSTEM_TABLE = SignatureTable(SYSTEM)
