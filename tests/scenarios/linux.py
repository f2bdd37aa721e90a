"""Linux VMs: the Azure Linux Agent, the VMSnapshotLinux extension and the kernel, written as they write.

Every line format and message below is taken from ../shared/reference/linux-formats.md (record
generations G0-G4 of §2.2, multi-line rules of §2.3, rotation names of §2.6, VMSnapshot forms of §2.7,
the anchor lines of a run in §2.9, the state files of §3, the failure signatures L1-L77 of §6). Where a
routine line is not quoted there, its wording follows the format strings of the agent and extension
sources the reference cites (e.g. ``Retry to aquire lock count: 0`` and ``dosnapshot responseBody: ...``,
which the extension writes on every successful run).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.scenarios.vm import VM, Variant, dotnet_ticks

EXT = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
EXT_LOG_PREFIX = f"[{EXT}-1.0]"  # HandlerEnvironment schema version, not the extension version (§2.7)
LIB = "/var/lib/waagent"
EXT_LOG_DIR = f"/var/log/azure/{EXT}"

#: distro -> (os-release ID, VERSION_ID, PRETTY_NAME, python, syslog file)
DISTROS = {
    "ubuntu18": ("ubuntu", "18.04", "Ubuntu 18.04.6 LTS", "3.6.9", "syslog"),
    "ubuntu20": ("ubuntu", "20.04", "Ubuntu 20.04.6 LTS", "3.8.10", "syslog"),
    "ubuntu22": ("ubuntu", "22.04", "Ubuntu 22.04.4 LTS", "3.10.12", "syslog"),
    "ubuntu24": ("ubuntu", "24.04", "Ubuntu 24.04 LTS", "3.12.3", "syslog"),
    "debian11": ("debian", "11", "Debian GNU/Linux 11 (bullseye)", "3.9.2", "syslog"),
    "rhel8": ("rhel", "8.8", "Red Hat Enterprise Linux 8.8 (Ootpa)", "3.6.8", "messages"),
    "centos7": ("centos", "7", "CentOS Linux 7 (Core)", "2.7.5", "messages"),
    "sles15": ("sles", "15.5", "SUSE Linux Enterprise Server 15 SP5", "3.6.15", "messages"),
    "alma9": ("almalinux", "9.3", "AlmaLinux 9.3 (Shamrock Pampas Cat)", "3.9.18", "messages"),
}

MODERN_HANDLERS = ("2.9.1.1", "2.10.0.8", "2.11.1.4", "2.12.0.4", "2.13.1.1")
#: the daemon (distro package) version that writes the oldest records of a "modern" VM, per generation
DAEMON_BY_GEN = {"G1": "2.2.14", "G2": "2.2.45", "G3": "2.2.46", "G4": "2.9.1.1", "G0": "2.9.1.1"}
#: goal-state agent of an old VM, per generation (below the supported 2.2.53.1)
OLD_AGENT_BY_GEN = {"G0": "2.0.18", "G1": "2.2.19", "G2": "2.2.41", "G3": "2.2.46", "G4": "2.2.49"}


def vtuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def generation(version: str) -> str:
    v = vtuple(version)
    if v < (2, 1):
        return "G0"
    if v < (2, 2, 31):
        return "G1"
    if v < (2, 2, 46):
        return "G2"
    if v < (2, 2, 47):
        return "G3"
    return "G4"


@dataclass
class Rec:
    t: datetime
    level: str
    msg: str
    writer: str  # daemon | handler | ext
    thread: str = "ExtHandler"


@dataclass
class ExtRec:
    t: datetime
    msg: str
    buffered: list[tuple[datetime, str, str]] = field(default_factory=list)  # freeze window (t, level, msg)
    binary: list[tuple[datetime, str]] = field(default_factory=list)  # safefreeze stdout (local %F %X)


@dataclass
class Run:
    """One VMSnapshot invocation as the agent and the extension saw it."""

    seq: int
    task_id: str
    requested: datetime  # commandStartTimeUTCTicks
    status: str  # transitioning | success | error
    code: int
    message: str
    finished: datetime | None


class LinuxVM(VM):
    os = "linux"

    def __init__(self, variant: Variant, story: str, t0: datetime, *, old_agent: str | None = None,
                 ext_version: str = "1.0.9220.0", distro: str | None = None) -> None:
        super().__init__(variant, story, t0)
        gen = variant.gen
        if old_agent is not None:
            self.daemon = self.handler = old_agent
        else:
            self.handler = self.rng.choice(MODERN_HANDLERS)
            self.daemon = DAEMON_BY_GEN[gen] if gen != "G4" else self.handler
            if vtuple(self.daemon) > vtuple(self.handler):
                self.daemon = self.handler
        self.old_g0_log = old_agent is None and gen == "G0"
        self.ext_version = ext_version
        self.distro = distro or self._pick_distro()
        self.records: list[Rec] = []
        self.ext: list[ExtRec] = []
        self.shell: list[tuple[datetime, str]] = []
        self.kernel: list[tuple[datetime, str, str]] = []  # (t, process, message)
        self.runs: list[Run] = []
        self.incarnation = self.rng.randint(3, 40)
        self.seq = self.rng.randint(5, 120)
        self.pid = {"daemon": self.rng.randint(700, 1200), "handler": self.rng.randint(1300, 4000)}
        self.conf: dict[str, str] = {}
        self.lease_245 = True
        self.goal_states: list[tuple[datetime, int]] = []

    def _pick_distro(self) -> str:
        reveal = self.variant.reveal
        if reveal == "etc_timezone":
            pool = ["ubuntu18", "ubuntu20", "ubuntu22", "debian11"]
        elif reveal == "sysconfig_clock":
            pool = ["centos7", "sles15"]
        else:
            pool = ["ubuntu20", "ubuntu22", "rhel8", "alma9", "sles15", "debian11"]
        if vtuple(self.handler) >= (2, 10):
            pool = [d for d in pool if d != "centos7"] or ["rhel8"]
        return self.rng.choice(pool)

    # --- versions and wording --------------------------------------------------------------------

    @property
    def python(self) -> str:
        return DISTROS[self.distro][3]

    @property
    def hgen(self) -> str:
        return generation(self.handler)

    def h(self, *at_least: int) -> bool:
        """The goal-state agent (extension handler) is at least this version."""
        return vtuple(self.handler) >= at_least

    @property
    def ext_dir(self) -> str:
        return f"{LIB}/{EXT}-{self.ext_version}"

    @property
    def egg(self) -> str:
        py = ".".join(self.python.split(".")[:2])
        return f"bin/WALinuxAgent-{self.handler}-py{py}.egg"

    # --- recording -------------------------------------------------------------------------------

    def log(self, t: datetime, msg: str, level: str = "INFO", writer: str = "handler",
            thread: str | None = None) -> None:
        self.earliest = min(self.earliest, t)
        if thread is None:
            thread = {"daemon": "Daemon", "handler": "ExtHandler", "ext": "ExtHandler"}[writer]
        if t.microsecond % 1000 == 0:  # real clocks do not tick in milliseconds
            t += timedelta(microseconds=self.rng.randint(1, 999))
        self.records.append(Rec(t, level, msg, writer, thread))

    def elog(self, t: datetime, msg: str) -> ExtRec:
        self.earliest = min(self.earliest, t)
        rec = ExtRec(t, msg)
        self.ext.append(rec)
        return rec

    def kern(self, t: datetime, msg: str, process: str = "kernel") -> None:
        self.earliest = min(self.earliest, t)
        self.kernel.append((t, process, msg))

    # --- routine agent traffic -------------------------------------------------------------------

    def agent_start(self, t: datetime) -> datetime:
        """Daemon banner, launch of the goal-state agent and its banner (linux-formats §6.A L1-L5)."""
        d, hv = self.daemon, self.handler
        dv = vtuple(d)
        if dv < (2, 1):
            self.log(t, f"Azure Linux Agent Version: WALinuxAgent-{d}", writer="daemon")
            self.log(t + timedelta(seconds=1), "Discovered Windows Azure endpoint: 168.63.129.16", writer="daemon")
            self.log(t + timedelta(seconds=1), f"ContainerId: {self.guid()}", writer="daemon")
            return t + timedelta(seconds=5)
        banner = f"Azure Linux Agent Version: {d}" if dv >= (2, 8, 0, 11) else f"Azure Linux Agent Version:{d}"
        os_id, ver = DISTROS[self.distro][:2]
        self.log(t, banner, writer="daemon")
        self.log(t + timedelta(milliseconds=3), f"OS: {os_id} {ver}", writer="daemon")
        self.log(t + timedelta(milliseconds=5), f"Python: {self.python}", writer="daemon")
        self.log(t + timedelta(milliseconds=9), "Run daemon", writer="daemon")
        self.log(t + timedelta(seconds=2, milliseconds=130), "Wire server endpoint:168.63.129.16", writer="daemon")
        t1 = t + timedelta(seconds=4)
        if hv != d:
            self.log(t1, f"Determined Agent WALinuxAgent-{hv} to be the latest agent", writer="daemon")
            self.log(t1 + timedelta(milliseconds=40), f"Agent WALinuxAgent-{hv} launched with command "
                     f"'python3 -u {self.egg} -run-exthandlers' is successfully running", writer="daemon")
        else:
            self.log(t1, f"Installed Agent WALinuxAgent-{hv} is the most current agent", writer="daemon")
        t2 = t1 + timedelta(seconds=1, milliseconds=320)
        if self.h(2, 8):
            self.log(t2, f"Azure Linux Agent (Goal State Agent version {hv})")
        self.log(t2 + timedelta(milliseconds=2), f"WALinuxAgent-{hv} running as process {self.pid['handler']}")
        if not self.h(2, 2, 47):
            self.log(t2 + timedelta(milliseconds=8), f"Agent WALinuxAgent-{hv} is running as the goal state agent")
        self.log(t2 + timedelta(milliseconds=510), "Wire server endpoint:168.63.129.16")
        if self.h(2, 2, 47) and hv != d:
            # the daemon reports the child alive a moment later: a local and a UTC clock side by side
            self.log(t2 + timedelta(seconds=3, milliseconds=45), f"Agent WALinuxAgent-{hv} launched with command "
                     f"'python3 -u {self.egg} -run-exthandlers' is successfully running", writer="daemon")
        return t2 + timedelta(seconds=5)

    def heartbeat(self, t: datetime, counter: int) -> None:
        if not self.h(2, 2, 47):
            return
        self.log(t, f"[HEARTBEAT] Agent WALinuxAgent-{self.handler} is running as the goal state agent "
                    f"[DEBUG HeartbeatCounter: {counter};HeartbeatId: {self.guid().upper()};DroppedPackets: 0;"
                    f"UpdateGSErrors: 0;AutoUpdate: {0 if self.conf.get('AutoUpdate.Enabled') == 'n' else 1}]")

    def routine(self, start: datetime, end: datetime, *, heartbeats: bool = True, noise: bool = True) -> None:
        """What a running goal-state agent writes between two moments: heartbeats every 30 minutes and the
        benign warnings the real agent logs (its own end-to-end tests list them as expected)."""
        t = start + timedelta(minutes=self.rng.randint(1, 29), seconds=self.rng.randint(0, 59))
        n = self.rng.randint(1, 400)
        while heartbeats and t < end:
            self.heartbeat(t, n)
            n += 1
            t += timedelta(minutes=30, milliseconds=self.rng.randint(0, 900))
        if not noise or not self.h(2, 2, 47):
            return
        span = (end - start).total_seconds()
        for _ in range(self.rng.randint(1, 3)):
            when = start + timedelta(seconds=self.rng.uniform(0, span))
            choice = self.rng.randrange(4)
            if choice == 0:
                self.log(when, "Move rules file 75-persistent-net-generator.rules to "
                               "/var/lib/waagent/75-persistent-net-generator.rules", "WARNING", thread="EnvHandler")
            elif choice == 1:
                self.log(when, "Dhcp client is not running.", "WARNING", thread="EnvHandler")
            elif choice == 2 and self.h(2, 8):
                self.log(when, "Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: "
                               "[HTTP Failed] [400: Bad Request] b''", "WARNING")
            else:
                self.log(when, "[CGW] The agent's process is not within a memory cgroup", thread="ExtHandler")

    def other_extension_goal_state(self, t: datetime, name: str = "Microsoft.CPlat.Core.RunCommandLinux",
                                   version: str = "1.0.5") -> None:
        """A goal state for another extension (no backup): routine extension handler lines."""
        self.incarnation += 1
        self._goal_state_lines(t, self.incarnation)
        ext = f"[{name}-{version}]"
        self.log(t + timedelta(milliseconds=180), f"{ext} Target handler state: enabled"
                 + (f" [incarnation {self.incarnation}]" if self.h(2, 2, 47) else ""), writer="ext")
        self.log(t + timedelta(milliseconds=200), f"{ext} [Enable] current handler state is: enabled", writer="ext")
        if self.h(2, 8):
            self.log(t + timedelta(seconds=1), f"ProcessExtensionsGoalState completed [incarnation_{self.incarnation} "
                     f"{self.rng.randint(300, 2500)} ms]\n")

    def _goal_state_lines(self, t: datetime, inc: int) -> None:
        self.goal_states.append((t, inc))
        if self.h(2, 8):
            self.log(t, f"Fetched a new incarnation for the WireServer goal state [incarnation {inc}]")
            self.log(t + timedelta(milliseconds=95), f"ProcessExtensionsGoalState started [incarnation {inc} channel: "
                     f"WireServer source: Fabric activity: {self.guid()} correlation {self.guid()} created: "
                     f"{(t - timedelta(seconds=3)).strftime('%Y-%m-%dT%H:%M:%S.%f')}Z]")
        elif self.h(2, 2, 47):
            self.log(t, f"ProcessGoalState completed [incarnation {inc}; {self.rng.randint(900, 5000)} ms]")
        elif self.h(2, 1):
            self.log(t, f"Event: name=WALinuxAgent, op=ProcessGoalState, message=Incarnation {inc}, "
                        f"duration={self.rng.randint(900, 5000)}")

    # --- a backup -------------------------------------------------------------------------------------

    def backup(self, requested: datetime, outcome: str = "success", *, invoked: datetime | None = None,
               task_id: str | None = None, new_seq: bool = True) -> Run:
        """CRP asks for a snapshot at ``requested``; the agent invokes VMSnapshot at ``invoked``.

        ``outcome``: success, freeze_failed, freeze_timeout, lock_contention, hung_freeze, limit, no_network,
        crp_timeout, killed (no final status), stalled (nothing after the snapshot daemon starts), unknown_error,
        or an enable failure handled by the caller
        (``enable_failed``: the agent side only).
        """
        if new_seq:
            self.seq += 1
        seq = self.seq
        task_id = task_id or self.guid()
        invoked = invoked or requested + timedelta(seconds=self.rng.randint(20, 50))
        self.attempts.append(requested)
        self.incarnation += 1
        inc = self.incarnation
        self._goal_state_lines(invoked - timedelta(seconds=1), inc)
        ext = f"[{EXT}-{self.ext_version}]"
        self.log(invoked, f"{ext} Target handler state: enabled"
                 + (f" [incarnation {inc}]" if self.h(2, 2, 47) else ""), writer="ext")
        self.log(invoked + timedelta(milliseconds=4), f"{ext} [Enable] current handler state is: enabled", writer="ext")
        if self.h(2, 8):
            self.log(invoked + timedelta(milliseconds=6), f"{ext} Requested extension state: enabled", writer="ext")
        self.log(invoked + timedelta(milliseconds=110), f"{ext} Update settings file: {seq}.settings", writer="ext")
        enable = "Enable extension: [main/handle.sh enable]" if self.h(2, 2, 47) else \
            "Enable extension [main/handle.sh enable]"
        self.log(invoked + timedelta(milliseconds=130), f"{ext} {enable}", writer="ext")
        if self.h(2, 2, 49):
            env = {"AZURE_GUEST_AGENT_EXTENSION_PATH": self.ext_dir, "AZURE_GUEST_AGENT_EXTENSION_VERSION":
                   self.ext_version, "AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "168.63.129.16",
                   "ConfigSequenceNumber": str(seq), "AZURE_GUEST_AGENT_EXTENSION_SUPPORTED_FEATURES":
                   '[{"Key": "ExtensionTelemetryPipeline", "Value": "1.0"}]'}
            self.log(invoked + timedelta(milliseconds=140), f"{ext} Executing command: {self.ext_dir}/main/handle.sh "
                     f"enable with environment variables: {json.dumps(env)}", writer="ext")
        self.settings_file(seq, task_id, requested)
        self.shell.append((invoked + timedelta(milliseconds=300),
                           f"ConfigSequenceNumber from environment variable seqNo:{seq}"))
        self.shell.append((invoked + timedelta(milliseconds=320), f"/usr/bin/python{self.python[0]} path exists"))
        run = Run(seq, task_id, requested, "transitioning", 4, "Transitioning state in extension", None)
        self.runs.append(run)
        if outcome == "enable_failed":
            return run
        self.log(invoked + timedelta(seconds=1, milliseconds=850), f"{ext} Command: main/handle.sh enable\n"
                 "[stdout]\n\n[stderr]\n", writer="ext")
        self.shell.append((invoked + timedelta(seconds=1, milliseconds=600), "The command is enable, exiting"))
        if self.h(2, 8):
            self.log(invoked + timedelta(seconds=2), f"ProcessExtensionsGoalState completed [incarnation_{inc} "
                     f"{self.rng.randint(1800, 2600)} ms]\n")
            self.log(invoked + timedelta(seconds=2, milliseconds=5),
                     f"Extension status: [('{EXT}', 'transitioning')]")
        self._extension_run(run, invoked + timedelta(milliseconds=900), outcome)
        if self.h(2, 8) and run.status in ("success", "error") and run.finished is not None:
            self.log(run.finished + timedelta(seconds=self.rng.randint(3, 6)),
                     f"All extensions in the goal state have reached a terminal state: [('{EXT}', '{run.status}')]")
        return run

    def settings_file(self, seq: int, task_id: str, requested: datetime) -> None:
        public = {"locale": "en-us", "taskId": task_id, "commandToExecute": "snapshot",
                  "commandStartTimeUTCTicks": str(dotnet_ticks(requested)),
                  "vmType": "microsoft.compute/virtualmachines"}
        settings = {"runtimeSettings": [{"handlerSettings": {
            "protectedSettingsCertThumbprint": "F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9",
            "protectedSettings": "MIIByAYJKoZIhvcNAQcDoIIBuTCCAbUCAQAxggFxMIIBbQIBADBVMEExPzA9BgoJkiaJk/IsZAEZFi9X",
            "publicSettings": public}}]}
        self.file(f"{self.ext_dir}/config/{seq}.settings", json.dumps(settings))

    def _extension_run(self, run: Run, t: datetime, outcome: str) -> None:
        """extension.log of one run (linux-formats §2.9, §6.F-§6.G)."""
        now = run.requested
        e = self.elog
        e(t, "starting enable")
        span = (t - now).total_seconds()
        e(t + timedelta(milliseconds=20), f"command start time is {now:%Y-%m-%d %H:%M:%S.%f} and utcNow is "
          f"{t:%Y-%m-%d %H:%M:%S.%f}")
        e(t + timedelta(milliseconds=21), f"timespan: {t - now}, total_span_in_seconds: {span:.6f}, MAX_TIMESPAN: 8400")
        if outcome == "crp_timeout":
            e(t + timedelta(milliseconds=25), "CRP timeout limit has reached, will not take snapshot.")
            e(t + timedelta(milliseconds=40), "T:S Enable failed with error: CRP timeout limit has reached, will not "
              "take snapshot.  StatusCode.FailedGuestAgentInvokedCommandTooLate,")
            self._finish(run, t + timedelta(milliseconds=60), "error", 402,
                         "CRP timeout limit has reached, will not take snapshot.")
            return
        e(t + timedelta(milliseconds=30), f"taskId: {run.task_id}")
        e(t + timedelta(milliseconds=35), f"Sleeping for milliseconds: {self.rng.randint(800, 4000)}")
        t = t + timedelta(seconds=4)
        e(t, "starting daemon for freezing the file system")
        if outcome == "stalled":
            return
        e(t + timedelta(seconds=1), "PreSnapshot: Status Code: 200")
        e(t + timedelta(seconds=1, milliseconds=10), "Taking Snapshot through Host")
        t = t + timedelta(seconds=2)
        if outcome == "no_network":
            e(t, "T:S doing snapshot now...")
            e(t + timedelta(seconds=10), f"{t + timedelta(seconds=10):%Y-%m-%d %H:%M:%S.%f} Failed to call http with "
              "error: [Errno 110] Connection timed out, stack trace: Traceback (most recent call last):\n"
              '  File "/var/lib/waagent/' + f"{EXT}-{self.ext_version}" + '/main/HttpUtil.py", line 104, in '
              "HttpCallGetResponse\nTimeoutError: [Errno 110] Connection timed out")
            e(t + timedelta(seconds=10, milliseconds=20), " snapshot HttpCallGetResponse failed ")
            e(t + timedelta(seconds=11), "T:S Enable failed with FailedRetryableSnapshotFailedNoNetwork error "
              "StatusCode.FailedRetryableSnapshotFailedNoNetwork,")
            self._finish(run, t + timedelta(seconds=12), "error", 76,
                         "Enable failed with FailedRetryableSnapshotFailedNoNetwork error")
            return
        e(t, "T:S doing snapshot now...")
        e(t + timedelta(milliseconds=30), "T:S freeze, timeout value 60")
        freeze = t + timedelta(milliseconds=40)
        rec = e(freeze + timedelta(seconds=6), "================== Logs during Freeze Start ==============")
        mounts = ["/", "/boot", "/data"] if self.rng.random() < 0.5 else ["/", "/mnt/resource"]
        buf = rec.buffered
        for i, m in enumerate(mounts):
            buf.append((freeze + timedelta(milliseconds=i), "Info", f"fsfreeze mount :{m}"))
        buf.append((freeze + timedelta(milliseconds=5), "Info", "skip freeze is : False"))
        buf.append((freeze + timedelta(milliseconds=6), "Info", "arg : ['" + f"{self.ext_dir}/main/safefreeze/bin/"
                    f"safefreeze', '60', " + ", ".join(f"'{m}'" for m in [*mounts[1:], "/"]) + "]"))
        buf.append((freeze + timedelta(milliseconds=8), "Info", "proceeded for accepting signals"))
        lockfile = "/etc/azure/MicrosoftRecoverySvcsSafeFreezeLock/SafeFreezeLockFile"
        if outcome == "lock_contention":
            for n in range(1, 4):
                buf.append((freeze + timedelta(seconds=n), "Info", "Failed to open file or aquire lock:  "
                            "[Errno 11] Resource temporarily unavailable"))
                buf.append((freeze + timedelta(seconds=n, milliseconds=2), "Info", f"Retry to aquire lock count: {n}"))
            buf.append((freeze + timedelta(seconds=34), "Info", "Wait time to aquire lock 0:00:34.004213"))
            buf.append((freeze + timedelta(seconds=34, milliseconds=5), "Info",
                        "freeze_safe after returning from startproc : sig_handle=None"))
            buf.append((freeze + timedelta(seconds=34, milliseconds=6), "Error",
                        "Mount Points already freezed by some other processor"))
            rec.msg = "================== Logs during Freeze Start =============="
            rec.t = freeze + timedelta(seconds=35)
            e(freeze + timedelta(seconds=36), "T:S Enable failed with error: freeze failed for some mount "
              "StatusCode.FailedRetryableFsFreezeFailed,")
            self._finish(run, freeze + timedelta(seconds=37), "error", 121, "freeze failed for some mount")
            return
        buf.append((freeze + timedelta(milliseconds=9), "Info", f"{lockfile} file opened Sucessfully"))
        buf.append((freeze + timedelta(milliseconds=10), "Info", "Aquiring lock succeeded"))
        buf.append((freeze + timedelta(milliseconds=11), "Info", "Retry to aquire lock count: 0"))
        buf.append((freeze + timedelta(milliseconds=11), "Info", "Wait time to aquire lock 0:00:00.000413"))
        buf.append((freeze + timedelta(milliseconds=50), "Info", "inside while with sig_handle 0"))
        if outcome == "hung_freeze":
            # extension.log stops inside the freeze (L70): the buffer never reaches the file
            rec.msg = ""
            self.ext.remove(rec)
            e(freeze - timedelta(milliseconds=5), "****** 2. Binary Freeze Started")
            return
        if outcome == "freeze_timeout":
            for k in range(1, 30):
                buf.append((freeze + timedelta(seconds=2 * k), "Info", "inside while with sig_handle 0"))
            buf.append((freeze + timedelta(seconds=60), "Info", "Binary output for signal handled: 0"))
            buf.append((freeze + timedelta(seconds=60, milliseconds=2), "Info",
                        "freeze_safe after returning from startproc : sig_handle=0"))
            buf.append((freeze + timedelta(seconds=60, milliseconds=4), "Error", "freeze timed-out"))
            rec.t = freeze + timedelta(seconds=61)
            rec.binary = [(freeze + timedelta(seconds=1), "****** 2. Binary Freeze Started"),
                          (freeze + timedelta(seconds=61), "Failed to receive timely Thaw from parent process")]
            e(freeze + timedelta(seconds=62), "T:S ###### Enable failed with error: freeze took longer than timeout "
              "StatusCode.FailedRetryableFsFreezeTimeout,")
            self._finish(run, freeze + timedelta(seconds=63), "error", 122, "freeze took longer than timeout")
            return
        if outcome == "freeze_failed":
            bad = mounts[-1] if mounts[-1] != "/" else "/data"
            buf.append((freeze + timedelta(milliseconds=900), "Info", "Binary output for signal handled: 2"))
            buf.append((freeze + timedelta(milliseconds=902), "Info",
                        "freeze_safe after returning from startproc : sig_handle=2"))
            buf.append((freeze + timedelta(milliseconds=904), "Error", "freeze failed for some mount"))
            rec.t = freeze + timedelta(seconds=1)
            rec.binary = [(freeze + timedelta(milliseconds=100), "****** 2. Binary Freeze Started"),
                          (freeze + timedelta(milliseconds=120), f"Failed to FIFREEZE: {bad}")]
            e(freeze + timedelta(seconds=2), "T:S Enable failed with error: freeze failed for some mount "
              "StatusCode.FailedRetryableFsFreezeFailed,")
            self._finish(run, freeze + timedelta(seconds=3), "error", 121, "freeze failed for some mount")
            return
        buf.append((freeze + timedelta(seconds=1, milliseconds=800), "Info", "freezed"))
        buf.append((freeze + timedelta(seconds=2), "Info", "Binary output for signal handled: 1"))
        buf.append((freeze + timedelta(seconds=2, milliseconds=1), "Info",
                    "freeze_safe after returning from startproc : sig_handle=1"))
        snap = freeze + timedelta(seconds=2, milliseconds=20)
        buf.append((snap, "Info", "start calling the snapshot rest api"))
        buf.append((snap + timedelta(milliseconds=1), "Info", "****** 5. Snaphotting (Host) Started"))
        if outcome == "killed":
            rec.msg = ""
            self.ext.remove(rec)
            return
        took = timedelta(seconds=self.rng.randint(2, 9), milliseconds=self.rng.randint(0, 999))
        buf.append((snap + took, "Info", "****** 6. Snaphotting (Host) Completed"))
        if outcome == "limit":
            body = json.dumps({"snapshotInfo": [{"isSuccessful": "false", "snapshotUri": None, "errorMessage":
                               "The snapshot count against this blob has been exceeded", "statusCode": 409}]})
        else:
            body = json.dumps({"snapshotInfo": [
                {"isSuccessful": "true", "snapshotUri": f"https://md-{self.rng.randint(10**9, 10**10)}.blob.core."
                 f"windows.net/{self.guid()[:12]}/abcd?snapshot={snap:%Y-%m-%dT%H:%M:%S.%f}0Z", "errorMessage": "",
                 "statusCode": 200}]})
        buf.append((snap + took + timedelta(milliseconds=2), "Info", f"dosnapshot responseBody: {body}"))
        buf.append((snap + took + timedelta(milliseconds=5), "Info", "child process still running"))
        buf.append((snap + took + timedelta(milliseconds=6), "Info", "****** 7. Sending Thaw Signal to Binary"))
        end = snap + took + timedelta(milliseconds=400)
        rec.t = end
        rec.binary = [(freeze + timedelta(milliseconds=200), "****** 2. Binary Freeze Started"),
                      (end - timedelta(milliseconds=100), "****** 8. Binary Thaw Signal Received")]
        rec.binary += [(end - timedelta(milliseconds=90 - i), f"Thawing: {m}") for i, m in enumerate(mounts)]
        e(end + timedelta(milliseconds=50), "T:S thaw result ")
        if outcome == "limit":
            e(end + timedelta(milliseconds=60), "From Host- IsSuccessful:false, SnapshotUri:None, ErrorMessage:The "
              "snapshot count against this blob has been exceeded, StatusCode:409")
            e(end + timedelta(milliseconds=80), "T:S Enable failed with FailedSnapshotLimitReached errror "
              "StatusCode.FailedSnapshotLimitReached,")
            self._finish(run, end + timedelta(seconds=1), "error", 85, "Enable failed with FailedSnapshotLimitReached")
            return
        e(end + timedelta(milliseconds=60), "From Host- IsSuccessful:true, SnapshotUri:https://md-disk.blob.core."
          "windows.net/abcd?snapshot=..., ErrorMessage:, StatusCode:200")
        if outcome == "unknown_error":
            e(end + timedelta(milliseconds=70), "T:S Enable failed with error: failed to update blob properties, "
              "hostStatusCodeDoSnapshot=200 StatusCode.error,")
            self._finish(run, end + timedelta(seconds=1), "error", 2, "Enable failed with error")
            return
        e(end + timedelta(milliseconds=70), "T:S snapshotall ends...")
        e(end + timedelta(milliseconds=90), "Enable Succeeded")
        self._finish(run, end + timedelta(seconds=1), "success", 1, "Enable Succeeded")

    def _finish(self, run: Run, t: datetime, status: str, code: int, message: str) -> None:
        run.status, run.code, run.message, run.finished = status, code, message, t
        self.earliest = min(self.earliest, t)

    # --- state files ------------------------------------------------------------------------------

    def status_files(self) -> None:
        """``status/<seq>.status`` of every run and the handler state (linux-formats §3.7, §3.8)."""
        for run in self.runs:
            stamp = run.finished or run.requested + timedelta(seconds=45)
            telemetry = [{"Key": "extensionVersion", "Value": self.ext_version},
                         {"Key": "guestAgentVersion", "Value": self.handler},
                         {"Key": "pythonVersion", "Value": self.python},
                         {"Key": "osVersion", "Value": "-".join(DISTROS[self.distro][:2])},
                         {"Key": "snapshotCreator", "Value": "backupHostService"}]
            if run.status == "success":
                telemetry += [{"Key": "FreezeTime", "Value": "0:00:00.231154"},
                              {"Key": "ThawTime", "Value": "0:00:00.102718"},
                              {"Key": "hostStatusCodeDoSnapshot", "Value": "200"},
                              {"Key": "snapshotTimeTaken", "Value": "0:00:04.518244"}]
            status = [{"version": "1.0", "timestampUTC": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "status": {"name": EXT, "operation": "Enable", "status": run.status, "code": str(run.code),
                                  "formattedMessage": {"lang": "en-US", "message": run.message},
                                  "substatus": [], "taskId": run.task_id,
                                  "commandStartTimeUTCTicks": str(dotnet_ticks(run.requested)),
                                  "telemetryData": telemetry,
                                  "vmHealthInfo": {"vmHealthState": 0, "vmHealthStatusCode": 1}}}]
            self.file(f"{self.ext_dir}/status/{run.seq}.status", json.dumps(status))
        if self.runs:
            self.file(f"{self.ext_dir}/mrseq", str(self.runs[-1].seq))
        self.file(f"{self.ext_dir}/config/HandlerState", "Enabled")
        self.file(f"{self.ext_dir}/config/HandlerStatus", json.dumps(
            {"name": EXT, "version": self.ext_version, "status": "Ready", "code": 0, "message": "Plugin enabled",
             "supports_multi_config": False}))
        self.file(f"{self.ext_dir}/HandlerEnvironment.json", json.dumps([{
            "name": EXT, "version": 1.0, "handlerEnvironment": {
                "logFolder": EXT_LOG_DIR, "configFolder": f"{self.ext_dir}/config",
                "statusFolder": f"{self.ext_dir}/status", "heartbeatFile": f"{self.ext_dir}/heartbeat.log"}}]))

    def config_files(self) -> None:
        from tests.conftest import REFDATA

        conf = (REFDATA / "linux/config/waagent.conf.sample").read_text(encoding="utf-8")
        for key, value in self.conf.items():
            lines = [ln for ln in conf.splitlines() if not ln.startswith(f"{key}=")]
            lines.append(f"{key}={value}")
            conf = "\n".join(lines) + "\n"
        self.file("/etc/waagent.conf", conf)
        os_id, ver, pretty = DISTROS[self.distro][:3]
        self.file("/etc/os-release", f'NAME="{pretty.split(" ")[0]}"\nVERSION="{ver}"\nID={os_id}\n'
                                     f'VERSION_ID="{ver}"\nPRETTY_NAME="{pretty}"\n')
        self.file("/etc/hostname", f"{self.host}\n")
        self.lease_file()

    def lease_file(self) -> None:
        """The DHCP lease where this distribution keeps it (linux-formats §3.12); option 245 unless disabled."""
        family = DISTROS[self.distro][0]
        expire = (self.collected + timedelta(days=3650)).astimezone(UTC)
        if family == "ubuntu":
            opt = "OPTION_245=a83f8110\n" if self.lease_245 else ""
            self.file("/run/systemd/netif/leases/2", "# This is private data. Do not parse.\nADDRESS=10.0.1.4\n"
                      "NETMASK=255.255.255.0\nROUTER=10.0.1.1\nSERVER_ADDRESS=168.63.129.16\nT1=4294967295\n"
                      f"T2=4294967295\nLIFETIME=4294967295\nDNS=168.63.129.16\n{opt}")
            return
        if family == "sles":
            return  # wicked keeps option 245 where no tool reads it (linux-formats §3.12)
        path = {"debian": "/var/lib/dhcp/dhclient.eth0.leases"}.get(
            family, f"/var/lib/NetworkManager/dhclient-{self.guid()}-eth0.lease")
        opt = "  option unknown-245 a8:3f:81:10;\n" if self.lease_245 else ""
        self.file(path, 'lease {\n  interface "eth0";\n  fixed-address 10.0.1.4;\n  option subnet-mask 255.255.255.0;\n'
                  "  option routers 10.0.1.1;\n  option dhcp-server-identifier 168.63.129.16;\n"
                  f"{opt}  option domain-name \"{self.guid()[:20]}.bx.internal.cloudapp.net\";\n"
                  f"  renew {expire:%w %Y/%m/%d %H:%M:%S};\n  expire {expire:%w %Y/%m/%d %H:%M:%S};\n}}\n")

    def wire_files(self) -> None:
        """GoalState/ExtensionsConfig/SharedConfig (<= 2.7 in the lib dir, >= 2.8 in history zips)."""
        shared = (f'<SharedConfig version="1.0.0.0" goalStateIncarnation="{self.incarnation}">\n'
                  f'  <Deployment name="{self.deployment}" guid="{{{self.guid()}}}" incarnation="2">\n'
                  f'    <Service name="{self.host}-svc" guid="{{00000000-0000-0000-0000-000000000000}}" />\n'
                  f'    <ServiceInstance name="{self.deployment}.0" guid="{{{self.guid()}}}" />\n'
                  "  </Deployment>\n"
                  f'  <Incarnation number="1" instance="{self.host}" guid="{{{self.guid()}}}" />\n'
                  f'  <Role guid="{{{self.guid()}}}" name="{self.host}" settleTimeSeconds="0" />\n'
                  f'  <Instances>\n    <Instance id="{self.host}" address="10.0.1.4" />\n  </Instances>\n'
                  "</SharedConfig>\n")
        self.file(f"{LIB}/SharedConfig.xml", shared)
        if not self.h(2, 1):
            return
        inc = self.incarnation
        goal = (f'<?xml version="1.0" encoding="utf-8"?>\n<GoalState xmlns:xsi="http://www.w3.org/2001/'
                f'XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">\n  <Version>2012-11-30</Version>'
                f"\n  <Incarnation>{inc}</Incarnation>\n  <Machine><ExpectedState>Started</ExpectedState></Machine>\n"
                f"  <Container>\n    <ContainerId>{self.guid()}</ContainerId>\n    <RoleInstanceList><RoleInstance>\n"
                f"      <InstanceId>{self.deployment}.{self.host}</InstanceId><State>Started</State>\n"
                "    </RoleInstance></RoleInstanceList>\n  </Container>\n</GoalState>\n")
        if self.h(2, 9):
            self.file(f"{LIB}/GoalState.1.xml", "<xml>empty placeholder file</xml>")
        elif self.h(2, 8):
            pass
        else:
            self.file(f"{LIB}/GoalState.{inc}.xml", goal)
            self.file(f"{LIB}/ExtensionsConfig.{inc}.xml", self._extensions_config(inc, redacted=False))
            self.file(f"{LIB}/Incarnation", str(inc))
        if self.h(2, 8):
            states = sorted(self.goal_states)
            for (t, n), (archived, _) in itertools.pairwise(states):
                members = {"GoalState.xml": goal.replace(f"<Incarnation>{inc}<", f"<Incarnation>{n}<"),
                           "ExtensionsConfig.xml": self._extensions_config(n, redacted=True),
                           "SharedConfig.xml": shared}
                blob = self._status_blob(archived)
                if blob:
                    members["waagent_status.json"] = blob
                self.file(f"{LIB}/history/{t:%Y-%m-%dT%H-%M-%S}__{n}.zip", _zip(members))

    def _status_blob(self, t: datetime) -> str:
        """The status blob the agent uploaded last before ``t`` (linux-formats §3.10): the last known status of
        every extension, re-published with the time of publishing (issue 13, class 3)."""
        done = [r for r in self.runs if r.finished is not None and r.finished <= t]
        if not done:
            return ""
        run = done[-1]
        stamp = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps({"version": "1.1", "timestampUTC": stamp, "aggregateStatus": {
            "guestAgentStatus": {"version": self.handler, "status": "Ready", "formattedMessage": {
                "lang": "en-US", "message": "Guest Agent is running"}},
            "handlerAggregateStatus": [{"handlerVersion": self.ext_version, "handlerName": EXT, "status": "Ready",
                                        "code": 0, "useExactVersion": True, "formattedMessage": {
                                            "lang": "en-US", "message": "Plugin enabled"},
                                        "runtimeSettingsStatus": {"settingsStatus": {"status": {
                                            "name": EXT, "configurationAppliedTime": stamp, "operation": "Enable",
                                            "status": run.status, "code": run.code, "formattedMessage": {
                                                "lang": "en-US", "message": run.message}, "substatus": []},
                                            "version": 1.0, "timestampUTC": stamp},
                                            "sequenceNumber": run.seq}}]},
            "guestOSInfo": {"computerName": self.host, "osName": DISTROS[self.distro][0],
                            "osVersion": DISTROS[self.distro][1], "version": self.handler}})

    def _extensions_config(self, inc: int, redacted: bool) -> str:
        run = self.runs[-1] if self.runs else None
        sas = "***REDACTED***" if redacted else "sv=2018-03-28&sr=b&sk=system-1&sig=Kf3%2Bq8d0H7cLQ%3D&se=9999-01-01"
        public = json.dumps({"taskId": run.task_id, "commandStartTimeUTCTicks": str(dotnet_ticks(run.requested)),
                             "locale": "en-us", "vmType": "microsoft.compute/virtualmachines"}) if run else "{}"
        prot = "***REDACTED***" if redacted else "MIIByAYJKoZIhvcNAQcDoIIBuTCCAbUCAQAxggFxMIIB"
        seq = run.seq if run else 0
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<Extensions version="1.0.0.0" goalStateIncarnation="{inc}">'
                f'<GuestAgentExtension xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><GAFamilies><GAFamily>'
                f"<Name>Prod</Name><Version>{self.handler}</Version></GAFamily></GAFamilies></GuestAgentExtension>\n"
                f'<StatusUploadBlob statusBlobType="BlockBlob">https://md-status.blob.core.windows.net/$system/'
                f"{self.host}.status?{sas}</StatusUploadBlob>\n<Plugins>\n"
                f'  <Plugin name="{EXT}" version="{self.ext_version}" location="https://umsa.blob.core.windows.net/'
                f'{self.guid()}/{EXT}_manifest.xml" state="enabled" autoUpgrade="false" runAsStartupTask="false" '
                f'isJson="true" useExactVersion="true" />\n</Plugins>\n<PluginSettings>\n'
                f'  <Plugin name="{EXT}" version="{self.ext_version}">\n    <RuntimeSettings seqNo="{seq}">'
                '{"runtimeSettings":[{"handlerSettings":{"protectedSettingsCertThumbprint":"F6ABAA61098A301EBB8A571C3C'
                f'7CF77F355F7FA9","protectedSettings":"{prot}","publicSettings":{public}}}}}]}}</RuntimeSettings>\n'
                "  </Plugin>\n</PluginSettings>\n</Extensions>\n")


def _zip(members: dict[str, str]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()
