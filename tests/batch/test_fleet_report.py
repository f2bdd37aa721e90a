"""The fleet report and the exports, produced by the real CLI over a real batch; the report also in Chromium."""

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
import pytest
from playwright.sync_api import Browser

from analyzer.batch.fleet_report import safe_file_name
from tests.batch.bundles import bundle_files, write_tar_gz
from tests.report.test_browser import PRINT_WIDTH, browser, open_report, shoot_print  # noqa: F401 - the fixture

T0 = datetime(2024, 5, 30, 22, 0, tzinfo=UTC)
HOSTILE_TICKET = "<img src=x onerror=alert(1)>"


def _agent_fails(at: datetime) -> str:
    """A waagent.log record (linux-formats.md 2.2) of the agent failing on something no finding explains (another
    extension's failure would not answer the backup question)."""
    return (f"{at:%Y-%m-%dT%H:%M:%S.%fZ} ERROR ExtHandler ExtHandler Error processing certificates: [CryptError] "
            "Error decrypting certificate /var/lib/waagent/Certificates.p7m, exit code 52 <b>bold</b>")


def _batch(tmp_path: Path, *extra: str) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    root = tmp_path / "tickets"
    for i in range(3):  # T1 and T2: the agent fails after the backup
        at = T0 + timedelta(minutes=i)
        write_tar_gz(root / f"T{i}" / "logs.tar.gz",
                     bundle_files(f"vm{i}", "dep", at, _agent_fails(at + timedelta(minutes=20)) if i else ""))
    write_tar_gz(root / HOSTILE_TICKET / "logs.tar.gz", bundle_files("vmx", None, T0))
    write_tar_gz(root / "=cmd.tar.gz", bundle_files("vmy"))
    (root / "BAD").mkdir()
    (root / "BAD" / "x.tgz").write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    db = tmp_path / "out" / "fleet.sqlite"
    db.parent.mkdir()
    proc = subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(root), "--db", str(db),
                           "--workers", "2", "--timeout", "120", *extra], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr  # BAD/x.tgz failed: the batch says so in its exit code
    return root, db, proc


def test_fleet_report_is_self_contained_and_links_every_analyzed_bundle(tmp_path: Path) -> None:
    _, db, _ = _batch(tmp_path, "--report", str(tmp_path / "out" / "fleet.html"))
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
    links = re.findall(r'href="(fleet_bundles/[^"]+)"', html)
    analyzed = sqlite3.connect(db).execute("SELECT COUNT(*) FROM bundles WHERE status = 'ok'").fetchone()[0]
    assert len(links) == analyzed == 5
    assert all((tmp_path / "out" / link).is_file() for link in links)
    # named by ticket and attachment, made safe: a name from the filesystem never reaches a path as it is
    assert sorted(links) == sorted(["fleet_bundles/T0_logs.tar.gz.html", "fleet_bundles/T1_logs.tar.gz.html",
                                    "fleet_bundles/T2_logs.tar.gz.html", "fleet_bundles/cmd_cmd.tar.gz.html",
                                    "fleet_bundles/img_src_x_onerror_alert_1_logs.tar.gz.html"])


def test_failed_bundles_have_a_verdict_and_their_reason_not_none(tmp_path: Path) -> None:
    _, _, _ = _batch(tmp_path, "--report", str(tmp_path / "out" / "fleet.html"))
    html = (tmp_path / "out" / "fleet.html").read_text(encoding="utf-8")
    tickets = html.split('id="tickets"', 1)[1]
    bad = re.search(r"<tr><td>BAD</td>.*?</tr>", tickets, re.S)
    assert bad is not None
    assert "analysis failed" in bad.group(0) and ">none<" not in bad.group(0)
    assert tickets.count('class="v v-problems_found"') + tickets.count('class="v v-healthy"') \
        + tickets.count('class="v v-inconclusive"') == 5 and tickets.count('class="v v-failed"') == 1
    for section in ('id="over-time"', 'id="versions"', 'id="deployments"'):
        assert section in html
    deployments = html.split('id="deployments"', 1)[1].split("</section>", 1)[0]
    assert "<code>dep</code>" in deployments


def test_unexplained_errors_across_the_fleet(tmp_path: Path) -> None:
    _, db, _ = _batch(tmp_path, "--report", str(tmp_path / "out" / "fleet.html"))
    assert sqlite3.connect(db).execute("SELECT COUNT(DISTINCT sha256) FROM unexplained").fetchone()[0] == 2
    html = (tmp_path / "out" / "fleet.html").read_text(encoding="utf-8")
    section = html.split('<section id="unexplained">', 1)[1].split("</section>", 1)[0]
    assert "Unexplained errors across the fleet" in section
    rows = re.findall(r"<tr><td>.*?</tr>", section, re.S)
    assert len(rows) == 1, rows  # one template, seen in two bundles
    row = rows[0]
    assert "Error processing certificates: [CryptError] Error decrypting certificate &lt;path&gt;" in row
    assert re.search(r'<td class="n">2</td><td class="n">2</td>', row)  # 2 bundles, 2 records
    assert "T1, T2" in row and "T0" not in row and "&lt;b&gt;bold&lt;/b&gt;" in row and "<b>" not in row
    assert ">error<" in row


