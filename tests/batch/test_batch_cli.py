"""The batch command as a support team runs it (issue 14): a summary that names what failed and was skipped with
the counts by verdict, an exit code that says whether any bundle failed, Ctrl-C without worker tracebacks, and
a clear word when the input is one bundle instead of a folder of tickets. Through the real CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.batch.bundles import WAAGENT_LINES, bundle_files, write_tar_gz

T0 = datetime(2024, 5, 30, 22, 0, tzinfo=UTC)


def _cli(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "analyzer.cli", *map(str, args)], capture_output=True, text=True,
                          check=False, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _summary(stderr: str) -> str:
    found = re.search(r"^\d+ bundles?: ", stderr, re.M)
    assert found is not None, stderr
    return stderr[found.start():]


def test_summary_names_failures_and_skipped_entries_and_counts_verdicts(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1", "dep", T0))
    write_tar_gz(root / "T2" / "logs.tar.gz", bundle_files("vm2", None, None, "2024-05-30T22:05:00.000000Z ERROR "
                                                                "ExtHandler ExtHandler Failed to send DHCP request"))
    (root / "T3").mkdir()
    (root / "T3" / "broken.tgz").write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    (root / "T3" / "readme.txt").write_text("not a bundle")
    (root / "loose.txt").write_text("not a ticket")
    proc = _cli("batch", root, "--db", tmp_path / "c.sqlite", "--workers", "2")
    assert proc.returncode == 1  # a bundle failed
    summary = _summary(proc.stderr)
    assert "3 bundles: " in proc.stderr and ", 0 reused, 1 failed;" in summary
    assert "verdicts: " in summary and "1 failed" in summary.split("verdicts: ", 1)[1].splitlines()[0]
    failed = summary.split("failed:\n", 1)[1]
    assert failed.splitlines()[0].startswith("  T3/broken.tgz: ") and "corrupt" in failed.splitlines()[0]
    skipped = summary.split("skipped (not bundles):\n", 1)[1]
    assert "T3/readme.txt" in skipped and "loose.txt" in skipped
    again = _cli("batch", root, "--db", tmp_path / "c.sqlite")  # a rerun reuses, and still names the failure
    assert again.returncode == 1 and "T3/broken.tgz" in _summary(again.stderr) and " 3 reused" in again.stderr


def test_exit_0_when_every_bundle_was_analyzed(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1", "dep", T0))
    proc = _cli("batch", root, "--db", tmp_path / "c.sqlite")
    assert proc.returncode == 0, proc.stderr
    assert _summary(proc.stderr).startswith("1 bundle: 1 analyzed") and "failed:" not in _summary(proc.stderr)


@pytest.mark.parametrize("holds", [{}, {"notes.txt": b"see attached"}, {"T1/readme.md": b"# ticket"}])
def test_a_folder_without_bundles_says_there_is_nothing_to_analyze(tmp_path: Path, holds: dict[str, bytes]) -> None:
    root = tmp_path / "tickets"
    root.mkdir()
    for name, data in holds.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    proc = _cli("batch", root, "--db", tmp_path / "c.sqlite")
    assert proc.returncode == 0, proc.stderr
    summary = _summary(proc.stderr)
    assert summary.startswith("0 bundles: ") and "nothing to analyze: no archive" in summary
    assert ("listed below" in summary) is bool(holds) and all(Path(n).name in summary for n in holds)


def test_one_bundle_given_to_batch_says_what_to_do(tmp_path: Path) -> None:
    bundle = write_tar_gz(tmp_path / "x.tar.gz", bundle_files("vm1"))
    proc = _cli("batch", bundle, "--db", tmp_path / "c.sqlite")
    assert proc.returncode == 2 and "is one bundle, not a folder of tickets" in proc.stderr
    assert f"bundle-analyze {bundle}" in proc.stderr and not (tmp_path / "c.sqlite").exists()
    proc = _cli("batch", tmp_path / "nope", "--db", tmp_path / "c.sqlite")
    assert proc.returncode == 2 and "no such folder" in proc.stderr


@pytest.mark.parametrize("layout", ["linux", "windows", "flat"])
def test_one_unpacked_bundle_given_to_batch_says_what_to_do(tmp_path: Path, layout: str) -> None:
    files = {"linux": bundle_files("vm1", "dep", T0),
             "windows": {"WindowsAzure/Logs/WaAppAgent.log": b"[00000004] [05/30/2024 22:00:00.00] [INFO]  x\n"},
             "flat": {"waagent.log": "\n".join(WAAGENT_LINES).encode()}}[layout]
    root = tmp_path / "unpacked"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    proc = _cli("batch", root, "--db", tmp_path / "c.sqlite")
    assert proc.returncode == 2 and "is one unpacked bundle" in proc.stderr, proc.stderr
    assert f"bundle-analyze {root}" in proc.stderr and not (tmp_path / "c.sqlite").exists()
    tickets = tmp_path / "tickets"  # the same bundle inside a ticket folder is what batch takes
    (tickets / "T1").mkdir(parents=True)
    root.rename(tickets / "T1" / "unpacked")
    proc = _cli("batch", tickets, "--db", tmp_path / "c.sqlite")
    assert proc.returncode in (0, 1) and "1 bundle: 1 analyzed" in proc.stderr, proc.stderr


def test_ctrl_c_prints_one_line_and_no_worker_traceback(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    big = "\n".join(WAAGENT_LINES * 40_000)  # seconds of work per bundle, so that Ctrl-C lands mid-batch
    for i in range(8):
        write_tar_gz(root / f"T{i}" / "logs.tar.gz", bundle_files(f"vm{i}", "dep", T0, big + f"\n{i}"))
    proc = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "batch", str(root), "--db",
                             str(tmp_path / "c.sqlite"), "--workers", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while not any(line.startswith("[1/8]") for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first bundle is done: the slots are busy with the others
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground process group
    proc.wait(timeout=120)
    reader.join(timeout=10)
    err = "".join(lines)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.rstrip().endswith("every finished bundle is in the catalog, rerun to resume"), err
    rerun = _cli("batch", root, "--db", tmp_path / "c.sqlite", "--workers", "2")
    assert rerun.returncode == 0 and "8 bundles:" in rerun.stderr


@pytest.mark.parametrize("after", [0.0, 0.5, 1.5])
def test_ctrl_c_at_any_moment_of_the_start_is_no_worker_traceback(tmp_path: Path, after: float) -> None:
    """Ctrl-C while the slots start: neither the coordinator nor a slot ends in a traceback."""
    root = tmp_path / "tickets"
    for i in range(4):
        write_tar_gz(root / f"T{i}" / "logs.tar.gz", bundle_files(f"vm{i}", "dep", T0))
    proc = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "batch", str(root), "--db",
                             str(tmp_path / "c.sqlite"), "--workers", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "c.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # the coordinator runs: the slots start now
    time.sleep(after)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), err  # 0: it had finished already
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


@pytest.mark.parametrize("address", ["bogus", "tcp://bogus", "http://10.0.0.5:8786", "10.0.0.5:port"])
def test_a_scheduler_address_that_is_none_is_refused_before_any_work(tmp_path: Path, address: str) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1"))
    proc = _cli("batch", root, "--db", tmp_path / "c.sqlite", "--scheduler", address)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "tcp://host:port" in proc.stderr, proc.stderr
    assert not (tmp_path / "c.sqlite").exists()
