"""The Windows agent waits for the backup extension's status file during every run (windows-formats.md 1.3:
``Status file ...\\<seq>.status is not available for the Extension '' yet.``): transient, never a failure by
itself. A bundle that holds only WaAppAgent.log ends each run with the agent's report of the plugin's status;
a run whose status never came up to collection is SNAPSHOT_TIMEOUT."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.model import Report, severity_rank
from tests.detectors.windows_bundles import ENABLE_LINES, EXT, PLUGIN, VERSION, WindowsBundle

DAY = 24 * 60
DAYS = 5


def _problems(report: Report) -> dict[str, str]:
    return {f.id: f.severity for f in report.findings if severity_rank(f.severity) >= severity_rank("warning")}


def _runs(days: int, reported: int, status: str = "success") -> list[tuple[float, str, str]]:
    """A daily backup for ``days`` days as WaAppAgent.log tells it; the first ``reported`` runs get the agent's
    report of their status."""
    lines: list[tuple[float, str, str]] = []
    for d in range(days):
        seq, t = 40 + d, (d - days + 1) * DAY
        lines += [(t + 0.7, "INFO", ENABLE_LINES[0].format(ext=EXT, plugin=PLUGIN, seq=seq, version=VERSION)),
                  (t + 0.8, "WARN", f"Status file {PLUGIN}\\Status\\{seq}.status is not available for the "
                                    "Extension '' yet.")]
        if d < reported:
            lines.append((t + 1.5, "INFO", f"Plugin {EXT}_{VERSION} reported status '{status}' for sequence "
                                           f"number {seq}."))
    return lines


def _bundle(tmp_path: Path, fmt: str, wide: bool, lines: list[tuple[float, str, str]]) -> Path:
    return WindowsBundle(fmt=fmt, utf16=wide, settings=False, enable_at=None, ext_start_at=None, status_at=None,
                         heartbeats=tuple(range(-(DAYS - 1) * DAY - 60, 2 * DAY, 30)),
                         agent_lines=lines).write(tmp_path / "b")


@pytest.mark.parametrize(("fmt", "wide"), [("A", False), ("B", True), ("A", True)])
def test_waiting_for_the_status_file_of_runs_that_reported_is_healthy(tmp_path: Path, fmt: str, wide: bool) -> None:
    report = analyze(_bundle(tmp_path, fmt, wide, _runs(DAYS, reported=DAYS)))
    assert report.verdict.status == "healthy", _problems(report)
    assert report.unexplained == []


@pytest.mark.parametrize(("fmt", "wide"), [("A", False), ("B", True)])
def test_the_last_run_that_never_reported_is_snapshot_timeout(tmp_path: Path, fmt: str, wide: bool) -> None:
    report = analyze(_bundle(tmp_path, fmt, wide, _runs(DAYS, reported=DAYS - 1)))
    assert _problems(report).get("SNAPSHOT_TIMEOUT") == "error" and "AGENT_NOT_RUNNING" not in _problems(report)
    assert report.verdict.root_cause == "SNAPSHOT_TIMEOUT"
    finding = next(f for f in report.findings if f.id == "SNAPSHOT_TIMEOUT")
    assert all("44" in (e.text or str(e.message)) for e in finding.evidence)  # only the last run's records


def test_a_reported_error_is_the_runs_end_not_a_timeout_and_never_healthy(tmp_path: Path) -> None:
    report = analyze(_bundle(tmp_path, "B", False, _runs(DAYS, reported=DAYS, status="error")))
    assert "SNAPSHOT_TIMEOUT" not in _problems(report)
    # no finding names why the backup failed: the agent's report of it is the lead (written at INFO)
    assert report.verdict.status == "inconclusive"
    (u,) = report.unexplained
    assert "reported status" in u.template and u.level == "error" and u.count == 1 and u.live


# --- a run that never gets a final status up to collection (reference 2.9; error-codes SNAPSHOT_TIMEOUT) ------

WAIT = "Status file {plugin}\\Status\\{seq}.status is not available for the Extension '' yet."
UNFINISHED = {  # how a Windows bundle shows a run that stays open: (WindowsBundle fields)
    "status-stays-transitioning": {"status": "transitioning", "code": 0},
    "status-republished-transitioning": {"status": "transitioning", "code": 0, "aggregate_at": 600},
    "no-status-the-agent-keeps-waiting": {"status_at": None, "agent_lines": [
        (float(m), "WARN", WAIT.format(plugin=PLUGIN, seq=12)) for m in range(1, 2 * DAY, 30)]},
    "extension-began-then-silence": {"status_at": None, "enable_at": None},
}


@pytest.mark.parametrize(("fmt", "wide"), [("A", False), ("B", True)])
@pytest.mark.parametrize("shape", UNFINISHED)
def test_a_run_open_up_to_collection_is_snapshot_timeout(tmp_path: Path, shape: str, fmt: str, wide: bool) -> None:
    fields = {"heartbeats": tuple(range(-60, 2 * DAY, 30)), "fmt": fmt, "utf16": wide, **UNFINISHED[shape]}
    report = analyze(WindowsBundle(**fields).write(tmp_path / "b"))  # type: ignore[arg-type]
    assert _problems(report) == {"SNAPSHOT_TIMEOUT": "error"}
    assert report.verdict.root_cause == "SNAPSHOT_TIMEOUT"


@pytest.mark.parametrize("shape", UNFINISHED)
def test_a_run_still_young_at_collection_is_no_timeout(tmp_path: Path, shape: str) -> None:
    """Collected ten minutes into the run: the agent is still waiting for the status, as on every run."""
    fields = {**UNFINISHED[shape], "heartbeats": tuple(range(-60, 11, 5))}
    if "agent_lines" in fields:
        fields["agent_lines"] = [(1.0, "WARN", WAIT.format(plugin=PLUGIN, seq=12))]
    if "aggregate_at" in fields:
        fields["aggregate_at"] = 8
    report = analyze(WindowsBundle(**fields).write(tmp_path / "b"))  # type: ignore[arg-type]
    assert report.verdict.status == "healthy", _problems(report)
    assert report.unexplained == []
