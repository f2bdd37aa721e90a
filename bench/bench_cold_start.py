"""Cold start: wall time of ``bundle-analyze`` on a ~1 MB bundle, process start included.

Run: ``python3 bench/bench_cold_start.py``. It builds a deterministic 1 MB tar.gz of Linux agent
logs in a temporary folder, runs the installed console script N times and prints the median and
best wall time against the target of DESIGN.md section 5 (under 1 s).
"""

from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

RUNS = 7
TARGET_S = 1.0

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


def main() -> None:
    exe = shutil.which("bundle-analyze")
    if exe is None:
        sys.exit("bundle-analyze is not installed: pip install .")
    with tempfile.TemporaryDirectory() as tmp:
        bundle = make_bundle(Path(tmp))
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            subprocess.run([exe, str(bundle), "--format", "json", "-o", str(Path(tmp) / "r.json")],
                           check=False, capture_output=True)
            times.append(time.perf_counter() - t0)
        size = bundle.stat().st_size
    med = statistics.median(times)
    print(f"bundle: {size / 1e6:.2f} MB tar.gz, {RUNS} runs")
    print(f"cold start wall time: median {med:.3f} s, best {min(times):.3f} s (target < {TARGET_S:.1f} s): "
          f"{'met' if med < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
