"""Benchmark: an agent log parser on a large generated, gzipped log, against ``gzip -dc FILE | wc -l``.

``--log waagent`` (default): a waagent.log generated deterministically (fixed seed) from real-format lines of
every generation: a G2 daemon beside a G4 extension handler, heartbeats, VMSnapshot enable sequences,
tracebacks and command output blocks, wire-server errors. ``--log extension``: the VMSnapshotLinux
extension.log of a VM backed up often, one backup run after another (linux-formats.md §2.7, §2.9): routine
records, the run's anchors, status codes, freeze buffers and safefreeze output in their frames, sequence
numbers, an occasional storage error with its traceback; one run in twenty written by the extension's
Python 2 logger (local time). ``--log syslog`` / ``--log journal``: a busy VM's syslog or ``journalctl -o json``
export, system lines and, one in three, the agent's stdout copies of its records (both read line by line).
Prints MB/s, lines/s, the ratio to ``gzip -dc | wc -l`` and the peak RSS of this process. By default ordinary
records are only counted, as ``bundle-analyze`` does (``ParseContext.count``); ``--full`` builds every event, as
``bundle-analyze timeline`` does; ``--lines`` takes the per-line reference path of a parser that has a block path.

    python bench/bench_parse_waagent.py [--mb 200] [--full] [--lines] [--log extension|syslog|journal]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from parsers.base import ParseContext
from parsers.linux_agent import journal_export, syslog, vmsnapshot_log, waagent_log

VMS = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0]"
# ``{n}`` varies per line (counters, sequence numbers), as in real logs
G4_LINES = (
    "INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [etag_30576761712{n} {n} ms]",
    "INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal state agent "
    "[DEBUG HeartbeatCounter: {n};HeartbeatId: 0B1;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]",
    "INFO MonitorHandler ExtHandler Stopped tracking cgroup walinuxagent.extension",
    "INFO EnvHandler ExtHandler Checking for agent updates (family: Prod)",
    f"INFO ExtHandler {VMS} Target handler state: enabled [incarnation {{n}}]",
    f"INFO ExtHandler {VMS} Update settings file: {{n}}.settings",
    f"INFO ExtHandler {VMS} Enable extension: [main/handle.sh enable]",
    "INFO ExtHandler ExtHandler Extension status: [('Microsoft.Azure.RecoveryServices.VMSnapshotLinux', "
    "'transitioning')]",
    "WARNING ExtHandler ExtHandler Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: "
    "[HTTP Failed] [400: Bad Request]",
)
G2_LINES = (
    "INFO Daemon Azure Linux Agent Version:2.2.45",
    "INFO Daemon Python: 3.6.9",
    "WARNING Daemon No route exists to 168.63.129.16",
)
BLOCK = ("Traceback (most recent call last):\n"
         '  File "bin/WALinuxAgent-2.9.1.1-py3.8.egg/azurelinuxagent/ga/update.py", line 451, in _try_update\n'
         "azurelinuxagent.common.exception.ProtocolError: [ProtocolError] GET vmSettings -- timed out\n")
OUTPUT = "[stdout]\n2024-05-30 13:15:45 starting enable\n\n[stderr]\n"


def generate(path: Path, size: int, seed: int = 7) -> int:
    """Write about ``size`` bytes of waagent.log to ``path`` (gzip); returns the uncompressed byte count."""
    rng = random.Random(seed)
    t = datetime(2024, 5, 1)
    written = 0
    with gzip.open(path, "wt", compresslevel=1, encoding="ascii") as f:
        while written < size:
            chunk = []
            for _ in range(1000):
                t += timedelta(milliseconds=rng.randrange(1, 4000))
                r = rng.random()
                if r < 0.03:
                    line = f"{(t + timedelta(hours=2)):%Y/%m/%d %H:%M:%S.%f} {rng.choice(G2_LINES)}\n"
                else:
                    line = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z {rng.choice(G4_LINES).format(n=rng.randrange(9999))}\n"
                    if r > 0.99:
                        line += BLOCK
                    elif r > 0.98:
                        line += OUTPUT
                chunk.append(line)
            text = "".join(chunk)
            f.write(text)
            written += len(text)
    return written


_EXT_PREFIX = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]"
#: one backup run of the extension: (message, share of runs that write it); ``{n}`` varies
_EXT_RUN = (
    ("starting enable", 1), ("taskId: {guid}", 1), ("ConfigSequenceNumber from environment variable seqNo:{seq}", 1),
    ("command start time is {utc} and utcNow is {utc}", 1), ("Sleeping for milliseconds: {n}", 1),
    ("fsfreeze: True, thread count: 4, timeout: 60", 1), ("PreSnapshot: Status Code: 200", 1),
    ("snapshot info: disks {n}, mount points {n}", 1), ("T:S doing snapshot now...", 1),
    ("T:S freeze, timeout value 60", 1), ("@FREEZE", 1), ("****** 2. Binary Freeze Started", 1),
    ("@BINARY", 1), ("****** 5. Snaphotting (Host) Started", 1), ("****** 6. Snaphotting (Host) Completed", 1),
    ("****** 8. Binary Thaw Signal Received", 1), ("T:S snapshotall ends...", 1),
    ("Failed to call http with error: timed out, stack trace: Traceback (most recent call last):", 0.03),
    ("Enable Succeeded with App Consistent Snapshot", 1),
)
_EXT_ROUTINE = (
    "T:S ***** freeze, time_before_freeze={utc}", "blob uri: https://md-{n}.blob.core.windows.net/x/abcd?snapshot",
    "Http connection response is {n}", "calling http with method PUT", "the total size of disks {n}",
    "T:S thread {n} exits", "mount point /data{n} fstype ext4", "snapshot result {n} disks done",
    "status file written: {seq}.status", "HandlerEnvironment read", "T:S signal received for {n}",
)


def generate_extension(path: Path, size: int, seed: int = 7) -> int:
    """Write about ``size`` bytes of extension.log to ``path`` (gzip); returns the uncompressed byte count."""
    rng = random.Random(seed)
    t = datetime(2024, 5, 1)
    written = seq = 0
    with gzip.open(path, "wt", compresslevel=1, encoding="ascii") as f:
        while written < size:
            seq += 1
            py2 = rng.random() < 0.05
            lines: list[tuple[str, bool]] = []  # (message, written by the extension's logger)
            for msg, share in _EXT_RUN:
                if rng.random() >= share:
                    continue
                lines += [(rng.choice(_EXT_ROUTINE), True) for _ in range(rng.randrange(5, 40))]
                if msg == "@FREEZE":
                    lines += [("================== Logs during Freeze Start ==============", False),
                              *[("{buffered}  Info  T:S freeze thread {n} ", False)] * rng.randrange(2, 6),
                              ("================== Logs during Freeze End ==============", False)]
                elif msg == "@BINARY":
                    lines += [("============== Binary output traces start =================", False),
                              *[("{binary} Freezing: /data{n}", False)] * rng.randrange(2, 6),
                              ("============== Binary output traces end =================", False)]
                else:
                    lines.append((msg, True))
                    if msg.endswith("(most recent call last):"):
                        lines += [('  File "/var/lib/waagent/x/main/blobwriter.py", line 207, in call', py2),
                                  ("socket.timeout: timed out", py2)]
            out = []
            for msg, logged in lines:
                t += timedelta(milliseconds=rng.randrange(1, 900))
                text = msg.format(n=rng.randrange(99999), seq=seq, utc=f"{t:%Y-%m-%d %H:%M:%S.%f}",
                                  guid=f"{rng.getrandbits(32):08x}-1b2c-4d5e-8f90-123456789abc",
                                  buffered=f"{t:%Y/%m/%d %H:%M:%S.%f}", binary=f"{t:%Y-%m-%d %H:%M:%S}")
                if not logged:
                    out.append(text + "\n")
                elif py2:
                    out.append(f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S} {_EXT_PREFIX}{text}\n")
                else:
                    out.append(f"{t:%Y-%m-%d %H:%M:%S.%f} {_EXT_PREFIX}{text}\n")
            t += timedelta(hours=rng.randrange(1, 5))
            chunk = "".join(out)
            f.write(chunk)
            written += len(chunk)
    return written


#: (program, message) of a busy VM's syslog; the agent's own lines are its stdout copies of waagent.log records
_SYSTEM = (
    ("systemd[1]", "Started Session {n} of user azureuser."), ("systemd[1]", "Starting Daily apt upgrade..."),
    ("CRON[{n}]", "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"),
    ("sshd[{n}]", "Accepted publickey for azureuser from 10.0.0.4 port {n} ssh2"),
    ("kernel", "[{n}.123456] hv_balloon: Max. dynamic memory size: 8192 MB"),
    ("systemd-networkd[611]", "eth0: DHCPv4 address 10.0.0.5/24 via 10.0.0.1"),
    ("rsyslogd", "action 'action-8-builtin:omfile' resumed (module 'builtin:omfile')"),
)
_AGENT_COPIES = (
    "INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [incarnation_{n} 98 ms]",
    "INFO ExtHandler [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0] Target handler state: enabled",
    "INFO EnvHandler ExtHandler Configure routes",
)


def generate_system(path: Path, size: int, journal: bool, seed: int = 7) -> int:
    """Write about ``size`` bytes of syslog (``journal``: ``journalctl -o json``) to ``path`` (gzip): system lines and,
    one in three, the agent's stdout copies of its records; returns the uncompressed byte count."""
    rng = random.Random(seed)
    t = datetime(2024, 5, 1)
    written = 0
    with gzip.open(path, "wt", compresslevel=1, encoding="ascii") as f:
        while written < size:
            out = []
            for _ in range(1000):
                t += timedelta(milliseconds=rng.randrange(1, 2000))
                n = rng.randrange(99999)
                if rng.random() < 0.33:
                    program, msg = "python3[1036]", f"{t:%Y-%m-%dT%H:%M:%S.%f}Z " + rng.choice(_AGENT_COPIES)
                else:
                    program, msg = rng.choice(_SYSTEM)
                program, msg = program.format(n=n), msg.format(n=n)
                if journal:
                    name, _, pid = program.rstrip("]").partition("[")
                    entry = {"__REALTIME_TIMESTAMP": str(int(t.replace(tzinfo=UTC).timestamp() * 1e6)),
                             "SYSLOG_IDENTIFIER": name, "_PID": pid or "0", "MESSAGE": msg}
                    out.append(json.dumps(entry) + "\n")
                else:
                    out.append(f"{t:%b %d %H:%M:%S} vm {program}: {msg}\n")
            chunk = "".join(out)
            f.write(chunk)
            written += len(chunk)
    return written


