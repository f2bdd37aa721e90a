"""The stories of the corpus: what happened on a VM around a failing (or a successful) backup.

Each story names the root cause a support engineer should get, the findings the bundle proves (at
warning or above), and the verdict. Stories are written from the reference documents only (the
record formats and messages in linux-formats.md / windows-formats.md, the cause -> evidence table of
error-codes.md), never from what the detectors match, and every story carries the routine traffic a
real agent writes (heartbeats, goal states of other extensions, benign warnings), so that a rule that
fires on routine text fails here. ``optional`` lists findings a correct diagnosis may or may not show
(a symptom the root cause explains).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.scenarios.linux import EXT, OLD_AGENT_BY_GEN, LinuxVM, vtuple
from tests.scenarios.vm import VM, Variant, stable_seed
from tests.scenarios.windows import VMS, WindowsVM

#: backup days far from any daylight-saving change (a bundle is read with one offset)
_DAYS = ("2024-06-10", "2023-07-04", "2025-01-21", "2024-12-09", "2023-09-06", "2025-06-17")


def t0_for(story: str, v: Variant) -> datetime:
    n = stable_seed("t0", story, v.seed)
    day = _DAYS[n % len(_DAYS)]
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=(n >> 8) % 24, minutes=(n >> 13) % 60)


@dataclass(frozen=True)
class Story:
    name: str
    os: str
    summary: str
    build: Callable[[Variant], VM]
    needs: frozenset[str] = frozenset()  # files beyond the seed's list: syslog, conf, leases, status
    gens: tuple[str, ...] = ("G0", "G1", "G2", "G3", "G4")
    family: str = ""  # root cause or "healthy"
    tags: tuple[str, ...] = field(default=())


STORIES: dict[str, Story] = {}


def story(name: str, os: str, summary: str, *, needs: tuple[str, ...] = (), gens: tuple[str, ...] | None = None,
          family: str = "", tags: tuple[str, ...] = ()) -> Callable[[Callable[[Variant], VM]], Callable[[Variant], VM]]:
    def deco(fn: Callable[[Variant], VM]) -> Callable[[Variant], VM]:
        STORIES[name] = Story(name, os, summary, fn, frozenset(needs),
                              gens or (("G0", "G1", "G2", "G3", "G4") if os == "linux" else ("-",)), family, tags)
        return fn
    return deco


# --- Linux helpers ----------------------------------------------------------------------------------

def linux(v: Variant, name: str, **kwargs: object) -> LinuxVM:
    return LinuxVM(v, name, t0_for(name, v), **kwargs)  # type: ignore[arg-type]


def week_before(vm: LinuxVM, *, backups: bool = True, until: datetime | None = None) -> datetime:
    """Agent start two days before, routine traffic (until ``until``), the previous nights' successful backups."""
    start = vm.at(-60 * 26 - vm.rng.randint(30, 240))
    vm.agent_start(start)
    vm.routine(start, until or vm.collected)
    if backups:
        vm.backup(vm.t0 - timedelta(days=1, minutes=vm.rng.randint(-20, 20)))
    vm.other_extension_goal_state(vm.at(-60 * vm.rng.randint(5, 20)))
    return start


# --- Linux stories ----------------------------------------------------------------------------------

@story("linux-healthy-routine", "linux", "Backup succeeds; the agent writes its routine warnings, the extension its "
       "routine lock and host-snapshot lines (Retry to aquire lock count: 0, dosnapshot responseBody with "
       "isSuccessful true / 200), other extensions get goal states.", family="healthy")
def _healthy(v: Variant) -> VM:
    vm = linux(v, "linux-healthy-routine")
    week_before(vm)
    vm.backup(vm.t0)
    vm.other_extension_goal_state(vm.at(75))
    vm.expect_([], None)
    return vm


@story("linux-healthy-other-extension-failing", "linux", "Every backup succeeds while other extensions fail all "
       "along: the OMS agent's enable exits 52 every few hours and its status file is missing, a CustomScript enable "
       "exits 1. Their failures do not answer the backup question.", family="healthy")
def _healthy_others(v: Variant) -> VM:
    vm = linux(v, "linux-healthy-other-extension-failing")
    week_before(vm)
    vm.backup(vm.t0)
    oms, cse = "Microsoft.EnterpriseCloud.Monitoring.OmsAgentForLinux", "Microsoft.Azure.Extensions.CustomScript"
    for k in range(6):
        t = vm.at(-60 * 20 + 60 * 4 * k + vm.rng.randint(0, 50))
        vm.log(t, f"[{oms}-1.14.23] Non-zero exit code: 52, /var/lib/waagent/{oms}-1.14.23/omsagent_shim.sh -enable",
               "ERROR", writer="ext")
        if vm.h(2, 1):
            vm.log(t + timedelta(milliseconds=4), f"Event: name={oms}, op=Enable, message=[ExtensionOperationError] "
                   "Non-zero exit code: 52, omsagent_shim.sh -enable, duration=0", "ERROR")
        if vm.h(2, 2, 47):
            vm.log(t + timedelta(seconds=2), f"[ExtensionStatusError] Status file /var/lib/waagent/{oms}-1.14.23/"
                   "status/4.status does not exist", "WARNING")
    vm.log(vm.at(95), f"[{cse}-2.1.10] Non-zero exit code: 1, bin/custom-script-shim enable", "ERROR", writer="ext")
    vm.expect_([], None)
    return vm


@story("linux-fs-freeze-failed", "linux", "A mount cannot be frozen (Failed to FIFREEZE, ext code 121).",
       family="FS_FREEZE_FAILED")
def _freeze_failed(v: Variant) -> VM:
    vm = linux(v, "linux-fs-freeze-failed")
    week_before(vm)
    vm.backup(vm.t0, "freeze_failed")
    vm.expect_(["FS_FREEZE_FAILED"], "FS_FREEZE_FAILED")
    return vm


@story("linux-snapshot-limit", "linux", "The blob snapshot count is exhausted (FailedSnapshotLimitReached, 85).",
       family="SNAPSHOT_LIMIT_REACHED")
def _limit(v: Variant) -> VM:
    vm = linux(v, "linux-snapshot-limit")
    week_before(vm)
    vm.backup(vm.t0, "limit")
    vm.expect_(["SNAPSHOT_LIMIT_REACHED"], "SNAPSHOT_LIMIT_REACHED")
    return vm


@story("linux-agent-outdated", "linux", "The goal-state agent is below 2.2.53.1 (an old VM on every generation); the "
       "backup itself runs.", family="AGENT_OUTDATED", tags=("old-agent",))
def _outdated(v: Variant) -> VM:
    vm = linux(v, "linux-agent-outdated", old_agent=OLD_AGENT_BY_GEN[v.gen])
    week_before(vm)
    vm.backup(vm.t0)
    vm.expect_(["AGENT_OUTDATED"], "AGENT_OUTDATED")
    return vm


def _pick(v: Variant, *choices: str) -> str:
    """A seeded choice that depends on the case, not on the order of calls."""
    return choices[stable_seed("pick", v.seed, *choices) % len(choices)]


@story("linux-healthy-old-failure", "linux", "Two weeks before the backup the WireServer was unreachable for hours and "
       "one snapshot failed to freeze; both recovered long ago and tonight's backup succeeds.", family="healthy")
def _healthy_old(v: Variant) -> VM:
    vm = linux(v, "linux-healthy-old-failure")
    start = vm.at(-60 * 24 * 12)
    vm.agent_start(start)
    vm.routine(start, vm.collected)
    out = vm.at(-60 * 24 * 11)
    for k in range(6):
        vm.log(out + timedelta(minutes=47 * k), "Error fetching the goal state: [ProtocolError] [Wireserver Exception] "
               "[HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- "
               "6 attempts made", "ERROR")
    vm.log(out + timedelta(hours=5), "Fetching the goal state recovered from previous errors. Fetched "
           f"etag_{vm.rng.getrandbits(63)}")
    vm.backup(vm.at(-60 * 24 * 10), "freeze_failed")
    for k in range(9, 0, -1):
        vm.backup(vm.t0 - timedelta(days=k, minutes=vm.rng.randint(-15, 15)))
    vm.backup(vm.t0)
    vm.expect_([], None)
    return vm


