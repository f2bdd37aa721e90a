"""Unexplained errors (analyzer.unexplained): which records are candidates, what explains them, the ranking,
the records beyond the timeline's cap, and the verdict rule (only sign and live -> inconclusive, never healthy;
recovered -> listed for context; another extension's records -> unrelated)."""

from __future__ import annotations

from itertools import count

from analyzer.detectors import run_detectors
from analyzer.detectors.scope import Scope
from analyzer.diagnosis import diagnose
from analyzer.model import Analysis, Options, SourceEntry, UnexplainedError, Verdict
from analyzer.report.wording import Wording
from analyzer.timeline import Timeline
from analyzer.unexplained import find_unexplained
from parsers.base import Event
from tests.detectors.helpers import analysis, attempt, ev, success

CUSTOM_SCRIPT = ("Event: name=Microsoft.Azure.Extensions.CustomScript, op=Install, message=[ExtensionError] "
                 "Non-zero exit code: {n}, bin/custom-script-shim install, duration=0")
# an agent error that no detector knows and that names no extension
AGENT_ERROR = "Unable to rotate the telemetry event files: index {n} out of range, duration=0"
WS = "Error fetching the goal state: [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- timed out"
DAY = 24 * 60
_lines = count(100)


def line_ev(minutes: float, kind: str, message: str, level: str = "info", **kw: object) -> Event:
    """An event with a line of its own (records are told apart by path and line)."""
    return ev(minutes, kind, message, level, line=next(_lines), **kw)  # type: ignore[arg-type]


def healthy_runs(days: int = 3) -> list[Event]:
    """A successful backup at 02:00 every day up to today's (minute 0)."""
    out: list[Event] = []
    for d in range(days - 1, -1, -1):
        out += [attempt(-d * DAY, line=next(_lines)), success(-d * DAY + 5)]
    return out


def judge(a: Analysis) -> tuple[Verdict, list[UnexplainedError]]:
    scope = Scope.of(a)
    findings, missing = run_detectors(a, scope=scope)
    found = find_unexplained(a, scope, findings)
    return diagnose(findings, missing, a, found), found


def test_an_error_no_finding_explains_makes_a_healthy_vm_inconclusive() -> None:
    """After the last successful backup, nothing followed it: live."""
    verdict, found = judge(analysis([*healthy_runs(), line_ev(30, "log", AGENT_ERROR.format(n=1), "error")]))
    assert verdict.status == "inconclusive" and verdict.root_cause is None
    assert [m.key for m in verdict.summary] == ["verdict.unexplained", "verdict.unexplained_next"]
    (u,) = found
    assert u.template == AGENT_ERROR.format(n="<num>").replace("duration=0", "duration=<num>")
    assert (u.count, u.level, u.minutes_to_backup, u.live_records) == (1, "error", 25, 1)
    assert u.example.text == AGENT_ERROR.format(n=1) and u.example.ts == "2024-06-10T02:30:00.000000Z"
    text = Wording("en").summary(verdict)
    assert "no finding explains 1 warning or error record" in text and "1 template" in text
    assert "nevysvětluje 1 záznam" in Wording("cs").summary(verdict)


def test_the_same_template_counts_every_record() -> None:
    events = [line_ev(10 + 7 * i, "log", AGENT_ERROR.format(n=i), "error") for i in range(12)]
    verdict, found = judge(analysis([*healthy_runs(), *events]))
    (u,) = found
    assert (u.count, u.first, u.last) == (12, "2024-06-10T02:10:00.000000Z", "2024-06-10T03:27:00.000000Z")
    assert "12 warning or error records" in Wording("en").summary(verdict)
    assert "12 záznamů" in Wording("cs").summary(verdict)


def test_records_a_finding_matched_are_explained_at_any_severity() -> None:
    recovered = [line_ev(-50, "wireserver.error", WS, "error"), line_ev(-45, "wireserver.recovered",
                                                                       "recovered from previous errors")]
    verdict, found = judge(analysis([*recovered, *healthy_runs()]))
    assert found == [] and verdict.status == "healthy"  # WIRESERVER_UNREACHABLE at info explains it


