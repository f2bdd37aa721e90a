"""``bundle-analyze batch`` end to end: real bundles, real worker processes, a real Dask cluster, real SQLite."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.batch.catalog import Catalog, failure_text
from analyzer.batch.discovery import discover, ticket_of
from analyzer.batch.runner import BatchError, BatchOptions, BatchSummary, run_batch
from analyzer.intake import Limits
from analyzer.model import RenderOptions
from analyzer.report import render, to_dict
from analyzer.report.stored import load_report
from analyzer.report.wording import Wording
from analyzer.version import __version__
from tests.batch.bundles import bundle_files, write_folder, write_tar_gz, write_zip
from tests.unexplained_bundles import AGENT_FAILURE, linux_bundle

T0 = datetime(2024, 5, 30, 22, 0, tzinfo=UTC)
CONTRACT_COLUMNS = {
    "bundles": {"ticket", "path", "sha256", "bytes", "layout", "os", "status", "error", "analyzer_version", "seconds",
                "root_cause"},
    "findings": {"sha256", "id", "severity", "root_cause", "first_seen", "last_seen", "fingerprint"},
    "fleet_findings": {"id", "tickets", "detail"},
}


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _tickets(root: Path) -> int:
    """Seven attachments of every shape; T5 repeats T1's content. Returns the number of distinct contents."""
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1", "dep-a", T0))
    write_zip(root / "T2" / "collect.zip", bundle_files("vm2", "dep-a", T0 + timedelta(minutes=10)))
    write_folder(root / "T3" / "var-log-copy", bundle_files("vm3", "dep-b", T0 + timedelta(days=1)))
    write_tar_gz(root / "T4.tar.gz", bundle_files("vm4"))
    (root / "T5").mkdir()
    (root / "T5" / "same-as-t1.tgz").write_bytes((root / "T1" / "logs.tar.gz").read_bytes())
    write_zip(root / "T6" / "renamed.bin", bundle_files("vm6", "dep-b", T0))  # an archive by magic, not by name
    write_tar_gz(root / "T6" / "second.tar.gz", bundle_files("vm6b"))
    (root / "T6" / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n not a bundle")
    (root / "README.txt").write_text("not a ticket")
    return 6


def _check_catalog(db: Path, summary: BatchSummary, distinct: int) -> None:
    assert summary.attachments == 7
    assert summary.analyzed == distinct and summary.reused == 1 and summary.failed == 0
    assert {s.split(":")[0] for s in summary.skipped} == {"README.txt", "T6/screenshot.png"}
    rows = _rows(db, "SELECT ticket, path, sha256, status, analyzer_version, layout, os FROM bundles")
    assert len(rows) == 7 and len({(r[0], r[1]) for r in rows}) == 7
    assert {r[3] for r in rows} == {"ok"} and {r[4] for r in rows} == {__version__}
    by_path = {r[1]: r for r in rows}
    assert by_path["T5/same-as-t1.tgz"][2] == by_path["T1/logs.tar.gz"][2]
    assert by_path["T4.tar.gz"][0] == "T4"
    assert _rows(db, "SELECT COUNT(*) FROM reports")[0][0] == distinct
    for (text,) in _rows(db, "SELECT report_json FROM reports"):
        report = json.loads(str(text))
        assert report["schema_version"] == "1" and report["tool"]["name"] == "bundle-analyzer"
        stored = load_report(report)  # renders again in any language, as `bundle-analyze render` does
        assert to_dict(stored, "en") == report
        if stored.verdict.root_cause:
            assert Wording("cs").title(stored.verdict.root_cause) in render(stored, RenderOptions("text", "cs"))
    deployments = _rows(db, "SELECT b.ticket, f.value FROM bundles b JOIN facts f ON f.sha256 = b.sha256"
                            " WHERE f.name = 'deployment.name'")
    assert ("T2", "dep-a") in deployments and ("T3", "dep-b") in deployments
    attempts = _rows(db, "SELECT f.value FROM bundles b JOIN facts f ON f.sha256 = b.sha256"
                         " WHERE b.ticket = 'T2' AND f.name = 'backup.attempt'")
    assert attempts == [("2024-05-30T22:10:00Z",)]


def test_local_pool_batch_then_rerun_analyzes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    distinct = _tickets(root)
    db = tmp_path / "fleet.sqlite"
    _check_catalog(db, run_batch(root, db, BatchOptions(workers=2, timeout_s=120)), distinct)
    counts = [_rows(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("bundles", "findings", "facts", "reports")]

    again = run_batch(root, db, BatchOptions(workers=2, timeout_s=120))
    assert (again.analyzed, again.reused, again.failed) == (0, 7, 0)
    assert [_rows(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("bundles", "findings", "facts", "reports")] == counts


def test_dask_local_cluster_gives_the_same_catalog(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    root = tmp_path / "tickets"
    distinct = _tickets(root)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        db = tmp_path / "dask.sqlite"
        summary = run_batch(root, db, BatchOptions(scheduler=cluster.scheduler_address, timeout_s=120))
    _check_catalog(db, summary, distinct)
    local = tmp_path / "local.sqlite"
    run_batch(root, local, BatchOptions(workers=1, timeout_s=120))
    query = "SELECT ticket, path, sha256, status, root_cause FROM bundles ORDER BY ticket, path"
    assert _rows(db, query) == _rows(local, query)


def test_contract_tables_and_columns(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1"))
    db = tmp_path / "c.sqlite"
    run_batch(root, db, BatchOptions(workers=1, timeout_s=120))
    for table, columns in CONTRACT_COLUMNS.items():
        present = {r[1] for r in _rows(db, f"PRAGMA table_info({table})")}
        assert columns <= present, table
    assert _rows(db, "PRAGMA journal_mode")[0][0] == "wal"
    with pytest.raises(sqlite3.IntegrityError):
        con = sqlite3.connect(db)
        con.execute("INSERT INTO bundles (ticket, path, status, analyzer_version, recorded_at)"
                    " VALUES ('T1', 'T1/logs.tar.gz', 'ok', 'x', 'now')")


def _sparse_tar(path: Path, members: list[tuple[str, int]]) -> Path:
    """A plain tar whose members are holes of zeros: big to read, nothing on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for name, size in members:
            info = tarfile.TarInfo(name)
            info.size = size
            info.mtime = 1_700_000_000
            f.write(info.tobuf(format=tarfile.GNU_FORMAT))
            f.seek(f.tell() + (size + 511) // 512 * 512)
        f.seek(f.tell() + 1023)
        f.write(b"\0")
    return path


def test_poisoned_bundles_fail_alone(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    for i in range(3):
        write_tar_gz(root / f"OK{i}" / "logs.tar.gz", bundle_files(f"vm{i}", "dep", T0 + timedelta(hours=i)))
    # slow: two 1 GiB logs of zeros take several seconds to read, far over a 2 s limit
    _sparse_tar(root / "SLOW" / "logs.tar", [("var/log/waagent.log", 1 << 30), ("var/log/syslog", 1 << 30)])
    # huge: bigger on disk than the bundle budget, refused before it is even hashed
    huge = root / "HUGE" / "logs.tar.gz"
    huge.parent.mkdir(parents=True)
    with huge.open("wb") as f:
        f.write(b"\x1f\x8b\x08\x00")
        f.truncate(Limits().max_total_bytes + 1)
    # corrupt: gzip magic, then garbage
    (root / "BAD").mkdir()
    (root / "BAD" / "logs.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8)

    summary = run_batch(root, tmp_path / "p.sqlite", BatchOptions(workers=2, timeout_s=2))
    rows = {r[0]: (r[1], failure_text(r[2]), r[3])
            for r in _rows(tmp_path / "p.sqlite", "SELECT ticket, status, error, sha256 FROM bundles")}
    assert summary.failed == 3 and len(rows) == 6
    assert {t for t, r in rows.items() if r[0] == "ok"} == {"OK0", "OK1", "OK2"}
    assert "timed out after 2 s" in str(rows["SLOW"][1])
    assert "size limit" in str(rows["HUGE"][1]) and rows["HUGE"][2] is None
    assert rows["BAD"][0] == "failed" and rows["BAD"][1]


def test_memory_limit_is_applied_in_the_worker(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1"))
    summary = run_batch(root, tmp_path / "m.sqlite", BatchOptions(workers=1, timeout_s=60, memory_mb=16))
    ((status, error),) = _rows(tmp_path / "m.sqlite", "SELECT status, error FROM bundles")
    assert summary.failed == 1 and status == "failed"
    assert "memory limit" in failure_text(error) and "16 MB" in failure_text(error)


def test_rerun_keeps_failures_unless_asked_to_retry_them(tmp_path: Path) -> None:
    root, db = tmp_path / "tickets", tmp_path / "r.sqlite"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1"))
    assert run_batch(root, db, BatchOptions(workers=1, timeout_s=60, memory_mb=16)).failed == 1
    again = run_batch(root, db, BatchOptions(workers=1, timeout_s=60))
    assert again.analyzed == 0 and _rows(db, "SELECT status FROM bundles") == [("failed",)]
    retried = run_batch(root, db, BatchOptions(workers=1, timeout_s=60, retry_failed=True))
    assert retried.analyzed == 1 and retried.failed == 0
    assert _rows(db, "SELECT status, error FROM bundles") == [("ok", None)]


def test_a_slot_whose_interpreter_cannot_start_stops_the_batch_with_a_reason(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A slot that exits before it is ready (here: its interpreter finds no standard library) is a clear batch
    error naming its exit status, not an EOFError traceback from the coordinator."""
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1"))
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "no-python-here"))
    with pytest.raises(BatchError, match=r"did not start .*exit status [1-9]"):
        run_batch(root, tmp_path / "r.sqlite", BatchOptions(workers=1, timeout_s=60))


def test_concurrent_backups_fleet_finding(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    for i in range(3):  # same cloud service, backups 12 minutes apart: one window
        write_tar_gz(root / f"A{i}" / "logs.tar.gz", bundle_files(f"a{i}", "dep-busy", T0 + timedelta(minutes=12 * i)))
    for i in range(3):  # same cloud service, backups hours apart
        write_tar_gz(root / f"B{i}" / "logs.tar.gz", bundle_files(f"b{i}", "dep-calm", T0 + timedelta(hours=2 * i)))
    for i in range(2):  # close together but only two VMs
        write_tar_gz(root / f"C{i}" / "logs.tar.gz", bundle_files(f"c{i}", "dep-small", T0))
    db = tmp_path / "f.sqlite"
    summary = run_batch(root, db, BatchOptions(workers=2, timeout_s=120))
    assert summary.fleet_findings == 1
    ((fid, tickets, detail),) = _rows(db, "SELECT id, tickets, detail FROM fleet_findings")
    assert fid == "CONCURRENT_BACKUPS" and json.loads(str(tickets)) == ["A0", "A1", "A2"]
    window = json.loads(str(detail))["windows"][0]
    assert (window["start"], window["end"]) == ("2024-05-30T22:00:00Z", "2024-05-30T22:24:00Z")
    assert len(window["vms"]) == 3


def test_discovery_skips_links_and_fifos_without_opening_them(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T9.tar.gz", bundle_files("vm9"))
    (root / "T8").mkdir()
    os.mkfifo(root / "T8" / "pipe.tar.gz")  # opening it for reading would block forever
    os.symlink("/etc/passwd", root / "T8" / "link.tar.gz")
    os.mkfifo(root / "loose.tgz")
    jobs, skipped = discover(root)
    assert [(j.ticket, j.path) for j in jobs] == [("T9", "T9.tar.gz")]
    assert len(skipped) == 3
    assert ticket_of("CASE-42.tar.gz") == "CASE-42" and ticket_of("x.zip") == "x"


def _cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-c", "from analyzer.cli import run; run()", "batch", *map(str, args)]


def test_kill_minus_9_mid_batch_then_resume(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    total = 24
    for i in range(total):  # each folder holds a 256 MiB hole: hashing it takes a noticeable while
        folder = write_folder(root / f"K{i:02d}" / "collected", bundle_files(f"k{i}", "dep-k", T0))
        with (folder / "var" / "log" / "padding.bin").open("wb") as f:
            f.truncate(256 << 20)
    db = tmp_path / "k.sqlite"
    proc = subprocess.Popen(_cli(root, "--db", db, "--workers", "1", "--timeout", "120"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done = 0
    try:
        while proc.poll() is None and done < 3:
            time.sleep(0.05)
            if db.exists():
                try:
                    done = _rows(db, "SELECT COUNT(*) FROM bundles")[0][0]  # type: ignore[assignment]
                except sqlite3.OperationalError:  # the schema is being created
                    done = 0
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the batch ended before it could be killed"
    before = _rows(db, "SELECT COUNT(*) FROM bundles")[0][0]
    assert 3 <= before < total  # type: ignore[operator]

    rerun = subprocess.run(_cli(root, "--db", db, "--workers", "2", "--timeout", "120"), capture_output=True,
                           text=True, check=True)
    summary = re.search(r"^(\d+) bundles: (\d+) analyzed, (\d+) reused, (\d+) failed", rerun.stderr, re.M)
    assert summary is not None, rerun.stderr
    attachments, analyzed, reused, failed = map(int, summary.groups())
    assert (attachments, analyzed + reused, failed) == (total, total, 0)
    assert reused >= before  # type: ignore[operator]
    rows = _rows(db, "SELECT ticket, path, status FROM bundles")
    assert len(rows) == total and len({(r[0], r[1]) for r in rows}) == total and {r[2] for r in rows} == {"ok"}
    assert _rows(db, "SELECT COUNT(*) FROM reports")[0][0] == total
    assert _rows(db, "SELECT sha256, name, value FROM facts GROUP BY 1, 2, 3 HAVING COUNT(*) > 1") == []
    assert _rows(db, "SELECT sha256, id, fingerprint FROM findings GROUP BY 1, 2, 3 HAVING COUNT(*) > 1") == []


def test_unexplained_errors_table(tmp_path: Path) -> None:
    """One row per unexplained error template of each analysis, in the report's order, redacted, exported."""
    root = tmp_path / "tickets"
    secret = "CnryU2catalogSig"
    linux_bundle(root / "T1" / "failing", "G4", agent_failure=True,
                 secret=f" https://acct.blob.core.windows.net/p/x.zip?sv=2020-08-04&sig={secret}")
    linux_bundle(root / "T2" / "healthy", "G4")
    db = tmp_path / "c.sqlite"
    run_batch(root, db, BatchOptions(workers=1, timeout_s=120))
    rows = _rows(db, "SELECT b.ticket, u.rank, u.template, u.level, u.count, u.first_seen, u.minutes_to_backup,"
                     " u.example_path, u.example FROM unexplained u JOIN bundles b ON b.sha256 = u.sha256")
    ((ticket, rank, template, level, n, first, minutes, path, example),) = rows
    assert (ticket, rank, level, n, first, minutes, path) == ("T1", 1, "error", 1, "2024-06-10T02:20:00.000000Z",
                                                             19, "var/log/waagent.log")
    assert template == AGENT_FAILURE.replace("52", "<num>") + " <url>"
    assert "index 52 out of range" in str(example) and secret not in str(example)
    assert _rows(db, "SELECT verdict FROM reports ORDER BY verdict") == [("healthy",), ("inconclusive",)]
    catalog = Catalog(db)
    try:
        written = catalog.export("csv")
    finally:
        catalog.close()
    csv_file = next(p for p in written if p.name.endswith(".unexplained.csv"))
    text = csv_file.read_text(encoding="utf-8")
    assert "index 52 out of range" in text and secret not in text