def test_a_fleet_without_unexplained_errors_says_so(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T0" / "logs.tar.gz", bundle_files("vm0", "dep", T0))
    out = tmp_path / "fleet.html"
    subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(root), "--db", str(tmp_path / "c.sqlite"),
                    "--report", str(out), "--lang", "cs"], capture_output=True, check=True)
    section = out.read_text(encoding="utf-8").split('<section id="unexplained">', 1)[1].split("</section>", 1)[0]
    assert "Nevysvětlené chyby v celé flotile" in section and "Žádné" in section and "<table" not in section


def test_fleet_report_in_czech_has_no_english_label(tmp_path: Path) -> None:
    _, _, _ = _batch(tmp_path, "--report", str(tmp_path / "out" / "fleet.html"), "--lang", "cs")
    html = (tmp_path / "out" / "fleet.html").read_text(encoding="utf-8")
    assert '<html lang="cs">' in html and "Přehled flotily" in html and "Selhání podle nasazení" in html
    text = re.sub(r"<[^>]+>", " ", html.split("</head>", 1)[1])
    assert "Nevysvětlené chyby v celé flotile" in text and "úroveň" in text
    for english in ("Fleet report", "Root causes", "Over time", "Tickets", "bundles", "analysis failed", "healthy",
                    "Unexplained", "records", "level", "template", "example", "first seen"):
        assert english not in text, english
    bundle_report = next((tmp_path / "out" / "fleet_bundles").glob("T0_*.html")).read_text(encoding="utf-8")
    assert '<html lang="cs">' in bundle_report  # the bundle reports are worded in the fleet report's language


@pytest.mark.parametrize("name", ["../../etc/passwd", "CON", ".hidden", "a" * 300, "tab\there", "\u202eevil", ""])
def test_safe_file_name_keeps_names_inside_the_folder(name: str) -> None:
    safe = safe_file_name(name, "logs.tar.gz")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}", safe), safe
    assert "/" not in safe and ".." not in safe.split("_")[0]


@pytest.mark.browser
def test_fleet_report_in_chromium(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    _, _, _ = _batch(tmp_path, "--report", str(tmp_path / "out" / "fleet.html"))
    html = (tmp_path / "out" / "fleet.html").read_text(encoding="utf-8")
    opened = open_report(browser, html, tmp_path / "out" / "fleet-copy.html", "fleet-1400", width=1400)
    page = opened.page
    assert opened.errors == [] and opened.blocked == [] and page.evaluate("window.__csp") == []
    heat = page.locator("#over-time table.heat")
    assert heat.is_visible() and heat.bounding_box()["width"] <= 1180  # type: ignore[index]
    assert page.locator("#versions table").count() == 2 and page.locator("#deployments").is_visible()
    pages = shoot_print(page, "fleet-print")
    assert pages <= 4, pages
    page.emulate_media(media="print")
    page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
    wide = page.evaluate("[...document.querySelectorAll('section > table, section table.heat')].filter("
                         "t => t.getBoundingClientRect().right > document.body.getBoundingClientRect().right + 1)"
                         ".map(t => t.closest('section').id)")
    assert wide == [], wide  # every table fits the printed page (the heat map may scroll on screen only)


def test_exports_match_the_catalog(tmp_path: Path) -> None:
    _, db, _ = _batch(tmp_path, "--export", "csv")
    con = sqlite3.connect(db)
    for table in ("bundles", "findings", "facts", "fleet_findings", "reports"):
        with (db.parent / f"fleet.{table}.csv").open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert len(rows) - 1 == con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0], table
    bundles = (db.parent / "fleet.bundles.csv").read_text(encoding="utf-8")
    assert "\"'=cmd\",\"'=cmd.tar.gz\"" in bundles and ',"=cmd' not in bundles  # no formula reaches a spreadsheet

    subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(tmp_path / "tickets"),
                    "--db", str(db), "--export", "parquet"], check=False, capture_output=True)
    table = pq.read_table(db.parent / "fleet.bundles.parquet")
    assert table.num_rows == con.execute("SELECT COUNT(*) FROM bundles").fetchone()[0] == 6
    assert {"ticket", "path", "sha256", "status", "root_cause", "seconds"} <= set(table.column_names)
    assert str(table.schema.field("bytes").type) == "int64"
    assert pq.read_table(db.parent / "fleet.reports.parquet").num_rows == 6  # the reports table too