def test_routine_unrelated_state_and_old_records_are_not_candidates() -> None:
    events = [
        line_ev(-20, "log", "Dropped events for Extension: X; Details:", "warning", routine=True),
        line_ev(-21, "windows.event", "The Spooler service terminated", "error", source="evtx", path="System.evtx",
                unrelated=True),
        line_ev(-22, "extension.status", "CustomScript status error", "error", source="extension_state",
                path="status/0.status"),
        line_ev(-10 * DAY, "log", CUSTOM_SCRIPT.format(n=2), "error"),  # long before the window
        line_ev(-23, "log", "Starting the extension", "info"),
    ]
    verdict, found = judge(analysis([*events, *healthy_runs()]))
    assert found == [] and verdict.status == "healthy"


def test_a_transient_warning_of_a_run_that_succeeded_is_explained() -> None:
    missing = line_ev(1, "extension.status", r"Status file C:\Packages\Plugins\...\12.status is not available yet",
                      "warning", extension="Microsoft.Azure.RecoveryServices.VMSnapshot", status="missing", seq=12)
    verdict, found = judge(analysis([*healthy_runs(), missing]))
    assert found == [] and verdict.status == "healthy"


def test_nearest_to_the_failing_backup_first_then_by_count() -> None:
    far = [line_ev(-20 * 60 + i, "log", f"Alpha failure number {i} in the cgroup", "warning") for i in range(30)]
    three_hours = [line_ev(-180 + i, "log", f"Gamma failure {i} reading the disk", "error") for i in range(5)]
    near = [line_ev(-30 + i, "log", f"Delta failure {i} in the socket", "warning") for i in range(10)]
    after = [line_ev(5, "log", "Beta failure 1 sending status", "error")]
    failing = [attempt(-DAY, line=next(_lines)), success(-DAY + 5), attempt(0, line=next(_lines))]
    _, found = judge(analysis([*far, *three_hours, *near, *after, *failing]))
    assert [(u.template.split()[0], u.count, u.minutes_to_backup) for u in found] == [
        ("Delta", 10, -21), ("Beta", 1, 5), ("Gamma", 5, -176), ("Alpha", 30, -1171)]


def test_without_a_backup_run_the_distance_is_not_claimed() -> None:
    _, found = judge(analysis([line_ev(-5, "log", "Something odd happened 3 times", "warning"),
                               line_ev(0, "agent.heartbeat", "[HEARTBEAT]")]))
    (u,) = found
    assert u.minutes_to_backup is None


def _capped(events: list[Event], max_notable: int) -> Analysis:
    tl = Timeline(max_notable=max_notable)
    for e in events:
        tl.add(e)
    tl.finalize(None)
    return Analysis([], tl, [SourceEntry("var/log/waagent.log", "waagent_log", "parsed", len(events))],
                    {"waagent_log": ["var/log/waagent.log"], "agent_log": ["var/log/waagent.log"]}, [], "linux",
                    "linux-flat", Options())


def test_records_beyond_the_timeline_cap_still_count() -> None:
    flood = [line_ev(-600 + 2 * i, "log", AGENT_ERROR.format(n=i), "error") for i in range(500)]
    a = _capped([*healthy_runs(), *flood], max_notable=20)
    assert sum(n for _, _, n, _ in a.timeline.dropped()) == 480
    verdict, found = judge(a)
    (u,) = found
    assert (u.count, u.first, u.last) == (500, "2024-06-09T16:00:00.000000Z", "2024-06-10T08:38:00.000000Z")
    assert verdict.status == "inconclusive" and u.live_records == 20 + 480  # the newest ones run past the backup
    # the same flood, all before today's successful backup: recovered, listed, the VM stays healthy
    early = _capped([*healthy_runs(), *(line_ev(-600 + i, "log", AGENT_ERROR.format(n=i), "error")
                                       for i in range(500))], max_notable=20)
    verdict, found = judge(early)
    (u,) = found
    assert (u.count, u.live_records, verdict.status) == (500, 0, "healthy")


