"""Peak memory and output size on logs written to make them grow: the caps of issue 15 at work.

Run: ``python3 bench/bench_hostile_memory.py [--mb 300] [--mix enable,problems,notable,distinct,ordinary]
[--runs json,html,timeline]``.
Each mix is one deterministic waagent.log of about ``--mb`` megabytes in a tar.gz, written into a temporary
folder, analyzed three ways (``--format json``, ``--format html -o``, ``timeline -f csv -o``), each in its own
process; the benchmark prints the peak RSS of each process (``ru_maxrss`` from ``wait4``) and the size of
what it wrote. Target: peak RSS < 400 MB on every mix, outputs of bounded size.

Mixes: ``enable`` (every record a VMSnapshot "Enable extension": a backup attempt and a fact each),
``problems`` (every line an unreadable timestamp: a parse problem each), ``notable`` (every record a distinct
64 KiB warning), ``distinct`` (every record a warning at a new hour: histogram buckets), ``ordinary`` (routine
records: what the timeline export spills and merges).
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_EXT = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _ts(i: int, step: timedelta = timedelta(seconds=1)) -> str:
    return (T0 + i * step).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


MIXES: dict[str, Callable[[int], str]] = {
    "enable": lambda i: f"{_ts(i)} INFO ExtHandler [{_EXT}] Enable extension: [main/handle.sh enable]\n",
    "problems": lambda i: f"2024-13-45T99:99:{i % 60:02d}.000000Z INFO ExtHandler ExtHandler line {i}\n",
    "notable": lambda i: (f"{_ts(i)} WARNING ExtHandler ExtHandler Fetch failed: [HttpError] {i} "
                          + "x" * (64 * 1024 - 120) + "\n"),
    "distinct": lambda i: (f"{_ts(i, timedelta(hours=1, seconds=7))} WARNING ExtHandler ExtHandler Fetch failed: "
                           f"[HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- {i}\n"),
    "ordinary": lambda i: f"{_ts(i)} INFO ExtHandler ExtHandler Checking for agent updates (family: Prod) {i}\n",
}


def _lines(mix: str, total: int) -> Iterator[bytes]:
    make = MIXES[mix]
    written = i = 0
    while written < total:
        line = make(i).encode()
        written += len(line)
        i += 1
        yield line


def build(folder: Path, mix: str, mb: int) -> Path:
    raw = folder / "waagent.log"
    with raw.open("wb") as f:
        buf: list[bytes] = []
        for line in _lines(mix, mb << 20):
            buf.append(line)
            if len(buf) >= 10_000:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))
    out = folder / f"{mix}.tar.gz"
    with gzip.open(out, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w|") as tf:
        tf.add(raw, arcname="var/log/waagent.log")
    raw.unlink()
    return out


def measure(args: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS in MB, exit code) of one ``bundle-analyze ARGS`` process."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "analyzer.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, usage.ru_maxrss // 1024, proc.returncode


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=int, default=300)
    p.add_argument("--mix", default=",".join(MIXES))
    p.add_argument("--runs", default="json,html,timeline", help="which of the three runs to make")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for mix in a.mix.split(","):
            bundle = build(folder, mix, a.mb)
            print(f"{mix}: {a.mb} MB of log, {bundle.stat().st_size >> 20} MB tar.gz")
            for label, args, out in (
                ("json", [str(bundle), "--format", "json", "-o", str(folder / "r.json")], folder / "r.json"),
                ("html", [str(bundle), "--format", "html", "-o", str(folder / "r.html")], folder / "r.html"),
                ("timeline", ["timeline", str(bundle), "-f", "csv", "-o", str(folder / "t.csv")],
                 folder / "t.csv"),
            ):
                if label not in a.runs.split(","):
                    continue
                seconds, rss, code = measure(args)
                size = out.stat().st_size / (1 << 20) if out.exists() else 0.0
                print(f"  {label:<13} {seconds:7.1f} s  peak RSS {rss:5d} MB  output {size:8.1f} MB  exit {code}")
                out.unlink(missing_ok=True)
            bundle.unlink()


if __name__ == "__main__":
    main()
