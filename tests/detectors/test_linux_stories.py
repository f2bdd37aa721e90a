"""Small Linux stories through the whole pipeline: routine traces are no failure, one symptom is not two
findings, causes read causally, older wordings count, and a paste gives what the log gives.

Each story is a list of agent records (message, level, component, minutes after the start); it is
rendered in every line generation, as the agent's file, a syslog copy or a journal export, and as a
paste among shell prompts, command output and console lines. The same story must give the same
findings at warning or above and the same root cause however it is rendered.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.model import Report
from analyzer.report.wording import Wording
from tests.parsers.linux_render import COPIES, GENERATIONS, copy, record
from tests.parsers.paste_shapes import SHAPES, quoted

T0 = datetime(2024, 6, 10, 2, 0, 0)
VMS = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0]"
CMD = "python3 -u /usr/sbin/waagent -run-exthandlers"
EXT_LOG = "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log"
EN = Wording("en")
Story = list[tuple[str, str, str, float]]  # message, level, component, minutes after T0


def render(story: Story, gen: str, how: str = "file") -> str:
    return "".join(copy(record(msg, level, gen, T0 + timedelta(minutes=m), comp), how, T0 + timedelta(minutes=m))
                   + "\n" for msg, level, comp, m in story)


def paste(story: Story, gen: str) -> str:
    """The story as users paste it: a prompt first, blank lines between records, command output, a console line."""
    lines = ["$ sudo tail -n 200 /var/log/waagent.log", ""]
    for msg, level, comp, m in story:
        lines += [record(msg, level, gen, T0 + timedelta(minutes=m), comp), ""]
    lines += ["[  229.153348] cloud-init[1523]: Cloud-init v. 19.1 running 'modules:config'", "vm1 login:",
              "user@vm1:~$ waagent --version", "WALinuxAgent-2.2.45 running on ubuntu 18.04", "Python: 3.6.9",
              "Goal state agent: 2.9.1.1", "user@vm1:~$"]
    return "\n".join(lines) + "\n"


def extension_log(lines: list[tuple[str, float]]) -> str:
    """VMSnapshot extension.log records (Python 3 form, UTC)."""
    return "".join(f"{T0 + timedelta(minutes=m):%Y-%m-%d %H:%M:%S.%f} "
                   f"[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]{msg}\n" for msg, m in lines)


def run(tmp_path: Path, files: dict[str, str], crlf: bool = False) -> Report:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.replace("\n", "\r\n").encode() if crlf else text.encode())
    return analyze(tmp_path)


def problems(report: Report) -> set[str]:
    return {f.id for f in report.findings if f.severity in ("warning", "error", "critical")}


def agent_files(story: Story, gen: str, how: str) -> dict[str, str]:
    return {"var/log/waagent.log" if how == "file" else "var/log/syslog": render(story, gen, how)}


# --- class 2: what a healthy agent and extension write on every run ---------------------------------

HEALTHY: Story = [
    ("Azure Linux Agent Version:2.2.45", "INFO", "Daemon", 0),
    ("Test for route to 168.63.129.16", "INFO", "Daemon", 0.1),
    ("No route exists to 168.63.129.16", "WARNING", "Daemon", 0.1),
    ("Checking for dhcp lease cache", "INFO", "Daemon", 0.1),
    ("Cache exists [True]", "INFO", "Daemon", 0.1),
    ("Wire server endpoint:168.63.129.16", "INFO", "Daemon", 0.2),
    ("Protocol endpoint not found: MetadataProtocol, [000008] 404 - GET: http://169.254.169.254/Microsoft.Compute/"
     "identity?api-version=2015-05-01", "INFO", "Daemon", 0.2),
    ("Installed Agent WALinuxAgent-2.2.45 is the most current agent", "INFO", "Daemon", 0.3),
    ("WALinuxAgent-2.9.1.1 waiting for orphan process 1530 to terminate", "INFO", "ExtHandler", 0.4),
    (f"Agent WALinuxAgent-2.9.1.1 launched with command '{CMD}' is successfully running", "INFO", "Daemon", 0.5),
    ("Agent WALinuxAgent-2.9.1.1 is running as the goal state agent", "INFO", "ExtHandler", 0.5),
    ("Agent WALinuxAgent-2.9.1.1 error state: Last Failure: 0.0, Total Failures: 0, Fatal: False", "INFO",
     "ExtHandler", 0.5),
    ("Goal state is stale, re-fetching", "INFO", "ExtHandler", 0.6),
    ("Target handler state: enabled", "INFO", VMS, 1),
    ("Update settings file: 12.settings", "INFO", VMS, 1),
    ("Enable extension: [main/handle.sh enable]", "INFO", VMS, 1),
    ("Log Collector exited with code 0", "INFO", "ExtHandler", 20),
    (f"ExtHandler process WALinuxAgent-2.9.1.1 launched with command '{CMD}' exited with return code: 0", "INFO",
     "Daemon", 30),
]
HEALTHY_RUN = [("starting enable", 1.1), ("taskId: 5b2e6a1c-1f0e-4d9b-9c1d-0e7f7a2b3c4d", 1.1),
               ("T:S freeze, timeout value 60", 1.5), ("Retry to aquire lock count: 0", 1.5),
               ("PreSnapshot: Status Code: 200", 1.6),
               ('dosnapshot responseBody: {"snapshotInfo": [{"isSuccessful": true}], "statusCode": 200}', 1.8),
               ("****** 8. Binary Thaw Signal Received", 1.9), ("the sequence number are same, so skip, "
                                                                "current:12== last:12", 2.5),
               ("T:S snapshotall ends...", 2.0)]


@pytest.mark.parametrize("how", ["file", "syslog", "journal"])
@pytest.mark.parametrize("gen", GENERATIONS)
def test_routine_traces_are_no_failure(tmp_path: Path, gen: str, how: str) -> None:
    report = run(tmp_path, {**agent_files(HEALTHY, gen, how), EXT_LOG: extension_log(HEALTHY_RUN)},
                 crlf=gen == "G2")
    assert problems(report) == set()
    assert report.verdict.status == "healthy"


def test_success_lines_are_never_evidence_of_a_wireserver_failure(tmp_path: Path) -> None:
    run_ = [*HEALTHY_RUN, ("dosnapshot responseBody: StatusCode:500, ErrorMessage: Could not find config "
                           "corresponding to the Disk", 3)]
    report = run(tmp_path, {**agent_files(HEALTHY, "G4", "file"), EXT_LOG: extension_log(run_)})
    ws = next(f for f in report.findings if f.id == "WIRESERVER_UNREACHABLE")
    assert all("isSuccessful" not in e.text and "Status Code: 200" not in e.text for e in ws.evidence)


def test_lock_contention_is_only_a_failed_acquire_or_a_retry(tmp_path: Path) -> None:
    run_ = [("T:S freeze, timeout value 60", 1), ("Retry to aquire lock count: 1", 1.1),
            ("Failed to open file or aquire lock:  [Errno 11] Resource temporarily unavailable", 1.1),
            ("T:S ###### Enable failed with error: freeze took longer than timeout "
             "StatusCode.FailedRetryableFsFreezeTimeout,", 3)]
    report = run(tmp_path, {**agent_files(HEALTHY[:16], "G4", "file"), EXT_LOG: extension_log(run_)})
    assert report.verdict.root_cause == "FS_FREEZE_FAILED"
    freeze = next(f for f in report.findings if f.id == "FS_FREEZE_FAILED")
    assert any("aquire lock count: 1" in e.text for e in freeze.evidence)


# --- class 6: causal reading ------------------------------------------------------------------------

NO_ROUTES: Story = [("Contents of /proc/net/route:", "WARNING", "Daemon", 0),
                    ("Primary interface examination will retry silently", "WARNING", "Daemon", 0),
                    ("/proc/net/route contains no routes", "ERROR", "Daemon", 0.1),
                    ("/proc/net/route contains no routes", "ERROR", "Daemon", 0.2)]
ROUTE_BUT_NO_ANSWER: Story = [
    ("Retry detect protocols: retry=332", "INFO", "Daemon", 0),
    ("WireServer endpoint is not found. Rerun dhcp handler", "INFO", "Daemon", 0.2),
    ("Test for route to 168.63.129.16", "INFO", "Daemon", 0.2),
    ("Route to 168.63.129.16 exists", "INFO", "Daemon", 0.2),
    ("Wire server endpoint:168.63.129.16", "INFO", "Daemon", 0.2),
    ("[HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP GET IOError [Errno 113] No route to host", "INFO", "Daemon", 0.3),
    ("WireServer is not responding. Reset endpoint", "INFO", "Daemon", 0.5),
    ("Protocol endpoint not found: WireProtocol, [000008] [Wireserver Exception] [000009] [HTTP Failed] HTTP GET "
     "IOError [Errno 113] No route to host", "INFO", "Daemon", 0.5),
    ("Protocol endpoint not found: MetadataProtocol, [000008] 404 - GET: http://169.254.169.254/Microsoft.Compute/"
     "identity?api-version=2015-05-01", "INFO", "Daemon", 0.5)]
STALE: Story = [("Goal state is stale, re-fetching", "INFO", "ExtHandler", 0),
                ("Goal state is stale, re-fetching", "INFO", "ExtHandler", 0),
                ("Exception retrieving extension handlers: [ProtocolError] Exceeded max retry updating goal state",
                 "WARNING", "ExtHandler", 0),
                ("Event: name=WALinuxAgent, op=ExtensionProcessing, message=Exception retrieving extension handlers: "
                 "[ProtocolError] Exceeded max retry updating goal state, duration=0", "ERROR", "ExtHandler", 0)]
GOAL_STATE_TIMEOUT: Story = [
    ("Error fetching the goal state: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET "
     "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made", "ERROR", "ExtHandler", 0)]


@pytest.mark.parametrize("how", ["file", "syslog", "paste"])
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(("story", "root", "present", "absent"), [
    (NO_ROUTES, "DHCP_FAILURE", {"DHCP_FAILURE", "WIRESERVER_UNREACHABLE"}, set()),
    (ROUTE_BUT_NO_ANSWER, "WIRESERVER_UNREACHABLE", {"WIRESERVER_UNREACHABLE"}, {"DHCP_FAILURE"}),
    (STALE, None, set(), {"WIRESERVER_UNREACHABLE", "DHCP_FAILURE"}),
    (GOAL_STATE_TIMEOUT, "WIRESERVER_UNREACHABLE", {"WIRESERVER_UNREACHABLE"}, {"DHCP_FAILURE"}),
], ids=["no-routes", "route-but-no-answer", "stale-goal-state", "goal-state-timeout"])
def test_causal_reading(tmp_path: Path, story: Story, root: str | None, present: set[str], absent: set[str], gen: str,
                        how: str) -> None:
    files = {"notes.txt": paste(story, gen)} if how == "paste" else agent_files(story, gen, how)
    report = run(tmp_path, files)
    found = problems(report)
    assert present <= found and not absent & found, found
    assert report.verdict.root_cause == root
    if root == "DHCP_FAILURE":
        assert any(m.params.get("chain") == "DHCP_FAILURE -> WIRESERVER_UNREACHABLE" for m in report.verdict.summary)


@pytest.mark.parametrize("how", ["file", "syslog", "paste"])
@pytest.mark.parametrize("gen", GENERATIONS)
def test_an_exhausted_stale_goal_state_is_context_never_a_lead_nor_a_wireserver_failure(tmp_path: Path, gen: str,
                                                                                       how: str) -> None:
    """L50 (linux-formats 6.E, WALinuxAgent#2355): WIRESERVER_UNREACHABLE explains the records at info (the
    WireServer answered 410 each time), so they are no unexplained lead and no failure to reach it."""
    files = {"notes.txt": paste(STALE, gen)} if how == "paste" else agent_files(STALE, gen, how)
    report = run(tmp_path, files)
    assert not problems(report) and report.verdict.root_cause is None
    (wire,) = [f for f in report.findings if f.id == "WIRESERVER_UNREACHABLE"]
    assert wire.severity == "info" and wire.records == 2
    assert not [u for u in report.unexplained if "Exceeded max retry" in u.template]


def _retries(errors: tuple[str, ...], chained: bool, then_failed: bool = False) -> Story:
    """HTTP retries as the 2.2.x agent writes them (WALinuxAgent#933, #968), four hours apart over a day: each alone
    (the next attempt went through), or followed seconds later by the next attempt's retry, or by the request's
    failure."""
    story: Story = []
    for k in range(6):
        m = 240 * k
        method, error = ("GET", "PUT", "POST")[k % 3], errors[k % len(errors)]
        story.append((f"[HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP {method} {error}", "INFO", "ExtHandler", m))
        if chained:
            story.append((f"[HTTP Retry] Attempt 3 of 3: [HTTP Failed] HTTP {method} {error}", "INFO", "ExtHandler",
                          m + 0.15))
        if then_failed:
            story.append(("Exception retrieving extension handlers: [ProtocolError] [Wireserver Exception] [HttpError] "
                          f"HTTP {method} failed", "WARNING", "ExtHandler", m + 0.4))
    return story


RETRY_ERRORS = ("IOError timed out", "IOError [Errno 113] No route to host",
                "IOError ('The read operation timed out',)", "IOError [Errno 104] Connection reset by peer")


@pytest.mark.parametrize("how", ["file", "syslog", "paste"])
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(("chained", "then_failed"), [(False, False), (True, False), (False, True)],
                         ids=["each-alone", "next-attempt-failed-too", "request-failed"])
def test_an_http_retry_the_next_attempt_answered_is_no_failure(tmp_path: Path, gen: str, how: str, chained: bool,
                                                               then_failed: bool) -> None:
    """A retry alone says one attempt timed out and the next went through: routine (the maintainers, #933). A retry
    the next attempt's retry or the request's failure follows is the WireServer not answering."""
    story = _retries(RETRY_ERRORS, chained, then_failed)
    files = {"notes.txt": paste(story, gen)} if how == "paste" else agent_files(story, gen, how)
    report = run(tmp_path, files)
    failing = chained or then_failed
    assert ("WIRESERVER_UNREACHABLE" in problems(report)) is failing, problems(report)
    if not failing:
        assert report.verdict.root_cause is None


def _protocol_detection(endpoint: str) -> Story:
    """A 2.2.x daemon detecting the protocol (WALinuxAgent#1059, #680), the endpoint as the log shows it."""
    return [("WireServer endpoint is not found. Rerun dhcp handler", "INFO", "Daemon", 0),
            (f"Test for route to {endpoint}", "INFO", "Daemon", 0),
            (f"Route to {endpoint} exists", "INFO", "Daemon", 0),
            (f"Wire server endpoint:{endpoint}", "INFO", "Daemon", 0),
            ("Fabric preferred wire protocol version:2015-04-05", "INFO", "Daemon", 0.01),
            ("Wire protocol version:2012-11-30", "INFO", "Daemon", 0.01),
            ("Server preferred version:2015-04-05", "WARNING", "Daemon", 0.01)]


@pytest.mark.parametrize("how", ["file", "syslog", "paste"])
@pytest.mark.parametrize("gen", ["G1", "G2", "G4"])
@pytest.mark.parametrize(("endpoint", "wrong"), [
    ("10.16.0.141,10.16.0.142", True), ("10.0.0.4", True), ("168.63.129.16,10.0.0.4", True),
    ("168.63.129.16", False), ("X.X.X.X", False), ("x.x.x.x", False), ("xxx.xxx.xxx.xxx", False), ("a.b.c.d", False),
    ("REDACTED", False),
])
def test_only_an_address_other_than_the_wireservers_is_a_wrong_endpoint(tmp_path: Path, gen: str, how: str,
                                                                       endpoint: str, wrong: bool) -> None:
    """L40: an endpoint that holds another IPv4 address is a bad lease; one a customer hid before sharing the log
    (``X.X.X.X``) says nothing. The protocol-version warning of every 2.2.x start is routine: no finding, nothing
    left unexplained."""
    story = _protocol_detection(endpoint)
    files = {"notes.txt": paste(story, gen)} if how == "paste" else agent_files(story, gen, how)
    report = run(tmp_path, files)
    assert ("WIRESERVER_UNREACHABLE" in problems(report)) is wrong, problems(report)
    assert not report.unexplained


def heartbeats(start: float, end: float, gen: str = "G4") -> Story:
    n = int((end - start) // 30) + 1
    return [(f"[HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal state agent [DEBUG HeartbeatCounter: "
             f"{i};HeartbeatId: 6F7A0C1E]", "INFO", "ExtHandler", start + 30 * i) for i in range(n)]


@pytest.mark.parametrize("covered", [True, False])
def test_late_invocation_under_heartbeats_is_not_a_dead_agent(tmp_path: Path, covered: bool) -> None:
    story = heartbeats(-180, 60) if covered else heartbeats(-180, -120)
    run_ = [("starting enable", 0), ("command start time is 2024-06-09 23:40:00 and utcNow is 2024-06-10 02:00:00",
                                     0), ("CRP timeout limit has reached, will not take snapshot.", 0.1)]
    report = run(tmp_path, {**agent_files(story, "G4", "file"), EXT_LOG: extension_log(run_)})
    assert "SNAPSHOT_TIMEOUT" in problems(report)
    assert ("AGENT_NOT_RUNNING" in problems(report)) is not covered


def _fetch_failing(inner: str) -> Story:
    """The extension handler fails to fetch the goal state, exits, and the daemon relaunches it, for an hour."""
    story: Story = []
    for k in range(12):
        m = 5 * k
        story += [(f"Error fetching the goal state: {inner}", "ERROR", "ExtHandler", m),
                  (f"ExtHandler process 93{k:02d} launched with command '{CMD}' exited with return code: 1",
                   "WARNING", "Daemon", m + 0.5)]
    return story


@pytest.mark.parametrize("how", ["file", "syslog", "paste"])
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(("inner", "root", "note"), [
    ("[Errno 28] No space left on device", "AGENT_NOT_RUNNING", "note.agent_local_error.disk"),
    ("[Errno 30] Read-only file system: '/var/lib/waagent/history'", "AGENT_NOT_RUNNING",
     "note.agent_local_error.read-only"),
    ("[ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp="
     "goalstate -- IOError timed out -- 6 attempts made", "WIRESERVER_UNREACHABLE", None),
], ids=["disk-full", "read-only", "timeout"])
def test_the_inner_error_decides_the_cause(tmp_path: Path, inner: str, root: str, note: str | None, gen: str,
                                          how: str) -> None:
    """Holdout class C: 'Error fetching the goal state' with a local inner error is the agent failing on its own
    VM (with the fix in a note), never the WireServer."""
    story = _fetch_failing(inner)
    files = {"notes.txt": paste(story, gen)} if how == "paste" else agent_files(story, gen, how)
    report = run(tmp_path, files)
    assert report.verdict.root_cause == root
    found = problems(report)
    assert ("WIRESERVER_UNREACHABLE" in found) is (root == "WIRESERVER_UNREACHABLE")
    notes = {n.key for f in report.findings for n in f.notes}
    assert (note in notes) if note else not any("local_error" in n for n in notes)


# --- class 5: one symptom, one finding ----------------------------------------------------------------

def test_hung_task_during_the_freeze_is_freeze_evidence(tmp_path: Path) -> None:
    run_ = [("starting enable", 0), ("T:S freeze, timeout value 60", 1), ("****** 2. Binary Freeze Started", 1),
            ("T:S ###### Enable failed with error: freeze took longer than timeout "
             "StatusCode.FailedRetryableFsFreezeTimeout,", 6)]
    syslog = ("Jun 10 02:03:10 vm1 kernel: [ 4100.1] INFO: task xfsaild/sda1:512 blocked for more than 120 seconds.\n"
              "Jun 10 02:03:10 vm1 kernel: [ 4100.2] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables.\n")
    report = run(tmp_path, {**agent_files(HEALTHY[:16], "G4", "file"), EXT_LOG: extension_log(run_),
                            "var/log/syslog": render(HEALTHY[:1], "G4", "syslog") + syslog})
    assert report.verdict.root_cause == "FS_FREEZE_FAILED"
    assert "HIGH_RESOURCE_USAGE" not in problems(report)
    freeze = next(f for f in report.findings if f.id == "FS_FREEZE_FAILED")
    assert any("blocked for more than" in e.text for e in freeze.evidence)


HUNG_KERNEL = ("Jun 10 {t} vm1 kernel: [ 4100.1] INFO: task {task} blocked for more than 120 seconds.\n"
               "Jun 10 {t} vm1 kernel: [ 4100.2] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables.\n")
FROZEN = [("starting enable", 1.1), ("taskId: 5b2e6a1c-1f0e-4d9b-9c1d-0e7f7a2b3c4d", 1.1),
          ("T:S freeze, timeout value 60", 1.5), ("Retry to aquire lock count: 0", 1.5),
          ("freeze_safe after returning from startproc : sig_handle=0", 1.6),
          ("============== Binary output traces start =================", 1.6)]
THAWED = [*FROZEN, ("****** 8. Binary Thaw Signal Received", 1.9), ("T:S snapshotall ends...", 2.0)]


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize("hung_at", [("02:04:30", "jbd2/sdc1-8:612"), ("02:31:00", "postgres:22810")])
def test_a_freeze_that_never_thaws_is_the_root_and_hung_tasks_its_evidence(
        tmp_path: Path, gen: str, how: str, hung_at: tuple[str, str]) -> None:
    """L70: extension.log ends inside the freeze (no thaw, no final status) while the agent runs on; the kernel's
    hung tasks, however long after the freeze start, are the frozen file systems' doing, never HIGH_RESOURCE_USAGE."""
    story = [*HEALTHY[:16], *heartbeats(30, 240, gen)]
    t, task = hung_at
    files = agent_files(story, gen, how)
    syslog = files.get("var/log/syslog") or render(HEALTHY[:1], "G4", "syslog")
    files["var/log/syslog"] = syslog + HUNG_KERNEL.format(t=t, task=task)
    report = run(tmp_path, {**files, EXT_LOG: extension_log(FROZEN)}, crlf=gen == "G2")
    assert report.verdict.root_cause == "FS_FREEZE_FAILED"
    assert "HIGH_RESOURCE_USAGE" not in problems(report)
    freeze = next(f for f in report.findings if f.id == "FS_FREEZE_FAILED")
    assert "stopped inside the file-system freeze" in EN.evidence(freeze.evidence[0])  # the main evidence first
    assert any("blocked for more than" in e.text for e in freeze.evidence)
    timeout = next(f for f in report.findings if f.id == "SNAPSHOT_TIMEOUT")
    assert timeout.caused_by == ["FS_FREEZE_FAILED"]


def test_hung_tasks_outside_any_freeze_stay_a_resource_problem(tmp_path: Path) -> None:
    """Hung tasks long after a freeze that thawed: pressure on the VM, not the freeze; the backup run succeeded, so
    it is info (HIGH_RESOURCE_USAGE counts only around a snapshot that did not succeed, DESIGN 3.5)."""
    story = [*HEALTHY[:16], *heartbeats(30, 240)]
    syslog = render(HEALTHY[:1], "G4", "syslog") + HUNG_KERNEL.format(t="03:40:00", task="postgres:22810")
    report = run(tmp_path, {**agent_files(story, "G4", "file"), EXT_LOG: extension_log(THAWED),
                            "var/log/syslog": syslog})
    assert "FS_FREEZE_FAILED" not in problems(report) and "SNAPSHOT_TIMEOUT" not in problems(report)
    assert [f.severity for f in report.findings if f.id == "HIGH_RESOURCE_USAGE"] == ["info"]


TRANSITIONING = "Extension status: [('Microsoft.Azure.RecoveryServices.VMSnapshotLinux', 'transitioning')]"
STALLED = [("starting enable", 1.1), ("taskId: 5b2e6a1c-1f0e-4d9b-9c1d-0e7f7a2b3c4d", 1.1),
           ("starting daemon for freezing the file system", 1.2), ("Sleeping for milliseconds: 2956", 1.2)]
STATUS_12 = "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0/status/12.status"


def _status(state: str, code: int, minutes: float) -> str:
    stamp = f"{T0 + timedelta(minutes=minutes):%Y-%m-%dT%H:%M:%SZ}"
    return json.dumps([{"version": "1.0", "timestampUTC": stamp, "status": {
        "name": "Microsoft.Azure.RecoveryServices.VMSnapshotLinux", "operation": "Enable", "status": state,
        "code": str(code), "formattedMessage": {"lang": "en-US", "message": "x"}, "substatus": [],
        "taskId": "5b2e6a1c-1f0e-4d9b-9c1d-0e7f7a2b3c4d"}}])


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(("ends", "root"), [
    ("nothing", "SNAPSHOT_TIMEOUT"), ("transitioning-file", "SNAPSHOT_TIMEOUT"), ("success", None)])
def test_a_run_without_a_final_status_is_a_snapshot_timeout(tmp_path: Path, gen: str, how: str, ends: str,
                                                           root: str | None) -> None:
    """§2.9: enable ran, extension.log went quiet before any freeze, the agent keeps reporting 'transitioning'
    up to collection: the run never ended. A final status (file or log) ends it."""
    story = [*HEALTHY[:16], *heartbeats(30, 300, gen),
             *[(TRANSITIONING, "INFO", "ExtHandler", 1.5 + 10 * k) for k in range(12 if root else 1)]]
    files = {**agent_files(story, gen, how), EXT_LOG: extension_log(STALLED if ends != "success" else THAWED)}
    if ends == "transitioning-file":
        files[STATUS_12] = _status("transitioning", 4, 1.1)
    elif ends == "success":
        files[STATUS_12] = _status("success", 1, 2.1)
    report = run(tmp_path, files, crlf=gen == "G2")
    assert report.verdict.root_cause == root
    assert ("SNAPSHOT_TIMEOUT" in problems(report)) is (root is not None)
    assert "AGENT_NOT_RUNNING" not in problems(report) and "FS_FREEZE_FAILED" not in problems(report)


@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(("throttled", "root"), [(250, "HIGH_RESOURCE_USAGE"), (4, "EXTENSION_LOAD_FAILED")])
def test_throttled_timeout_is_resource_starvation(tmp_path: Path, gen: str, throttled: int, root: str) -> None:
    story = [*HEALTHY[:16], (f"[ExtensionError] Timeout(300);CPUThrottledTime({throttled}secs): main/handle.sh "
                             "enable", "ERROR", VMS, 6)]
    report = run(tmp_path, agent_files(story, gen, "file"))
    assert report.verdict.root_cause == root
    assert ("HIGH_RESOURCE_USAGE" in problems(report)) is (root == "HIGH_RESOURCE_USAGE")
    if root == "HIGH_RESOURCE_USAGE":  # the starvation caused the failed enable: one chain, cause first
        load = next(f for f in report.findings if f.id == "EXTENSION_LOAD_FAILED")
        assert load.caused_by == ["HIGH_RESOURCE_USAGE"]
        chains = [m.params.get("chain") for m in report.verdict.summary]
        assert "HIGH_RESOURCE_USAGE -> EXTENSION_LOAD_FAILED" in chains


def test_a_resource_problem_elsewhere_does_not_explain_a_load_failure(tmp_path: Path) -> None:
    """Only the starved enable itself links the two: an OOM kill of another process hours earlier does not make a
    missing Python module a resource problem."""
    story = [*HEALTHY[:16], ("Event: name=Microsoft.Azure.RecoveryServices.VMSnapshotLinux, op=Enable, message="
                             "[ExtensionOperationError] Non-zero exit code: 1, main/handle.sh enable\n[stderr]\n"
                             "ModuleNotFoundError: No module named 'imp', duration=0", "ERROR", "ExtHandler", 6)]
    oom = "Jun 10 00:10:00 vm1 kernel: [ 900.1] Out of memory: Killed process 4242 (java) total-vm:9914520kB\n"
    report = run(tmp_path, {**agent_files(story, "G4", "file"),
                            "var/log/syslog": render(HEALTHY[:1], "G4", "syslog") + oom})
    assert report.verdict.root_cause == "EXTENSION_LOAD_FAILED", [(f.id, f.severity) for f in report.findings]
    load = next(f for f in report.findings if f.id == "EXTENSION_LOAD_FAILED")
    assert "HIGH_RESOURCE_USAGE" not in load.caused_by


# --- class 7: older wordings, loops, observed failures before versions ---------------------------------

@pytest.mark.parametrize("how", ["file", "syslog", "paste"])
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(("story", "severity"), [
    ([(f"Agent WALinuxAgent-2.2.45 launched with command '{CMD}' is successfully running", "INFO", "Daemon",
       0.1 * i) for i in range(6)], "error"),
    ([("WALinuxAgent-2.2.15 waiting for orphan process 4035 to terminate", "INFO", "ExtHandler", 0.05 * i)
      for i in range(4)], "warning"),
    ([("WALinuxAgent-2.2.15 waiting for orphan process 4035 to terminate", "INFO", "ExtHandler", 0.05 * i)
      for i in range(2)] + [("WALinuxAgent-2.2.15 forcibly terminated orphan process 4035", "WARNING", "ExtHandler",
                             15)], "error"),
    ([("Agent WALinuxAgent-2.2.46 failed with exception: str expected, not NoneType", "WARNING", "ExtHandler", 0),
      ("Agent WALinuxAgent-2.2.46 is running as the goal state agent", "INFO", "ExtHandler", 0)], "error"),
], ids=["relaunch-loop", "orphan-wait", "orphan-killed", "exception-beside-old-version"])
def test_agent_not_running_wordings(tmp_path: Path, story: Story, severity: str, gen: str, how: str) -> None:
    files = {"paste.log": paste(story, gen)} if how == "paste" else agent_files(story, gen, how)
    report = run(tmp_path, files)
    assert report.verdict.root_cause == "AGENT_NOT_RUNNING"
    assert next(f for f in report.findings if f.id == "AGENT_NOT_RUNNING").severity == severity


@pytest.mark.parametrize("story", [
    [(f"Agent WALinuxAgent-2.2.45 launched with command '{CMD}' is successfully running", "INFO", "Daemon", 0)],
    [(f"Agent WALinuxAgent-2.2.45 launched with command '{CMD}' is successfully running", "INFO", "Daemon", 30 * i)
     for i in range(5)],
    [("WALinuxAgent-2.9.1.1 waiting for orphan process 4035 to terminate", "INFO", "ExtHandler", 0)],
], ids=["one-launch", "launch-every-30-min", "one-wait"])
def test_one_launch_or_wait_is_routine(tmp_path: Path, story: Story) -> None:
    report = run(tmp_path, agent_files([*HEALTHY, *story], "G4", "file"))
    assert "AGENT_NOT_RUNNING" not in problems(report)


# --- pastes: recognized by content, the same diagnosis as the log ------------------------------------

@pytest.mark.parametrize("gen", GENERATIONS)
def test_a_paste_gives_the_versions_and_the_diagnosis_of_the_log(tmp_path: Path, gen: str) -> None:
    story = [("Agent WALinuxAgent-2.2.46 failed with exception: str expected, not NoneType", "WARNING",
              "ExtHandler", 0)]
    report = run(tmp_path, {"issue-comment": paste(story, gen)}, crlf=True)
    (source,) = report.sources
    assert source.parser == "waagent_log" and source.status == "parsed"
    assert report.extras["facts"]["agent.goal_state_version"] == "2.9.1.1"
    assert report.extras["facts"]["agent.daemon_version"] == "2.2.45"
    assert report.verdict.root_cause == "AGENT_NOT_RUNNING"


def _said(report: Report) -> tuple[object, ...]:
    """What a report says, line numbers aside (an e-mail reply puts its own lines before a quoted paste)."""
    return (report.verdict.status, report.verdict.root_cause,
            sorted((f.id, f.severity, f.records, f.live_records, tuple((e.ts, e.text) for e in f.evidence))
                   for f in report.findings),
            {k: v for k, v in report.extras["facts"].items() if k.startswith("agent.")},
            [(s.parser, s.status, s.events) for s in report.sources])


DHCP_STORY: Story = [
    ("Azure Linux Agent Version:2.2.45", "INFO", "Daemon", 0),
    ("No route exists to 168.63.129.16", "WARNING", "Daemon", 0.1),
    ("Protocol endpoint not found: WireProtocol, [ProtocolError] [DhcpError] Failed to receive dhcp response.",
     "WARNING", "Daemon", 1),
    ("Retry detect protocols: retry=1", "INFO", "Daemon", 1),
    ("Protocol endpoint not found: WireProtocol, [ProtocolError] [DhcpError] Failed to receive dhcp response.",
     "WARNING", "Daemon", 6),
    ("Retry detect protocols: retry=2", "INFO", "Daemon", 6),
]


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize("story", [DHCP_STORY, [("Agent WALinuxAgent-2.2.46 failed with exception: str expected, "
                                                 "not NoneType", "WARNING", "ExtHandler", 0)]], ids=["dhcp", "crash"])
def test_a_coloured_or_quoted_paste_gives_what_the_paste_gives(tmp_path: Path, story: Story, gen: str,
                                                                shape: str) -> None:
    """A paste coloured by ``grep --color=always`` or quoted in an e-mail reply: the same records, dated, with the
    same versions, findings, evidence and root cause as the paste itself (CRLF, as mail and Windows editors save)."""
    text = paste(story, gen)
    plain = run(tmp_path / "plain", {"issue-comment.txt": text}, crlf=True)
    shaped = run(tmp_path / "shaped", {"issue-comment.txt": SHAPES[shape](text)}, crlf=True)
    assert plain.verdict.root_cause is not None
    assert _said(shaped) == _said(plain)


# --- class 9: the verdict on what the bundle holds ------------------------------------------------------

@pytest.mark.parametrize("how", ["syslog", "journal"])
def test_agent_records_only_in_syslog_are_the_agent_log(tmp_path: Path, how: str) -> None:
    report = run(tmp_path, agent_files(HEALTHY, "G4", how))
    assert report.verdict.status == "healthy"
    assert "waagent_log" not in {m.source for m in report.missing_evidence}


@pytest.mark.parametrize("content", ["", "\n\n", "# nothing was logged yet\n"])
def test_an_agent_log_without_records_is_missing_evidence(tmp_path: Path, content: str) -> None:
    report = run(tmp_path, {"var/log/waagent.log": content, "etc/waagent.conf": "Extensions.Enabled=y\n"})
    (row,) = [s for s in report.sources if s.path.endswith("waagent.log")]
    assert row.status == "empty" and row.note is not None and row.note.key == "source.empty"
    assert report.verdict.status == "inconclusive"
    assert "waagent_log" in {m.source for m in report.missing_evidence}


# --- the agent's service as systemd reports it ----------------------------------------------------------

SYSTEMCTL = """user@vm1:~$ systemctl status walinuxagent
● walinuxagent.service - Azure Linux Agent
     Loaded: loaded (/lib/systemd/system/walinuxagent.service; enabled; vendor preset: enabled)
     Active: {active}
   Main PID: 1036 (code=exited, status=1/FAILURE)

Jun 10 02:00:00 vm1 systemd[1]: walinuxagent.service: Main process exited, code=exited, status=1/FAILURE
Jun 10 02:00:00 vm1 systemd[1]: walinuxagent.service: Failed with result 'exit-code'.
Jun 10 02:00:01 vm1 python3[1036]: 2024-06-10T02:00:00.000000Z INFO Daemon Daemon Azure Linux Agent Version: 2.9.1.1
"""


@pytest.mark.parametrize(("active", "down"), [
    ("failed (Result: exit-code) since Mon 2024-06-10 02:00:00 UTC; 2h ago", True),
    ("inactive (dead) since Mon 2024-06-10 02:00:00 CEST; 5min ago", True),
    ("active (running) since Mon 2024-06-10 02:00:00 UTC; 2h ago", False),
])
def test_pasted_systemctl_status_of_the_agent(tmp_path: Path, active: str, down: bool) -> None:
    text = SYSTEMCTL.format(active=active)
    if not down:  # a running unit logged no failure
        text = "\n".join(ln for ln in text.splitlines() if "FAILURE" not in ln and "Failed" not in ln) + "\n"
    report = run(tmp_path, {"status.txt": text})
    assert ("AGENT_NOT_RUNNING" in problems(report)) is down


@pytest.mark.parametrize("shape", ["plain", "colour", "quoted"])
@pytest.mark.parametrize(("active", "down"), [
    ("\x1b[0;1;31mfailed\x1b[0m (Result: exit-code) since Mon 2024-06-10 02:00:00 UTC; 2h ago", True),
    ("\x1b[0;1;32mactive (running)\x1b[0m since Mon 2024-06-10 02:00:00 UTC; 2h ago", False),
], ids=["failed", "running"])
def test_systemctl_status_as_the_terminal_colours_it(tmp_path: Path, active: str, down: bool, shape: str) -> None:
    """``systemctl status`` writes its bullet and state in colour when forced (``SYSTEMD_COLORS=1``, a pager): the
    same verdict as the plain text, pasted as it is or quoted in an e-mail reply."""
    text = SYSTEMCTL.format(active=active).replace("● walinuxagent", "\x1b[0;1;31m●\x1b[0m walinuxagent")
    text = re.sub(r"(?m)(systemd\[1\]: )(.*)$", "\\1\x1b[0;1;39m\\2\x1b[0m", text)  # journal lines as it colours them
    if not down:
        text = "\n".join(ln for ln in text.splitlines() if "FAILURE" not in ln and "Failed" not in ln) + "\n"
    if shape != "colour":
        text = re.sub(r"\x1b\[[0-9;]*m", "", text) if shape == "plain" else quoted(text)
    report = run(tmp_path, {"status.txt": text})
    assert ("AGENT_NOT_RUNNING" in problems(report)) is down


@pytest.mark.parametrize(("lines", "down"), [
    (["Stopping Azure Linux Agent...", "Stopped Azure Linux Agent."], True),
    (["Stopping Azure Linux Agent...", "walinuxagent.service: Deactivated successfully.",
      "Started Azure Linux Agent."], False),
    (["walinuxagent.service: Main process exited, code=exited, status=0/SUCCESS", "Started Azure Linux Agent."], False),
])
def test_agent_service_stopped_in_syslog(tmp_path: Path, lines: list[str], down: bool) -> None:
    syslog = render(HEALTHY[:1], "G4", "syslog") + "".join(
        f"Jun 10 02:{10 + i:02d}:00 vm1 systemd[1]: {ln}\n" for i, ln in enumerate(lines))
    report = run(tmp_path, {"var/log/syslog": syslog})
    assert ("AGENT_NOT_RUNNING" in problems(report)) is down


@pytest.mark.parametrize("days", [1, 4])
@pytest.mark.parametrize(("lines", "down"), [
    (["Stopping Azure Linux Agent...", "Stopped Azure Linux Agent."], True),
    (["Stopping Azure Linux Agent...", "Stopped Azure Linux Agent.", "Started Azure Linux Agent."], False),
])
def test_a_stop_nothing_follows_lasts_to_the_end_of_the_syslog(tmp_path: Path, lines: list[str], down: bool,
                                                               days: int) -> None:
    """The VM runs on for days after the agent's service stopped (other programs keep logging), past the three days
    the analysis window looks back: with nothing showing the agent back, it stayed down up to collection."""
    syslog = render(HEALTHY[:1], "G4", "syslog") + "".join(
        f"Jun 10 02:{10 + i:02d}:00 vm1 systemd[1]: {ln}\n" for i, ln in enumerate(lines))
    syslog += "".join(f"Jun {10 + d} 02:00:00 vm1 CRON[{900 + d}]: (root) CMD (run-parts /etc/cron.daily)\n"
                      for d in range(1, days + 1))
    report = run(tmp_path, {"var/log/syslog": syslog})
    assert ("AGENT_NOT_RUNNING" in problems(report)) is down
