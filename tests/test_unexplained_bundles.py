"""The red-herring rule on whole bundles: routine warnings (written by the real agents on healthy runs, per the
reference) never make a healthy VM inconclusive, in any agent generation or Windows log format; an agent error
no finding explains does, as an unexplained error; another extension's failure is unrelated to the backup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze
from tests.conftest import ROOT
from tests.unexplained_bundles import AGENT_FAILURE, _agent, linux_bundle, windows_bundle


@pytest.mark.parametrize("gen", ["G1", "G2", "G3", "G4"])
def test_routine_linux_warnings_leave_a_healthy_vm_healthy(tmp_path: Path, gen: str) -> None:
    report = analyze(linux_bundle(tmp_path, gen))
    assert report.unexplained == []
    # agents that write G1-G3 are below the supported minimum: that finding, never "inconclusive"
    expected = {"G4": ("healthy", [])}.get(gen, ("problems_found", [("AGENT_OUTDATED", "warning")]))
    assert (report.verdict.status, [(f.id, f.severity) for f in report.findings if f.severity != "info"]) == expected


@pytest.mark.parametrize("fmt", ["A", "B"])
def test_routine_windows_warnings_leave_a_healthy_vm_healthy(tmp_path: Path, fmt: str) -> None:
    report = analyze(windows_bundle(tmp_path, fmt))
    assert report.unexplained == [] and report.verdict.status == "healthy"


@pytest.mark.parametrize("gen", ["G1", "G2", "G3", "G4"])
def test_an_agent_error_no_finding_explains_is_an_unexplained_error(tmp_path: Path, gen: str) -> None:
    report = analyze(linux_bundle(tmp_path, gen, agent_failure=True))
    if gen == "G4":
        assert report.verdict.status == "inconclusive" and report.verdict.root_cause is None
    else:  # the outdated agent is a finding; the failure is still listed, and said in the summary
        assert report.verdict.root_cause == "AGENT_OUTDATED"
        assert report.verdict.summary[-1].key == "verdict.also_unexplained"
    (u,) = report.unexplained
    assert u.template == AGENT_FAILURE.replace("52", "<num>")
    assert u.count == 1 and u.level == "error" and u.minutes_to_backup == 19  # after today's backup ended
    assert u.live_records == 1  # no successful backup after it
    assert u.example.path == "var/log/waagent.log" and "index 52 out of range" in u.example.text


@pytest.mark.parametrize("gen", ["G1", "G2", "G3", "G4"])
def test_another_extensions_failure_is_unrelated_to_the_backup(tmp_path: Path, gen: str) -> None:
    """Its own logger's record (G4) or the agent's event echo (older): it names the handler, not the backup's."""
    report = analyze(linux_bundle(tmp_path, gen, other_failure=True))
    assert report.unexplained == []
    assert report.verdict.status == ("healthy" if gen == "G4" else "problems_found")


@pytest.mark.parametrize("sample", sorted(p.name for p in (ROOT / "samples").iterdir() if "healthy" in p.name))
def test_healthy_samples_have_no_unexplained_error(sample: str) -> None:
    report = analyze(ROOT / "samples" / sample)
    assert report.unexplained == [] and report.verdict.status == "healthy"


@pytest.mark.parametrize("gen", ["G1", "G2", "G4"])
def test_another_extensions_failure_is_the_only_lead_without_any_backup_run(tmp_path: Path, gen: str) -> None:
    """Nothing of the backup in the bundle (a paste of the agent log around a CustomScript install): the other
    extension's failure is all there is, so it stays an unexplained error and the VM is not called healthy."""
    ext = "[Microsoft.Azure.Extensions.CustomScript-2.1.6]"
    start = datetime(2023, 3, 7, 9, 12, 5, tzinfo=UTC)
    lines = [_agent(gen, start, "INFO", ext, "Target handler state: enabled"),
             _agent(gen, start + timedelta(seconds=1), "INFO", ext, "Install extension [bin/custom-script-shim "
                                                                   "install]"),
             _agent(gen, start + timedelta(seconds=2), "ERROR", "ExtHandler", "Event: name=Microsoft.Azure.Extensions."
                    "CustomScript, op=Install, message=[ExtensionError] Non-zero exit code: 1, bin/custom-script-shim "
                    "install, duration=0")]
    (tmp_path / "waagent.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = analyze(tmp_path)
    assert report.verdict.status == "inconclusive" and len(report.unexplained) == 1
    assert "CustomScript" in report.unexplained[0].example.text
