"""Folder inputs read nothing outside the folder (issue 15, "folder walk"): a folder swapped for a symbolic link
while the walk runs, at any point of the walk, is refused; a hard link to a file outside the folder is refused
(hard links inside it are read); a folder that cannot be read is a row, and an unreadable ticket folder is a
failed row of the batch, never an abort."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox, assert_good_log_analyzed
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.api import analyze
from analyzer.batch.catalog import failure_text
from analyzer.intake import open_bundle
from analyzer.locale import word
from tests.batch.bundles import bundle_files, write_folder, write_tar_gz
from tests.conftest import ROOT, unavailable

CANARY = b"2024-01-05T12:00:09.000000Z ERROR ExtHandler OUTSIDE-CANARY-7f3a host file content\n"
FOLDERS = ["a", "b", "b/c", "d", "d/e/f"]


def _tree(base: Path) -> tuple[Path, Path]:
    root = base / "bundle"
    for d in FOLDERS:
        (root / d).mkdir(parents=True, exist_ok=True)
        (root / d / "waagent.log").write_bytes(GOOD_LOG)
    outside = base / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "waagent.log").write_bytes(CANARY)
    return root, outside


@settings(max_examples=40, deadline=None)
@given(swap=st.sampled_from(FOLDERS), after=st.integers(min_value=0, max_value=len(FOLDERS)))
def test_a_folder_swapped_for_a_link_during_the_walk_is_never_followed(tmp_path_factory: pytest.TempPathFactory,
                                                                        swap: str, after: int) -> None:
    root, outside = _tree(tmp_path_factory.mktemp("walk"))
    bundle = open_bundle(root)
    read = []
    for i, member in enumerate(bundle.members()):
        read.append(member.stream.read())
        if i == after and (root / swap).is_dir() and not (root / swap).is_symlink():
            shutil.rmtree(root / swap)  # the attacker swaps a folder not read yet for a link outside
            (root / swap).symlink_to(outside, target_is_directory=True)
    assert all(CANARY not in data for data in read)


def test_hard_links_are_read_only_when_every_name_is_inside(tmp_path: Path) -> None:
    root, outside = _tree(tmp_path)
    os.link(outside / "waagent.log", root / "a" / "waagent.log.1")  # one name outside: refused
    os.link(root / "d" / "waagent.log", root / "d" / "waagent.log.2")  # both names inside: read
    report = analyze(root)
    rows = {s.path: s for s in report.sources}
    assert rows["a/waagent.log.1"].status == "failed" and "hard link" in word(rows["a/waagent.log.1"].error)
    assert rows["d/waagent.log.2"].status == "parsed"
    assert "OUTSIDE-CANARY" not in repr(report)


def test_links_devices_and_mount_points_are_rows(sandbox: Sandbox) -> None:
    root = sandbox.inputs / "bundle"
    write_folder(root, {GOOD_PATH: GOOD_LOG})
    (root / "var/log/passwd.log").symlink_to("/etc/passwd")
    (root / "var/etc").symlink_to("/etc", target_is_directory=True)
    os.mkfifo(root / "var/log/syslog")
    report = analyze(root)
    assert_good_log_analyzed(report)
    rows = {s.path: s for s in report.sources}
    assert {"var/log/passwd.log", "var/etc", "var/log/syslog"} <= set(rows)
    assert all(rows[p].status == "failed" for p in ("var/log/passwd.log", "var/etc", "var/log/syslog"))


def _without_read_override() -> list[str]:
    """A command prefix under which mode-000 folders cannot be read, even by root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        unavailable("running as root without setpriv (util-linux): cannot make a folder unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def test_unreadable_folders_are_rows_and_never_stop_a_batch(tmp_path: Path) -> None:
    """A mode-000 ticket folder and a mode-000 folder inside a bundle folder."""
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1"))
    write_tar_gz(root / "T2" / "logs.tar.gz", bundle_files("vm2"))
    folder = write_folder(root / "T3" / "collected", bundle_files("vm3"))
    (folder / "private").mkdir()
    (folder / "private" / "waagent.log").write_bytes(GOOD_LOG)
    os.chmod(root / "T2", 0)
    os.chmod(folder / "private", 0)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        proc = subprocess.run([*_without_read_override(), sys.executable, "-m", "analyzer.cli", "batch", str(root),
                               "--db", str(out / "c.sqlite"), "--workers", "1"], capture_output=True, text=True,
                              timeout=300, env=env, check=False)
    finally:
        os.chmod(root / "T2", 0o755)
        os.chmod(folder / "private", 0o755)
    assert "Traceback" not in proc.stderr, proc.stderr
    con = sqlite3.connect(out / "c.sqlite")
    rows = dict(con.execute("SELECT ticket, status FROM bundles").fetchall())
    errors = dict(con.execute("SELECT ticket, error FROM bundles").fetchall())
    report = con.execute("SELECT r.report_json FROM reports r JOIN bundles b ON b.sha256 = r.sha256"
                         " WHERE b.ticket = 'T3'").fetchone()[0]
    con.close()
    assert rows == {"T1": "ok", "T2": "failed", "T3": "ok"}
    assert "cannot read" in failure_text(errors["T2"])  # stored as a message, worded when shown
    assert "cannot read this folder" in report, report
