"""XML attacks (security.md sections 4 and 8 #26) against every parser that reads XML.

A canary file in the sandbox is the target of every entity, DTD, XInclude and stylesheet reference:
its token must never reach the JSON report, the terminal report or the timeline export, entities are
never expanded, and the good log beside the hostile files is still analyzed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox, assert_good_log_analyzed, json_report, run_cli

from analyzer.api import analyze
from analyzer.export import export_timeline
from analyzer.locale import word
from analyzer.report import to_json
from parsers import get_parser
from parsers.base import ParseContext
from parsers.windows_events.event_xml import NS
from tests.intake.intake_fixtures import tar_bytes

CANARY = "CANARY-xml-5d1e0b"
LAUGH = "lolLOLlol"


def _attacks(canary: Path, dtd: Path) -> dict[str, tuple[str, str]]:
    """attack -> (prolog before the root element, text placed inside the document)."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "xxe_file": (f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{canary}">]>', "&xxe;"),
        "external_dtd": (f'<!DOCTYPE r SYSTEM "file://{dtd}">', "&ext;"),
        "parameter_entity": (f'<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]>', "&ext;"),
        "imds_dtd": ('<!DOCTYPE r [<!ENTITY % p SYSTEM "http://169.254.169.254/metadata/instance'
                     '?api-version=2021-02-01"> %p;]>', "&ext;"),
        "billion_laughs": (f'<!DOCTYPE r [<!ENTITY l0 "{LAUGH}">{laughs}]>', "&l9;"),
        "quadratic": (f'<!DOCTYPE r [<!ENTITY a "{LAUGH * 5000}">]>', "&a;" * 20000),
        "xinclude": ("", f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{canary}" '
                         'parse="text"/>'),
        "stylesheet": (f'<?xml-stylesheet type="text/xsl" href="file://{canary}"?>', ""),
        "deep_nesting": ("", "<d>" * 100_000 + "</d>" * 100_000),
    }


_REFUSED = {"xxe_file", "external_dtd", "parameter_entity", "imds_dtd", "billion_laughs", "quadratic"}

_EVENT = ('<Event xmlns="' + NS + '"><System><Provider Name="Service Control Manager"/><EventID>7036</EventID>'
          '<Level>4</Level><TimeCreated SystemTime="2024-01-05T12:00:00.000Z"/><Channel>System</Channel>'
          '<Computer>vm1</Computer></System><EventData><Data Name="param1">{x}</Data></EventData></Event>')

# member path -> document with the prolog and payload placed, one per XML-reading parser
TARGETS: dict[str, Callable[[str, str], str]] = {
    "var/lib/waagent/ExtensionsConfig.1.xml": lambda p, x: (
        f'{p}<Extensions version="1.0.0.0"><Plugins><Plugin name="Microsoft.Azure.RecoveryServices.'
        f'VMSnapshotLinux" version="1.0.9188.0" state="enabled">{x}</Plugin></Plugins></Extensions>'),
    "var/lib/waagent/GoalState.1.xml": lambda p, x: (
        f"{p}<GoalState><Version>2015-04-05</Version><Incarnation>1</Incarnation><Container>{x}</Container>"
        "</GoalState>"),
    "var/lib/wicked/lease-eth0-dhcp-ipv4.xml": lambda p, x: (
        f"{p}<lease><family>ipv4</family><unknown-245>{x}a83f8110</unknown-245></lease>"),
    "Windows/System32/winevt/Logs/System.xml": lambda p, x: f"{p}<Events>{_EVENT.format(x=x)}</Events>",
    "events/System-events.txt": lambda p, x: (
        "Log Name: System\nSource: Service Control Manager\nDate: 2024-01-05T12:00:00.000\nEvent ID: 7036\n"
        f"Level: Information\nDescription:\nstate change\nEvent Xml:\n{p}{_EVENT.format(x=x)}\n"),
}


def _canary_files(sandbox: Sandbox) -> tuple[Path, Path]:
    canary = sandbox.write("host/secret.txt", f"{CANARY} host file\n".encode())
    dtd = sandbox.write("host/evil.dtd", f'<!ENTITY ext SYSTEM "file://{canary}">'.encode())
    return canary, dtd


def _bundle(sandbox: Sandbox, attack: str) -> Path:
    prolog, payload = _attacks(*_canary_files(sandbox))[attack]
    sandbox.write(f"bundle/{GOOD_PATH}", GOOD_LOG)
    for path, doc in TARGETS.items():
        sandbox.write(f"bundle/{path}", doc(prolog, payload).encode())
    return sandbox.inputs / "bundle"


@pytest.mark.parametrize("attack", sorted(_attacks(Path("c"), Path("d"))))
def test_xml_attack_in_every_xml_parser(sandbox: Sandbox, attack: str) -> None:
    bundle = _bundle(sandbox, attack)
    report = analyze(bundle)
    assert_good_log_analyzed(report)
    text = to_json(report)
    csv_out = sandbox.out / "timeline.csv"
    export_timeline(bundle, csv_out, "csv")
    exported = csv_out.read_text(encoding="utf-8")
    for out in (text, exported):
        assert CANARY not in out
        assert LAUGH * 3 not in out  # no entity was expanded
    rows = {s.path: s for s in report.sources}
    for path in TARGETS:
        row = rows[path]
        assert row.parser is not None, vars(row)
        if attack in _REFUSED and row.parser != "event_text":  # it drops a refused Event Xml part silently
            said = " ".join(map(word, row.problems)) + (word(row.error) if row.error else "")
            assert row.status in ("failed", "skipped") or "DOCTYPE" in said, vars(row)


def test_xxe_through_the_cli_leaks_nothing(sandbox: Sandbox) -> None:
    bundle = _bundle(sandbox, "xxe_file")
    archive = sandbox.write("xxe.tgz", tar_bytes({str(p.relative_to(bundle)): p.read_bytes()
                                                   for p in sorted(bundle.rglob("*")) if p.is_file()}))
    report = json_report(run_cli([str(archive), "--format", "json"], sandbox))
    assert_good_log_analyzed(report)
    terminal = run_cli([str(archive), "--format", "text"], sandbox)
    assert terminal.returncode in (0, 1) and "Traceback" not in terminal.stderr
    for out in (str(report), terminal.stdout, terminal.stderr):
        assert CANARY not in out


@pytest.mark.parametrize("name", ["wire_xml", "dhcp_lease"])
def test_undeclared_prefixes_in_recover_mode_never_raise(name: str) -> None:
    """Found by fuzz_parsers: recover mode keeps ``a:b`` and ``a:0`` tags that lxml's QName rejects."""
    doc = b"<Extensions><Ro:leInstanceList/><a:0/><b:/></Extensions><"
    path = "var/lib/waagent/ExtensionsConfig.1.xml" if name == "wire_xml" else "var/lib/wicked/lease-eth0.xml"
    ctx = ParseContext(path, name)
    list(get_parser(name).parse(io.BytesIO(doc), ctx))
    assert any("not well-formed" in word(p.message) for p in ctx.problems)
