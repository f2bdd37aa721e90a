"""EVTX throughput: our ``parsers.windows_events.evtx`` against the ``evtx`` package reading the same files alone.

Run: ``python3 bench/bench_evtx.py [--mb 200]``. The four reference ``.evtx`` files (one of them with
corrupt chunks) are copied into a temporary folder until about ``--mb`` megabytes; each side then
reads every copy in a fresh child process, so that its peak RSS is its own. Both sides read with
``parsers.windows_events.evtx.THREADS`` reader threads. Our parser runs twice: as an analysis runs it (ordinary
records only counted, through ``ParseContext.count``) and as the full timeline export runs it (an
event for every record). Printed: records, wall and CPU seconds, records/s (CPU) and peak RSS of
each run, and the CPU time ratio of the analysis run (target of issue 16: within 1.5x of
the library alone); CPU time, because the machine is shared and wall times follow its load.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference-data" / "windows"
TARGET_RATIO = 1.5


def replicate(folder: Path, megabytes: int) -> list[Path]:
    sources = sorted(REFERENCE.glob("*.evtx"))
    if not sources:
        sys.exit(f"no reference .evtx files in {REFERENCE}")
    files: list[Path] = []
    total = 0
    copy = 0
    while total < megabytes * 1024 * 1024:
        for src in sources:
            dst = folder / f"{copy:04d}-{src.name}"
            shutil.copyfile(src, dst)
            files.append(dst)
            total += dst.stat().st_size
        copy += 1
    return files


def read_library(files: list[Path]) -> int:
    """The evtx package alone: every record as a JSON string, errors skipped as our parser does."""
    import evtx

    from parsers.windows_events.evtx import THREADS

    n = 0
    for path in files:
        records = evtx.PyEvtxParser(str(path), number_of_threads=THREADS).records_json()
        while True:
            try:
                next(records)
            except StopIteration:
                break
            except RuntimeError:
                continue
            n += 1
    return n


def read_ours(files: list[Path], count_ordinary: bool) -> int:
    """Our parser: events with kinds, attrs and facts, as the pipeline gets them; records that are
    only counted (``count_ordinary``, as in an analysis) count as read."""
    from parsers.base import ParseContext
    from parsers.windows_events.evtx import PARSER

    def counter(ts: object, local: bool) -> None:  # the timeline's counting is not the parser's work
        pass

    def span_counter(hours: object, first: object, last: object, local: bool) -> None:
        pass

    n = 0
    for path in files:  # the pipeline passes both counters, or neither for the full timeline
        ctx = ParseContext(path.name, "evtx", counter if count_ordinary else None,
                           span_counter if count_ordinary else None)
        with path.open("rb") as f:
            for _ in PARSER.parse(f, ctx):
                n += 1
        n += ctx.counted
    return n


SIDES = {
    "library": ("evtx package alone", read_library),
    "analysis": ("parsers.windows_events.evtx, analysis", lambda files: read_ours(files, True)),
    "timeline": ("parsers.windows_events.evtx, timeline", lambda files: read_ours(files, False)),
}


def child(side: str, folder: Path) -> None:
    files = sorted(folder.glob("*.evtx"))
    started, cpu_started = time.perf_counter(), time.process_time()
    n = SIDES[side][1](files)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{n} {seconds:.6f} {cpu:.6f} {peak_kb}")


def measure(side: str, folder: Path) -> tuple[int, float, float, int]:
    out = subprocess.run([sys.executable, __file__, "--child", side, str(folder)], check=True, capture_output=True,
                         text=True, cwd=ROOT).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), int(out[3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200, help="megabytes of .evtx to read (default 200)")
    ap.add_argument("--child", nargs=2, metavar=("SIDE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="bench-evtx-") as tmp:
        folder = Path(tmp)
        files = replicate(folder, args.mb)
        size = sum(f.stat().st_size for f in files) / 1024 / 1024
        print(f"{len(files)} files, {size:.0f} MB")
        runs = {side: measure(side, folder) for side in SIDES}
    for side, (n, seconds, cpu, peak_kb) in runs.items():
        print(f"{SIDES[side][0]:24s} {n:>9d} records  {seconds:7.2f} s wall  {cpu:7.2f} s CPU  "
              f"{n / cpu:>10,.0f} records/s  peak RSS {peak_kb / 1024:.0f} MB")
    lib, ours, full = runs["library"], runs["analysis"], runs["timeline"]
    ratio = ours[2] / lib[2]
    verdict = "within" if ratio <= TARGET_RATIO else "over"
    print(f"ratio (analysis / library CPU time): {ratio:.2f}x ({verdict} the {TARGET_RATIO:g}x target); "
          f"wall time ratio {ours[1] / lib[1]:.2f}x; full timeline {full[2] / lib[2]:.2f}x CPU")
    if not lib[0] == ours[0] == full[0]:
        print(f"record counts differ: library {lib[0]}, analysis {ours[0]}, timeline {full[0]}")


if __name__ == "__main__":
    main()