@story("linux-healthy-goal-state-churn", "linux", "Healthy VM whose agent logs what it logs on every busy day: HTTP "
       "410 (ResourceGone) while a new goal state arrives and the re-fetch that follows, vmSettings timeouts of the "
       "HostGAPlugin, a HostGAPlugin heartbeat 410, a 400 on extensionArtifact; the backup succeeds.", family="healthy")
def _churn(v: Variant) -> VM:
    vm = linux(v, "linux-healthy-goal-state-churn")
    week_before(vm)
    t = vm.at(-3)
    vm.log(t, "Error fetching the goal state: [ProtocolError] Error fetching goal state Inner error: "
              "[ResourceGoneError] [HTTP Failed] [410: Gone] The page you requested was removed.", "ERROR")
    vm.log(t + timedelta(seconds=6), f"Fetching the goal state recovered from previous errors. Fetched "
           f"etag_{vm.rng.getrandbits(63)}")
    vm.log(vm.at(-2), f"An error occurred while retrieving the goal state: [ProtocolError] GET vmSettings "
           f"[correlation ID: {vm.guid()} eTag: {vm.rng.getrandbits(63)}]: Timeout", "WARNING")
    vm.log(vm.at(-1), "Error in SendHostPluginHeartbeat: [ResourceGoneError] [HTTP Failed] [410: Gone]", "WARNING",
           thread="MonitorHandler")
    vm.backup(vm.t0)
    vm.log(vm.at(9), "Fetch failed: [ProtocolError] Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: "
           "[HTTP Failed] [400: Bad Request] b''", "WARNING")
    vm.expect_([], None)
    return vm


@story("linux-healthy-known-build-old-python", "linux", "VMSnapshotLinux 1.0.9218.0 (broken on Python 3.12) on a "
       "Python 3.10 VM, where it works: the backup succeeds.", family="healthy")
def _build_ok(v: Variant) -> VM:
    vm = linux(v, "linux-healthy-known-build-old-python", ext_version="1.0.9218.0", distro="ubuntu22")
    week_before(vm)
    vm.backup(vm.t0)
    vm.expect_([], None)
    return vm


@story("linux-healthy-lone-network-timeout", "linux", "Tonight's backup succeeds; an hour later the agent logs one "
       "network timeout (the HostGAPlugin's API versions, or the status blob upload) and then goes on with its "
       "heartbeats and goal states up to the collection: a call that timed out once, not a cause.", family="healthy")
def _lone_timeout(v: Variant) -> VM:
    vm = linux(v, "linux-healthy-lone-network-timeout")
    week_before(vm)
    vm.backup(vm.t0)
    t = vm.at(50 + vm.rng.randint(0, 20))
    if _pick(v, "hostga", "blob") == "hostga":
        vm.log(t, "HostGAPlugin: Exception Get API versions: [HttpError] [HTTP Failed] GET http://168.63.129.16:32526/"
                  "versions -- IOError timed out -- 1 attempts made", "WARNING")
    else:
        vm.log(t, f"Exception uploading status blob: [HttpError] [HTTP Failed] PUT https://md-{vm.rng.getrandbits(20):x}"
                  f".z12.blob.storage.azure.net/$system/{vm.host}.status -- IOError timed out -- 1 attempts made",
               "WARNING")
    vm.other_extension_goal_state(t + timedelta(minutes=25))
    vm.expect_([], None)
    return vm


@story("linux-recovered-before-failure", "linux", "The WireServer was unreachable five to two hours before the backup "
       "and recovered; the backup then fails on a freeze timeout (ext code 122): the outage is context, the freeze "
       "the cause.", family="FS_FREEZE_FAILED")
def _recovered(v: Variant) -> VM:
    vm = linux(v, "linux-recovered-before-failure")
    week_before(vm)
    out = vm.at(-300)
    for k in range(5):
        vm.log(out + timedelta(minutes=38 * k), "Error fetching the goal state: [ProtocolError] [Wireserver Exception] "
               "[HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- "
               "6 attempts made", "ERROR")
    vm.log(vm.at(-120), "Fetching the goal state recovered from previous errors. Fetched "
           f"etag_{vm.rng.getrandbits(63)}")
    vm.backup(vm.t0, "freeze_timeout")
    vm.expect_(["FS_FREEZE_FAILED"], "FS_FREEZE_FAILED")
    return vm


@story("linux-failure-then-retry", "linux", "The backup fails on a freeze timeout; Azure Backup retries 40 minutes "
       "later with a new sequence number and the retry succeeds: the failure recovered.", family="healthy")
def _retry(v: Variant) -> VM:
    vm = linux(v, "linux-failure-then-retry")
    week_before(vm)
    vm.backup(vm.t0, "freeze_timeout")
    vm.backup(vm.at(40))
    vm.expect_([], None, optional=["FS_FREEZE_FAILED"])
    return vm


@story("linux-freeze-timeout", "linux", "The freeze takes longer than its 60 s timeout (ext code 122).",
       family="FS_FREEZE_FAILED")
def _freeze_timeout(v: Variant) -> VM:
    vm = linux(v, "linux-freeze-timeout")
    week_before(vm)
    vm.backup(vm.t0, "freeze_timeout")
    vm.expect_(["FS_FREEZE_FAILED"], "FS_FREEZE_FAILED")
    return vm


@story("linux-freeze-lock-contention", "linux", "Another process holds the safefreeze lock: the lock is retried and "
       "the mounts are reported already frozen (L68, ext code 121).", family="FS_FREEZE_FAILED")
def _lock(v: Variant) -> VM:
    vm = linux(v, "linux-freeze-lock-contention")
    week_before(vm)
    vm.backup(vm.t0, "lock_contention")
    vm.expect_(["FS_FREEZE_FAILED"], "FS_FREEZE_FAILED")
    return vm


@story("linux-hung-task-during-freeze", "linux", "The freeze hangs: extension.log stops inside the freeze window and "
       "the kernel reports tasks blocked for more than 120 seconds (L70). The hung tasks are freeze evidence, not a "
       "separate resource problem.", family="FS_FREEZE_FAILED", needs=("syslog",))
