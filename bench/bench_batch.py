"""Batch throughput: bundles/s with 1 and 2 workers, and the time of a rerun with nothing new.

Run: ``python3 bench/bench_batch.py [N]``. It writes N (default 500) small real-format Linux bundles
(tar.gz, deterministic content, one per ticket) into a temporary folder, runs the batch into a fresh
catalog with 1 worker and with 2 workers, then reruns the 2-worker batch, and prints the figures
against the targets of DESIGN.md section 5 (2 workers >= 1.8x of 1; a rerun >= 20x faster). An
untimed one-bundle batch first starts the preloaded forkserver, which all three runs share.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analyzer.batch.progress import BatchProgress
from analyzer.batch.runner import BatchOptions, BatchSummary, run_batch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.batch.bundles import bundle_files, write_tar_gz  # noqa: E402

SCALING_TARGET = 1.8
RERUN_TARGET = 20.0


def make_tickets(folder: Path, n: int) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(n):
        files = bundle_files(f"vm{i:04d}", f"deployment-{i // 5:03d}", start + timedelta(minutes=7 * i))
        write_tar_gz(folder / f"TICKET-{i:05d}" / "logs.tar.gz", files)


def timed(root: Path, db: Path, workers: int) -> tuple[float, BatchSummary]:
    quiet = BatchProgress(0, io.StringIO())
    t = time.perf_counter()
    summary = run_batch(root, db, BatchOptions(workers=workers, timeout_s=600), quiet)
    seconds = time.perf_counter() - t
    print(f"  {root.name}, {workers} worker(s): {seconds:.2f} s, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return seconds, summary


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tickets"
        make_tickets(root, n)
        make_tickets(Path(tmp) / "warm-up", 1)
        timed(Path(tmp) / "warm-up", Path(tmp) / "warm-up.sqlite", 1)
        one, s1 = timed(root, Path(tmp) / "w1.sqlite", 1)
        two, s2 = timed(root, Path(tmp) / "w2.sqlite", 2)
        rerun, s3 = timed(root, Path(tmp) / "w2.sqlite", 2)
    assert s1.analyzed == s2.analyzed == n and s3.analyzed == 0, (s1, s2, s3)
    print(f"{n} bundles, 1 worker : {n / one:7.1f} bundles/s ({one:.2f} s)")
    print(f"{n} bundles, 2 workers: {n / two:7.1f} bundles/s ({two:.2f} s)")
    print(f"speed-up 1 -> 2 workers: {one / two:.2f}x (target >= {SCALING_TARGET}x)")
    print(f"rerun, nothing new: {rerun:.2f} s, {two / rerun:.1f}x faster than the first run"
          f" (target >= {RERUN_TARGET}x)")


if __name__ == "__main__":
    main()
