"""Issue 13 class A: a problem that runs up to the collection time, after the last successful backup, is live.

The failing backup left no settings or status (the agent could not fetch them or was down), so the last run
in the bundle is an old success. Whatever follows it up to the newest log record is about the failing backup,
even when a state file of another extension carries a time stamp days or years after every log (a wrong
clock, a placeholder): that stamp is not the collection time, and must not push the problem out of the window.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.model import Report, severity_rank
from analyzer.sources import LOG_PARSERS
from analyzer.timeline import STATE_LEAD, Timeline
from parsers.base import Event
from tests.detectors.test_linux_stories import EXT_LOG, HEALTHY, HEALTHY_RUN, extension_log, render
from tests.detectors.test_linux_stories import T0 as LINUX_T0
from tests.detectors.windows_bundles import WindowsBundle
from tests.detectors.windows_bundles import at as win_at

HOURS = 50  # the problem runs from 12 h after the good backup up to the collection, 50 h after it
GET_VERSIONS = ("GetVersions() failed with exception: Microsoft.ServiceModel.Web.WebProtocolException: Server Error: "
                "Service Unavailable (ServiceUnavailable) ---> System.Net.WebException: The remote server returned an "
                "error: (503) Server Unavailable.")
NO_FABRIC = "Did not discover fabric address on interface Ethernet 2"
STRAY = {"none": None, "hours": timedelta(hours=3), "days": timedelta(days=6), "years": timedelta(days=4 * 365)}


def _problems(report: Report) -> dict[str, str]:
    return {f.id: f.severity for f in report.findings if severity_rank(f.severity) >= severity_rank("warning")}


def _other_status(path: Path, name: str, stamp: datetime) -> None:
    """A status file of another extension (BGInfo, RunCommand), as the extension writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = [{"version": 1.0, "timestampUTC": f"{stamp:%Y-%m-%dT%H:%M:%SZ}",
            "status": {"name": name, "operation": "Enable", "status": "success", "code": 0,
                       "formattedMessage": {"lang": "en-US", "message": "Enable succeeded"}}}]
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("stray", STRAY)
@pytest.mark.parametrize(("fmt", "wide", "message", "finding"), [
    ("A", False, GET_VERSIONS, "WIRESERVER_UNREACHABLE"), ("B", True, GET_VERSIONS, "WIRESERVER_UNREACHABLE"),
    ("A", True, NO_FABRIC, "DHCP_FAILURE"), ("B", False, NO_FABRIC, "DHCP_FAILURE")])
def test_windows_problem_up_to_collection_after_last_success_is_live(
        tmp_path: Path, stray: str, fmt: str, wide: bool, message: str, finding: str) -> None:
    minutes = [60.0 * h for h in range(12, HOURS + 1)]
    bundle = WindowsBundle(fmt=fmt, utf16=wide, heartbeats=tuple(range(-60, 60 * HOURS, 30)),
                           agent_lines=[(m, "ERROR", message) for m in minutes]).write(tmp_path / "b")
    lead = STRAY[stray]
    if lead is not None:
        _other_status(bundle / "Packages" / "Plugins" / "Microsoft.Compute.BGInfo" / "2.1" / "Status" / "0.status",
                      "Microsoft.Compute.BGInfo", win_at(60 * HOURS) + lead)
    report = analyze(bundle)
    assert _problems(report).get(finding) == "error", _problems(report)
    assert report.verdict.root_cause == finding


@pytest.mark.parametrize("stray", STRAY)
@pytest.mark.parametrize("gen", ["G3", "G4"])
def test_linux_problem_up_to_collection_after_last_success_is_live(tmp_path: Path, stray: str, gen: str) -> None:
    failing = [("Error fetching the goal state: [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- "
                "IOError timed out -- 6 attempts made", "WARNING", "ExtHandler", 60.0 * h)
               for h in range(12, HOURS + 1)]
    files = {"var/log/waagent.log": render([*HEALTHY, *failing], gen), EXT_LOG: extension_log(HEALTHY_RUN)}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    lead = STRAY[stray]
    if lead is not None:
        ext = "Microsoft.CPlat.Core.RunCommandLinux"
        _other_status(tmp_path / "var/lib/waagent" / f"{ext}-1.0.5" / "status" / "0.status", ext,
                      (LINUX_T0 + timedelta(hours=HOURS)).replace(tzinfo=UTC) + lead)
    report = analyze(tmp_path)
    assert _problems(report).get("WIRESERVER_UNREACHABLE") in ("warning", "error"), _problems(report)
    assert report.verdict.root_cause == "WIRESERVER_UNREACHABLE"


def _event(source: str, ts: datetime) -> Event:
    return Event(ts, source, "x", 1, "info", "", "log", "a record")


@pytest.mark.parametrize("state", ["extension_state", "agent_state", "wire_xml", "registry_export"])
def test_collection_time_is_the_newest_log_record_unless_a_state_file_is_close_after_it(state: str) -> None:
    logs_end = datetime(2024, 6, 12, 8, 0, tzinfo=UTC)
    for after, expected in ((timedelta(hours=2), logs_end + timedelta(hours=2)),
                            (STATE_LEAD + timedelta(minutes=1), logs_end),
                            (timedelta(days=3000), logs_end),
                            (-timedelta(days=2), logs_end)):
        tl = Timeline(log_sources=LOG_PARSERS)
        for source, ts in (("wa_app_agent_log", logs_end - timedelta(days=1)), ("wa_app_agent_log", logs_end),
                           (state, logs_end + after)):
            tl.add(_event(source, ts))
        tl.finalize(None)
        assert tl.last == expected, after
    only_state = Timeline(log_sources=LOG_PARSERS)
    only_state.add(_event(state, logs_end))
    only_state.finalize(None)
    assert only_state.last == logs_end  # no log dates the bundle: the state file does
    every = Timeline()  # without log sources every record counts
    every.add(_event("wa_app_agent_log", logs_end))
    every.add(_event(state, logs_end + timedelta(days=30)))
    every.finalize(None)
    assert every.last == logs_end + timedelta(days=30)
