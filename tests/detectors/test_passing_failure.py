"""A lone network failure after the last successful backup, which the agent's normal work follows up to the
collection, passed; a failure that repeats up to the collection, that a failed run shows, after which the agent
goes quiet, or that its heartbeats keep counting, stays live (README, Diagnosis).

The stories are rendered in the generations whose agents write heartbeats, as the agent's file, a syslog copy
and a journal export; Windows in both WaAppAgent formats, UTF-8 and UTF-16.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.model import Finding, Message, Report
from tests.detectors.test_linux_stories import (
    EN,
    EXT_LOG,
    HEALTHY,
    HEALTHY_RUN,
    STALLED,
    Story,
    agent_files,
    extension_log,
    problems,
    run,
)
from tests.detectors.test_live_to_collection import GET_VERSIONS
from tests.detectors.windows_bundles import WindowsBundle
from tests.parsers.linux_render import COPIES

HOSTGA = ("HostGAPlugin: Exception Get API versions: [HttpError] [HTTP Failed] GET http://168.63.129.16:32526/versions "
          "-- IOError timed out -- 1 attempts made")
STATUS_BLOB = ("Exception uploading status blob: [HttpError] [HTTP Failed] PUT https://md-4qxw1.z12.blob.storage.azure."
               "net/$system/vm1.status -- IOError timed out -- 1 attempts made")
GOAL_STATE = ("Error fetching the goal state: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET "
              "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made")
FAILURES = {"hostga": (HOSTGA, "WIRESERVER_UNREACHABLE"), "status-blob": (STATUS_BLOB, "STORAGE_UNREACHABLE"),
            "goal-state": (GOAL_STATE, "WIRESERVER_UNREACHABLE")}
FAILED_AT = 120.0  # minutes after the start; the backup succeeded at 2 min


def beats(start: float, end: float, gs_errors: int = 0) -> Story:
    """[HEARTBEAT]s every 30 min from ``start`` to ``end``, counting ``gs_errors`` failed goal-state fetches."""
    return [(f"[HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal state agent [DEBUG HeartbeatCounter: {i};"
             f"HeartbeatId: 6F7A0C1E;DroppedPackets: 0;UpdateGSErrors: {gs_errors};AutoUpdate: 1]", "INFO",
             "ExtHandler", start + 30 * i) for i in range(int((end - start) // 30) + 1)]


def work(start: float, end: float, gen: str) -> Story:
    """The agent's normal work every 30 min as its generation logs it (§2.9): heartbeats from 2.2.47 (G4), a
    completed goal state before (G2/G3), the telemetry event of one in G1."""
    if gen == "G4":
        return beats(start, end)
    line = ("Event: name=WALinuxAgent, op=ProcessGoalState, message=Incarnation {n}, duration=2042" if gen == "G1"
            else "ProcessGoalState completed [incarnation {n}; 4496 ms]")
    return [(line.format(n=i + 3), "INFO", "ExtHandler", start + 30 * i) for i in range(int((end - start) // 30) + 1)]


def finding(report: Report, fid: str) -> Finding:
    return next(f for f in report.findings if f.id == fid)


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("gen", ["G1", "G2", "G3", "G4"])
@pytest.mark.parametrize("failure", FAILURES)
def test_a_lone_failure_the_agents_work_follows_to_the_collection_passed(tmp_path: Path, failure: str, gen: str,
                                                                         how: str) -> None:
    message, fid = FAILURES[failure]
    story = [*HEALTHY, *work(35, 600, gen), (message, "WARNING", "ExtHandler", FAILED_AT)]
    report = run(tmp_path, {**agent_files(story, gen, how), EXT_LOG: extension_log(HEALTHY_RUN)})
    assert problems(report) == set()
    assert report.verdict.status == "healthy" and report.verdict.root_cause is None
    passed = finding(report, fid)
    assert passed.severity == "info" and passed.live_records == 0
    if not (gen != "G4" and fid == "WIRESERVER_UNREACHABLE"):  # else the goal states fetched recovered it already
        assert "note.failure_passed" in [n.key for n in passed.notes]
        told = EN.explanation(passed)  # why it is context, instead of "recovered before the last backup attempt"
        assert "Passed: a lone failure record" in told and EN.say(Message("finding.recovered")) not in told


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("shape", ["repeats-to-collection", "agent-quiet-after", "failed-run-shows-it"])
def test_a_failure_that_goes_on_or_that_a_failed_run_shows_stays_live(tmp_path: Path, failure: str, shape: str,
                                                                     how: str) -> None:
    message, fid = FAILURES[failure]
    ext = extension_log(HEALTHY_RUN)
    if shape == "repeats-to-collection":
        story = [*HEALTHY, *beats(35, 600), *[(message, "WARNING", "ExtHandler", m) for m in range(120, 601, 40)]]
    elif shape == "agent-quiet-after":  # the last heartbeat before the failure; a daemon record dates the end
        story = [*HEALTHY, *beats(35, 100), (message, "WARNING", "ExtHandler", FAILED_AT),
                 ("Daemon ended with exception -- Sleep 15 seconds and restart daemon", "INFO", "Daemon", 600)]
    else:  # tonight's run stalls right after the failure: the failed backup shows it
        story = [*HEALTHY[:13], *beats(35, 600), (message, "WARNING", "ExtHandler", FAILED_AT - 0.5),
                 ("Target handler state: enabled", "INFO", HEALTHY[13][2], FAILED_AT),
                 ("Enable extension: [main/handle.sh enable]", "INFO", HEALTHY[13][2], FAILED_AT)]
        ext = extension_log([(text, m + FAILED_AT - 1) for text, m in STALLED])
    report = run(tmp_path, {**agent_files(story, "G4", how), EXT_LOG: ext})
    live = finding(report, fid)
    assert live.severity in ("warning", "error") and live.live_records > 0, (shape, live)
    assert "note.failure_passed" not in [n.key for n in live.notes]


@pytest.mark.parametrize("how", COPIES)
def test_heartbeats_that_count_failed_goal_state_fetches_are_no_recovery(tmp_path: Path, how: str) -> None:
    """2.8+ agents log the first failed fetch once, then only every 6 h: its heartbeats count the failures."""
    story = [*HEALTHY, *beats(35, 110), (GOAL_STATE, "ERROR", "ExtHandler", FAILED_AT), *beats(125, 600, gs_errors=4)]
    report = run(tmp_path, {**agent_files(story, "G4", how), EXT_LOG: extension_log(HEALTHY_RUN)})
    assert finding(report, "WIRESERVER_UNREACHABLE").severity == "error"
    assert report.verdict.root_cause == "WIRESERVER_UNREACHABLE"


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("fmt", ["A", "B"])
@pytest.mark.parametrize("times", [1, 24])
def test_windows_lone_getversions_failure_passed_repeated_one_stays(tmp_path: Path, fmt: str, wide: bool,
                                                                      times: int) -> None:
    """One GetVersions() 503 an hour after the successful backup, then heartbeats to the collection: passed; the
    same failure every 10 min up to the collection: live."""
    bundle = WindowsBundle(fmt=fmt, utf16=wide, heartbeats=tuple(range(-60, 300, 10)),
                           agent_lines=[(60.0 + 10 * k, "ERROR", GET_VERSIONS) for k in range(times)])
    report = analyze(bundle.write(tmp_path / "b"))
    wire = finding(report, "WIRESERVER_UNREACHABLE")
    if times == 1:
        assert wire.severity == "info" and report.verdict.status == "healthy"
    else:
        assert wire.severity == "error" and report.verdict.root_cause == "WIRESERVER_UNREACHABLE"
