"""The fleet report and the exports, produced by the real CLI over a real batch."""

from __future__ import annotations

import base64
import csv
import hashlib
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from tests.batch.bundles import bundle_files, write_tar_gz

T0 = datetime(2024, 5, 30, 22, 0, tzinfo=UTC)


def _batch(tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    root = tmp_path / "tickets"
    for i in range(3):
        write_tar_gz(root / f"T{i}" / "logs.tar.gz", bundle_files(f"vm{i}", "dep", T0 + timedelta(minutes=i)))
    write_tar_gz(root / "<img src=x onerror=alert(1)>" / "logs.tar.gz", bundle_files("vmx", None, T0))
    write_tar_gz(root / "=cmd.tar.gz", bundle_files("vmy"))
    (root / "BAD").mkdir()
    (root / "BAD" / "x.tgz").write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    db = tmp_path / "out" / "fleet.sqlite"
    db.parent.mkdir()
    subprocess.run([sys.executable, "-c", "from analyzer.cli import run; run()", "batch", str(root), "--db", str(db),
                    "--workers", "2", "--timeout", "120", *extra], check=True, capture_output=True)
    return root, db


def test_fleet_report_is_self_contained_and_links_every_analyzed_bundle(tmp_path: Path) -> None:
    _, db = _batch(tmp_path, "--report", str(tmp_path / "out" / "fleet.html"))
    html = (tmp_path / "out" / "fleet.html").read_text(encoding="utf-8")
    head = html.split("<head>", 1)[1].lstrip()
    assert head.startswith('<meta http-equiv="Content-Security-Policy"')
    csp = re.search(r'content="([^"]+)"', head)
    assert csp is not None and "default-src &#39;none&#39;" in csp.group(1)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"sha256-{digest}" in csp.group(1)
    assert "<script" not in html and "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert re.findall(r'(?:src|href)="(?!fleet_bundles/)', html) == []
    assert "CONCURRENT_BACKUPS" in html and "<svg" in html and "<rect" in html
    assert "BAD" in html and "x.tgz" in html  # the failed bundle with its reason
    links = re.findall(r'href="(fleet_bundles/\d+\.(?:html|json))"', html)
    analyzed = sqlite3.connect(db).execute("SELECT COUNT(*) FROM bundles WHERE status = 'ok'").fetchone()[0]
    assert len(links) == analyzed == 5
    assert all((tmp_path / "out" / link).is_file() for link in links)


def test_exports_match_the_catalog(tmp_path: Path) -> None:
    _, db = _batch(tmp_path, "--export", "csv")
    con = sqlite3.connect(db)
    for table in ("bundles", "findings", "facts", "fleet_findings"):
        with (db.parent / f"fleet.{table}.csv").open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert len(rows) - 1 == con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0], table
    bundles = (db.parent / "fleet.bundles.csv").read_text(encoding="utf-8")
    assert "\"'=cmd\",\"'=cmd.tar.gz\"" in bundles and ',"=cmd' not in bundles  # no formula reaches a spreadsheet

    subprocess.run([sys.executable, "-c", "from analyzer.cli import run; run()", "batch", str(tmp_path / "tickets"),
                    "--db", str(db), "--export", "parquet"], check=True, capture_output=True)
    table = pq.read_table(db.parent / "fleet.bundles.parquet")
    assert table.num_rows == con.execute("SELECT COUNT(*) FROM bundles").fetchone()[0] == 6
    assert {"ticket", "path", "sha256", "status", "root_cause", "seconds"} <= set(table.column_names)
    assert str(table.schema.field("bytes").type) == "int64"
