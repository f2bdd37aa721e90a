"""Benchmark: the waagent_log parser on a large generated, gzipped waagent.log, against ``gzip -dc FILE | wc -l``.

The log is generated deterministically (fixed seed) from real-format lines of every generation: a
G2 daemon beside a G4 extension handler, heartbeats, VMSnapshot enable sequences, tracebacks and
command output blocks, wire-server errors. Prints MB/s, lines/s, the ratio to ``gzip -dc | wc -l``
and the peak RSS of this process. By default ordinary records are only counted, as ``bundle-analyze``
does (``ParseContext.count``); ``--full`` builds every event, as ``bundle-analyze timeline`` does.

    python bench/bench_parse_waagent.py [--mb 200] [--full]
"""

from __future__ import annotations

import argparse
import gzip
import random
import resource
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from parsers.base import ParseContext
from parsers.linux_agent.waagent_log import parse

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200, help="uncompressed size to generate (MB)")
    ap.add_argument("--full", action="store_true", help="an event for every record (the full timeline)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gz = Path(tmp) / "waagent.log.gz"
        raw = generate(gz, args.mb * 1024 * 1024)
        start = time.perf_counter()
        out = subprocess.run(f"gzip -dc '{gz}' | wc -l", shell=True, check=True, capture_output=True, text=True)
        baseline = time.perf_counter() - start
        lines = int(out.stdout.split()[0])
        ctx = ParseContext("var/log/waagent.log", "waagent_log", None if args.full else (lambda ts, local: None),
                           None if args.full else (lambda hours, first, last, local: None))
        start = time.perf_counter()
        events = notable = 0
        with gzip.open(gz, "rb") as stream:
            for e in parse(stream, ctx):  # type: ignore[arg-type]
                events += 1
                notable += e.notable
        took = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mb = raw / 1e6
    print(f"input: {mb:.0f} MB uncompressed, {lines} lines")
    print(f"gzip -dc | wc -l: {baseline:.2f} s")
    print(f"waagent_log parse: {took:.2f} s, {mb / took:.1f} MB/s, {lines / took:,.0f} lines/s, "
          f"{events + ctx.counted} records ({notable} notable, {ctx.counted} only counted), {len(ctx.facts)} facts")
    print(f"ratio to gzip -dc | wc -l: {took / baseline:.1f}x; peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
