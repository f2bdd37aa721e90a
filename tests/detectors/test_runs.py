"""Backup runs (issue 13 classes 1 and 3): a run's request, invocation, start and end are matched by sequence
number and task id on both OSes; a status file ends a run, it never requests one; a status the agent
re-publishes is dated by its run, never by the time of publishing."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze, parse_bundle
from analyzer.detectors.agent import AgentNotRunning
from analyzer.detectors.scope import STAGES, Run, Scope, Step, group_runs
from analyzer.model import Finding, severity_rank
from analyzer.report.wording import Wording
from tests.detectors.helpers import VMS, analysis, at, attempt, ev, success
from tests.detectors.windows_bundles import ENABLE_LINES, TASK, WindowsBundle
from tests.detectors.windows_bundles import at as win_at

EN = Wording("en")

HEALTHY_SHAPES = {
    "all": {},
    "no-agent-enable-line": {"enable_at": None},
    "no-extension-log": {"ext_start_at": None},
    "status-only": {"settings": False, "enable_at": None, "ext_start_at": None},
    "settings-and-status": {"enable_at": None, "ext_start_at": None},
    "republished-too": {"aggregate_at": 200},
}


def _problems(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.id: f.severity for f in report.findings if severity_rank(f.severity) >= severity_rank("warning")}


@pytest.mark.parametrize(("fmt", "wide", "wording"),
                         list(itertools.product("AB", (False, True), range(len(ENABLE_LINES)))))
def test_healthy_windows_run_is_healthy_in_every_format(tmp_path: Path, fmt: str, wide: bool, wording: int) -> None:
    bundle = WindowsBundle(fmt=fmt, utf16=wide, enable_line=ENABLE_LINES[wording]).write(tmp_path / "b")
    report = analyze(bundle)
    assert report.verdict.status == "healthy", _problems(report)
    assert "AGENT_NOT_RUNNING" not in [f.id for f in report.findings]


@pytest.mark.parametrize("shape", HEALTHY_SHAPES)
def test_healthy_windows_run_whatever_records_the_bundle_holds(tmp_path: Path, shape: str) -> None:
    report = analyze(WindowsBundle(**HEALTHY_SHAPES[shape]).write(tmp_path / "b"))  # type: ignore[arg-type]
    assert report.verdict.status == "healthy", _problems(report)
    assert not [f for f in report.findings if f.id in ("AGENT_NOT_RUNNING", "SNAPSHOT_TIMEOUT")]


@pytest.mark.parametrize("wording", range(len(ENABLE_LINES)))
def test_one_run_per_sequence_number_with_all_its_stages(tmp_path: Path, wording: int) -> None:
    bundle = WindowsBundle(enable_line=ENABLE_LINES[wording], aggregate_at=200).write(tmp_path / "b")
    analysis_, _ = parse_bundle(bundle)
    scope = Scope.of(analysis_)
    assert len(scope.runs) == 1
    run = scope.runs[0]
    assert (run.seq, run.task_id) == ("12", TASK)
    assert run.requested is not None and run.requested.ts == win_at(0)
    assert run.ran is not None and run.ran.ts == win_at(0.7) and run.ran.stage == "invocation"
    assert run.first("start") is not None and run.ok
    assert scope.successes == [win_at(3.2)]  # the status file's time; the re-published copy is not a success at 200
    assert scope.last_attempt_ok


def test_request_never_invoked_is_agent_not_running(tmp_path: Path) -> None:
    report = analyze(WindowsBundle(enable_at=None, ext_start_at=None, status_at=None).write(tmp_path / "b"))
    finding = next(f for f in report.findings if f.id == "AGENT_NOT_RUNNING")
    assert finding.severity == "error" and report.verdict.root_cause == "AGENT_NOT_RUNNING"
    assert any("never invoked" in (t := EN.evidence(e)) and "seq 12" in t for e in finding.evidence)


def test_request_invoked_late_is_agent_not_running(tmp_path: Path) -> None:
    late = WindowsBundle(enable_at=150, ext_start_at=150.5, status_at=151, status="error", code=402, heartbeats=())
    report = analyze(late.write(tmp_path / "b"))
    finding = next(f for f in report.findings if f.id == "AGENT_NOT_RUNNING")
    assert finding.severity == "error"
    assert any("invoked 150 min later" in EN.evidence(e) for e in finding.evidence)


def test_request_invoked_late_under_heartbeats_is_no_dead_agent(tmp_path: Path) -> None:
    """Issue 13 class 6: heartbeats cover the whole delay, so the agent was running, only late."""
    late = WindowsBundle(enable_at=150, ext_start_at=150.5, status_at=151, status="error", code=402)
    report = analyze(late.write(tmp_path / "b"))
    assert "AGENT_NOT_RUNNING" not in _problems(report)
    assert report.verdict.root_cause == "SNAPSHOT_TIMEOUT"


def test_run_without_end_is_snapshot_timeout_not_agent_down(tmp_path: Path) -> None:
    report = analyze(WindowsBundle(status_at=None).write(tmp_path / "b"))
    ids = _problems(report)
    assert ids.get("SNAPSHOT_TIMEOUT") == "error" and "AGENT_NOT_RUNNING" not in ids
    finding = next(f for f in report.findings if f.id == "SNAPSHOT_TIMEOUT")
    assert any("never reported a final status" in (t := EN.evidence(e)) and "seq 12" in t for e in finding.evidence)


def test_republished_success_does_not_recover_a_later_agent_crash(tmp_path: Path) -> None:
    """The agent crashes after the run; its aggregate status, published later, re-reports the run's
    success with the publishing time: the crash is not "recovered"."""
    crash = [(60.0, "WARN", "WindowsAzureGuestAgent could not be stopped. Exception: System.NullReferenceException: "
                            "Object reference not set to an instance of an object.")]
    for aggregate in (None, 200):
        bundle = WindowsBundle(agent_lines=crash, aggregate_at=aggregate).write(tmp_path / f"b{aggregate}")
        report = analyze(bundle)
        assert _problems(report).get("AGENT_NOT_RUNNING") == "error", aggregate


def test_republished_linux_status_blob_is_dated_by_its_run() -> None:
    """Linux: waagent_status.json re-publishes the VMSnapshotLinux success of seq 3 after an agent crash."""
    crash = ev(30, "agent.crash", "Agent WALinuxAgent-2.9.1.1 failed with exception: boom", level="error")
    blob = ev(90, "extension.status", f"{VMS} Enable status success code 1", source="agent_state",
              path="var/lib/waagent/history/x/waagent_status.json", extension=VMS, status="success", code=1, seq=3,
              republished=True)
    a = analysis([attempt(0), success(2), crash, blob])
    scope = Scope.of(a)
    assert scope.successes == [at(2)]
    finding = AgentNotRunning().run(a, scope)
    assert isinstance(finding, Finding) and finding.severity == "error"
    # without a record of its own run, a re-published success counts for nothing
    only_blob = analysis([crash, blob])
    assert Scope.of(only_blob).runs == [] and not Scope.of(only_blob).last_attempt_ok


def _step(minutes: float, stage: str, seq: str | None = None, task: str | None = None, outcome: str | None = None,
          republished: bool = False) -> Step:
    return Step(at(minutes), stage, "f", 1, stage, seq, task, outcome, republished)


def test_grouping_by_task_id_sequence_number_and_time() -> None:
    runs = group_runs([
        _step(0, "request", "5", "t1"), _step(1, "invocation", "5"), _step(2, "start", None, "t1"),
        _step(3, "end", "5", "t1", "success"),
        _step(600, "request", "5", "t2"),  # seq 5 again, another task: the extension was reinstalled
        _step(601, "invocation"), _step(602, "start"),  # keyless records join the run in progress
        _step(900, "end", "9", None, "success", republished=True),  # nothing dates seq 9: dropped
    ])
    assert [(r.seq, r.task_id, len(r.steps)) for r in runs] == [("5", "t1", 4), ("5", "t2", 3)]
    assert runs[0].ok and not runs[1].ended


def test_a_status_file_is_the_end_of_a_run_never_a_request(tmp_path: Path) -> None:
    bundle = WindowsBundle(settings=False, enable_at=None, ext_start_at=None).write(tmp_path / "b")
    analysis_, _ = parse_bundle(bundle)
    run = Scope.of(analysis_).runs[0]
    assert [s.stage for s in run.steps] == ["request", "end"]  # its command start, then its own time
    assert run.ended and run.ok and run.ran is None
    assert AgentNotRunning().run(analysis_) is None


def test_aggregate_status_events_are_marked_republished(tmp_path: Path) -> None:
    bundle = WindowsBundle(aggregate_at=200).write(tmp_path / "b")
    analysis_, _ = parse_bundle(bundle)
    statuses = [e for e in analysis_.timeline.notable if e.kind == "extension.status"]
    assert {(e.ts, bool(e.attrs.get("republished"))) for e in statuses} == {(win_at(3.2), False),
                                                                            (win_at(200), True)}
    republished = [f.value for f in analysis_.facts if f.name == "extension.status" and f.value.get("republished")]
    assert republished and json.dumps(republished)  # plain data
    requests = {f.path.rsplit("/", 1)[-1] for f in analysis_.facts if f.name == "vmsnapshot.invocation"}
    assert requests == {"12.settings", "12.status"}  # the re-published copy requests nothing


def test_a_runs_dated_steps_and_end_follow_its_steps_as_they_are_added() -> None:
    """``Run`` keeps its dated steps and whether it ended as steps come (grouping asks at every step): they must
    equal what the steps say, in every order of stages, outcomes and re-published statuses."""
    start = at(0)
    kinds = list(itertools.product(STAGES, (None, "success", "error"), (False, True)))
    for seed in range(40):
        run = Run()
        for i in range(12):
            stage, outcome, republished = kinds[(seed * 7 + i * (seed % 5 + 1)) % len(kinds)]
            run.add(Step(start + timedelta(seconds=i), stage, "p", i, "t", seq="1", outcome=outcome,
                         republished=republished))
            assert run.dated == [s for s in run.steps if not s.republished]
            assert run.ended == any(s.stage == "end" or s.outcome is not None for s in run.steps)
            assert run.requested == next((s for s in run.steps if s.stage == "request" and not s.republished), None)


def test_grouping_a_run_of_many_steps_keeps_every_step() -> None:
    """A run of 20,000 heartbeat-spaced steps (one sequence number) is one run holding every step, found without
    asking the run's whole history at each step."""
    found = [Step(at(0) + timedelta(seconds=i), "start" if i else "request", "p", i, "t", seq="7")
             for i in range(20_000)]
    runs = group_runs(found)
    assert len(runs) == 1 and len(runs[0].steps) == 20_000 and runs[0].dated[-1].line == 19_999
