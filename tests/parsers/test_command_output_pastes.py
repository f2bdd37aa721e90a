"""A paste holding only command output about the agent, no timestamped record, is a source (README: pasted agent
logs are recognized by content): ``waagent --version`` gives the daemon and goal-state versions (linux-formats
§2.1, L9), ``systemctl status`` of the agent's unit gives its state. Rendered with and without prompts, a
customer's note, CRLF or UTF-16, under any file name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.sources import recognize_content

NAMES = ("agent-version.txt", "paste", "ticket-4711.txt", "notes.log", "output")


def version_output(daemon: str, goal_state: str | None, distro: str = "ubuntu 18.04", python: str = "3.6.9"
                   ) -> list[str]:
    """``waagent --version``; the 2.0 single-file agent has no goal-state agent to name."""
    lines = [f"WALinuxAgent-{daemon} running on {distro}", f"Python: {python}"]
    return lines + ([f"Goal state agent: {goal_state}"] if goal_state else [])


def pasted(lines: list[str], style: str) -> str:
    if style == "bare":
        return "\n".join(lines) + "\n"
    if style == "prompt":
        return "\n".join(["user@vm1:~$ waagent --version", *lines, "user@vm1:~$"]) + "\n"
    if style == "note":  # a customer's words first, a root prompt, the output, and another command after it
        return "\n".join(["Customer output below:", "", "[root@app-node-11 ~]# waagent --version", *lines,
                          "[root@app-node-11 ~]# uptime",
                          " 10:02:03 up 33 days,  1:02,  1 user,  load average: 0.08, 0.03, 0.01"]) + "\n"
    return "\n".join(["```", "# waagent -version", *lines, "```"]) + "\n"  # a code fence, the old -version flag


STYLES = ("bare", "prompt", "note", "fence")


def _write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    data = text.replace("\n", "\r\n").encode("utf-16") if encoding == "utf-16" else text.encode()
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(("daemon", "goal_state", "distro", "python"), [
    ("2.2.45", "2.2.49.2", "centos 7.9.2009", "2.7.5"),
    ("2.2.49.2", "2.2.49.2", "ubuntu 18.04", "3.6.9"),
    ("2.0.16", None, "Ubuntu 14.04", "2.7.6"),
    ("2.2.10", "2.2.41", "SuSE 12", "2.7.13"),
])
def test_an_old_goal_state_agent_in_a_version_paste_is_agent_outdated(tmp_path: Path, name: str, style: str,
                                                                      daemon: str, goal_state: str | None, distro: str,
                                                                      python: str) -> None:
    path = _write(tmp_path, name, pasted(version_output(daemon, goal_state, distro, python), style), "utf-8")
    report = analyze(path)
    assert [(s.parser, s.status) for s in report.sources] == [("waagent_log", "parsed")]
    assert report.verdict.root_cause == "AGENT_OUTDATED"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("style", STYLES)
def test_a_current_agent_in_a_version_paste_is_no_finding(tmp_path: Path, style: str, encoding: str) -> None:
    path = _write(tmp_path, "agent-version.txt", pasted(version_output("2.2.45", "2.12.0.4"), style), encoding)
    report = analyze(path)
    assert [s.parser for s in report.sources] == ["waagent_log"]
    assert not [f for f in report.findings if f.severity in ("warning", "error", "critical")]
    assert report.verdict.status != "problems_found"
    assert report.verdict.summary[0].params.get("why") is None or \
        report.verdict.summary[0].params["why"].key != "why.nothing_parsed"


@pytest.mark.parametrize("unit", ["walinuxagent", "waagent"])
@pytest.mark.parametrize("bullet", ["●", "*", "×"])
def test_a_pasted_systemctl_status_of_the_agent_is_a_source(tmp_path: Path, unit: str, bullet: str) -> None:
    text = "\n".join([f"# systemctl status {unit}", f"{bullet} {unit}.service - Azure Linux Agent",
                      f"   Loaded: loaded (/lib/systemd/system/{unit}.service; enabled; vendor preset: enabled)",
                      "   Active: failed (Result: exit-code) since Mon 2024-06-10 02:00:00 UTC; 2h ago",
                      "  Process: 1123 ExecStart=/usr/bin/python3 -u /usr/sbin/waagent -daemon (code=exited, "
                      "status=1/FAILURE)"]) + "\n"
    report = analyze(_write(tmp_path, "status.txt", text, "utf-8"))
    assert [s.parser for s in report.sources] == ["waagent_log"]
    assert report.verdict.root_cause == "AGENT_NOT_RUNNING"


@pytest.mark.parametrize("text", [
    "Python: 3.6.9\nsome notes about the ticket\n",  # a Python version alone is not the agent's output
    "nginx.service - A high performance web server\n   Active: failed (Result: exit-code)\n",
    "The customer runs WALinuxAgent-2.2.45 running on nothing we know\n",  # prose that quotes it, not the output
])
def test_other_text_is_not_taken_for_agent_output(text: str) -> None:
    assert recognize_content("notes.txt", text.encode()) is None
