"""Generated secrets in every form, encoding and position of a bundle, searched for in every output (issue 15 #1).

One bundle holds one distinct secret per (form, encoding) of :mod:`secret_forms`, each in a record that is chosen
as evidence or kept in the timeline: agent log records (some wrapped onto a continuation line), event XML data
named by key with the value repeated in the rendered message, a registry export, a status file, a config file and
a member name. Every output is searched for any 8 characters of any secret, raw or encoded: the terminal report,
JSON, HTML (en, cs), the timeline CSV/JSONL/Parquet (plain and obfuscated), and a batch run's catalog (every
table), fleet report, bundle reports and table exports. A control run without redaction shows the secrets do
reach the outputs, so the test fails if redaction stops working."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from itertools import cycle
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from secret_forms import ALPHABET, ENCODINGS, KEYED, KEYS, UNKEYED, WRAPPABLE, leaked, line

from analyzer.api import analyze, parse_bundle
from analyzer.export import export_timeline
from analyzer.model import Options
from analyzer.report import to_json
from analyzer.report.html import to_html
from analyzer.report.terminal import render_terminal
from analyzer.timeline import row
from tests.batch.bundles import bundle_files

FAIL = ("ERROR ExtHandler ExtHandler Fetch failed: [HttpError] [HTTP Failed] GET http://168.63.129.16/machine/"
        "?comp=goalstate -- IOError timed out -- 6 attempts made")
XML_NS = "http://schemas.microsoft.com/win/2004/08/events/event"


def _secret(i: int) -> str:
    """Random (seeded by ``i``), with digits and symbols, as keys and signatures are."""
    rng = random.Random(i)
    return f"Zq{i:04d}" + "".join(rng.choice(ALPHABET) for _ in range(24))


def secrets_bundle(root: Path) -> list[str]:
    """Write the bundle under ``root``; return every secret planted in it."""
    planted: list[str] = []
    keys = cycle(KEYS)
    log: list[str] = []
    n = 0
    for form in KEYED + UNKEYED:
        for encoding in sorted(ENCODINGS):
            value = _secret(len(planted))
            planted.append(value)
            text = ENCODINGS[encoding](line(form, next(keys), value))
            n += 1
            log.append(f"2024-05-01T10:{n // 60 % 60:02d}:{n % 60:02d}.000000Z {FAIL} {text}")
        if form in WRAPPABLE:  # the value wrapped in the middle, onto a continuation line at column 0
            value = _secret(len(planted))
            planted.append(value)
            text = line(form, next(keys), value).replace(value, value[:9] + "\n" + value[9:])
            n += 1
            log.append(f"2024-05-01T11:{n // 60 % 60:02d}:{n % 60:02d}.000000Z {FAIL} {text}")
    files = {k: v for k, v in bundle_files("vm-secrets").items() if k != "var/log/waagent.log"}
    files["var/log/waagent.log"] = ("\n".join(log) + "\n").encode()

    events = []
    for i, key in enumerate(KEYS):
        value = _secret(len(planted))
        planted.append(value)
        events.append(
            f"<Event xmlns='{XML_NS}'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4738"
            f"</EventID><Level>2</Level><TimeCreated SystemTime='2024-05-01T12:00:{i:02d}.0000000Z'/><EventRecordID>"
            f"{i}</EventRecordID><Channel>Security</Channel><Computer>WIN-SECRETS</Computer></System><EventData>"
            f"<Data Name='TargetUserName'>bob</Data><Data Name='{key}'>{value}</Data></EventData><RenderingInfo>"
            f"<Message>A user account was changed: bob now uses {value} for sign-in.</Message></RenderingInfo></Event>")
    files["export/Security.xml"] = "\n".join(events).encode("utf-16")
    reg = ["Windows Registry Editor Version 5.00", "", "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent]"]
    for key in KEYS[:8]:
        value = _secret(len(planted))
        planted.append(value)
        reg.append(f'"{key}"="{value}"')
    files["registry/BcdrAgent.reg"] = "\r\n".join([*reg, ""]).encode("utf-16")
    value = _secret(len(planted))
    planted.append(value)
    files["etc/waagent.conf"] = f"HttpProxy.Host=http://proxyuser:{value}@proxy.corp\nHttpProxy.Port=3128\n".encode()
    value = _secret(len(planted))
    planted.append(value)
    files[f"var/log/upload?sv=2020&sig={value}.txt"] = b"uploaded\n"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return planted


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("secrets") / "T1" / "bundle"
    return root, secrets_bundle(root)


def test_control_every_secret_reaches_the_pipeline(bundle: tuple[Path, list[str]]) -> None:
    root, planted = bundle
    analysis, _ = parse_bundle(root, Options(keep_all_events=True))
    try:
        rows = json.dumps([row(e) for e in analysis.timeline.events()], default=str)
    finally:
        analysis.timeline.close()
    raw = json.dumps([s.path for s in analysis.sources]) + json.dumps([(f.value, f.text) for f in analysis.facts],
                                                                      default=str) + rows
    found = leaked({"raw": raw}, planted)["raw"]
    assert sorted(set(planted[:-2]) - set(found)) == []  # (the last two are a config value and a name)
    unredacted = to_json(analyze(root, Options(redact=False)))
    assert len(leaked({"json": unredacted}, planted)["json"]) >= 5


def test_no_secret_in_any_report_or_timeline_export(bundle: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, planted = bundle
    outputs = {}
    for obfuscate in (False, True):
        report = analyze(root, Options(obfuscate=obfuscate))
        outputs |= {f"text-{obfuscate}": render_terminal(report, file=None) or "",
                    f"json-{obfuscate}": to_json(report), f"html-{obfuscate}": to_html(report),
                    f"html-cs-{obfuscate}": to_html(report, lang="cs"),
                    f"extras-{obfuscate}": json.dumps(report.extras, default=str)}
        for fmt in ("csv", "jsonl", "parquet"):
            out = tmp_path / f"t-{obfuscate}.{fmt}"
            export_timeline(root, out, fmt, Options(obfuscate=obfuscate))
            outputs[f"{fmt}-{obfuscate}"] = (json.dumps(pq.read_table(out).to_pylist(), ensure_ascii=False, default=str)
                                            if fmt == "parquet" else out.read_text(encoding="utf-8"))
    assert outputs["csv-False"].count("\n") > len(planted)
    assert leaked(outputs, planted) == {}


def test_no_secret_in_the_batch_catalog_fleet_report_or_exports(bundle: tuple[Path, list[str]],
                                                                tmp_path: Path) -> None:
    root, planted = bundle
    db, fleet = tmp_path / "c.sqlite", tmp_path / "fleet.html"
    proc = subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(root.parents[1]), "--db", str(db),
                           "--workers", "1", "--report", str(fleet), "--export", "csv"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(root.parents[1]), "--db", str(db),
                    "--workers", "1", "--export", "parquet"], capture_output=True, timeout=600, check=True)
    outputs = {"stderr": proc.stderr}
    con = sqlite3.connect(db)
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        outputs[f"db:{table}"] = json.dumps(con.execute(f"SELECT * FROM {table}").fetchall(), default=str)
    con.close()
    for p in tmp_path.rglob("*"):
        if p.is_file() and p.suffix in (".html", ".json", ".csv"):
            outputs[p.name] = p.read_text(encoding="utf-8")
        elif p.suffix == ".parquet":
            outputs[p.name] = json.dumps(pq.read_table(p).to_pylist(), default=str, ensure_ascii=False)
    assert any(name.endswith(".html") and name != "fleet.html" for name in outputs)  # the bundle report
    assert leaked(outputs, planted) == {}
