"""Time window, recovery, --since/--until, causal ranking, verdicts, locale and the plugin entry point."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import app
from analyzer.detectors import BUILTIN, ENTRY_POINT_GROUP, all_detectors, run_detectors
from analyzer.detectors.network import WireServerUnreachable
from analyzer.detectors.scope import Scope
from analyzer.diagnosis import CAUSES, diagnose
from analyzer.locale import catalog, entry
from analyzer.model import Finding
from analyzer.report.wording import Wording
from tests.detectors.helpers import analysis, at, attempt, ev, fact, success

WS = "Error fetching the goal state: [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate"


def test_window_starts_six_hours_before_first_recent_attempt() -> None:
    a = analysis([attempt(-10 * 24 * 60), attempt(-60), attempt(0), ev(30, "agent.heartbeat")])
    scope = Scope.of(a)
    assert scope.start == at(-60 - 6 * 60) and scope.end == at(30)


def test_recovered_wireserver_error_is_info() -> None:
    a = analysis([ev(-50, "wireserver.error", WS), ev(-45, "wireserver.recovered", "recovered from previous errors"),
                  attempt(0), success(2)])
    finding = WireServerUnreachable().run(a)
    assert isinstance(finding, Finding) and finding.severity == "info"


def test_old_failure_outside_window_is_info_and_new_one_counts() -> None:
    old = [attempt(-5 * 24 * 60), ev(-5 * 24 * 60 + 1, "wireserver.error", WS)]
    assert WireServerUnreachable().run(analysis([*old, attempt(0), success(2)])).severity == "info"  # type: ignore[union-attr]
    assert WireServerUnreachable().run(analysis([*old, attempt(0), ev(3, "wireserver.error", WS)])).severity == "error"  # type: ignore[union-attr]


def test_until_restricts_the_evidence() -> None:
    events = [attempt(0), ev(30, "wireserver.error", WS)]
    assert WireServerUnreachable().run(analysis(events, until=at(10))) is None
    assert WireServerUnreachable().run(analysis(events, since=at(20))) is not None


def test_chain_and_single_root_cause() -> None:
    a = analysis([attempt(0), ev(1, "dhcp.error", "[DhcpError] Failed to receive dhcp response"),
                  ev(2, "wireserver.error", WS), ev(3, "snapshot.timeout", "CRP timeout limit has reached"),
                  ev(90, "agent.heartbeat")])
    findings, missing = run_detectors(a)
    verdict = diagnose(findings, missing, a)
    by_id = {f.id: f for f in findings}
    assert verdict.status == "problems_found" and verdict.root_cause == "DHCP_FAILURE"
    assert [f.root_cause for f in findings].count(True) == 1 and findings[0].id == "DHCP_FAILURE"
    assert by_id["WIRESERVER_UNREACHABLE"].caused_by == ["DHCP_FAILURE"]
    assert "DHCP_FAILURE -> WIRESERVER_UNREACHABLE -> SNAPSHOT_TIMEOUT" in Wording("en").summary(verdict)
    assert any(m.source == "waagent_conf" and "waagent.conf" in m.collect for m in missing)


def test_auto_update_explains_outdated_agent() -> None:
    a = analysis(facts=[fact("conf.AutoUpdate.Enabled", "n"), fact("agent.goal_state_version", "2.2.41")],
                 present=("waagent_conf", "waagent_log"))
    findings, missing = run_detectors(a)
    verdict = diagnose(findings, missing, a)
    assert verdict.root_cause == "AGENT_AUTO_UPDATE_DISABLED"
    assert next(f for f in findings if f.id == "AGENT_OUTDATED").caused_by == ["AGENT_AUTO_UPDATE_DISABLED"]


def test_inconclusive_without_agent_log_and_commands_to_collect() -> None:
    a = analysis(present=("syslog",))
    findings, missing = run_detectors(a)
    verdict = diagnose(findings, missing, a)
    assert verdict.status == "inconclusive" and not findings
    assert any(m.collect == "sudo waagent -collect-logs -full" and "logs.zip" in Wording("en").then(m)
               for m in missing)
    w = analysis(present=("evtx",), os="windows")
    _, wmissing = run_detectors(w)
    assert any("reg export HKLM\\SYSTEM\\CurrentControlSet\\Services\\IaaSVmProvider" in m.collect for m in wmissing)


def test_healthy_verdict() -> None:
    a = analysis([attempt(0), success(2)])
    findings, missing = run_detectors(a)
    assert diagnose(findings, missing, a).status == "healthy"


def test_czech_texts_for_every_finding() -> None:
    for cls in BUILTIN:
        en, cs = entry(cls.id, "en"), entry(cls.id, "cs")
        assert cs == catalog("cs")["findings"][cls.id] and en == catalog("en")["findings"][cls.id]
        assert cs["title"] != en["title"] and len(cs["remediation"]) == len(en["remediation"]) > 0
    for section in ("messages", "labels"):
        assert set(catalog("cs")[section]) == set(catalog("en")[section])
    finding = WireServerUnreachable().run(analysis([attempt(0), ev(3, "wireserver.error", WS)]))
    assert finding is not None and Wording("cs").title(finding) == catalog("cs")["findings"][finding.id]["title"]


def test_plugin_detector_from_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ba_plugin_demo.py").write_text(textwrap.dedent('''
        from analyzer.detectors.base import Detector, text_sig

        class CustomDetector(Detector):
            id = "CUSTOM_DEMO"
            sources = ("waagent_log",)
            title = "Demo"
            remediation = ("do it",)
            signatures = (text_sig("X1", "demo failure"),)
        '''))
    dist = tmp_path / "ba_plugin_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ba-plugin-demo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ndemo = ba_plugin_demo:CustomDetector\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "CUSTOM_DEMO" in {d.id for d in all_detectors()}
    findings, _ = run_detectors(analysis([attempt(0), ev(1, "log", "a demo failure", level="error")]))
    custom = next(f for f in findings if f.id == "CUSTOM_DEMO")
    assert Wording("cs").title(custom) == "Demo" and Wording("en").remediation(custom) == ["do it"]
    sys.modules.pop("ba_plugin_demo", None)


def test_cli_rules_explain_eval(tmp_path: Path) -> None:
    runner = CliRunner()
    rules = runner.invoke(app, ["rules"])
    assert rules.exit_code == 0 and all(cls.id in rules.output for cls in BUILTIN)
    explained = runner.invoke(app, ["explain", "DHCP_FAILURE", "--lang", "cs"])
    assert explained.exit_code == 0 and "Zapněte v hostu DHCP" in explained.output
    assert "dhcp.error" in explained.output and "event 1001,1002,1003" in explained.output  # the Windows DHCP client
    assert "L35" not in explained.output and "W-Dhcp-Client" not in explained.output  # kinds and events, not ids
    assert runner.invoke(app, ["explain", "NO_SUCH_ID"]).exit_code == 2
    assert runner.invoke(app, ["eval", str(tmp_path)]).exit_code == 2


def _finding(fid: str, severity: str) -> Finding:
    return Finding(id=fid, severity=severity, confidence=0.7, seed_cause=4, error_codes=[])


@pytest.mark.parametrize(("symptom", "cause"), [(s, c) for s, causes in CAUSES.items() for c in causes])
@pytest.mark.parametrize(("cause_severity", "symptom_severity"), [("warning", "error"), ("warning", "critical"),
                                                                  ("error", "critical")])
def test_a_root_cause_is_never_milder_than_its_consequence(symptom: str, cause: str, cause_severity: str,
                                                          symptom_severity: str) -> None:
    findings = [_finding(symptom, symptom_severity), _finding(cause, cause_severity)]
    verdict = diagnose(findings, [], analysis())
    root = next(f for f in findings if f.root_cause)
    assert verdict.root_cause == cause == root.id
    assert root.severity == symptom_severity
    assert [n.key for n in root.notes] == ["note.root_severity"] and root.notes[0].params == {"id": symptom}
    assert next(f for f in findings if f.id == symptom).severity == symptom_severity  # the consequence as it was


def test_a_root_carries_the_worst_severity_of_its_whole_chain() -> None:
    findings = [_finding("DHCP_FAILURE", "warning"), _finding("WIRESERVER_UNREACHABLE", "warning"),
                _finding("SNAPSHOT_TIMEOUT", "critical"), _finding("VERBOSE_LOGGING_DISABLED", "info")]
    verdict = diagnose(findings, [], analysis())
    by_id = {f.id: f for f in findings}
    assert verdict.root_cause == "DHCP_FAILURE" and by_id["DHCP_FAILURE"].severity == "critical"
    assert by_id["WIRESERVER_UNREACHABLE"].severity == "warning"  # only the root is lifted
    assert by_id["VERBOSE_LOGGING_DISABLED"].severity == "info"


@pytest.mark.parametrize("severity", ["error", "critical"])
def test_a_root_as_severe_as_its_consequences_keeps_its_own_severity_and_notes(severity: str) -> None:
    findings = [_finding("VM_SHUTDOWN_IN_GUEST", severity), _finding("AGENT_NOT_RUNNING", "error")]
    diagnose(findings, [], analysis())
    root = next(f for f in findings if f.root_cause)
    assert root.id == "VM_SHUTDOWN_IN_GUEST" and root.severity == severity and root.notes == []