#: --log: the parser module and the generator of its input
_LOGS: dict[str, tuple[Any, Callable[[Path, int], int]]] = {
    "waagent": (waagent_log, generate), "extension": (vmsnapshot_log, generate_extension),
    "syslog": (syslog, partial(generate_system, journal=False)),
    "journal": (journal_export, partial(generate_system, journal=True)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200, help="uncompressed size to generate (MB)")
    ap.add_argument("--full", action="store_true", help="an event for every record (the full timeline)")
    ap.add_argument("--log", choices=sorted(_LOGS), default="waagent", help="which log (default waagent)")
    ap.add_argument("--lines", action="store_true", help="the per-line reference path, not the block path")
    args = ap.parse_args()
    module, make = _LOGS[args.log]
    parse = getattr(module, "parse_lines", module.parse) if args.lines else module.parse
    with tempfile.TemporaryDirectory() as tmp:
        gz = Path(tmp) / f"{args.log}.log.gz"
        raw = make(gz, args.mb * 1024 * 1024)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(f"gzip -dc '{gz}' | wc -l", shell=True, check=True, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        baseline = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        lines = int(out.stdout.split()[0])
        counter = None if args.full else (lambda ts, local: None)
        ctx = ParseContext(f"var/log/{args.log}.log", module.PARSER.name, counter,
                           None if args.full else (lambda hours, first, last, local: None))
        start = time.process_time()
        events = notable = 0
        with gzip.open(gz, "rb") as stream:
            for e in parse(stream, ctx):  # type: ignore[arg-type]
                events += 1
                notable += e.notable
        took = time.process_time() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mb = raw / 1e6
    print(f"input: {mb:.0f} MB uncompressed, {lines} lines")
    print(f"gzip -dc | wc -l: {baseline:.2f} s CPU")
    path = "lines" if args.lines else "auto"
    print(f"{args.log} parse ({path}): {took:.2f} s CPU, {mb / took:.1f} MB/s, {lines / took:,.0f} lines/s, "
          f"{events + ctx.counted} records ({notable} notable, {ctx.counted} only counted), {len(ctx.facts)} facts")
    print(f"ratio to gzip -dc | wc -l: {took / baseline:.1f}x; peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
