"""A small Linux bundle around one backup run, for tests of time and resource evidence.

``LinuxBundle`` writes a G4 ``waagent.log`` (heartbeats, the agent enabling VMSnapshotLinux for sequence 42), the
extension's ``extension.log`` (Python 3 form, UTC) with a run that succeeds, fails with the snapshot limit (ext 85)
or never reports, and whatever system logs a test adds, in the forms the kernel and syslog write them
(linux-formats.md §1.2 e, §6 L17/L76): a BSD header without a year, a ``journalctl -o short-iso`` header, or
``dmesg -T``. The newest agent record is the collection time.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

EXT = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
EXT_DIR = f"var/log/azure/{EXT}"
HOST = "vm-app01"
KERNEL_FORMS = ("bsd", "journal", "dmesg")


def kernel_line(t: datetime, text: str, form: str = "bsd", proc: str = "kernel", uptime: float = 812345.12) -> str:
    """One kernel (or other program's) line as ``form`` shows it; ``t`` is the VM's wall clock (UTC here)."""
    body = f"[{uptime:12.6f}] {text}" if proc == "kernel" else text
    if form == "bsd":
        return f"{t:%b} {t.day:2d} {t:%H:%M:%S} {HOST} {proc}: {body}"
    if form == "journal":
        return f"{t:%Y-%m-%dT%H:%M:%S}+0000 {HOST} {proc}: {body}"
    return f"[{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y}] {text}"  # dmesg -T


def java_oom(t: datetime, form: str = "bsd", pid: int = 2361) -> list[str]:
    """A system-wide OOM kill of an application (L76), as the kernel reports it over several lines."""
    return [kernel_line(t, "java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, "
                           "oom_score_adj=0", form),
            kernel_line(t, "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
                           f"task_memcg=/system.slice/jira.service,task=java,pid={pid},uid=1001", form),
            kernel_line(t, f"Out of memory: Killed process {pid} (java) total-vm:9834120kB, anon-rss:7312004kB, "
                           "file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:15012kB oom_score_adj:0", form)]


COLLECTOR_SLICE = "/azure.slice/azure-walinuxagent.slice/azure-walinuxagent-logcollector.slice"


def collector_oom(t: datetime, form: str = "bsd", kernel: str = "memcg", pid: int = 7211) -> list[str]:
    """The agent's log collector killed at its own cgroup limit (L17), as kernels >= 4.19 (``memcg``: the
    ``oom-kill:`` line) or older ones (``task-in``: ``Task in ... killed as a result of limit of``;
    ``stats``: ``Memory cgroup stats for``) report it."""
    lines = [kernel_line(t, "python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0", form)]
    if kernel == "memcg":
        lines.append(kernel_line(t, "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                                    f"oom_memcg={COLLECTOR_SLICE},task_memcg={COLLECTOR_SLICE},task=python3,"
                                    f"pid={pid},uid=0", form))
    elif kernel == "task-in":
        lines.append(kernel_line(t, f"Task in {COLLECTOR_SLICE} killed as a result of limit of {COLLECTOR_SLICE}",
                                 form))
        lines.append(kernel_line(t, "memory: usage 30720kB, limit 30720kB, failcnt 2113", form))
    else:
        lines.append(kernel_line(t, f"Memory cgroup stats for {COLLECTOR_SLICE}: cache:0KB rss:30592KB", form))
    kill = "Killed" if kernel == "memcg" else "Kill"
    lines.append(kernel_line(t, f"Memory cgroup out of memory: {kill} process {pid} (python3) total-vm:101920kB, "
                                "anon-rss:14452kB, file-rss:4096kB, shmem-rss:0kB, UID:0 pgtables:120kB "
                                "oom_score_adj:0", form))
    return lines


@dataclass
class LinuxBundle:
    run: datetime  # when the agent enables the extension (the backup request)
    outcome: str = "limit"  # success | limit | silent (no final status)
    collected: datetime | None = None  # the newest agent record; default: 2 hours after the run
    agent: list[tuple[datetime, str, str]] = field(default_factory=list)  # extra (time, level, message) records
    files: dict[str, list[str]] = field(default_factory=dict)  # system logs: path -> lines

    def write(self, root: Path, gz: bool = False) -> Path:
        collected = self.collected or self.run + timedelta(hours=2)
        agent = [(self.run - timedelta(days=1) + timedelta(minutes=m), "INFO", _beat(i))
                 for i, m in enumerate(range(0, 24 * 60, 30))]
        agent += [(self.run - timedelta(seconds=1), "INFO", f"[{EXT}-1.0.9220.0] Target handler state: enabled "
                   "[incarnation 15]"),
                  (self.run, "INFO", f"[{EXT}-1.0.9220.0] Update settings file: 42.settings"),
                  (self.run + timedelta(milliseconds=20), "INFO",
                   f"[{EXT}-1.0.9220.0] Enable extension: [main/handle.sh enable]"),
                  (collected, "INFO", _beat(99))]
        agent += self.agent
        lines = [f"{t:%Y-%m-%dT%H:%M:%S.%f}Z {level} ExtHandler "
                 f"{'' if msg.startswith('[') else 'ExtHandler '}{msg}" for t, level, msg in sorted(agent)]
        _put(root / "var/log/waagent.log", lines)
        _put(root / EXT_DIR / "extension.log", self._extension_log())
        for path, text in self.files.items():
            if gz or path.endswith(".gz"):
                target = root / (path if path.endswith(".gz") else path + ".gz")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(gzip.compress(("\n".join(text) + "\n").encode()))
            else:
                _put(root / path, text)
        return root

    def _extension_log(self) -> list[str]:
        t = self.run + timedelta(seconds=1)
        out = [(t, "starting enable"), (t, "taskId: 2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d")]
        if self.outcome == "success":
            out += [(t + timedelta(seconds=6), "T:S doing snapshot now..."),
                    (t + timedelta(seconds=30), "T:S snapshotall ends...")]
        elif self.outcome == "limit":
            out += [(t + timedelta(seconds=18), "The snapshot count against this blob has been exceeded"),
                    (t + timedelta(seconds=20), "T:S Enable failed with FailedSnapshotLimitReached errror "
                                                "StatusCode.FailedSnapshotLimitReached,")]
        return [f"{when:%Y-%m-%d %H:%M:%S.%f} [{EXT}-1.0]{msg}" for when, msg in out]


def _beat(n: int) -> str:
    return (f"[HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal state agent [DEBUG HeartbeatCounter: {n};"
            "HeartbeatId: 8755EDD5-0354-40C3-A1DD-9F94712A0EDA;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]")


def _put(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
