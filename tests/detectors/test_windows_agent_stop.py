"""The Windows agent's own stop line (windows-formats.md 1.3: ``WindowsAzureGuestAgent stopping.`` at WARN) is
written on every stop of the service (kind ``agent.service``, action ``Stopping``): after a restart it is
routine, never an unexplained error; with no record of the agent after it up to collection the agent stayed down
(AGENT_NOT_RUNNING)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.model import Report, severity_rank
from tests.detectors.windows_bundles import WindowsBundle

STOPPING = "WindowsAzureGuestAgent stopping."
STARTING = "WindowsAzureGuestAgent starting. Version 2.7.41491.1102"


def _problems(report: Report) -> dict[str, str]:
    return {f.id: f.severity for f in report.findings if severity_rank(f.severity) >= severity_rank("warning")}


@pytest.mark.parametrize(("fmt", "wide"), [("A", False), ("B", True)])
@pytest.mark.parametrize("when", [-30.0, 120.0])  # a reboot before the backup, an update after it
def test_a_stop_followed_by_a_start_is_routine(tmp_path: Path, fmt: str, wide: bool, when: float) -> None:
    beats = tuple(m for m in range(-60, 241, 30) if not when <= m < when + 3)
    bundle = WindowsBundle(fmt=fmt, utf16=wide, heartbeats=beats,
                           agent_lines=[(when, "WARN", STOPPING), (when + 2, "INFO", STARTING)]).write(tmp_path / "b")
    report = analyze(bundle)
    assert report.verdict.status == "healthy", _problems(report)
    assert report.unexplained == []


@pytest.mark.parametrize(("fmt", "wide"), [("A", False), ("B", True)])
def test_a_stop_nothing_follows_is_the_agent_down(tmp_path: Path, fmt: str, wide: bool) -> None:
    """The agent stops after the good backup and never logs again; the Windows event logs run on for two days."""
    bundle = WindowsBundle(fmt=fmt, utf16=wide, heartbeats=tuple(range(-60, 60, 30)),
                           agent_lines=[(61.0, "WARN", STOPPING)]).write(tmp_path / "b")
    (bundle / "System.xml").write_text(
        "<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Level>4</Level>"
        "<TimeCreated SystemTime='2024-06-12T02:00:00.000Z'/><Channel>System</Channel><Computer>VM1</Computer>"
        "</System><EventData><Data Name='param1'>Windows Time</Data><Data Name='param2'>running</Data></EventData>"
        "</Event></Events>")
    report = analyze(bundle)
    assert severity_rank(_problems(report).get("AGENT_NOT_RUNNING", "info")) >= severity_rank("warning")
    assert report.unexplained == []


_SCM_XML = ("<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
            "<Provider Name='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Level>4</Level>"
            "<TimeCreated SystemTime='2024-06-{day:02d}T02:00:00.000Z'/><Channel>System</Channel><Computer>VM1"
            "</Computer></System><EventData><Data Name='param1'>Windows Time</Data><Data Name='param2'>running</Data>"
            "</EventData></Event></Events>")
_HEADER = ("Level", "Date and Time", "Source", "Event ID", "Task Category")


@pytest.mark.parametrize("export", ["xml", "txt_no_message_column", "csv_empty_messages", "txt_unnamed_message"])
@pytest.mark.parametrize("days", [2, 4])
@pytest.mark.parametrize(("fmt", "wide"), [("A", False), ("B", True)])
def test_a_stop_nothing_follows_lasts_to_the_end_of_the_bundle(tmp_path: Path, fmt: str, wide: bool, days: int,
                                                               export: str) -> None:
    """The event logs run on for days after the agent's last record, past the three days the analysis window
    looks back, and whether or not their text could be read (an export without the message column, or with empty
    messages): the agent stayed down, as with no event log at all. Those records are no sign of the agent."""
    bundle = WindowsBundle(fmt=fmt, utf16=wide, heartbeats=tuple(range(-60, 60, 30)),
                           agent_lines=[(61.0, "WARN", STOPPING)]).write(tmp_path / "b")
    day = 10 + days
    if export == "xml":
        (bundle / "System.xml").write_text(_SCM_XML.format(day=day))
    else:
        sep = "\t" if export.startswith("txt") else ","
        header = sep.join(_HEADER) + (sep if export == "txt_unnamed_message" else "")
        cells = ["Information", f"6/{day}/2024 2:00:00 AM", "Service Control Manager", "7036", "None"]
        rows = [sep.join(cells + ([""] if export != "txt_no_message_column" else []))] * 3
        (bundle / ("System.txt" if sep == "\t" else "System.csv")).write_text("\r\n".join([header, *rows]) + "\r\n")
    report = analyze(bundle)
    assert _problems(report).get("AGENT_NOT_RUNNING") == "error", _problems(report)
