"""The agent's silence while the guest was shut down from inside follows from that shutdown: its missed heartbeats
and the backup it ran too late after the boot are no AGENT_NOT_RUNNING of their own; the shutdown is the root.
An agent that stays silent after the VM is back (or went silent long before the shutdown) is still not running.

Rendered as the agent's file beside a syslog, and beside a journal export, in the generations that write
heartbeats; the Linux and Windows shutdown stories of tests/scenarios cover the other layouts.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from analyzer.model import Message, Report
from tests.detectors.test_linux_stories import EN, EXT_LOG, HEALTHY, HEALTHY_RUN, T0, Story, extension_log, render, run
from tests.detectors.test_passing_failure import beats
from tests.detectors.windows_bundles import ticks

DOWN, BOOT, END = 300.0, 800.0, 1000.0  # minutes after T0: shutdown, boot, collection
REQUESTED = 600.0  # tonight's backup, asked while the VM is off
SETTINGS = "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0/config/13.settings"
TASK = "7c0e4b1a-2d3f-4e5a-9b6c-8d7e6f5a4b3c"


def _system(minutes: float, process: str, text: str, how: str) -> str:
    t = T0 + timedelta(minutes=minutes)
    if how == "syslog":
        return f"{t:%b %d %H:%M:%S} vm1 {process}: {text}\n"
    return f"{t:%Y-%m-%dT%H:%M:%S}+0000 vm1 {process}: {text}\n"


def _bundle(back: bool, silent_from: float, how: str) -> dict[str, str]:
    agent: Story = [*HEALTHY, *beats(35, silent_from)]
    if back:
        agent += [("Azure Linux Agent (Goal State Agent version 2.9.1.1)", "INFO", "ExtHandler", BOOT + 1),
                  ("Target handler state: enabled", "INFO", HEALTHY[13][2], BOOT + 2),
                  ("Update settings file: 13.settings", "INFO", HEALTHY[13][2], BOOT + 2),
                  ("Enable extension: [main/handle.sh enable]", "INFO", HEALTHY[13][2], BOOT + 2),
                  *beats(BOOT + 30, END)]
    system = "".join([
        _system(DOWN - 0.05, "sudo[52113]", " azadmin : TTY=pts/0 ; PWD=/home/azadmin ; USER=root ; "
                "COMMAND=/usr/sbin/shutdown -h now", how),
        _system(DOWN, "systemd-logind[781]", "System is powering down.", how),
        _system(BOOT, "kernel", "[    0.000000] Linux version 5.15.0-1064-azure (buildd@lcy02-amd64-043) (gcc "
                "(Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #73-Ubuntu SMP", how),
        _system(END, "systemd[1]", "Started Daily apt download activities.", how)])
    asked = (T0 + timedelta(minutes=REQUESTED)).replace(tzinfo=UTC)
    public = {"taskId": TASK, "commandStartTimeUTCTicks": str(ticks(asked)),
              "vmType": "microsoft.compute/virtualmachines"}
    settings = {"runtimeSettings": [{"handlerSettings": {"protectedSettingsCertThumbprint": "AB12",
                                                         "protectedSettings": "MIIB", "publicSettings": public}}]}
    late = [("starting enable", BOOT + 2.1), (f"taskId: {TASK}", BOOT + 2.1),
            (f"command start time is {asked:%Y-%m-%d %H:%M:%S} and utcNow is "
             f"{T0 + timedelta(minutes=BOOT + 2.2):%Y-%m-%d %H:%M:%S}", BOOT + 2.2),
            ("CRP timeout limit has reached, will not take snapshot.", BOOT + 2.3)]
    return {"var/log/waagent.log": render(agent, "G4"), "var/log/syslog" if how == "syslog" else "journal.txt": system,
            EXT_LOG: extension_log([*HEALTHY_RUN, *(late if back else [])]), SETTINGS: json.dumps(settings)}


def _severity(report: Report, fid: str) -> str | None:
    return next((f.severity for f in report.findings if f.id == fid), None)


@pytest.mark.parametrize("how", ["syslog", "journal"])
def test_the_agents_silence_while_the_guest_is_off_follows_from_the_shutdown(tmp_path: Path, how: str) -> None:
    report = run(tmp_path, _bundle(back=True, silent_from=DOWN - 5, how=how))
    assert report.verdict.root_cause == "VM_SHUTDOWN_IN_GUEST"
    assert _severity(report, "AGENT_NOT_RUNNING") in (None, "info")
    agent = next((f for f in report.findings if f.id == "AGENT_NOT_RUNNING"), None)
    if agent is not None:  # context, and why: the shutdown, not "recovered before the last backup attempt"
        assert "note.agent_silent_while_off" in [n.key for n in agent.notes]
        assert EN.say(Message("finding.recovered")) not in EN.explanation(agent)


@pytest.mark.parametrize("how", ["syslog", "journal"])
@pytest.mark.parametrize("shape", ["not-back-after-boot", "silent-long-before"])
def test_an_agent_silent_beyond_the_downtime_is_still_not_running(tmp_path: Path, how: str, shape: str) -> None:
    back, silent_from = (False, DOWN - 5) if shape == "not-back-after-boot" else (True, DOWN - 200)
    report = run(tmp_path, _bundle(back=back, silent_from=silent_from, how=how))
    assert _severity(report, "AGENT_NOT_RUNNING") == "error"
