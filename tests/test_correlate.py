"""A log collector OOM kill that the kernel's report does not tie to the collector's cgroup, tied by the agent's
own record of its collector's SIGKILL (L17): the VM is not short of memory."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze, parse_bundle

HEALTHY = Path(__file__).resolve().parents[1] / "samples" / "linux-healthy-old-failure"
KILLED = datetime(2024, 6, 10, 3, 20, 1, tzinfo=UTC)  # 79 minutes after the sample's good backup
# the kill as kernels of several generations and syslog/journal exports write it, without the cgroup
KILLS = {
    "rsyslog": "Jun 10 {t:%H:%M:%S} vm1 kernel: [1234.567890] Out of memory: Killed process 7211 ({p}) "
               "total-vm:612344kB, anon-rss:180000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:600kB",
    "old-kernel": "Jun 10 {t:%H:%M:%S} vm1 kernel: Out of memory: Kill process 7211 ({p}) score 301 or sacrifice "
                  "child",
    "journal": "{t:%Y-%m-%dT%H:%M:%S}+0000 vm1 kernel: Out of memory: Killed process 7211 ({p}) total-vm:612344kB",
}


def _bundle(tmp_path: Path, kill: str, process: str, after: timedelta | None, code: str = "-9") -> Path:
    root = tmp_path / "bundle"
    shutil.copytree(HEALTHY, root, ignore=shutil.ignore_patterns("README.md", "expected.json"))
    name = "journal.txt" if kill == "journal" else "syslog"
    (root / "var" / "log" / name).write_text(KILLS[kill].format(t=KILLED, p=process) + "\n")
    if after is not None:
        with (root / "var" / "log" / "waagent.log").open("a") as f:
            f.write(f"{KILLED + after:%Y-%m-%dT%H:%M:%S}.118734Z INFO CollectLogsHandler ExtHandler Log Collector "
                    f"exited with code {code}\n")
    return root


def _kills(root: Path) -> list[tuple[str, str, str]]:
    analysis, _ = parse_bundle(root)
    return [(e.kind, e.level, str(e.attrs.get("target", ""))) for e in analysis.timeline.notable
            if "Kill" in e.message and "process 7211" in e.message]


@pytest.mark.parametrize("kill", sorted(KILLS))
@pytest.mark.parametrize("process", ["python3", "python3.8", "python"])
@pytest.mark.parametrize("seconds", [-90, 1, 100])
def test_a_python_kill_beside_the_collectors_sigkill_is_the_collector(tmp_path: Path, kill: str, process: str,
                                                                    seconds: int) -> None:
    root = _bundle(tmp_path, kill, process, timedelta(seconds=seconds))
    assert _kills(root) == [("agent.collector.failed", "info", "log_collector")]
    report = analyze(root)
    assert report.verdict.status == "healthy", [u.template for u in report.unexplained]
    assert "HIGH_RESOURCE_USAGE" not in [f.id for f in report.findings]


@pytest.mark.parametrize(("process", "after", "code"), [
    ("java", timedelta(seconds=1), "-9"),  # another process killed at that moment: the VM ran out of memory
    ("python3", timedelta(minutes=10), "-9"),  # the collector ended long after
    ("python3", timedelta(seconds=1), "1"),  # the collector failed on its own, not killed
    ("python3", None, "-9"),  # no word from the agent
])
def test_other_kills_stay_the_vms(tmp_path: Path, process: str, after: timedelta | None, code: str) -> None:
    root = _bundle(tmp_path, "rsyslog", process, after, code)
    assert _kills(root) == [("system.oom", "error", "")]
    assert "HIGH_RESOURCE_USAGE" in [f.id for f in analyze(root).findings]  # at info: hours after a good backup
