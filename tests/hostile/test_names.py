"""Names and text that are not clean Unicode (issue 15, "names"): bytes that are not UTF-8 in ticket folders,
attachment names and archive member names never stop a batch or an export, they are carried with a reversible
escape; control, bidi and zero-width characters never reach a machine output raw; JSON has no NaN/Infinity."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox, json_report, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.escape import escape_name, machine_text, to_json_text, unescape_name
from tests.batch.bundles import bundle_files

# names as a Latin-1, cp1250 or broken UTF-8 system writes them, plus terminal and bidi payloads
BAD_NAMES = [b"caf\xe9", b"\xe8e\x9aky", b"\xff\xfe", b"\xed\xa0\x80surrogate", b"half\xc3", b"esc\x1b]0;x\x07",
             b"rlo\xe2\x80\xaetxt.exe", b"c1\xc2\x9b2J", b"back\\slash\\x41"]
RAW_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069"
                        "\ufeff\ud800-\udfff]")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=60))
def test_name_escape_is_valid_unicode_and_reversible(raw: bytes) -> None:
    name = os.fsdecode(raw)
    escaped = escape_name(name)
    escaped.encode("utf-8")
    assert os.fsencode(unescape_name(escaped)) == raw
    assert RAW_UNSAFE.search(machine_text(escaped)) is None


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20))
def test_json_output_is_strict_utf8_without_raw_controls(value: object) -> None:
    text = to_json_text(value)
    text.encode("utf-8")
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert RAW_UNSAFE.search(text) is None


def _tar(members: dict[bytes, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(os.fsdecode(name))
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_bad_names_everywhere_in_a_batch(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    root.mkdir()
    files = bundle_files("vm1")
    expected = set()
    for i, bad in enumerate(BAD_NAMES):
        ticket = os.fsencode(root) + b"/T" + bad
        os.mkdir(ticket)
        members = {k.encode(): v for k, v in files.items()} | {b"var/log/" + bad + b".log": GOOD_LOG + bytes([i])}
        with open(ticket + b"/" + bad + b".tgz", "wb") as f:
            f.write(_tar(members))
        expected.add(os.fsdecode(b"T" + bad))
    db, report = tmp_path / "c.sqlite", tmp_path / "fleet.html"
    proc = subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(root), "--db", str(db), "--workers", "2",
                           "--report", str(report), "--export", "csv"], capture_output=True, timeout=600, check=False)
    stderr = proc.stderr.decode("utf-8")  # the progress lines are valid UTF-8 too
    assert proc.returncode == 0, stderr
    assert RAW_UNSAFE.search(stderr) is None
    con = sqlite3.connect(db)
    rows = con.execute("SELECT ticket, path, status FROM bundles").fetchall()
    reports = [r for (r,) in con.execute("SELECT report_json FROM reports")]
    con.close()
    assert {r[2] for r in rows} == {"ok"} and len(rows) == len(BAD_NAMES)
    assert {unescape_name(t) for t, _, _ in rows} == expected  # the escape gives the file system's names back
    for text in reports:
        doc = json.loads(text)
        assert RAW_UNSAFE.search(text) is None
        assert any(r["status"] == "parsed" and r["path"].startswith("var/log/") and r["path"] != "var/log/waagent.log"
                   for r in doc["sources"])
    html = report.read_text(encoding="utf-8")
    assert RAW_UNSAFE.search(html) is None
    with (tmp_path / "c.bundles.csv").open(encoding="utf-8", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert RAW_UNSAFE.search("".join(cells)) is None
    assert {unescape_name(c) for c in cells} >= expected


CONTROLS = ["\x1b]52;c;cGF5bG9hZA==\x07", "\x1b[2J", "\x9b31m", "\x9d0;title\x9c", "\u202egnp.exe", "\u2066x\u2069",
            "zero\u200bwidth", "\ufeffbom", "nul\x00byte", "bell\x07"]


def test_controls_in_lines_and_names_reach_no_machine_output_raw(sandbox: Sandbox) -> None:
    lines = "".join(f"2024-01-05T12:00:{i:02d}.000000Z ERROR ExtHandler failed {c} end\n"
                    for i, c in enumerate(CONTROLS))
    dmesg = "".join(f"[{'9' * n}.{'9' * n}] hung_task: blocked for more than 120 seconds\n" for n in (5, 310, 400))
    members = {GOOD_PATH: GOOD_LOG + lines.encode(), "var/log/dmesg": dmesg.encode()}
    members |= {f"var/log/{c.replace('/', '_')}/waagent.log": GOOD_LOG for c in CONTROLS}
    bundle = sandbox.write("ctl.tgz", _tar({k.encode("utf-8", "surrogateescape"): v for k, v in members.items()}))
    proc = run_cli([str(bundle), "--format", "json"], sandbox)
    report = json_report(proc)
    assert RAW_UNSAFE.search(proc.stdout) is None
    names = {unescape_name(r["path"]) for r in report["sources"]}
    assert {c for c in CONTROLS if any(c in n for n in names)} == set(CONTROLS) - {"nul\x00byte"}  # reversible
    for fmt in ("csv", "jsonl", "parquet"):
        out = sandbox.out / f"t.{fmt}"
        proc = run_cli(["timeline", str(bundle), "-o", str(out), "--format", fmt], sandbox)
        assert proc.returncode == 0, proc.stderr
        if fmt == "parquet":
            text = json.dumps(pq.read_table(out).to_pylist(), ensure_ascii=False, default=str)
        else:
            text = out.read_text(encoding="utf-8")
        assert RAW_UNSAFE.search(text) is None, fmt
        assert "Infinity" not in text and "NaN" not in text
        if fmt == "jsonl":
            for line in text.splitlines():
                json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
