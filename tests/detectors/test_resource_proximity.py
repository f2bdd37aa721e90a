"""HIGH_RESOURCE_USAGE counts toward the failing backup only around its snapshot (DESIGN 3.5).

Memory or CPU pressure inside a run that did not succeed, or in the hour before it, can have delayed the snapshot;
an application's daily OOM hours away from it cannot, and is reported at info like a problem that recovered. The
agent's log collector killed at its own cgroup limit (linux-formats §6 L17) is not the VM running out of memory at
all. Each case is rendered with the kernel lines in every form (a BSD syslog header without a year, a journal
export, ``dmesg -T``) and in kern.log, syslog or messages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze, parse_bundle
from analyzer.model import Report
from tests.linux_bundle import KERNEL_FORMS, LinuxBundle, collector_oom, java_oom

RUN = datetime(2025, 1, 11, 2, 0)
FILES = {"bsd": ("var/log/kern.log", "var/log/syslog", "var/log/messages"), "journal": ("journal.txt",),
         "dmesg": ("var/log/dmesg",)}
PLACES = [(form, name) for form in KERNEL_FORMS for name in FILES[form]]


def _hru(report: Report) -> tuple[str, int] | None:
    f = next((f for f in report.findings if f.id == "HIGH_RESOURCE_USAGE"), None)
    return None if f is None else (f.severity, f.live_records)


@pytest.mark.parametrize(("form", "name"), PLACES)
@pytest.mark.parametrize("minutes", [0.5, 1.5, -30, -59])
def test_pressure_inside_a_failed_run_or_just_before_it_counts(tmp_path: Path, form: str, name: str,
                                                               minutes: float) -> None:
    t = RUN + timedelta(minutes=minutes)
    report = analyze(LinuxBundle(RUN, "limit", files={name: java_oom(t, form)}).write(tmp_path))
    assert _hru(report) == ("error", 1)


@pytest.mark.parametrize(("form", "name"), PLACES)
@pytest.mark.parametrize("minutes", [-13 * 60, -3 * 60, -61, 45, 11 * 60])
def test_pressure_hours_away_from_the_snapshot_is_info(tmp_path: Path, form: str, name: str, minutes: int) -> None:
    t = RUN + timedelta(minutes=minutes)
    report = analyze(LinuxBundle(RUN, "limit", collected=RUN + timedelta(hours=12),
                                 files={name: java_oom(t, form)}).write(tmp_path))
    assert _hru(report) == (("info", 0) if minutes > -6 * 60 else None)  # before the window: not even info
    assert report.verdict.root_cause == "SNAPSHOT_LIMIT_REACHED"
    assert not report.unexplained


def test_daily_application_ooms_around_a_failing_backup_stay_info(tmp_path: Path) -> None:
    """Six days of a java OOM at 13:02 each day; the snapshot limit is hit at 02:00, 11 hours from the nearest."""
    lines = [ln for day in range(6) for ln in java_oom(datetime(2025, 1, 6, 13, 2, 17) + timedelta(days=day),
                                                       pid=2361 + day)]
    report = analyze(LinuxBundle(RUN, "limit", collected=datetime(2025, 1, 11, 16, 1),
                                 files={"var/log/kern.log": lines}).write(tmp_path))
    assert _hru(report) == ("info", 0)
    assert [f.id for f in report.findings if f.severity in ("warning", "error", "critical")] == [
        "SNAPSHOT_LIMIT_REACHED"]


@pytest.mark.parametrize("hours", [0.5, 3.5])
def test_a_run_without_a_final_status_is_around_until_it_would_have_timed_out(tmp_path: Path, hours: float) -> None:
    t = RUN + timedelta(hours=hours)
    report = analyze(LinuxBundle(RUN, "silent", collected=RUN + timedelta(hours=6),
                                 files={"var/log/kern.log": java_oom(t)}).write(tmp_path))
    assert _hru(report) == ("error", 1)
    assert report.verdict.root_cause == "HIGH_RESOURCE_USAGE"


def test_pressure_during_a_run_that_succeeded_is_no_problem(tmp_path: Path) -> None:
    report = analyze(LinuxBundle(RUN, "success", files={"var/log/kern.log": java_oom(RUN + timedelta(seconds=20))}
                                 ).write(tmp_path))
    assert _hru(report) in (None, ("info", 0))
    assert report.verdict.status == "healthy"


@pytest.mark.parametrize(("form", "name"), PLACES)
@pytest.mark.parametrize("kernel", ["memcg", "task-in", "stats"])
@pytest.mark.parametrize("outcome", ["success", "limit"])
def test_the_log_collectors_own_oom_is_not_memory_pressure(tmp_path: Path, form: str, name: str, kernel: str,
                                                          outcome: str) -> None:
    """Killed in its cgroup during the run, and the agent says so (``Log Collector exited with code -9``)."""
    t = RUN + timedelta(seconds=10)
    bundle = LinuxBundle(RUN, outcome, files={name: collector_oom(t, form, kernel)},
                         agent=[(t + timedelta(seconds=1), "INFO", "Log Collector exited with code -9")])
    report = analyze(bundle.write(tmp_path))
    assert _hru(report) is None
    assert not report.unexplained
    if outcome == "success":
        assert report.verdict.status == "healthy"
    else:
        assert report.verdict.root_cause == "SNAPSHOT_LIMIT_REACHED"


def test_an_oom_in_another_cgroup_is_still_pressure_and_names_its_cgroup(tmp_path: Path) -> None:
    jira = "/system.slice/jira.service"
    lines = [ln.replace(f"task_memcg={jira}", f"oom_memcg={jira},task_memcg={jira}")
             .replace("Out of memory:", "Memory cgroup out of memory:") for ln in java_oom(RUN + timedelta(seconds=10))]
    root = LinuxBundle(RUN, "limit", files={"var/log/kern.log": lines}).write(tmp_path)
    analysis, _ = parse_bundle(root)
    analysis.timeline.close()
    assert [e.attrs.get("cgroup") for e in analysis.timeline.notable if e.kind == "system.oom"] == [jira]
    assert _hru(analyze(root)) == ("error", 1)
