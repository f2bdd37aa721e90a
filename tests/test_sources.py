"""The source table: one row per source owns its paths, parser, what it proves and how to collect it;
detectors name evidence that rows prove; missing evidence and ``rules --sources`` read the rows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.api import parse_bundle
from analyzer.cli import app
from analyzer.detectors import BUILTIN
from analyzer.detectors.base import NotEvaluable
from analyzer.detectors.missing import collect_row, missing_evidence
from analyzer.sources import SOURCES, rows_proving
from parsers import parser_names
from tests.conftest import ROOT
from tests.detectors.helpers import analysis

EVIDENCE = {name for s in SOURCES for name in s.evidence}
# the programs a pasted Windows command may start with (an elevated PowerShell)
WINDOWS_PROGRAMS = ("Copy-Item", "Compress-Archive", "wevtutil", "reg", "sc.exe", "vssadmin")


def test_every_row_names_a_parser_that_exists() -> None:
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))
    assert {s.parser for s in SOURCES if s.parser} <= set(parser_names())


def test_every_needed_evidence_is_proved_by_a_row_and_documented() -> None:
    vocabulary = (ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8")
    for cls in BUILTIN:
        assert cls.sources, cls.id
        for name in cls.sources:
            assert name in EVIDENCE, f"{cls.id} needs {name!r}, which no row of analyzer/sources.py proves"
    for name in EVIDENCE - {s.name for s in SOURCES}:
        assert f"`{name}`" in vocabulary, f"docs/vocabulary.md does not list the evidence name {name!r}"


def test_every_detector_can_ask_for_its_evidence_on_each_os_it_runs_on() -> None:
    for cls in BUILTIN:
        for os_name in ("linux", "windows"):
            if cls.os in ("any", os_name):
                assert any(collect_row(n, os_name) for n in cls.sources), (cls.id, os_name)


@pytest.mark.parametrize("row", [s for s in SOURCES if s.linux], ids=lambda s: s.name)
def test_linux_commands_are_bash_without_prose(row) -> None:  # type: ignore[no-untyped-def]
    command = row.linux.command
    assert subprocess.run(["bash", "-n", "-c", command], check=False).returncode == 0, command
    assert not re.search(r"\b(?:then|or|attach|copy)\b|\(", command), command
    assert not re.search(r"[A-Z]:\\\\", command), command


@pytest.mark.parametrize("row", [s for s in SOURCES if s.windows], ids=lambda s: s.name)
def test_windows_commands_are_powershell_without_prose(row) -> None:  # type: ignore[no-untyped-def]
    command = row.windows.command
    assert "&&" not in command and "sudo" not in command and "/var/" not in command, command
    for part in command.split("; "):
        assert part.split()[0] in WINDOWS_PROGRAMS, part  # `sc` alone is Set-Content in PowerShell
    assert not re.search(r"\b(?:then|or|attach)\b|\(", command), command


def test_missing_evidence_reads_the_rows() -> None:
    windows = analysis(present=(), os="windows")
    found = missing_evidence(windows, [NotEvaluable("VSS_WRITER_FAILED", ["windows_events", "vss_writers"])])
    agent, events = found
    assert agent.source == "wa_app_agent_log" and agent.collect.startswith("Copy-Item -Recurse C:\\WindowsAzure\\Logs")
    assert events.source == "evtx" and events.collect.startswith("wevtutil epl System")
    assert events.why.params["detectors"] == ["VSS_WRITER_FAILED"] and events.then is not None
    unknown = analysis(present=(), os="unknown")
    both = missing_evidence(unknown, [NotEvaluable("HANDLER", ["extension_status"])])
    assert {(m.source, m.collect.split()[0]) for m in both} >= {("extension_status", "sudo"),
                                                               ("extension_status", "Copy-Item")}


def test_any_row_that_proves_windows_events_serves_every_detector_that_needs_them(tmp_path: Path) -> None:
    """So a new export format of Windows events is one row (``proves=("windows_events",)``)."""
    needing = [cls for cls in BUILTIN if "windows_events" in cls.sources]
    assert len(needing) >= 5
    assert [s.name for s in rows_proving("windows_events")] == ["evtx", "event_xml", "event_csv", "event_text"]
    shutil.copy(ROOT / "samples" / "windows-vss-writer-failed" / "Application-events.xml", tmp_path)
    parsed, _ = parse_bundle(tmp_path)
    assert parsed.present["windows_events"] == parsed.present["event_xml"] == ["Application-events.xml"]
    assert all(cls().evaluable(parsed) for cls in needing)


def test_rules_lists_the_source_table() -> None:
    out = CliRunner().invoke(app, ["rules", "--sources"])
    assert out.exit_code == 0
    for s in SOURCES:
        assert s.name in out.output
    assert "needed by: " in out.output and "sc.exe qc IaaSVmProvider" in out.output


def test_the_vocabulary_names_the_rows_that_prove_each_evidence() -> None:
    """docs/vocabulary.md's "proved by" column says what the rows say (``proves=``), row for row."""
    vocabulary = (ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8")
    for name in EVIDENCE - {s.name for s in SOURCES}:
        line = next(x for x in vocabulary.splitlines() if x.startswith(f"| `{name}` |"))
        documented = set(re.findall(r"`(\w+)`", line.split("|")[2]))
        assert documented == {s.name for s in rows_proving(name)}, (name, documented)


def test_log_rows_make_their_records_leads() -> None:
    """Whether a source is a log (its unexplained warnings and errors are leads) is part of its row."""
    from analyzer.unexplained import LOG_PARSERS

    logs = {s.name for s in SOURCES if s.log}
    assert {"waagent_log", "syslog", "journal_export", "wa_app_agent_log", "evtx", "event_text"} <= logs
    assert not logs & {"waagent_conf", "extension_status", "dhcp_lease", "registry_export", "vss_writers"}
    assert {s.parser for s in SOURCES if s.log} == LOG_PARSERS
    # a parser that reads a log for one row and a state file for another would make both leads
    assert not {s.parser for s in SOURCES if s.log} & {s.parser for s in SOURCES if not s.log and s.parser}
