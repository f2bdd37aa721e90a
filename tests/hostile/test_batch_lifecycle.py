"""A batch leaves nothing behind when its coordinator dies (issue 15, "batch"): killed with SIGKILL while it hashes,
while its slots start, or while children analyze, no process of the batch runs on and TMPDIR stays empty; on
Ctrl-C it stops with its own one-line message (no worker tracebacks) and leaves nothing either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.bundles import bundle_files, write_folder, write_tar_gz
from tests.conftest import ROOT

_SLOW_LINE = b"2024-01-01T00:00:00.000000Z WARNING ExtHandler ExtHandler Fetch failed: [HttpError] timed out\n"


def _tickets(root: Path) -> None:
    for i in range(4):  # slow to analyze: 40 MB of warnings each
        folder = write_folder(root / f"S{i}" / "collected", bundle_files(f"s{i}"))
        (folder / "var/log/waagent.log.1").write_bytes(_SLOW_LINE * 400_000 + str(i).encode())
    for i in range(2):  # slow to hash: a 2 GiB hole each
        folder = write_folder(root / f"H{i}" / "collected", bundle_files(f"h{i}"))
        with (folder / "var/log/pad.bin").open("wb") as f:
            f.truncate(2 << 30)
    write_tar_gz(root / "T1.tar.gz", bundle_files("t1"))


def _processes() -> dict[int, int]:
    """pid -> parent pid of every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            out[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    return out


def _descendants(pid: int) -> set[int]:
    parents = _processes()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _start(root: Path, tmp: Path, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-m", "analyzer.cli", "batch", str(root), "--db", str(db), "--workers",
                             "2", "--timeout", "300"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _until(condition: object, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the batch never got there"
        time.sleep(0.05)


def _gone(pids: set[int], seconds: float = 10.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while (alive := {p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)}) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "Z"


@pytest.fixture(scope="module")
def tickets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lifecycle") / "tickets"
    _tickets(root)
    return root


@pytest.mark.parametrize("moment", ["hashing", "children analyzing"])
def test_a_killed_coordinator_takes_every_worker_with_it(tickets: Path, tmp_path: Path, moment: str) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(tickets, tmp, tmp_path / "c.sqlite")
    seen: set[int] = set()

    def reached() -> bool:
        seen.update(_descendants(proc.pid))
        grandchildren = {p for p, pp in _processes().items() if pp in seen and pp != proc.pid}
        return (moment == "hashing" and (tmp_path / "c.sqlite").exists()) or len(grandchildren) >= 1

    try:
        _until(reached)
        seen |= _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _gone(seen) == set()
        assert list(tmp.iterdir()) == []
    finally:
        for pid in _descendants(proc.pid) | seen:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_stops_the_batch_cleanly(tickets: Path, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(tickets, tmp, tmp_path / "c.sqlite")
    try:
        _until(lambda: len(_descendants(proc.pid)) >= 3)
        seen = _descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the whole foreground group
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130
        assert "Traceback" not in stderr and "rerun to resume" in stderr
        assert _gone(seen) == set()
        assert list(tmp.iterdir()) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