def test_records_beyond_the_cap_are_explained_like_their_template() -> None:
    flood = [line_ev(-600 + i, "wireserver.error", WS.replace("timed out", f"timed out after {i} s"), "error")
             for i in range(500)]
    a = _capped([*flood, line_ev(-90, "wireserver.recovered", "recovered from previous errors"), *healthy_runs()],
                max_notable=20)
    verdict, found = judge(a)
    assert found == [] and verdict.status == "healthy"


def test_with_a_problem_the_verdict_stays_and_mentions_them() -> None:
    events = [attempt(0, line=next(_lines)), line_ev(1, "dhcp.error", "[DhcpError] Failed to receive dhcp response",
                                                     "error"),
              line_ev(2, "log", AGENT_ERROR.format(n=3), "error"), line_ev(90, "agent.heartbeat", "[HEARTBEAT]")]
    verdict, found = judge(analysis(events))
    assert verdict.status == "problems_found" and verdict.root_cause == "DHCP_FAILURE" and len(found) == 1
    assert verdict.summary[-1].key == "verdict.also_unexplained"
    assert "Also 1 template of warnings or errors (1 record)" in Wording("en").summary(verdict)


def test_without_an_agent_log_the_reason_comes_first() -> None:
    events = [line_ev(-5, "log", AGENT_ERROR.format(n=4), "error", source="vmsnapshot_log", path="extension.log")]
    verdict, found = judge(analysis(events, present=("vmsnapshot_log",)))
    assert verdict.status == "inconclusive" and len(found) == 1
    assert [m.key for m in verdict.summary] == ["verdict.inconclusive", "verdict.also_unexplained"]


def test_no_candidate_no_change() -> None:
    verdict, found = judge(analysis(healthy_runs()))
    assert found == [] and verdict.status == "healthy"


def test_cost_is_linear_and_memory_bounded_on_distinct_messages() -> None:
    words = ["alpha", "beta", "gamma", "delta", "kappa", "sigma"]
    events = [line_ev(-300 + i / 100, "log", " ".join(f"{words[(i >> k) % 6]}{words[(i * 7 >> k) % 6]}"
                                                       for k in range(3 + i % 7)), "warning") for i in range(20_000)]
    _, found = judge(analysis([*events, *healthy_runs()]))
    assert 1 < len(found) <= 201  # bounded by the template limit and the catch-all
    assert sum(u.count for u in found) == 20_000


# --- the policy: live like a finding's evidence; another extension's records are unrelated --------------------

#: records of other extensions as the agents write them (Linux G2-G4, Windows format A/B messages), each with its
#: extension attribute when the parser sets one
OTHER_EXTENSIONS = [
    (CUSTOM_SCRIPT.format(n=1), ""),
    ("Event: name=Microsoft.EnterpriseCloud.Monitoring.OmsAgentForLinux, op=Enable, message=[ExtensionOperationError]"
     " Non-zero exit code: 52, omsagent_shim.sh -enable, duration=1203", ""),
    ("[ExtensionStatusError] Status file /var/lib/waagent/Microsoft.EnterpriseCloud.Monitoring.OmsAgentForLinux-"
     "1.14.9/status/4.status does not exist", ""),
    ("[ExtensionError] Non-zero exit code: 1, /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/"
     "run-command-shim enable", "Microsoft.CPlat.Core.RunCommandLinux"),
    ("Handler status for extension failed: exit code 1", "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent"),
    ("Plugin Microsoft.EnterpriseCloud.Monitoring.MicrosoftMonitoringAgent_1.0.18067.0 enable command failed with "
     "exit code 3", ""),
    ("Failed to download plugin 'Microsoft.Compute.CustomScriptExtension' from all the locations", ""),
    (r"Status file C:\Packages\Plugins\Microsoft.Compute.BGInfo\2.1\Status\0.status is not available yet.", ""),
    ("CustomScriptExtension: script exited with code 1", ""),
]


def test_another_extensions_errors_are_unrelated_to_the_backup() -> None:
    for minutes in (-30, 30):  # before today's good backup, and live after it
        events = [line_ev(minutes + i, "log", text, "error", **({"extension": ext} if ext else {}))
                  for i, (text, ext) in enumerate(OTHER_EXTENSIONS)]
        events += [line_ev(minutes + 20, "log", text, "warning", source="wa_app_agent_log", path="WaAppAgent.log")
                   for text, ext in OTHER_EXTENSIONS if not ext]
        verdict, found = judge(analysis([*healthy_runs(), *events]))
        assert found == [] and verdict.status == "healthy", [u.template for u in found]


