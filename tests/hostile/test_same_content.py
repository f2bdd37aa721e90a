"""Identical content attached to several tickets is analyzed once, but each attachment's report names that
attachment (issue 15, "lower"): the report linked from a ticket's row never shows another ticket's file name,
whatever the names (archive suffixes, bytes that are not UTF-8, markup)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from analyzer.escape import escape_name
from tests.batch.bundles import bundle_files, write_tar_gz

NAMES = [b"first.tar.gz", b"second-copy.tgz", b"caf\xe9 <b>x&amp;.tgz", b"logs.tar.gz"]


def test_each_attachment_of_the_same_content_gets_a_report_with_its_own_name(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T0" / "first.tar.gz", bundle_files("vm0"))
    data = (root / "T0" / "first.tar.gz").read_bytes()
    for i, name in enumerate(NAMES[1:], 1):
        folder = os.fsencode(root / f"T{i}")
        os.makedirs(folder, exist_ok=True)
        with open(folder + b"/" + name, "wb") as f:
            f.write(data)
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(root), "--db", str(out / "c.sqlite"),
                    "--workers", "2", "--report", str(out / "fleet.html")], check=True, capture_output=True,
                   timeout=600)
    con = sqlite3.connect(out / "c.sqlite")
    assert con.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 1  # one analysis of the content
    con.close()
    fleet = (out / "fleet.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(fleet_bundles/[A-Za-z0-9._-]+\.html)"', fleet)  # named by ticket, made safe
    assert len(links) == len(NAMES)
    seen = set()
    for link in links:
        text = (out / link).read_text(encoding="utf-8")
        own = [n for n in NAMES if _shown(escape_name(os.fsdecode(n))) in text]
        assert len(own) == 1, (link, own)
        seen.add(own[0])
    assert seen == set(NAMES)


def _shown(name: str) -> str:
    return name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
