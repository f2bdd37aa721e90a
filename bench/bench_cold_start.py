"""Cold start: wall and CPU time of ``bundle-analyze`` on a ~1 MB bundle, process start included.

Run: ``python3 bench/bench_cold_start.py``. It builds a deterministic 1 MB tar.gz of Linux agent
logs (4,200 notable records: heartbeats, handler states, goal states) in a temporary folder, runs the
analysis of this checkout (``python3 -m analyzer.cli``, the console script's code without its launcher)
N times, and prints the median and best wall time against the target of issue 16 (under 0.5 s), with the
median CPU time (the figure to compare on a shared machine). ``--sample NAME`` analyzes a folder of
``samples/`` instead: the start-up cost alone.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET_S = 0.5

_LINES = (
    "{ts}Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal state agent "
    "[DEBUG HeartbeatCounter: {n};HeartbeatId: 1;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]",
    "{ts}Z INFO ExtHandler [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0] Target handler state: "
    "enabled [incarnation {n}]",
    "{ts}Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [incarnation_{n} 102 ms]",
)


def make_bundle(folder: Path, size: int = 1 << 20) -> Path:
    """A tar.gz holding about ``size`` bytes of waagent.log (deterministic)."""
    out = io.StringIO()
    n = 0
    while out.tell() < size:
        minute, second = divmod(n, 60)
        ts = f"2024-01-05T{(minute // 60) % 24:02d}:{minute % 60:02d}:{second:02d}.{n % 1000000:06d}"
        out.write(_LINES[n % len(_LINES)].format(ts=ts, n=n) + "\n")
        n += 1
    data = out.getvalue().encode()
    path = folder / "bundle.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("var/log/waagent.log")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", help="analyze samples/NAME instead of the generated 1 MB bundle")
    ap.add_argument("--runs", type=int, default=RUNS)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = ROOT / "samples" / args.sample if args.sample else make_bundle(Path(tmp))
        cmd = [sys.executable, "-m", "analyzer.cli", str(bundle), "--format", "json", "-o", str(Path(tmp) / "r.json")]
        subprocess.run(cmd, check=False, capture_output=True, env=env, cwd=ROOT)  # warm-up: page cache, .pyc files
        times, cpus = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), _children_cpu()
            subprocess.run(cmd, check=False, capture_output=True, env=env, cwd=ROOT)
            times.append(time.perf_counter() - t0)
            cpus.append(_children_cpu() - c0)
        size = sum(f.stat().st_size for f in bundle.rglob("*")) if bundle.is_dir() else bundle.stat().st_size
    med = statistics.median(times)
    print(f"bundle: {bundle.name}, {size / 1e6:.2f} MB, {args.runs} runs, load average {os.getloadavg()[0]:.1f}")
    print(f"cold start wall time: median {med:.3f} s, best {min(times):.3f} s (target < {TARGET_S:.1f} s): "
          f"{'met' if med < TARGET_S else 'NOT met'}; CPU time median {statistics.median(cpus):.3f} s")


if __name__ == "__main__":
    main()
