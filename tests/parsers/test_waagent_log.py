"""waagent.log / CommandExecution.log: generations G0-G4, folding, Event payloads, signatures, facts, time zones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import app
from analyzer.intake.paths import normalize_path
from analyzer.locale import word
from analyzer.sources import recognize_path
from parsers.base import Event, ParseContext
from parsers.linux_agent._record import AGENT_TABLE, parse_record
from parsers.linux_agent.waagent_log import sniff
from tests.parsers.linux_helpers import run_as

VMS = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"


def parse(text: str | bytes, path: str = "var/log/waagent.log") -> tuple[list[Event], ParseContext]:
    return run_as(text.encode() if isinstance(text, str) else text, path)


def facts(ctx: ParseContext, name: str) -> list[object]:
    return [f.value for f in ctx.facts if f.name == name]


# --- generations (verbatim lines of linux-formats.md §2.2) ---------------------------------------

@pytest.mark.parametrize(("line", "ts", "local", "level", "component", "gen"), [
    ("2015/09/13 14:44:03 Discovered Windows Azure endpoint: 168.63.129.16",
     datetime(2015, 9, 13, 14, 44, 3), True, "info", "", "G0"),
    ("2017/04/05 15:19:30 ERROR:timed out", datetime(2017, 4, 5, 15, 19, 30), True, "error", "", "G0"),
    ("2016/03/16 18:02:47 [Microsoft.Azure.Extensions.LinuxAsm-1.0]Change log file to "
     "/var/log/azure/Microsoft.Azure.Extensions.LinuxAsm/1.6.0/extension.log",
     datetime(2016, 3, 16, 18, 2, 47), True, "info", "Microsoft.Azure.Extensions.LinuxAsm", "G0"),
    ("2017/10/02 17:42:40.184193 INFO Agent WALinuxAgent-2.2.17 discovered WALinuxAgent-2.2.18 as an update and "
     "will exit", datetime(2017, 10, 2, 17, 42, 40, 184193), True, "info", "", "G1"),
    ("2018/09/21 00:01:14.649882 INFO Daemon Azure Linux Agent Version:2.2.31",
     datetime(2018, 9, 21, 0, 1, 14, 649882), True, "info", "Daemon", "G2"),
    ("2020/06/22 12:27:21.095514 WARNING ExtHandler Failed to send DHCP request: [DhcpError] [Errno 1] Operation "
     "not permitted", datetime(2020, 6, 22, 12, 27, 21, 95514), True, "warning", "ExtHandler", "G2"),
    ("2020-04-22T04:21:25.227517Z INFO ExtHandler WALinuxAgent-2.2.46 running as process 1853",
     datetime(2020, 4, 22, 4, 21, 25, 227517, tzinfo=UTC), False, "info", "ExtHandler", "G3"),
    ("2023-05-17T07:01:23.345968Z INFO CollectLogsHandler ExtHandler Log Collector exited with code -9",
     datetime(2023, 5, 17, 7, 1, 23, 345968, tzinfo=UTC), False, "info", "ExtHandler", "G4"),
])
def test_each_generation(line: str, ts: datetime, local: bool, level: str, component: str, gen: str) -> None:
    (e,), ctx = parse(line + "\n")
    assert (e.ts, e.local, e.level, e.component, e.attrs["gen"], e.line) == (ts, local, level, component, gen, 1)
    assert ctx.problems == []


@pytest.mark.parametrize("line", [
    "2017/11/02 03:00:29.408051 INFO [HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP PUT IOError timed out",
    "2017/11/02 03:00:29 [HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP PUT IOError timed out",
    "2021-03-04T05:06:07.123456Z INFO ExtHandler [HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP PUT IOError timed out",
    "2021-03-04T05:06:07.123456Z INFO ExtHandler ExtHandler [HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP PUT "
    "IOError timed out",
])
def test_a_bracket_holding_a_space_opens_the_message_not_an_extension_prefix(line: str) -> None:
    """Extension prefixes (``[Publisher.Type-1.2.3]``) hold no space: ``[HTTP Retry]`` is the message's own, in every
    generation, and the message keeps its attempt numbers."""
    rec = parse_record(line, 1)
    assert rec is not None and rec.msg.startswith("[HTTP Retry] Attempt 2 of 3") and "HTTP Retry" not in rec.prefix
    kind, attrs = AGENT_TABLE.classify(rec.msg)
    assert (kind, attrs["attempt"], attrs["attempt_max"]) == ("wireserver.error", "2", "3")


@pytest.mark.parametrize(("line", "prefix"), [
    ("2017/11/02 03:00:29.408051 INFO [Microsoft.OSTCExtensions.VMAccessForLinux-1.4.7.1] Enable completed",
     "[Microsoft.OSTCExtensions.VMAccessForLinux-1.4.7.1]"),
    ("2015/09/20 14:00:52 [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.0]Enable completed",
     "[Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.0]"),
    ("2021-03-04T05:06:07.123456Z INFO ExtHandler [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0] "
     "Target handler state: enabled", "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0]"),
])
def test_extension_prefixes_of_every_generation_are_still_prefixes(line: str, prefix: str) -> None:
    rec = parse_record(line, 1)
    assert rec is not None and rec.prefix == prefix


def test_g4_extension_prefix_thread_and_incarnation() -> None:
    (e,), _ = parse("2020-10-08T17:10:35.189020Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.1] "
                    "Target handler state: enabled [incarnation 2]\n")
    assert e.kind == "extension.state"
    assert e.component == "Microsoft.CPlat.Core.RunCommandLinux"
    assert {k: e.attrs[k] for k in ("thread", "extension", "version", "state", "incarnation")} == {
        "thread": "ExtHandler", "extension": "Microsoft.CPlat.Core.RunCommandLinux", "version": "1.0.1",
        "state": "enabled", "incarnation": "2"}
    assert e.message == "Target handler state: enabled [incarnation 2]"


def test_interleaved_generations_keep_their_clocks() -> None:
    text = ("2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45\n"
            "2021-03-30T17:35:37.365590Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running"
            " as the goal state agent [DEBUG HeartbeatCounter: 1;HeartbeatId: 3A;DroppedPackets: 0;UpdateGSErrors: 0;"
            "AutoUpdate: 1]\n"
            "2021/03/30 19:35:40.000001 INFO Daemon Python: 3.6.9\n")
    events, ctx = parse(text)
    assert [(e.local, e.kind) for e in events] == [(True, "agent.version"), (False, "agent.heartbeat"), (True, "log")]
    assert events[1].attrs["version"] == "2.9.1.1" and events[1].attrs["UpdateGSErrors"] == "0"
    assert facts(ctx, "agent.daemon_version") == ["2.2.45"]
    assert facts(ctx, "agent.goal_state_version") == ["2.9.1.1"]
    assert facts(ctx, "agent.python_version") == ["3.6.9"]


# --- UTC offset from adjacent local/UTC records -----------------------------------------------------

def test_adjacent_local_and_utc_records_are_counted_as_pairs_per_local_date() -> None:
    text = ("2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45\n"
            "2021-03-30T17:35:36.100000Z INFO ExtHandler ExtHandler WALinuxAgent-2.9.1.1 running as process 1853\n"
            "2021/03/30 19:35:37.000000 INFO Daemon Python: 3.6.9\n"
            "2021-03-30T17:36:40.000000Z INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.16\n")
    _, ctx = parse(text)
    assert [f.value for f in ctx.facts if f.name == "tz.utc_offset_minutes"] == []  # the bundle decides
    (fact,) = [f for f in ctx.facts if f.name == "tz.pairs"]
    assert fact.value["votes"] == [["2021-03-30", 120, 2, 2]] and fact.value["rejected"] == 1  # 63 s: too far


def test_records_far_apart_are_mostly_rejected_pairs() -> None:
    far = ("2021/03/30 19:35:35.971742 INFO Daemon x\n2021-03-30T11:12:00.000000Z INFO ExtHandler ExtHandler y\n"
           "2021/03/30 23:35:35.971742 INFO Daemon x\n2021-03-30T17:05:36.100000Z INFO ExtHandler ExtHandler y\n")
    (fact,) = [f for f in parse(far)[1].facts if f.name == "tz.pairs"]
    # one of them happens to fall on a quarter hour: a single vote, which the bundle never takes alone
    assert fact.value["votes"] == [["2021-03-30", 390, 1, 4]] and fact.value["rejected"] == 2


# --- continuation lines ---------------------------------------------------------------------------

def test_traceback_stdout_stderr_and_empty_continuations_fold() -> None:
    text = ("2023-10-27T08:36:40.000000Z ERROR ExtHandler ExtHandler Error fetching the goal state: [ProtocolError] "
            "[Wireserver Exception] timed out\n"
            "Traceback (most recent call last):\n"
            '  File "bin/WALinuxAgent-2.9.1.1-py3.8.egg/azurelinuxagent/ga/update.py", line 451, in _try_update\n'
            "\n"
            "2024-05-30T13:15:46.000000Z INFO ExtHandler [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0]"
            " Command: main/handle.sh enable\n"
            "[stdout]\n"
            "\n"
            "[stderr]\n"
            "ModuleNotFoundError: No module named 'imp'\n"
            "2022-01-01T00:00:01.000000Z INFO ExtHandler ExtHandler \n")
    events, _ = parse(text)
    assert [e.line for e in events] == [1, 5, 10]
    assert events[0].kind == "wireserver.error"
    assert events[0].message.endswith("in _try_update") and events[0].message.count("\n") == 2
    assert events[1].kind == "extension.load.failed" and events[1].attrs["module"] == "imp"
    assert "[stdout]\n\n[stderr]\n" in events[1].message
    assert events[2].message == "" and events[2].kind == "log"


def test_g0_traceback_prefixed_on_every_line_is_one_record() -> None:
    text = ("2017/04/05 15:19:30 ERROR:Traceback (most recent call last):\n"
            '2017/04/05 15:19:30 ERROR:  File "/usr/sbin/waagent", line 6171, in DoDhcpWork\n'
            "2017/04/05 15:19:30 ERROR:timed out\n"
            "2017/04/05 15:19:30 ERROR:timed out\n")
    events, _ = parse(text)
    assert [e.line for e in events] == [1, 4]
    assert events[0].message.splitlines()[-1] == "timed out"


def test_lines_before_the_first_record_are_kept_undated() -> None:
    events, ctx = parse("  File \"x.py\", line 1\n2018/09/21 00:01:14.649882 INFO Daemon hello\n")
    assert events[0].ts is None and events[0].line == 1
    assert ctx.problems and ctx.problems[0].line == 1


# --- Event payloads, escapes -----------------------------------------------------------------------

@pytest.mark.parametrize(("line", "kind", "attrs"), [
    ("2018/03/05 14:31:57.747218 ERROR Event: name=Microsoft.Azure.RecoveryServices.VMSnapshotLinux, op=None, "
     "message=[ExtensionError] Downgrade not allowed, duration=0", "extension.update.failed",
     {"name": VMS, "op": "None", "event_message": "[ExtensionError] Downgrade not allowed", "duration": 0,
      "is_success": False}),
    ("2018/01/10 10:00:00.000000 ERROR Event: name=Microsoft.Azure.RecoveryServices.VMSnapshotLinux, op=Install, "
     "message=[ExtensionError] Non-zero exit code: 127, main/handle.sh install, duration=0",
     "extension.install.failed", {"op": "install", "exit_code": "127"}),
    ("2017/03/01 10:00:00.000000 ERROR Event: name=WALinuxAgent, op=Restart, message=WALinuxAgent-2.2.2 did not "
     "terminate cleanly, duration=0", "agent.crash", {"name": "WALinuxAgent", "op": "Restart"}),
    ("2018/01/10 10:00:00.000000 INFO Event: name=WALinuxAgent, op=ProcessGoalState, message=Incarnation 33, "
     "duration=2042", "goalstate.fetched", {"incarnation": "33", "duration": 2042, "is_success": True}),
    ("2016/05/01 10:00:00.000000 INFO Event: name=WALA, op=HeartBeat, message=, duration=0", "agent.event",
     {"name": "WALA", "op": "HeartBeat", "event_message": ""}),
])
def test_event_payload(line: str, kind: str, attrs: dict[str, object]) -> None:
    (e,), _ = parse(line + "\n")
    assert e.kind == kind
    assert {k: e.attrs.get(k) for k in attrs} == attrs


def test_backslash_escapes_are_decoded_and_raw_kept() -> None:
    (e,), _ = parse("2024-01-01T00:00:00.000000Z INFO ExtHandler ExtHandler Caf\\u00e9 \\xe9t\\ud800\n")
    assert e.message == "Café ét\ufffd"
    assert e.attrs["raw"] == "Caf\\u00e9 \\xe9t\\ud800"


# --- signatures (linux-formats.md §6) -------------------------------------------------------------

G4 = "2024-01-01T00:00:00.000000Z {level} ExtHandler ExtHandler {msg}\n"


@pytest.mark.parametrize(("msg", "kind", "attrs"), [
    ("Azure Linux Agent Version: 2.9.1.1", "agent.version", {"version": "2.9.1.1", "role": "daemon"}),
    ("Azure Linux Agent (Goal State Agent version 2.9.1.1)", "agent.start", {"version": "2.9.1.1"}),
    ("Installed Agent WALinuxAgent-2.2.20 is the most current agent", "agent.update", {"latest": True}),
    ("******** AutoUpdate.Enabled is set to False, not processing the operation ********", "agent.config",
     {"key": "AutoUpdate.Enabled", "value": "False"}),
    ("Agent WALinuxAgent-2.2.12 is blacklisted - skipping download", "agent.crash", {"version": "2.2.12"}),
    ("Agent WALinuxAgent-2.1.5.6 launched with command 'python3 -u bin/WALinuxAgent-2.1.5.rc6-py2.7.egg "
     "-run-exthandlers' failed with exception: Agent WALinuxAgent-2.1.5.6 restarted more than 3 times in 300 seconds",
     "agent.crash", {"restarts": "3"}),
    ("Monitor thread died, restarting", "agent.crash", {"thread_name": "Monitor"}),
    ("[ExtensionError] Timeout(300): bin/custom-script-shim enable", "extension.enable.failed", {"timeout": "300"}),
    ("Exception retrieving extension handlers: [ProtocolError] /var/lib/waagent/GoalState.11.xml is missing.",
     "extension.load.failed", {"file": "/var/lib/waagent/GoalState.11.xml"}),
    ("Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: [HTTP Failed] [502: Bad Gateway]",
     "wireserver.error", {"endpoint": "hostgaplugin"}),
    ("Extension 'x' will not be processed since extension processing is disabled. To enable extension processing, "
     "set Extensions.Enabled=y in '/etc/waagent.conf'", "agent.config", {"key": "Extensions.Enabled"}),
    ("ProcessExtensionsGoalState failed [incarnation 2 1200 ms]", "extension.processing.failed", {}),
    ("No route exists to 168.63.129.16", "dhcp.error", {"endpoint": "168.63.129.16", "route": "missing"}),
    ("Protocol endpoint not found: WireProtocol, [ProtocolError] [DhcpError] Failed to receive dhcp response.",
     "dhcp.error", {}),
    ("Retry detect protocols: retry=332", "protocol.retry", {"retry": "332"}),
    ("Wire server endpoint:10.16.0.141,10.16.0.142", "wireserver.endpoint", {"endpoint": "10.16.0.141,10.16.0.142"}),
    ("Inner error: [ProtocolError] [Wireserver Exception] [HttpError] [HTTP Failed] GET "
     "http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made", "wireserver.error",
     {"url": "http://168.63.129.16/machine/?comp=goalstate", "method": "GET", "attempts": "6",
      "error": "IOError timed out"}),
    ("[HTTP Retry] Attempt 2 of 3: [HTTP Failed] HTTP GET IOError [Errno 113] No route to host", "wireserver.error",
     {"method": "GET", "attempt": "2", "attempt_max": "3"}),
    ("Fetching the goal state recovered from previous errors. Fetched etag_13848932411473871259",
     "wireserver.recovered", {}),
    ("Exception retrieving extension handlers: [ProtocolError] Exceeded max retry updating goal state",
     "goalstate.stale", {"exhausted": True}),
    ("Exception uploading status blob: [000009] [HTTP Failed] HTTP PUT IOError timed out", "storage.error", {}),
    ("HostGAPlugin: Exception Get API versions: timed out", "wireserver.error", {"endpoint": "hostgaplugin"}),
    ("Disabling resource usage monitoring. Reason: The agent has been throttled for 120 seconds",
     "system.resource_exhaustion", {}),
    ("ProcessGoalState completed [incarnation 2; 4496 ms]", "goalstate.fetched", {"incarnation": "2"}),
    ("Extension status: [('Microsoft.Azure.RecoveryServices.VMSnapshotLinux', 'transitioning')]",
     "extension.status", {"statuses": {VMS: "transitioning"}}),
    ("T:S Enable failed with FailedRetryableSnapshotFailedNoNetwork error "
     "StatusCode.FailedRetryableSnapshotFailedNoNetwork,", "snapshot.status", {"ext_code": 76}),
    ("Checking for agent updates (family: Prod)", "log", {}),
])
def test_signatures_give_kinds(msg: str, kind: str, attrs: dict[str, object]) -> None:
    (e,), _ = parse(G4.format(level="WARNING", msg=msg))
    assert e.kind == kind
    assert {k: e.attrs.get(k) for k in attrs} == attrs


def test_wireserver_error_on_storage_url_is_storage() -> None:
    (e,), _ = parse(G4.format(level="WARNING", msg="[HTTP Failed] PUT https://acct.blob.core.windows.net/vhds/x "
                                                  "-- IOError timed out -- 3 attempts made"))
    assert e.kind == "storage.error" and e.attrs["url"] == "https://acct.blob.core.windows.net/vhds/x"


# --- VMSnapshot facts ------------------------------------------------------------------------------

def test_vmsnapshot_version_and_invocation_with_seq() -> None:
    prefix = f"2024-05-30T13:15:45.331589Z INFO ExtHandler [{VMS}-1.0.9218.0] "
    text = (prefix + "Target handler state: enabled [incarnation 5]\n"
            + prefix + "Update settings file: 17.settings\n"
            + prefix + "Enable extension: [main/handle.sh enable]\n")
    events, ctx = parse(text)
    assert facts(ctx, "vmsnapshot.version") == ["1.0.9218.0"]
    (inv,) = facts(ctx, "vmsnapshot.invocation")
    assert inv == {"ts": "2024-05-30T13:15:45.331589+00:00", "seq": "17", "task_id": None, "source": "waagent_log",
                   "local": False}
    assert events[2].kind == "extension.enable" and events[2].attrs["seq"] == "17"


def test_command_execution_log_is_read_by_the_same_parser() -> None:
    line = (f"2018/03/05 14:31:57.742721 INFO [{VMS}-1.0.9120.0] Target handler state: enabled\n")
    path = f"var/log/azure/{VMS}/CommandExecution.log"
    assert recognize_path(path).parser == "waagent_log"  # type: ignore[union-attr]
    (e,), ctx = parse(line, path)
    assert e.kind == "extension.state" and e.local
    assert facts(ctx, "vmsnapshot.version") == ["1.0.9120.0"]


# --- rotations, hostile input ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["var/log/waagent.log", "var/log/waagent.log.1", "var/log/waagent.log.2.gz",
                                  "var/log/waagent.log-20240105", "var/log/waagent.log-20240105.gz",
                                  "var/log/waagent.log-2024-01-05-1704412800.gz", "./var/log/waagent.log.6",
                                  "truncated__var_log_waagent.log", "truncated__var_log_waagent.log.1"])
def test_rotation_names_are_recognized(name: str) -> None:
    path = normalize_path(name)
    assert path is not None
    rec = recognize_path(path)
    assert rec is not None and (rec.source, rec.parser) == ("waagent_log", "waagent_log")


@pytest.mark.parametrize("data", [
    b"\xff\xfe\x00\x00garbage\x00\n\x00\x00",
    b"2018/09/21 00:01:14.649882 INFO Daemon \xc3\x28 invalid utf8\n\x00\x00\x00\n",
    b"2018/13/45 99:01:14.649882 INFO Daemon bad date\n2024-02-30T00:00:00.000000Z INFO ExtHandler ExtHandler x\n",
    b"2024-01-01T00:00:00.000000Z INFO ExtHandler ExtHandler Event: name=x, op=\n" + b"\x00" * 100,
    bytes(range(256)) * 20,
])
def test_bad_bytes_never_raise(data: bytes) -> None:
    events, _ = parse(data)
    assert all(e.ts is None or e.ts.year > 1900 for e in events)


def test_invalid_date_is_a_problem_not_an_exception() -> None:
    events, ctx = parse("2018/13/45 10:01:14.649882 INFO Daemon bad date\n")
    assert events[0].ts is None
    assert [word(p.message) for p in ctx.problems] == ["invalid timestamp"]


# --- end to end: CLI timeline ------------------------------------------------------------------------

def test_cli_timeline_gives_one_utc_row_per_record(tmp_path: Path) -> None:
    log = tmp_path / "bundle" / "var" / "log"
    log.mkdir(parents=True)
    (log / "waagent.log").write_text(
        "2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45\n"
        "2021-03-30T17:35:36.100000Z INFO ExtHandler ExtHandler WALinuxAgent-2.9.1.1 running as process 1853\n"
        "2021/03/30 19:35:37.000000 INFO Daemon Python: 3.6.9\n"
        "2021-03-30T17:35:37.500000Z INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.16\n"
        "2021/03/30 19:35:38.000000 INFO Daemon Run daemon\n"
        "2021-03-30T17:36:40.000000Z ERROR ExtHandler ExtHandler Error fetching the goal state: boom\n"
        "Traceback (most recent call last):\n"
        "  File \"x.py\", line 1, in <module>\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["timeline", str(tmp_path / "bundle"), "-f", "jsonl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["ts"], r["line"]) for r in rows] == [
        ("2021-03-30T17:35:35.971742Z", 1), ("2021-03-30T17:35:36.100000Z", 2),
        ("2021-03-30T17:35:37.000000Z", 3), ("2021-03-30T17:35:37.500000Z", 4), ("2021-03-30T17:35:38.000000Z", 5),
        ("2021-03-30T17:36:40.000000Z", 6)]
    assert rows[0]["attrs"]["tz"] == "converted"
    assert rows[5]["kind"] == "wireserver.error" and "Traceback" in rows[5]["message"]


G0_ERRORS = ("2015/09/20 14:03:09 ERROR:Socket IOError [Errno 110] Connection timed out, args:(110, 'Connection timed "
             "out')", "2015/09/20 14:03:09 ERROR:Retry=1", "2015/09/20 14:00:52 ERROR:HTTP Err: response is empty.",
             "2015/09/20 14:00:52 WARNING:Retry=2")


@pytest.mark.parametrize("line", G0_ERRORS)
def test_a_paste_of_the_2_0_agents_errors_alone_is_its_log(line: str) -> None:
    """The 2.0 agent glues ``ERROR:`` / ``WARNING:`` to the message (WALinuxAgent#110, #461): such lines alone, with
    no agent word, are its log; another program's ``ERROR: text`` (a space, as Go's log users write it) and the
    extension's Python 2 lines (no level) are not claimed by that rule."""
    assert sniff("notes.txt", f"{line}\n{line}\n".encode())
    other = line.replace("ERROR:", "ERROR: ").replace("WARNING:", "WARNING: ")
    assert not sniff("notes.txt", f"{other}\n".encode())
    assert not sniff("notes.txt", b"2015/09/20 14:03:09 [Some.Extension-1.0]Retry=1\n")


@pytest.mark.parametrize(("url", "kind"), [
    ("https://acct.blob.core.windows.net/$system/vm.status?sr=b&sp=rw", "storage.error"),
    ("http://168.63.129.16/machine?comp=health", "wireserver.error"),
    ("https://example.org/feed", "network.error"),
])
def test_the_2_0_agents_failed_request_is_its_hosts(url: str, kind: str) -> None:
    for method in ("GET", "PUT", "POST"):
        assert AGENT_TABLE.classify(f"HTTP Req: {method} {url}")[0] == kind
