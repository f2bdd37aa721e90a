"""A backup run whose end no source of the bundle could show has an unknown outcome: missing evidence, never a
run that "never reported a final status" (SNAPSHOT_TIMEOUT). Agents before 2.8 log only that they invoked the
extension (linux-formats §2.9 step 5); the extension's log, its status files, or a 2.8+ agent's summary of
extension states would show how the run ended, and with one of them a run without a final status stays a
SNAPSHOT_TIMEOUT.

Rendered in every generation of the agent's log, as its file, a syslog copy and a journal export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.detectors.test_linux_stories import (
    EXT_LOG,
    STALLED,
    STATUS_12,
    TRANSITIONING,
    VMS,
    Story,
    _status,
    agent_files,
    extension_log,
    problems,
    run,
)
from tests.parsers.linux_render import COPIES, GENERATIONS


def old_agent(version: str = "2.2.53.1", nights: int = 3) -> Story:
    """A supported agent before 2.8: its banner, heartbeats every 30 min, and one plain VMSnapshot invocation a night
    (settings updated, ``Enable extension [main/handle.sh enable]``, the command's empty output)."""
    story: Story = [("Azure Linux Agent Version:2.2.53.1", "INFO", "Daemon", 0),
                    (f"Agent WALinuxAgent-{version} is running as the goal state agent", "INFO", "ExtHandler", 0.5)]
    for night in range(nights):
        at = 60 * 24 * night + 60
        story += [("Target handler state: enabled", "INFO", VMS, at),
                  (f"Update settings file: {12 + night}.settings", "INFO", VMS, at),
                  ("Enable extension [main/handle.sh enable]", "INFO", VMS, at + 0.1),
                  ("Command: main/handle.sh enable\n[stdout]\n\n[stderr]\n", "INFO", VMS, at + 0.9)]
    end = 60 * 24 * (nights - 1) + 60 * 12
    story += [(f"[HEARTBEAT] Agent WALinuxAgent-{version} is running as the goal state agent [DEBUG HeartbeatCounter: "
               f"{i};HeartbeatId: 6F7A0C1E;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]", "INFO", "ExtHandler",
               1 + 30 * i) for i in range(end // 30)]
    return sorted(story, key=lambda r: r[3])


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("gen", GENERATIONS)
def test_an_invocation_nothing_could_show_the_end_of_is_an_unknown_outcome(tmp_path: Path, gen: str,
                                                                           how: str) -> None:
    report = run(tmp_path, agent_files(old_agent(), gen, how), crlf=gen == "G2")
    assert "SNAPSHOT_TIMEOUT" not in problems(report)
    assert report.verdict.status in ("healthy", "inconclusive") and report.verdict.root_cause is None
    asked = {m.source for m in report.missing_evidence if m.why.key == "missing.run_outcome"}
    assert asked == {"vmsnapshot_log", "extension_status"}
    runs = report.extras["backup_runs"]
    assert runs and {r["outcome"] for r in runs} == {"unknown"}


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("source", ["extension-log", "status-file", "agent-2.9", "agent-summary"])
def test_a_source_that_would_show_the_end_keeps_the_snapshot_timeout(tmp_path: Path, source: str, how: str) -> None:
    """The same nights with one source that shows a run's end: the last run, silent in it, never ended."""
    story = old_agent("2.9.1.1" if source == "agent-2.9" else "2.2.53.1")
    if source == "agent-summary":
        story.append((TRANSITIONING, "INFO", "ExtHandler", 60 * 48 + 61))
    files = agent_files(sorted(story, key=lambda r: r[3]), "G4", how)
    last = 60 * 48 + 60
    if source == "extension-log":
        files[EXT_LOG] = extension_log([(text, m + last - 1) for text, m in STALLED])
    elif source == "status-file":
        files[STATUS_12.replace("12.status", "14.status")] = _status("transitioning", 4, last + 1)
    report = run(tmp_path, files)
    assert "SNAPSHOT_TIMEOUT" in problems(report)
    assert not any(m.why.key == "missing.run_outcome" for m in report.missing_evidence)