def test_a_record_naming_the_backup_extension_stays_a_candidate() -> None:
    """Naming another extension too does not make a record about the backup unrelated."""
    both = ("All extensions: [(Microsoft.Azure.Extensions.CustomScript, success), "
            "(Microsoft.Azure.RecoveryServices.VMSnapshotLinux, error 7)]")
    windows = (r"Plugin Microsoft.Azure.RecoveryServices.VMSnapshot_1.0.92.0 could not be loaded: "
               r"C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot\1.0.92.0\x.dll")
    for text in (both, windows, AGENT_ERROR.format(n=9)):
        _, found = judge(analysis([*healthy_runs(), line_ev(30, "log", text, "error")]))
        assert len(found) == 1, text


def test_unexplained_errors_a_successful_backup_followed_are_context_only() -> None:
    """Mirrors a finding that recovered: listed, 0 live records, the verdict stays healthy and says why."""
    events = [line_ev(-DAY + 60 + i, "log", AGENT_ERROR.format(n=i), "error") for i in range(4)]  # between two runs
    verdict, found = judge(analysis([*healthy_runs(), *events]))
    (u,) = found
    assert (u.count, u.live_records, u.live) == (4, 0, False)
    assert verdict.status == "healthy"
    assert [m.key for m in verdict.summary] == ["verdict.healthy", "verdict.recovered_unexplained"]
    assert "followed by a successful backup" in Wording("en").summary(verdict)
    assert "následovala úspěšná záloha" in Wording("cs").summary(verdict)
    # one more record of the same template after the last good backup makes the template live again
    verdict, found = judge(analysis([*healthy_runs(), *events, line_ev(40, "log", AGENT_ERROR.format(n=7), "error")]))
    (u,) = found
    assert (u.count, u.live_records, verdict.status) == (5, 1, "inconclusive")


def test_errors_inside_a_failing_run_with_no_later_success_are_live() -> None:
    failing = [attempt(-DAY, line=next(_lines)), success(-DAY + 5), attempt(0, line=next(_lines)),
               line_ev(2, "log", AGENT_ERROR.format(n=1), "error")]
    _, found = judge(analysis(failing))
    (u,) = found
    assert u.live and u.minutes_to_backup == 2


def test_without_any_backup_run_another_extensions_error_stays_the_lead() -> None:
    """A paste of the agent's log around another extension's failure: nothing to judge the backup by."""
    events = [line_ev(i, "log", text, "error") for i, (text, ext) in enumerate(OTHER_EXTENSIONS[:3])]
    verdict, found = judge(analysis([*events, line_ev(30, "agent.heartbeat", "[HEARTBEAT]")]))
    assert len(found) == 3 and verdict.status == "inconclusive"


def _failed_status(minutes: float) -> Event:
    """The extension's status file (a state file, level info): the run failed with a code no detector knows."""
    return line_ev(minutes, "extension.status", "Microsoft.Azure.RecoveryServices.VMSnapshotLinux Enable status "
                   "error code 99: something new", source="extension_state", path=f"status/{minutes}.status",
                   extension="Microsoft.Azure.RecoveryServices.VMSnapshotLinux", status="error", code=99)


def test_the_end_of_a_failed_newest_run_is_a_lead_whatever_its_level() -> None:
    verdict, found = judge(analysis([attempt(-DAY, line=next(_lines)), success(-DAY + 5),
                                     attempt(0, line=next(_lines)), _failed_status(3)]))
    assert verdict.status == "inconclusive"
    (u,) = found
    assert (u.level, u.count, u.live) == ("error", 1, True) and "something new" in u.example.text
    # an earlier failed run that a successful one followed is no lead
    verdict, found = judge(analysis([attempt(-DAY, line=next(_lines)), _failed_status(-DAY + 3),
                                     attempt(0, line=next(_lines)), success(5)]))
    assert found == [] and verdict.status == "healthy"
