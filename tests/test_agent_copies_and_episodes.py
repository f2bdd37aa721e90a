"""One record, one count; one episode, one explanation.

The agent writes the records of an extension's logger both into waagent.log and into the extension's
``CommandExecution.log`` (linux-formats §2.7, §2.8), as it writes every record to syslog: the copies are counted
once, whichever generation wrote them and whichever of the three files the bundle holds. A crash loop's records
that the finding quotes come with the traceback each crash logs: those belong to the episode AGENT_NOT_RUNNING
explains and are no unexplained error; an error outside the episode still is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze
from tests.parsers.linux_render import copy, record

T0 = datetime(2026, 6, 2, 0, 30, 50)
EXT = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
VMS = f"[{EXT}-1.0.9225.0]"
HANDLE = f"/var/lib/waagent/{EXT}-1.0.9225.0/main/handle.sh enable"
FAILED = (f"[ExtensionOperationError] Non-zero exit code: 1, {HANDLE}\n[stdout]\n\n\n[stderr]\n"
          "Traceback (most recent call last):\n"
          f'  File "/var/lib/waagent/{EXT}-1.0.9225.0/main/WaagentLib.py", line 58, in <module>\n'
          "    import crypt\nModuleNotFoundError: No module named 'crypt'")
COMMAND_LOGS = (f"var/log/azure/{EXT}/CommandExecution.log", f"var/log/azure/{EXT}/1.0.9225.0/CommandExecution.log",
                f"var/log/azure/{EXT}/CommandExecution_VMSnapshotLinux.log")


def _runs(gen: str, days: int) -> list[str]:
    """One enable a day for ``days`` days, each failing: the extension logger's records."""
    out = []
    for d in range(days):
        t = T0 + timedelta(days=d)
        out += [record("Target handler state: enabled [incarnation 20]", "INFO", gen, t, VMS),
                record(f"Update settings file: {d + 3}.settings", "INFO", gen, t + timedelta(milliseconds=20), VMS),
                record("Enable extension: [main/handle.sh enable]", "INFO", gen, t + timedelta(milliseconds=30), VMS),
                record(FAILED, "ERROR", gen, t + timedelta(seconds=2), VMS)]
    return out


def _agent_log(gen: str, days: int) -> list[str]:
    beats = [record(f"Agent WALinuxAgent-2.12.0.4 is running as the goal state agent [DEBUG HeartbeatCounter: {i}]",
                    "INFO", gen, T0 - timedelta(minutes=5) + timedelta(hours=i), "ExtHandler")
             for i in range(24 * days + 2)]
    return beats + _runs(gen, days)


def _write(root: Path, files: dict[str, list[str]]) -> Path:
    for name, lines in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join(lines) + "\n")
    return root


def _load_failed(root: Path) -> tuple[int, int]:
    report = analyze(root)
    f = next(f for f in report.findings if f.id == "EXTENSION_LOAD_FAILED")
    return f.records, len({(e.ts, e.text) for e in f.evidence})


@pytest.mark.parametrize("gen", ["G1", "G2", "G3", "G4"])
@pytest.mark.parametrize("command_log", COMMAND_LOGS)
@pytest.mark.parametrize("days", [1, 2, 3])
def test_records_the_command_log_repeats_from_waagent_log_count_once(tmp_path: Path, gen: str, command_log: str,
                                                                     days: int) -> None:
    root = _write(tmp_path, {"var/log/waagent.log": _agent_log(gen, days), command_log: _runs(gen, days)})
    records, distinct = _load_failed(root)
    assert records == days and distinct == days


@pytest.mark.parametrize("gen", ["G2", "G4"])
def test_three_copies_of_one_record_count_once(tmp_path: Path, gen: str) -> None:
    syslog = [copy(part, "syslog", T0 + timedelta(days=n // 4)) for n, line in enumerate(_runs(gen, 2))
              for part in line.split("\n")]
    root = _write(tmp_path, {"var/log/waagent.log": _agent_log(gen, 2), COMMAND_LOGS[0]: _runs(gen, 2),
                             "var/log/syslog": syslog})
    assert _load_failed(root)[0] == 2


@pytest.mark.parametrize("gen", ["G3", "G4"])
def test_the_command_log_alone_still_counts_every_record(tmp_path: Path, gen: str) -> None:
    """waagent.log rotated away: the copy is the only record of the failures."""
    root = _write(tmp_path, {COMMAND_LOGS[0]: _runs(gen, 3)})
    assert _load_failed(root)[0] == 3


def _crash_loop(start: datetime, cycles: int, how: str) -> list[str]:
    """The extension handler crashes at start-up every ~21 s (its traceback, then the daemon reports the exit);
    every fourth crash the daemon gives up and restarts itself (linux-formats §6 L10-L15)."""
    lines = []
    egg = "python3 -u bin/WALinuxAgent-2.12.0.4-py3.12.egg -run-exthandlers"
    for i in range(cycles):
        t = start + timedelta(seconds=21 * i)
        trace = ("Traceback (most recent call last):\n  File \"bin/WALinuxAgent-2.12.0.4-py3.12.egg/azurelinuxagent/"
                 "ga/update.py\", line 312, in run\nOSError: [Errno 5] Input/output error")
        recs = [(t, "ERROR", "ExtHandler", trace),
                (t + timedelta(seconds=1), "WARNING", "Daemon",
                 f"ExtHandler process {11265 + 7 * i} launched with command '{egg}' exited with return code: 1")]
        if i % 4 == 3:
            recs += [(t + timedelta(seconds=2), "ERROR", "Daemon", f"Agent WALinuxAgent-2.12.0.4 launched with "
                      f"command '{egg}' failed with exception: Agent WALinuxAgent-2.12.0.4 restarted more than 3 "
                      "times in 300 seconds"),
                     (t + timedelta(seconds=3), "ERROR", "Daemon", "Daemon ended with exception -- Sleep 15 seconds "
                      "and restart daemon")]
        for when, level, comp, msg in recs:
            text = record(msg, level, "G4", when, comp)
            lines += [copy(part, how, when) for part in text.split("\n")] if how != "file" else [text]
    return lines


@pytest.mark.parametrize("how", ["file", "journal", "syslog"])
@pytest.mark.parametrize("cycles", [4, 40])
def test_the_tracebacks_of_a_crash_loop_belong_to_its_finding(tmp_path: Path, how: str, cycles: int) -> None:
    start = datetime(2025, 3, 12, 2, 40, 7)
    unrelated = record("Error archiving the goal state history: [Errno 13] Permission denied: "
                       "'/var/lib/waagent/history/2025-03-12T00-40-07'", "ERROR", "G4", start - timedelta(hours=2),
                       "ExtHandler")
    lines = [copy(unrelated, how, start - timedelta(hours=2)) if how != "file" else unrelated,
             *_crash_loop(start, cycles, how)]
    name = {"file": "var/log/waagent.log", "journal": "journalctl_waagent.txt", "syslog": "var/log/messages"}[how]
    report = analyze(_write(tmp_path, {name: lines}))
    assert report.verdict.root_cause == "AGENT_NOT_RUNNING"
    assert [u.template.split()[0] for u in report.unexplained] == ["Error"]  # the archive error two hours before
    assert report.unexplained[0].count == 1