def _hung(v: Variant) -> VM:
    vm = linux(v, "linux-hung-task-during-freeze")
    week_before(vm)
    run = vm.backup(vm.t0, "hung_freeze")
    frozen = run.requested + timedelta(seconds=50)
    for k, task in enumerate(("jbd2/sda1-8:345", "xfsaild/sdc1:1021", "postgres:2211")):
        t = frozen + timedelta(seconds=125 + 30 * k)
        vm.kern(t, f"[{vm.rng.randint(100000, 900000)}.{vm.rng.randint(100000, 999999)}] INFO: task {task} blocked "
                   "for more than 120 seconds.")
        vm.kern(t, f"[{vm.rng.randint(100000, 900000)}.{vm.rng.randint(100000, 999999)}]       Not tainted "
                   "5.15.0-1064-azure #73-Ubuntu")
        vm.kern(t, f"[{vm.rng.randint(100000, 900000)}.{vm.rng.randint(100000, 999999)}] \"echo 0 > "
                   "/proc/sys/kernel/hung_task_timeout_secs\" disables this message.")
    vm.expect_(["FS_FREEZE_FAILED"], "FS_FREEZE_FAILED", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("linux-status-never-returned", "linux", "The agent invokes enable, the extension starts its snapshot daemon "
       "and then writes nothing more up to collection: no freeze, no final status. The status file stays transitioning "
       "(code 4) and the agent keeps reporting it so (linux-formats §2.9).", family="SNAPSHOT_TIMEOUT",
       needs=("status",))
def _stalled(v: Variant) -> VM:
    vm = linux(v, "linux-status-never-returned")
    week_before(vm)
    run = vm.backup(vm.t0, "stalled")
    if vm.h(2, 8):  # the agent reports the extension's status on every goal-state pass
        for k in range(1, 8):
            vm.log(run.requested + timedelta(minutes=10 * k, seconds=vm.rng.randint(0, 9)),
                   f"Extension status: [('{EXT}', 'transitioning')]")
    vm.expect_(["SNAPSHOT_TIMEOUT"], "SNAPSHOT_TIMEOUT")
    return vm


@story("linux-storage-unreachable", "linux", "The snapshot traffic to Azure storage times out behind a proxy "
       "(FailedRetryableSnapshotFailedNoNetwork, ext code 76).", family="STORAGE_UNREACHABLE", needs=("conf",))
def _storage(v: Variant) -> VM:
    vm = linux(v, "linux-storage-unreachable")
    vm.conf.update({"HttpProxy.Host": "10.20.0.5", "HttpProxy.Port": "3128"})
    week_before(vm)
    vm.backup(vm.t0, "no_network")
    vm.expect_(["STORAGE_UNREACHABLE"], "STORAGE_UNREACHABLE")
    return vm


def _wire_error(vm: LinuxVM, t: datetime) -> None:
    vm.log(t, "Error fetching the goal state: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET "
              "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made", "ERROR")


@story("linux-wireserver-unreachable", "linux", "A guest firewall drops traffic to 168.63.129.16 from three hours "
       "before the backup: every goal-state fetch fails, the HostGAPlugin cannot be reached, the backup request never "
       "arrives.", family="WIRESERVER_UNREACHABLE")
def _wire(v: Variant) -> VM:
    vm = linux(v, "linux-wireserver-unreachable")
    week_before(vm)
    start = vm.at(-185)
    _wire_error(vm, start)
    vm.log(start + timedelta(seconds=40), "HostGAPlugin: Exception Get API versions: [HttpError] [HTTP Failed] GET "
           "http://168.63.129.16:32526/versions -- IOError timed out -- 6 attempts made", "WARNING")
    vm.log(start + timedelta(minutes=2), "Error in SendHostPluginHeartbeat: [HttpError] [HTTP Failed] GET "
           "http://168.63.129.16:32526/health -- IOError timed out -- 1 attempts made --- [NOTE: Will not log the same "
           "error for the next hour]", "WARNING", thread="MonitorHandler")
    t = start + timedelta(minutes=11)
    while t < vm.collected:
        vm.log(t, "Fetching the goal state is still failing: [ProtocolError] [Wireserver Exception] [HttpError] "
                  "[HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- "
                  "6 attempts made", "ERROR")
        t += timedelta(minutes=vm.rng.randint(50, 70))
    vm.expect_(["WIRESERVER_UNREACHABLE"], "WIRESERVER_UNREACHABLE")
    return vm


@story("linux-dhcp-failure", "linux", "A static IP was configured in the guest and the VM rebooted four hours before "
       "the backup: no lease carries option 245, there is no route to 168.63.129.16, the daemon cannot find the "
       "WireServer (DHCP_FAILURE -> WIRESERVER_UNREACHABLE).", family="DHCP_FAILURE", needs=("leases", "conf"))
def _dhcp(v: Variant) -> VM:
    vm = linux(v, "linux-dhcp-failure", distro=_pick(v, "ubuntu20", "ubuntu22", "debian11", "rhel8", "alma9"))
    boot = vm.at(-240)
    week_before(vm, until=boot)
    vm.lease_245 = False
    vm.kern(boot, KERNEL_BANNER)
    d = vm.daemon
    vm.log(boot + timedelta(seconds=31), f"Azure Linux Agent Version: {d}" if vtuple(d) >= (2, 8, 0, 11) else
           f"Azure Linux Agent Version:{d}", writer="daemon")
    t = boot + timedelta(seconds=33)
    vm.log(t, "No route exists to 168.63.129.16", "WARNING", writer="daemon")
    vm.log(t + timedelta(seconds=10), "Protocol endpoint not found: WireProtocol, [ProtocolError] [DhcpError] Failed "
           "to receive dhcp response.", writer="daemon")
    n = 1
    t += timedelta(seconds=20)
    while t < vm.collected:
        vm.log(t, f"Retry detect protocol: retry={n}", writer="daemon")
        n += 1
        t += timedelta(seconds=10 * vm.rng.randint(30, 60))
    vm.expect_(["DHCP_FAILURE", "WIRESERVER_UNREACHABLE"], "DHCP_FAILURE",
               optional=["AGENT_NOT_RUNNING", "SNAPSHOT_TIMEOUT", "VERBOSE_LOGGING_DISABLED"])
    return vm


@story("linux-agent-crash-loop", "linux", "The goal-state agent crashes three times within 300 s and the daemon "
       "gives up; systemd restarts the agent hours later and the pending backup request is run too late (CRP "
       "timeout, ext code 402).", family="AGENT_NOT_RUNNING")
def _crash(v: Variant) -> VM:
    vm = linux(v, "linux-agent-crash-loop")
    crash = vm.at(-50)
    week_before(vm, until=crash)
    cmd = f"python3 -u {vm.egg} -run-exthandlers"
    for k in range(4):
        t = crash + timedelta(seconds=70 * k)
        pid = vm.pid["handler"] + 17 * (k + 1)
        vm.log(t, f"ExtHandler process {pid} launched with command '{cmd}' exited with return code: 1", "WARNING",
               writer="daemon")
    vm.log(crash + timedelta(seconds=290), f"Agent WALinuxAgent-{vm.handler} launched with command '{cmd}' failed with "
           f"exception: Agent WALinuxAgent-{vm.handler} restarted more than 3 times in 300 seconds", "WARNING",
           writer="daemon")
    back = vm.at(150)
    vm.pid["handler"] += 400
    vm.agent_start(back)
    vm.routine(back, vm.collected, noise=False)
    vm.backup(vm.t0, "crp_timeout", invoked=back + timedelta(minutes=2))
    vm.expect_(["AGENT_NOT_RUNNING", "SNAPSHOT_TIMEOUT"], "AGENT_NOT_RUNNING")
    return vm


@story("linux-late-invocation-agent-alive", "linux", "The backup request reaches the VM 2 h 30 min late (a platform "
       "delay): the agent heartbeats every 30 minutes throughout, runs the extension at once, and the extension "
       "refuses (CRP timeout, ext code 402). The agent was running: a snapshot timeout, not a dead agent.",
       family="SNAPSHOT_TIMEOUT")
def _late(v: Variant) -> VM:
    vm = linux(v, "linux-late-invocation-agent-alive")
    week_before(vm)
    vm.backup(vm.t0, "crp_timeout", invoked=vm.at(150 + vm.rng.randint(0, 20)))
    vm.expect_(["SNAPSHOT_TIMEOUT"], "SNAPSHOT_TIMEOUT")
    return vm


@story("linux-auto-update-disabled", "linux", "AutoUpdate.Enabled=n keeps the distribution's old agent (below "
       "2.2.53.1) as the goal-state agent; backups run.", family="AGENT_AUTO_UPDATE_DISABLED", needs=("conf",),
       gens=("G1", "G2", "G3", "G4"), tags=("old-agent",))
def _autoupdate(v: Variant) -> VM:
    vm = linux(v, "linux-auto-update-disabled", old_agent=OLD_AGENT_BY_GEN[v.gen])
    vm.conf["AutoUpdate.Enabled"] = "n"
    week_before(vm)
    vm.backup(vm.t0)
    vm.expect_(["AGENT_AUTO_UPDATE_DISABLED", "AGENT_OUTDATED"], "AGENT_AUTO_UPDATE_DISABLED")
    return vm


@story("linux-extensions-disabled", "linux", "Extensions.Enabled=n: the agent fetches the goal state with the backup "
       "request and logs that it will not process extensions.", family="EXTENSIONS_DISABLED", needs=("conf",))
def _ext_disabled(v: Variant) -> VM:
    vm = linux(v, "linux-extensions-disabled")
    vm.conf["Extensions.Enabled"] = "n"
    start = vm.at(-60 * 26)
    vm.agent_start(start)
    vm.routine(start, vm.collected)
    for day in (1, 0):
        t = vm.t0 - timedelta(days=day) + timedelta(seconds=vm.rng.randint(20, 50))
        vm.incarnation += 1
        vm._goal_state_lines(t, vm.incarnation)
        if vm.h(2, 10):
            vm.log(t + timedelta(milliseconds=80), f"Extension '{EXT}' will not be processed since extension "
                   "processing is disabled. To enable extension processing, set Extensions.Enabled=y in "
                   "'/etc/waagent.conf'",
                   "WARNING")
        else:
            vm.log(t + timedelta(milliseconds=80), "******** Extensions.Enabled is set to False, not processing the "
                   "operation ********", "WARNING")
    vm.expect_(["EXTENSIONS_DISABLED"], "EXTENSIONS_DISABLED", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("linux-extension-install-failed", "linux", "The VMSnapshotLinux update cannot install: handle.sh finds no "
       "usable python binary (shell.log: python version unknown; exit code 3).", family="EXTENSION_LOAD_FAILED")
def _install(v: Variant) -> VM:
    vm = linux(v, "linux-extension-install-failed", distro="rhel8")
    week_before(vm)
    run = vm.backup(vm.t0, "enable_failed")
    t = run.requested + timedelta(seconds=40)
    vm.shell.append((t, "python version unknown"))
    vm.shell.append((t + timedelta(milliseconds=20), "3 returned from handle.py"))
    vm.log(t + timedelta(milliseconds=400), f"Event: name={EXT}, op=Install, message=[ExtensionOperationError] "
           f"Non-zero exit code: 3, {vm.ext_dir}/main/handle.sh install\n[stdout]\n\n[stderr]\n, duration=0", "ERROR")
    vm.expect_(["EXTENSION_LOAD_FAILED"], "EXTENSION_LOAD_FAILED", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("linux-snapshot-extension-broken-build", "linux", "VMSnapshotLinux 1.0.9218.0 on Ubuntu 24.04 (Python 3.12): "
       "enable fails with ModuleNotFoundError: No module named 'imp' (L22).", family="SNAPSHOT_EXTENSION_OUTDATED")
def _broken_build(v: Variant) -> VM:
    vm = linux(v, "linux-snapshot-extension-broken-build", ext_version="1.0.9218.0", distro="ubuntu24")
    week_before(vm, backups=False)
    run = vm.backup(vm.t0, "enable_failed")
    t = run.requested + timedelta(seconds=41)
    d = vm.ext_dir
    vm.log(t, f"Event: name={EXT}, op=Enable, message=[ExtensionOperationError] Non-zero exit code: 1, {d}/main/"
              "handle.sh enable\n[stdout]\n\n[stderr]\nTraceback (most recent call last):\n"
              f'  File "{d}/main/handle.py", line 31, in <module>\n    from Utils.WAAgentUtil import waagent\n'
              f'  File "{d}/main/Utils/WAAgentUtil.py", line 19, in <module>\n    import imp\n'
              "ModuleNotFoundError: No module named 'imp'\n, duration=0", "ERROR")
    vm.expect_(["SNAPSHOT_EXTENSION_OUTDATED", "EXTENSION_LOAD_FAILED"], "SNAPSHOT_EXTENSION_OUTDATED",
               optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("linux-oom-during-snapshot", "linux", "Memory runs out during the snapshot: the kernel kills the extension's "
       "python process (Out of memory: Killed process), the run never reports a final status.",
       family="HIGH_RESOURCE_USAGE", needs=("syslog",))
def _oom(v: Variant) -> VM:
    vm = linux(v, "linux-oom-during-snapshot")
    week_before(vm)
    run = vm.backup(vm.t0, "killed")
    t = run.requested + timedelta(seconds=58)
    pid = vm.rng.randint(20000, 60000)
    stamp = f"[{vm.rng.randint(100000, 900000)}.{vm.rng.randint(100000, 999999)}]"
    vm.kern(t, f"{stamp} python3 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, "
               "oom_score_adj=0")
    vm.kern(t, f"{stamp} Out of memory: Killed process {pid} (python3) total-vm:1984520kB, anon-rss:1650204kB, "
               "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:3448kB oom_score_adj:0")
    vm.kern(t + timedelta(seconds=1), f"{stamp} Out of memory: Killed process {pid + 311} (java) total-vm:9914520kB, "
            "anon-rss:6150204kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:15448kB oom_score_adj:0")
    vm.expect_(["HIGH_RESOURCE_USAGE"], "HIGH_RESOURCE_USAGE", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("linux-cpu-throttled-enable", "linux", "The VM is starved of CPU: the agent kills the extension's enable after "
       "300 s, of which 187 s throttled (Timeout(300);CPUThrottledTime). Resource starvation is the cause, the failed "
       "enable its symptom.", family="HIGH_RESOURCE_USAGE")
def _throttled(v: Variant) -> VM:
    vm = linux(v, "linux-cpu-throttled-enable")
    week_before(vm)
    run = vm.backup(vm.t0, "enable_failed")
    start = run.requested + timedelta(seconds=40)
    vm.elog(start + timedelta(seconds=3), "starting enable")
    vm.elog(start + timedelta(seconds=51), f"taskId: {run.task_id}")
    vm.log(start + timedelta(seconds=300, milliseconds=210), f"Event: name={EXT}, op=Enable, message=[ExtensionError] "
           f"Timeout(300);CPUThrottledTime(187secs): {vm.ext_dir}/main/handle.sh enable\n[stdout]\n\n[stderr]\n, "
           "duration=300211", "ERROR")
    vm.expect_(["HIGH_RESOURCE_USAGE", "EXTENSION_LOAD_FAILED"], "HIGH_RESOURCE_USAGE", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("linux-shutdown-in-guest", "linux", "Someone shuts the VM down from inside (sudo shutdown -h now) 30 minutes "
       "before the backup; it is started again hours later, the agent runs the pending request too late (402) and "
       "its status blob re-reports yesterday's success with today's time.", family="VM_SHUTDOWN_IN_GUEST",
       needs=("syslog",))
def _shutdown(v: Variant) -> VM:
    vm = linux(v, "linux-shutdown-in-guest", distro=_pick(v, "ubuntu20", "ubuntu22", "rhel8", "debian11", "alma9"))
    down = vm.at(-30)
    week_before(vm, until=down)
    user = vm.rng.choice(["azureuser", "adminuser", "jsmith"])
    vm.kern(down - timedelta(seconds=2), f"{user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/sbin/"
            "shutdown -h now", process="sudo")
    vm.kern(down, "System is powering down.", process="systemd-logind[812]")
    vm.kern(down + timedelta(seconds=1), "Stopping Azure Linux Agent...", process="systemd[1]")
    vm.kern(down + timedelta(seconds=4), "Reached target Power-Off.", process="systemd[1]")
    boot = vm.at(300)
    vm.kern(boot, KERNEL_BANNER)
    vm.collected = vm.at(420)
    vm.pid = {"daemon": vm.pid["daemon"] - 40, "handler": vm.pid["handler"] - 300}
    up = vm.agent_start(boot + timedelta(seconds=38))
    vm.routine(up, vm.collected, noise=False)
    vm.backup(vm.t0, "crp_timeout", invoked=up + timedelta(seconds=20))
    vm.expect_(["VM_SHUTDOWN_IN_GUEST", "SNAPSHOT_TIMEOUT"], "VM_SHUTDOWN_IN_GUEST")
    return vm


@story("linux-unexplained-extension-error", "linux", "The snapshot fails with an error no known cause explains "
       "(failed to update blob properties, generic status code 2); verbose logging is off. The tool should say it "
       "cannot tell, show the unexplained error, and advise verbose logging.", family="inconclusive", needs=("conf",))
def _unexplained(v: Variant) -> VM:
    vm = linux(v, "linux-unexplained-extension-error")
    vm.conf["Logs.Verbose"] = "n"
    week_before(vm)
    vm.backup(vm.t0, "unknown_error")
    vm.expect_(["VERBOSE_LOGGING_DISABLED"], None, "inconclusive")
    return vm


@story("linux-empty-agent-log", "linux", "Only an empty waagent.log (rotated minutes before collection) and the agent "
       "configuration: nothing proves the VM healthy.", family="inconclusive", needs=("conf",),
       gens=("G4",), tags=("needs-waagent-log",))
def _empty(v: Variant) -> VM:
    vm = linux(v, "linux-empty-agent-log")
    vm.expect_([], None, "inconclusive")
    return vm


# --- Linux, 2.2.x-era wordings (issue 13, class 7) ------------------------------------------------------

def old22(v: Variant, name: str) -> LinuxVM:
    return linux(v, name, old_agent={"G1": "2.2.26", "G2": "2.2.41"}[v.gen])


@story("linux-22x-relaunch-loop", "linux", "A 2.2.x daemon relaunches its extension handler every few seconds: "
       "'launched with command ... is successfully running' followed by 'failed with exception'; no extension runs.",
       family="AGENT_NOT_RUNNING", gens=("G1", "G2"), tags=("old-agent",))
def _relaunch(v: Variant) -> VM:
    vm = old22(v, "linux-22x-relaunch-loop")
    start = vm.at(-70)
    week_before(vm, until=start)
    t = start
    cmd = "python3 -u /usr/sbin/waagent -run-exthandlers" if vm.rng.random() < 0.5 else \
        f"python -u bin/WALinuxAgent-{vm.handler}-py2.7.egg -run-exthandlers"
    while t < vm.collected:
        vm.log(t, f"Agent WALinuxAgent-{vm.handler} launched with command '{cmd}' is successfully running",
               writer="daemon")
        vm.log(t + timedelta(seconds=2, milliseconds=vm.rng.randint(0, 900)), f"Agent WALinuxAgent-{vm.handler} failed "
               "with exception: 'NoneType' object has no attribute 'ext_handlers'", "WARNING", writer="daemon")
        t += timedelta(seconds=vm.rng.randint(5, 9), minutes=vm.rng.choice([0, 0, 0, 4]))
    vm.expect_(["AGENT_NOT_RUNNING", "AGENT_OUTDATED"], "AGENT_NOT_RUNNING", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("linux-22x-orphan-process", "linux", "Another extension hangs; the 2.2.x handler waits for its orphan process "
       "and kills it after its timeout ('waiting for orphan process', 'forcibly terminated orphan process'), so the "
       "backup extension is invoked too late (402).", family="AGENT_NOT_RUNNING", gens=("G1", "G2"),
       tags=("old-agent",))
def _orphan(v: Variant) -> VM:
    vm = old22(v, "linux-22x-orphan-process")
    week_before(vm)
    pid = vm.rng.randint(4000, 30000)
    t = vm.at(-20)
    vm.log(t, "[Microsoft.Azure.Extensions.CustomScript-2.1.6] Enable extension [bin/custom-script-shim enable]",
           writer="ext")
    k = 0
    while t < vm.at(150):
        vm.log(t + timedelta(minutes=5), f"waiting for orphan process {pid}", writer="handler")
        t += timedelta(minutes=5)
        k += 1
    vm.log(t + timedelta(seconds=2), f"forcibly terminated orphan process {pid}", "WARNING")
    vm.backup(vm.t0, "crp_timeout", invoked=t + timedelta(seconds=40))
    vm.expect_(["AGENT_NOT_RUNNING", "AGENT_OUTDATED", "SNAPSHOT_TIMEOUT"], "AGENT_NOT_RUNNING")
    return vm


@story("linux-22x-wireserver", "linux", "A 2.2.x agent cannot reach the WireServer: HTTP retries end in 'Exception "
       "retrieving extension handlers: ... HTTP GET failed'.", family="WIRESERVER_UNREACHABLE", gens=("G1", "G2"),
       tags=("old-agent",))
def _wire22(v: Variant) -> VM:
    vm = old22(v, "linux-22x-wireserver")
    week_before(vm)
    t = vm.at(-130)
    while t < vm.collected:
        vm.log(t, "[HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP GET IOError [Errno 113] No route to host")
        vm.log(t + timedelta(seconds=21), "Exception retrieving extension handlers: [ProtocolError] [Wireserver "
               "Exception] [HttpError] HTTP GET failed", "WARNING")
        t += timedelta(minutes=vm.rng.randint(8, 25))
    vm.expect_(["WIRESERVER_UNREACHABLE", "AGENT_OUTDATED"], "WIRESERVER_UNREACHABLE")
    return vm


@story("linux-22x-dhcp", "linux", "A 2.2.x daemon on a VM without a default route: '/proc/net/route contains no "
       "routes', 'Primary interface examination will retry silently', no route to 168.63.129.16, no option 245.",
       family="DHCP_FAILURE", gens=("G1", "G2"), tags=("old-agent",), needs=("leases",))
def _dhcp22(v: Variant) -> VM:
    vm = old22(v, "linux-22x-dhcp")
    vm.distro = _pick(v, "ubuntu18", "debian11", "centos7")
    boot = vm.at(-200)
    week_before(vm, until=boot)
    vm.lease_245 = False
    vm.log(boot + timedelta(seconds=30), f"Azure Linux Agent Version:{vm.daemon}", writer="daemon")
    t = boot + timedelta(seconds=31)
    vm.log(t, "/proc/net/route contains no routes", "WARNING", writer="daemon")
    vm.log(t + timedelta(milliseconds=4), "Primary interface examination will retry silently", "WARNING",
           writer="daemon")
    vm.log(t + timedelta(seconds=1), "No route exists to 168.63.129.16", "WARNING", writer="daemon")
    n = 1
    while t < vm.collected:
        vm.log(t + timedelta(seconds=12), f"Retry detect protocols: retry={n}", writer="daemon")
        t += timedelta(seconds=10 * vm.rng.randint(20, 40))
        n += 1
    vm.expect_(["DHCP_FAILURE", "WIRESERVER_UNREACHABLE", "AGENT_OUTDATED"], "DHCP_FAILURE",
               optional=["AGENT_NOT_RUNNING", "SNAPSHOT_TIMEOUT"])
    return vm


# --- Windows helpers ------------------------------------------------------------------------------------

def windows(v: Variant, name: str, **kwargs: object) -> WindowsVM:
    return WindowsVM(v, name, t0_for(name, v), **kwargs)  # type: ignore[arg-type]


def win_day_before(vm: WindowsVM, *, until: datetime | None = None, backups: bool = True) -> datetime:
    start = vm.at(-60 * 26 - vm.rng.randint(10, 200))
    vm.event(start - timedelta(minutes=2), "System", "EventLog", 6005, 4, "The Event log service was started.",
             qualifiers=32768)
    vm.agent_start(start)
    vm.routine(start, until or vm.collected)
    if backups:
        vm.backup(vm.t0 - timedelta(days=1, minutes=vm.rng.randint(-20, 20)))
    vm.publish_status(vm.at(-60 * 12))
    return start


KERNEL_BANNER = ("[    0.000000] Linux version 5.15.0-1064-azure (buildd@lcy02-amd64-043) (gcc (Ubuntu "
                 "11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #73-Ubuntu SMP Tue Apr 30 "
                 "14:24:44 UTC 2024")
VSS_8194 = ("Volume Shadow Copy Service error: Unexpected error querying for the IVssWriterCallback interface.  "
            "hr = 0x80070005, Access is denied.\r\n. This is often caused by incorrect security settings in either the "
            "writer or requestor process. \r\n\r\nOperation:\r\n   Gathering Writer Data\r\n\r\nContext:\r\n   "
            "Writer Class Id: {e8132975-6f93-4464-a53e-1050253ae220}\r\n   Writer Name: System Writer\r\n   "
            "Writer Instance ID: {0f0d6f0f-9f9a-4c5c-9d1b-2a6b3b6f9c11}")


# --- Windows stories ------------------------------------------------------------------------------------

@story("windows-healthy-routine", "windows", "Healthy Windows VM: heartbeats, the agent's routine VMSettings "
       "warnings, the transient 'Status file ... is not available yet' while the extension works, a VSS 8194 three "
       "days before any backup, the COM+ SOAP Services GAC warning the backup extension causes on re-install, SQL "
       "Server present with USEVSSCOPYBACKUP=TRUE; the backup succeeds.", family="healthy")
def _win_healthy(v: Variant) -> VM:
    vm = windows(v, "windows-healthy-routine")
    vm.event(vm.at(-60 * 24 * 3 - 17), "Application", "VSS", 8194, 2, VSS_8194, [(None, "0x80070005, Access is "
             "denied.\r\n"), (None, "\r\n\r\nOperation:\r\n   Gathering Writer Data")], qualifiers=0)
    win_day_before(vm)
    vm.registry_value("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent", "USEVSSCOPYBACKUP", '"TRUE"')
    vm.service("SQLWriter", "RUNNING", "AUTO_START")
    vm.event(vm.at(-30), "Application", "COM+ SOAP Services", 0, 3, "Removing an assembly from the global assembly "
             f"cache failed: C:\\Packages\\Plugins\\{VMS}\\{vm.ext_version}\\iaasvmsnapshotmessage.dll "
             "iaasvmsnapshotmessage,Version=3.0.0.0", [(None, "iaasvmsnapshotmessage")], qualifiers=0)
    vm.backup(vm.t0, transient_warning=True)
    vm.writers += [("System Writer", "e8132975-6f93-4464-a53e-1050253ae220", 1, "Stable", "No error"),
                   ("SqlServerWriter", "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a", 1, "Stable", "No error")]
    vm.publish_status(vm.at(30))
    vm.expect_([], None)
    return vm


@story("windows-vss-writer-failed", "windows", "The SQL Server VSS writer fails while the snapshot is prepared: VSS "
       "8193 and 12298 at the backup, the writer in state [8] Failed in 'vssadmin list writers', the extension "
       "reports ExtensionFailedVssWriterInBadState.", family="VSS_WRITER_FAILED")
def _win_vss(v: Variant) -> VM:
    vm = windows(v, "windows-vss-writer-failed")
    win_day_before(vm)
    vm.registry_value("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent", "USEVSSCOPYBACKUP", '"TRUE"')
    seq_at = vm.at(1)
    vm.backup(vm.t0, "vss_writer")
    vm.event(seq_at + timedelta(seconds=50), "Application", "VSS", 8193, 2, "Volume Shadow Copy Service error: "
             "Unexpected error calling routine QueryFullProcessImageNameW.  hr = 0x80070006, The handle is invalid.\r\n"
             "\r\n\r\nOperation:\r\n   Executing Asynchronous Operation\r\n\r\nContext:\r\n   Current State: "
             "DoSnapshotSet", [(None, "QueryFullProcessImageNameW"), (None, "0x80070006, The handle is invalid.")],
             qualifiers=0)
    vm.event(seq_at + timedelta(seconds=62), "Application", "VSS", 12298, 2, "Volume Shadow Copy Service error: The "
             "I/O writes cannot be held during the shadow copy creation period on volume F:\\. The volume index in the "
             "shadow copy set is 1. Error details: Open[0x00000000, The operation completed successfully. ], "
             "Flush[0x00000000, The operation completed successfully. ], Release[0x00000000, The operation completed "
             "successfully. ], OnRun[0x80042314, The shadow copy provider timed out while holding writes to the volume "
             "being shadow copied. ].", [(None, "F:\\")], qualifiers=0)
    vm.writers += [("System Writer", "e8132975-6f93-4464-a53e-1050253ae220", 1, "Stable", "No error"),
                   ("SqlServerWriter", "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a", 8, "Failed",
                    "Non-retryable error")]
    vm.expect_(["VSS_WRITER_FAILED"], "VSS_WRITER_FAILED")
    return vm


def _net_crash(vm: WindowsVM, t: datetime, image: str) -> None:
    vm.event(t, "Application", ".NET Runtime", 1026, 2, f"Application: {image}\r\nFramework Version: v4.0.30319\r\n"
             "Description: The process was terminated due to an unhandled exception.\r\nException Info: "
             "System.NullReferenceException\r\n   at Microsoft.WindowsAzure.GuestAgent.ContainerStateMachine."
             "ExtensionStateMachine.Execute()", [(None, f"Application: {image}\r\nFramework Version: v4.0.30319\r\n"
                                                   "Description: The process was terminated due to an unhandled "
                                                   "exception.")], qualifiers=0)


@story("windows-agent-crashed", "windows", "The guest agent process dies (.NET Runtime 1026, Application Error 1000, "
       "Service Control Manager 7034; the image is WindowsAzureGuestAgent.exe or, as older agents name it, "
       "WaAppAgent.exe) forty minutes before the backup and stays down until someone restarts it after the backup "
       "window; "
       "the agent's aggregate status still re-publishes yesterday's backup as success (issue 13 class 3).",
       family="AGENT_NOT_RUNNING", tags=("republished-status",))
def _win_crash(v: Variant) -> VM:
    vm = windows(v, "windows-agent-crashed")
    crash = vm.at(-40)
    win_day_before(vm, until=crash)
    image = _pick(v, "WindowsAzureGuestAgent.exe", "WaAppAgent.exe")
    _net_crash(vm, crash, image)
    vm.event(crash + timedelta(milliseconds=600), "Application", "Application Error", 1000, 2, "Faulting application "
             f"name: {image}, version: {vm.agent}, time stamp: 0x6391a2c4\r\nFaulting module name: KERNELBASE.dll, "
             "version: 10.0.17763.5830, time stamp: 0x2f3b5a91\r\nException code: 0xe0434352\r\nFault offset: "
             "0x0000000000034f69\r\nFaulting process id: 0x9b4\r\nFaulting application start time: "
             f"0x01dab7e1c3a0f2b1\r\nFaulting application path: C:\\WindowsAzure\\GuestAgent_{vm.agent}\\{image}\r\n"
             f"Faulting module path: C:\\Windows\\System32\\KERNELBASE.dll\r\nReport Id: {vm.guid()}",
             [(None, image), (None, vm.agent), (None, "6391a2c4"), (None, "KERNELBASE.dll")], qualifiers=0)
    vm.event(crash + timedelta(seconds=1), "System", "Service Control Manager", 7034, 2, "The Windows Azure Guest "
             "Agent service terminated unexpectedly.  It has done this 1 time(s).",
             [("param1", "Windows Azure Guest Agent"), ("param2", "1")],
             qualifiers=49152, guid="{555908d1-a6d7-4695-8e1e-26931d2012f4}", source_name="Service Control Manager")
    for k in range(1, 5):
        vm.publish_status(crash + timedelta(minutes=45 * k))  # RdAgent keeps re-reporting the last known status
    back = vm.at(190)
    vm.agent_start(back)
    vm.routine(back, vm.collected, noise=False)
    vm.backup(vm.t0, "crp_timeout", invoked=back + timedelta(minutes=1))
    vm.expect_(["AGENT_NOT_RUNNING", "SNAPSHOT_TIMEOUT"], "AGENT_NOT_RUNNING")
    return vm


@story("windows-agent-outdated", "windows", "The Windows guest agent is 2.7.1198.778, below the supported "
       "2.7.1198.911; backups run.", family="AGENT_OUTDATED")
def _win_old(v: Variant) -> VM:
    vm = windows(v, "windows-agent-outdated", agent="2.7.1198.778")
    win_day_before(vm)
    vm.backup(vm.t0)
    vm.expect_(["AGENT_OUTDATED"], "AGENT_OUTDATED")
    return vm


@story("windows-healthy-lone-getversions-503", "windows", "Tonight's backup succeeds; an hour later one "
       "GetVersions() call fails with 503 and the agent goes on with its heartbeats up to the collection: a call "
       "that failed once, not a cause.", family="healthy")
def _win_lone_503(v: Variant) -> VM:
    vm = windows(v, "windows-healthy-lone-getversions-503")
    win_day_before(vm)
    vm.backup(vm.t0)
    t = vm.at(50 + vm.rng.randint(0, 20))
    vm.log(t, "GetVersions() failed with exception: Microsoft.ServiceModel.Web.WebProtocolException: Server Error: "
              "Service Unavailable (ServiceUnavailable) ---> System.Net.WebException: The remote server returned "
              "an error: (503) Server Unavailable.", "ERROR", tid=11)
    vm.log(t + timedelta(seconds=10), "VMSettingsConsistenceCheckIfFabricSource Passed.", tid=38)
    vm.expect_([], None)
    return vm


@story("windows-wireserver-unreachable", "windows", "A guest firewall blocks 168.63.129.16 from two hours before the "
       "backup: GetVersions fails with 503 and the HostGAPlugin on port 32526 cannot be reached; no backup request "
       "arrives.", family="WIRESERVER_UNREACHABLE")
def _win_wire(v: Variant) -> VM:
    vm = windows(v, "windows-wireserver-unreachable")
    win_day_before(vm)
    t = vm.at(-120)
    while t < vm.collected:
        vm.log(t, "GetVersions() failed with exception: Microsoft.ServiceModel.Web.WebProtocolException: Server Error: "
                  "Service Unavailable (ServiceUnavailable) ---> System.Net.WebException: The remote server returned "
                  "an error: (503) Server Unavailable.", "ERROR", tid=11)
        vm.log(t + timedelta(seconds=30), "(Ignoring) Exception while fetching supported versions from HostGAPlugin: "
               "System.Net.WebException: Unable to connect to the remote server ---> System.Net.Sockets."
               "SocketException: An attempt was made to access a socket in a way forbidden by its access permissions "
               "168.63.129.16:32526", "WARN", tid=11)
        vm.log(t + timedelta(seconds=31), "WriteGAPluginHeartbeat: HostGAPluginServiceClient is not initialized so "
               "setting isCurrentlyHealthy as false", tid=13)
        vm.log(t + timedelta(seconds=31), "Error state triggered for caller:GAPluginPinger", "WARN", tid=13)
        t += timedelta(minutes=vm.rng.randint(9, 16))
    vm.expect_(["WIRESERVER_UNREACHABLE"], "WIRESERVER_UNREACHABLE")
    return vm


@story("windows-dhcp-disabled", "windows", "DHCP was disabled in the guest (static IP, EnableDHCP=0) and the VM "
       "restarted: the agent discovers no fabric address, so it cannot reach the WireServer.", family="DHCP_FAILURE")
def _win_dhcp(v: Variant) -> VM:
    vm = windows(v, "windows-dhcp-disabled")
    boot = vm.at(-150)
    win_day_before(vm, until=boot - timedelta(minutes=3))
    vm.registry_value("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces\\"
                      f"{{{vm.guid()}}}", "EnableDHCP", "dword:00000000")
    vm.event(boot - timedelta(seconds=30), "System", "EventLog", 6006, 4, "The Event log service was stopped.",
             qualifiers=32768)
    vm.event(boot, "System", "EventLog", 6005, 4, "The Event log service was started.", qualifiers=32768)
    vm.agent_start(boot + timedelta(seconds=40))
    t = boot + timedelta(seconds=70)
    while t < vm.collected:
        vm.log(t, "Attempting to discover fabric address on interface Ethernet", tid=6)
        vm.log(t, "Empty DHCP option data returned", "WARN", tid=24)
        vm.log(t, "Did not discover fabric address on interface Ethernet", "ERROR", tid=6)
        t += timedelta(minutes=vm.rng.randint(4, 9))
    vm.expect_(["DHCP_FAILURE"], "DHCP_FAILURE", optional=["WIRESERVER_UNREACHABLE", "SNAPSHOT_TIMEOUT"])
    return vm


@story("windows-iaasvmprovider-disabled", "windows", "Someone set the IaaSVmProvider service to Disabled (SCM 7040, "
       "registry Start=4, sc qc DISABLED): the snapshot's VSS provider cannot start.",
       family="IAASVMPROVIDER_NOT_AUTOMATIC")
def _win_provider(v: Variant) -> VM:
    vm = windows(v, "windows-iaasvmprovider-disabled")
    win_day_before(vm)
    key = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\IaaSVmProvider"
    vm.registry[key] = [("Start", "dword:00000004")]
    vm.service("IaaSVmProvider", "STOPPED", "DISABLED")
    vm.event(vm.at(-60 * 5), "System", "Service Control Manager", 7040, 4, "The start type of the IaaSVmProvider "
             "service was changed from auto start to disabled.",
             [("param1", "IaaSVmProvider"), ("param2", "auto start"), ("param3", "disabled"),
              ("param4", "IaaSVmProvider")],
             qualifiers=16384, guid="{555908d1-a6d7-4695-8e1e-26931d2012f4}", source_name="Service Control Manager")
    vm.backup(vm.t0, "provider")
    vm.expect_(["IAASVMPROVIDER_NOT_AUTOMATIC"], "IAASVMPROVIDER_NOT_AUTOMATIC",
               optional=["VSS_WRITER_FAILED", "SNAPSHOT_TIMEOUT"])
    return vm


@story("windows-snapshot-timeout", "windows", "The shadow copy cannot be committed in time (VSS 12310) and a writer "
       "stays frozen more than two minutes (VSS 4003); the extension never writes a final status.",
       family="SNAPSHOT_TIMEOUT")
def _win_timeout(v: Variant) -> VM:
    vm = windows(v, "windows-snapshot-timeout")
    win_day_before(vm)
    vm.backup(vm.t0, "timeout")
    t = vm.at(4)
    vm.event(t, "Application", "VSS", 4003, 3, "Volume Shadow Copy Service warning: Writer received a Freeze event "
             "more than two minutes ago. The writer is still waiting for either an Abort or a Thaw event.",
             qualifiers=0)
    vm.event(t + timedelta(minutes=6), "Application", "VSS", 12310, 2, "Volume Shadow Copy Service error: The shadow "
             "copy could not be committed - operation timed out.", qualifiers=0)
    vm.expect_(["SNAPSHOT_TIMEOUT"], "SNAPSHOT_TIMEOUT")
    return vm


@story("windows-sql-vss-full-backup", "windows", "SQL Server with its own backup jobs; the VM backup takes a VSS full "
       "backup (no USEVSSCOPYBACKUP): I/O is frozen per database, the databases are 'backed up' to a virtual "
       "device, the snapshot is delayed.", family="SQL_VSS_FULL_BACKUP")
def _win_sql(v: Variant) -> VM:
    vm = windows(v, "windows-sql-vss-full-backup")
    win_day_before(vm)
    vm.service("SQLWriter", "RUNNING", "AUTO_START")
    vm.service("MSSQLSERVER", "RUNNING", "AUTO_START")
    vm.backup(vm.t0, "timeout")
    t = vm.at(2)
    dbs = ("master", "model", "msdb", "SalesDB")
    for i, db in enumerate(dbs):
        vm.event(t + timedelta(seconds=i), "Application", "MSSQLSERVER", 3197, 4, f"I/O is frozen on database {db}. No "
                 "user action is required. However, if I/O is not resumed promptly, you could cancel the backup.",
                 [(None, db)], qualifiers=16384)
    for i, db in enumerate(dbs):
        vm.event(t + timedelta(minutes=9, seconds=i), "Application", "MSSQLSERVER", 3198, 4, f"I/O was resumed on "
                 f"database {db}. No user action is required.", [(None, db)], qualifiers=16384)
        vm.event(t + timedelta(minutes=9, seconds=i + 1), "Application", "MSSQLSERVER", 18264, 4, "Database backed "
                 f"up. Database: {db}, creation date(time): 2021/03/04(10:12:55), pages dumped: {400 + 97 * i}, first "
                 "LSN: 41:112:37, last LSN: 41:144:1, number of dump devices: 1, device information: (FILE=1, "
                 f"TYPE=VIRTUAL_DEVICE: {{'{{{vm.guid().upper()}}}{i + 1}'}}). This is an informational message only. "
                 "No user action is required.", [(None, db)], qualifiers=16384)
    vm.expect_(["SQL_VSS_FULL_BACKUP"], "SQL_VSS_FULL_BACKUP", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("windows-shutdown-in-guest", "windows", "An administrator shuts the VM down over RDP (User32 1074, Kernel-Power "
       "109, EventLog 6006) twenty minutes before the backup; after it is started again the agent runs the request "
       "too late (402) while its aggregate status re-reports yesterday's success.", family="VM_SHUTDOWN_IN_GUEST",
       tags=("republished-status",))
def _win_shutdown(v: Variant) -> VM:
    vm = windows(v, "windows-shutdown-in-guest")
    down = vm.at(-20)
    win_day_before(vm, until=down)
    user = f"{vm.host.split('-')[0]}\\{vm.rng.choice(['admin', 'jsmith', 'svc_ops'])}"
    vm.event(down, "System", "User32", 1074, 4, f"The process C:\\Windows\\system32\\shutdown.exe ({vm.host}) has "
             f"initiated the power off of computer {vm.host} on behalf of user {user} for the following reason: No "
             "title for this reason could be found\r\n Reason Code: 0x800000ff\r\n Shutdown Type: power off\r\n "
             "Comment: ", [("param1", f"C:\\Windows\\system32\\shutdown.exe ({vm.host})"), ("param2", vm.host),
                            ("param3", "No title for this reason could be found"), ("param4", "0x800000ff"),
                            ("param5", "power off"), ("param6", ""), ("param7", user)], qualifiers=32768, user=user)
    vm.event(down + timedelta(seconds=20), "System", "Microsoft-Windows-Kernel-Power", 109, 4, "The kernel power "
             "manager has initiated a shutdown transition.", guid="{331c3b3a-2005-44c2-ac5e-77220c37d6b4}")
    vm.event(down + timedelta(seconds=22), "System", "EventLog", 6006, 4, "The Event log service was stopped.",
             qualifiers=32768)
    boot = vm.at(260)
    vm.event(boot, "System", "EventLog", 6005, 4, "The Event log service was started.", qualifiers=32768)
    vm.collected = vm.at(400)
    vm.agent_start(boot + timedelta(seconds=50))
    vm.publish_status(boot + timedelta(minutes=1))
    vm.routine(boot + timedelta(seconds=50), vm.collected, noise=False)
    vm.backup(vm.t0, "crp_timeout", invoked=boot + timedelta(minutes=3))
    vm.expect_(["VM_SHUTDOWN_IN_GUEST", "SNAPSHOT_TIMEOUT"], "VM_SHUTDOWN_IN_GUEST")
    return vm


@story("windows-security-block", "windows", "Antivirus kills the backup extension: Application Error 1000 for "
       "IaaSBcdrExtension.exe during the backup; no status follows.", family="EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE")
def _win_av(v: Variant) -> VM:
    vm = windows(v, "windows-security-block")
    win_day_before(vm)
    vm.backup(vm.t0, "crash")
    t = vm.at(2)
    vm.event(t, "Application", "Application Error", 1000, 2, "Faulting application name: IaaSBcdrExtension.exe, "
             f"version: {vm.ext_version}, time stamp: 0x65a1f3c2\r\nFaulting module name: ntdll.dll, version: "
             "10.0.17763.5830, time stamp: 0x8f3c1a2b\r\nException code: 0xc0000005\r\nFault offset: "
             "0x000000000009f1a4\r\nFaulting process id: 0x1f2c\r\nFaulting application start time: "
             "0x01dabb2f9c4e1d20\r\nFaulting application "
             f"path: C:\\Packages\\Plugins\\{VMS}\\{vm.ext_version}\\IaaSBcdrExtension.exe\r\nFaulting module path: "
             f"C:\\Windows\\SYSTEM32\\ntdll.dll\r\nReport Id: {vm.guid()}",
             [(None, "IaaSBcdrExtension.exe"), (None, vm.ext_version), (None, "65a1f3c2"), (None, "ntdll.dll")],
             qualifiers=0)
    vm.expect_(["EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE"], "EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE",
               optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("windows-high-resource-usage", "windows", "The VM runs out of memory and CPU during the backup: Resource-"
       "Exhaustion-Detector 2004 and VSS 11 (CPU under heavy load) at the snapshot; the snapshot never completes.",
       family="HIGH_RESOURCE_USAGE")
def _win_hru(v: Variant) -> VM:
    vm = windows(v, "windows-high-resource-usage")
    win_day_before(vm)
    vm.backup(vm.t0, "timeout")
    t = vm.at(3)
    vm.event(t, "System", "Microsoft-Windows-Resource-Exhaustion-Detector", 2004, 3, "Windows successfully diagnosed a "
             "low virtual memory condition. The following programs consumed the most virtual memory: sqlservr.exe "
             "(2644) consumed 7113584640 bytes, java.exe (5120) consumed 1290231808 bytes, and IaaSBcdrExtension.exe "
             "(7468) consumed 201826304 bytes.", guid="{9988748e-c2e8-4054-85f6-0c3e1cad2470}")
    vm.event(t + timedelta(seconds=40), "Application", "VSS", 11, 2, "Volume Shadow Copy Service information: The COM "
             "Server with CLSID {e579ab5f-1cc4-44b4-bed9-de0991ff0623} and name IVssCoordinatorEx2 cannot be started. "
             "Most likely the CPU is under heavy load. [0x80080005, Server execution failed\r\n]", qualifiers=0)
    vm.expect_(["HIGH_RESOURCE_USAGE"], "HIGH_RESOURCE_USAGE", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("windows-extension-install-failed", "windows", "The guest agent cannot install the VMSnapshot plugin "
       "(InstallPlugins() failed: BadImageFormatException 0x8007000B, a broken 64-bit .NET); its status file never "
       "appears.",
       family="EXTENSION_LOAD_FAILED")
def _win_install(v: Variant) -> VM:
    vm = windows(v, "windows-extension-install-failed")
    win_day_before(vm)
    t = vm.at(1)
    vm.attempts.append(vm.t0)
    vm.log(t, f"Test extract the plugin zip file to the temp folder C:\\TEMP\\{vm.guid()}", tid=18)
    vm.log(t + timedelta(seconds=1), "InstallPlugins() failed with exception: System.AggregateException: One or more "
           "errors occurred. ---> System.BadImageFormatException: An attempt was made to load a program with an "
           "incorrect format. (Exception from HRESULT: 0x8007000B)\n   at Microsoft.WindowsAzure.GuestAgent."
           "ExtensionStateMachine.PluginInstaller.PackageExpand(String packageFilePath, String destinationPath)",
           "ERROR", tid=10)
    vm.expect_(["EXTENSION_LOAD_FAILED"], "EXTENSION_LOAD_FAILED", optional=["SNAPSHOT_TIMEOUT"])
    return vm


@story("windows-healthy-old-failures", "windows", "Ten days ago the agent crashed once and a VSS writer failed; "
       "both recovered, every backup since succeeded.", family="healthy")
def _win_old_fail(v: Variant) -> VM:
    vm = windows(v, "windows-healthy-old-failures")
    old = vm.at(-60 * 24 * 10)
    vm.agent_start(old - timedelta(hours=3))
    _net_crash(vm, old, "WindowsAzureGuestAgent.exe")
    vm.event(old + timedelta(hours=2), "Application", "VSS", 8193, 2, "Volume Shadow Copy Service error: Unexpected "
             "error calling routine ConvertStringSidToSid.  hr = 0x80070539.", [(None, "ConvertStringSidToSid")],
             qualifiers=0)
    vm.agent_start(old + timedelta(minutes=20))
    for k in range(9, 0, -1):
        vm.backup(vm.t0 - timedelta(days=k, minutes=vm.rng.randint(-15, 15)))
    vm.routine(vm.at(-60 * 26), vm.collected)
    vm.backup(vm.t0)
    vm.publish_status(vm.at(20))
    vm.expect_([], None)
    return vm
