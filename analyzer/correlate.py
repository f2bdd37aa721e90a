"""Records of two sources that together say what neither says alone, read once the timeline is in UTC.

The agent's periodic log collector runs in a cgroup of its own with a memory limit; when it outgrows it, the
kernel kills it (L17: by design, not VM pressure). The syslog parser reads that from the kill's cgroup
(``oom_memcg=...azure-walinuxagent-logcollector.slice``). Without one (an excerpt of syslog, an older kernel's
report) the kill reads as the VM running out of memory::

    Jun 10 03:20:01 vm1 kernel: Out of memory: Killed process 7211 (python3) total-vm:612344kB, ...
    2024-06-10T03:20:02.118734Z INFO CollectLogsHandler ExtHandler Log Collector exited with code -9

The agent's own record of its collector's SIGKILL moments later names the process: such a kill becomes the
collector's (``agent.collector.failed``, as the cgroup would have made it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from parsers.base import Event

COLLECTOR_KILL = timedelta(minutes=2)  # the kernel's kill and the agent's note of its collector's exit
_SIGKILL = ("-9", "137")  # the exit code the agent logs for a process killed by SIGKILL
_PYTHON = re.compile(r"^python\d?(?:\.\d+)?$|waagent")  # the collector is the agent's Python run with -collect-logs


def collector_kills(events: Iterable[Event]) -> int:
    """Mark OOM kills without a cgroup of a Python process within :data:`COLLECTOR_KILL` of the agent's ``Log
    Collector exited with code -9`` as the collector's (kind, level and attributes as the syslog parser gives a
    kill in the collector's cgroup); returns how many."""
    events = list(events)
    exits = [e.ts for e in events if e.kind == "agent.collector.failed" and e.ts is not None
             and str(e.attrs.get("exit_code")) in _SIGKILL]
    n = 0
    for e in events if exits else ():
        if (e.kind == "system.oom" and e.ts is not None and not e.attrs.get("cgroup")
                and _PYTHON.search(str(e.attrs.get("process", "")))
                and any(abs(e.ts - t) <= COLLECTOR_KILL for t in exits)):
            e.kind, e.level = "agent.collector.failed", "info"
            e.attrs.update(task=e.attrs.get("process", ""), process="log_collector", target="log_collector")
            n += 1
    return n
