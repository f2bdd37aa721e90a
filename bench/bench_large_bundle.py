"""Large bundle: analysis of a tar.gz holding ~1 GB of agent logs vs ``gzip -dc FILE | wc -l``.

Run: ``python3 bench/bench_large_bundle.py [--mb 1024] [--mix stress|steady|traffic] [--rotations older|same]``.
It writes a deterministic tar.gz (waagent.log with its rotations and VMSnapshot extension logs, mixed log
generations, tracebacks, heartbeats) into a temporary folder, then prints: the baseline time of
``gzip -dc FILE | wc -l``, the wall time of ``bundle-analyze FILE --format json``, the ratio, MB/s of
uncompressed log, and the analyzer's peak RSS. Targets (DESIGN.md section 5): ratio <= 3, peak RSS < 400 MB.

``--bytes-in`` times only the reading (every member inflated, untarred and cut into the block parsers' 4 MiB
blocks, nothing parsed) against the same baseline; ``--bundle FILE`` measures an existing bundle instead of
generating one.

Three line mixes: ``stress`` (default) makes five of six agent records ones that detectors look for
(heartbeats, goal-state records, handler states, WireServer warnings, tracebacks): the worst case for
classification. ``steady`` is a steady-state agent: per cycle of 19 records, one heartbeat, one goal
state, one handler state, one extension status, one warning, and routine records that are only counted.
``traffic`` is a VM whose agent mostly processes goal states and extensions (several extensions, vmSettings,
settings files, enables, status reports): per cycle of 14 records, 10 are goal-state or extension records.

The rotations (``waagent.log.1`` to ``.4``) are dated before the live log, each a month before the one it
follows, as real rotations are (``--rotations older``, the default); ``--rotations same`` gives them the live
log's own time stamps (the layout of the figures before the cap spanned the bundle).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

_G4 = (
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal "
    "state agent [DEBUG HeartbeatCounter: {n};HeartbeatId: 3d5b6c1e;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [incarnation_{n} 98 ms]",
    "{d}T{t}.{us:06d}Z INFO ExtHandler [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0] Target handler "
    "state: enabled [incarnation {n}]",
    "{d}T{t}.{us:06d}Z INFO MonitorHandler ExtHandler Stopped tracking cgroup walinuxagent.service [/sys/fs/cgroup]",
    "{d}T{t}.{us:06d}Z WARNING ExtHandler ExtHandler Fetch failed: [HttpError] [HTTP Failed] GET "
    "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made",
    "{d}T{t}.{us:06d}Z ERROR ExtHandler ExtHandler Error fetching the goal state: [ProtocolError] timed out\n"
    "Traceback (most recent call last):\n  File \"/var/lib/waagent/WALinuxAgent-2.9.1.1/bin/x.egg/update.py\", "
    "line 350, in _try_update_goal_state\nazurelinuxagent.common.exception.ProtocolError: [ProtocolError] timed out",
)
_ROUTINE = (
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Checking for agent updates (family: Prod)",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Downloading agent manifest",
    "{d}T{t}.{us:06d}Z INFO MonitorHandler ExtHandler Stopped tracking cgroup walinuxagent.service [/sys/fs/cgroup]",
    "{d}T{t}.{us:06d}Z INFO EnvHandler ExtHandler Configure routes",
    "{d}T{t}.{us:06d}Z INFO EnvHandler ExtHandler Gateway:None",
    "{d}T{t}.{us:06d}Z INFO EnvHandler ExtHandler Routes:None",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler No requested version specified, checking for all versions for "
    "agent update (family: Prod)",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Current Agent 2.9.1.1 completed all update checks, exiting "
    "current update",
    "{d}T{t}.{us:06d}Z INFO CollectLogsHandler ExtHandler Wait for next log collection",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Looking for existing remote access users.",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Downloaded certificate {{'thumbprint': 'AB12', "
    "'hasPrivateKey': False}}",
    "{d}T{t}.{us:06d}Z INFO SendTelemetryHandler ExtHandler Successfully started the SendTelemetryHandler thread",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Checking for agent updates (family: Prod)",
    "{d}T{t}.{us:06d}Z INFO EnvHandler ExtHandler Configure routes",
)
_STEADY = (
    *_ROUTINE[:7],
    _G4[0],  # heartbeat
    *_ROUTINE[7:10],
    _G4[1],  # goal state
    _G4[2],  # handler state
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Extension status: "
    "[('Microsoft.Azure.RecoveryServices.VMSnapshotLinux', 'success')]",
    *_ROUTINE[10:],
    _G4[4],  # warning
)
_EXTS = ("[Microsoft.CPlat.Core.RunCommandLinux-1.0.5]", "[Microsoft.Azure.Monitor.AzureMonitorLinuxAgent-1.28.2]",
         "[Microsoft.Azure.Extensions.CustomScript-2.1.10]")
_TRAFFIC = (
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Fetched new vmSettings [HostGAPlugin correlation ID: "
    "6a1e{n:08d} eTag: 1171{n} source: Fabric]",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState started [incarnation_{n}]",
    f"{{d}}T{{t}}.{{us:06d}}Z INFO ExtHandler {_EXTS[0]} Target handler state: enabled [incarnation {{n}}]",
    f"{{d}}T{{t}}.{{us:06d}}Z INFO ExtHandler {_EXTS[0]} Update settings file: {{n}}.settings",
    f"{{d}}T{{t}}.{{us:06d}}Z INFO ExtHandler {_EXTS[1]} Requested extension state: enabled",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Checking for agent updates (family: Prod)",
    f"{{d}}T{{t}}.{{us:06d}}Z INFO ExtHandler {_EXTS[2]} Enable extension: [bin/custom-script-shim enable]",
    f"{{d}}T{{t}}.{{us:06d}}Z INFO ExtHandler {_EXTS[2]} Command: bin/custom-script-shim enable",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Extension status: "
    "[('Microsoft.Azure.Monitor.AzureMonitorLinuxAgent', 'success'), ('Microsoft.CPlat.Core.RunCommandLinux', "
    "'success')]",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [incarnation_{n} 312 ms]",
    "{d}T{t}.{us:06d}Z INFO MonitorHandler ExtHandler Stopped tracking cgroup walinuxagent.service [/sys/fs/cgroup]",
    f"{{d}}T{{t}}.{{us:06d}}Z INFO ExtHandler {_EXTS[1]} Target handler state: enabled [incarnation {{n}}]",
    "{d}T{t}.{us:06d}Z INFO EnvHandler ExtHandler Configure routes",
    "{d}T{t}.{us:06d}Z INFO ExtHandler ExtHandler Goal state processing is done [incarnation {n}]",
)
MIXES = {"stress": _G4, "steady": _STEADY, "traffic": _TRAFFIC}
_G2 = "{ds} {t}.{us:06d} INFO Daemon Azure Linux Agent Version:2.2.45"
_EXT = "{d} {t}.{us:06d} [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]PreSnapshot: Status Code: 200"


def lines(start_day: int, count: int, kind: str, templates: tuple[str, ...] = _G4, month: str = "2024-01") -> bytes:
    out = []
    for n in range(count):
        sec = n % 86400
        d = f"{month}-{start_day + (n // 86400) % 20:02d}"
        t = f"{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        if kind == "ext":
            out.append(_EXT.format(d=d, t=t, us=n % 999999))
        elif n % 97 == 0:
            out.append(_G2.format(ds=d.replace("-", "/"), t=t, us=n % 999999))
        else:
            out.append(templates[n % len(templates)].format(d=d, t=t, us=n % 999999, n=n))
    return ("\n".join(out) + "\n").encode()


ROTATIONS = ("older", "same")


def make_bundle(folder: Path, mb: int, mix: str = "stress", rotations: str = "older",
                records: int = 200_000) -> tuple[Path, int]:
    """Write the tar.gz (each log repeats a piece of ``records`` records); return its path and the uncompressed log
    bytes."""
    target = mb * 1024 * 1024
    chunk = lines(1, records, "agent", MIXES[mix])
    ext_chunk = lines(1, records // 2, "ext")
    files: list[tuple[str, bytes, int]] = []  # name, chunk, repeats
    main_repeats = max(1, int(target * 0.5 / len(chunk)))
    files.append(("var/log/waagent.log", chunk, main_repeats))
    rot = max(1, int(target * 0.1 / len(chunk)))
    for i in range(1, 5):  # rotation i: i months before the live log (December 2023 for the first)
        older = lines(1, records, "agent", MIXES[mix], f"2023-{13 - i:02d}") if rotations == "older" else chunk
        files.append((f"var/log/waagent.log.{i}", older, rot))
    ext_rep = max(1, int(target * 0.1 / len(ext_chunk)))
    files.append(("var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log", ext_chunk, ext_rep))
    path = folder / "large.tar.gz"
    total = 0
    with gzip.open(path, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        for name, data, reps in files:
            spool = folder / "member"
            with spool.open("wb") as f:
                for _ in range(reps):
                    f.write(data)
            size = spool.stat().st_size
            total += size
            with spool.open("rb") as f:
                info = tarfile.TarInfo(name)
                info.size = size
                tar.addfile(info, f)
            spool.unlink()
    return path, total


def _timed(cmd: list[str] | str, shell: bool = False) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall and CPU seconds (children's user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, shell=shell, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, proc


def read_members(path: str) -> None:
    """What the block parsers read of every member of a bundle: bytes in, nothing parsed (``--bytes-in``)."""
    from analyzer.intake import open_bundle
    from parsers.base import ParseContext
    from parsers.linux_agent._block_scan import member_blocks
    from parsers.linux_agent.waagent_log import BLOCK, BLOCK_MIN, COLD_FACTOR
    from parsers.text import replay

    for member in open_bundle(path).members():
        head = member.stream.read(BLOCK_MIN * COLD_FACTOR)
        for _ in member_blocks(replay(head, member.stream), ParseContext(member.path), BLOCK, 1 << 16):
            pass


def main() -> None:
    if sys.argv[1:2] == ["--read-members"]:  # the child of --bytes-in
        read_members(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=1024, help="uncompressed MB of logs (default 1024)")
    ap.add_argument("--mix", choices=sorted(MIXES), default="stress", help="line mix (default stress)")
    ap.add_argument("--rotations", choices=ROTATIONS, default="older",
                    help="rotations dated before the live log (default) or with its own time stamps")
    ap.add_argument("--repeat", type=int, default=1, help="paired runs (baseline, analyzer); medians printed")
    ap.add_argument("--bytes-in", action="store_true", help="time only the reading of the members into blocks")
    ap.add_argument("--bundle", type=Path, help="an existing bundle instead of a generated one")
    args = ap.parse_args()
    exe = shutil.which("bundle-analyze")
    if exe is None:
        sys.exit("bundle-analyze is not installed: pip install .")
    runs: list[tuple[float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if args.bundle is not None:
            bundle = args.bundle
            with tarfile.open(bundle) as tf:
                raw = sum(ti.size for ti in tf)
        else:
            bundle, raw = make_bundle(Path(tmp), args.mb, args.mix, args.rotations)
        made = f"{bundle}" if args.bundle is not None else f"mix {args.mix}, rotations {args.rotations}"
        print(f"{made}: {bundle.stat().st_size / 1e6:.0f} MB tar.gz holding {raw / 1e6:.0f} MB of logs "
              f"({time.perf_counter() - t0:.1f} s)")
        cmd = [sys.executable, __file__, "--read-members", str(bundle)] if args.bytes_in else \
            [exe, str(bundle), "--format", "json", "-o", os.path.join(tmp, "r.json")]
        label = "reading" if args.bytes_in else "bundle-analyze"
        for _ in range(args.repeat):
            base, base_cpu, _ = _timed(f"gzip -dc {bundle} | wc -l", shell=True)
            wall, cpu, proc = _timed(cmd)
            if proc.returncode not in (0, 1):
                sys.exit(f"bundle-analyze failed ({proc.returncode}): {proc.stderr[-2000:]}")
            runs.append((base, base_cpu, wall, cpu))
            print(f"  run: gzip -dc | wc -l {base:.2f} s ({base_cpu:.2f} s CPU), {label} {wall:.2f} s "
                  f"({cpu:.2f} s CPU): {wall / base:.2f}x wall, {cpu / base_cpu:.2f}x CPU")
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    base, base_cpu, wall, cpu = (statistics.median(r[i] for r in runs) for i in range(4))
    ratio = statistics.median(r[2] / r[0] for r in runs)
    cpu_ratio = statistics.median(r[3] / r[1] for r in runs)
    print(f"gzip -dc | wc -l: {base:.2f} s ({base_cpu:.2f} s CPU), median of {len(runs)}")
    print(f"{label}:   {wall:.2f} s ({cpu:.2f} s CPU)  {raw / 1e6 / wall:.0f} MB/s of log")
    print(f"ratio: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (target <= 3x steady, <= 4x stress/traffic)   "
          f"peak RSS: {rss_mb:.0f} MB (target < 400 MB)")


if __name__ == "__main__":
    main()
