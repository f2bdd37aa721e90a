"""syslog / journal: header stripping, agent copies identical to waagent.log, years, kernel markers, dedup."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzer.api import parse_bundle
from analyzer.intake.paths import normalize_path
from analyzer.model import Options
from analyzer.sources import recognize_path
from parsers.base import Event, ParseContext
from parsers.linux_agent import syslog
from tests.linux_bundle import collector_oom, java_oom, kernel_line
from tests.parsers.linux_helpers import run_as

AGENT_LINE = "2020-10-08T17:10:33.129375Z INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.16"


def parse(text: str | bytes, path: str = "var/log/syslog") -> tuple[list[Event], ParseContext]:
    return run_as(text.encode() if isinstance(text, str) else text, path)


def waagent(text: str) -> list[Event]:
    return run_as(text.encode(), "var/log/waagent.log")[0]


@pytest.mark.parametrize("header", ["Oct 08 17:10:33 nam-u18 python3[1036]: ", "Oct  8 17:10:33 python3[1036]: ",
                                    "Oct 08 17:10:33 host waagent[7155]: ", "Oct 8 17:10:33 python: ",
                                    "2020-10-08T17:10:33+0000 host python3[20236]: ",
                                    "2020-10-08T17:10:33.129999+00:00 host python3[20236]: "])
def test_agent_copy_matches_the_waagent_parse(header: str) -> None:
    (copy,), ctx = parse(header + AGENT_LINE + "\n")
    (orig,) = waagent(AGENT_LINE + "\n")
    assert (copy.ts, copy.message, copy.kind, copy.level, copy.local) == (
        orig.ts, orig.message, orig.kind, orig.level, orig.local)
    assert copy.attrs["via"] == "syslog" and copy.source == "syslog"
    assert [f.value for f in ctx.facts if f.name == "wireserver.endpoint"] == ["168.63.129.16"]


def test_local_agent_record_behind_a_short_header() -> None:
    # WALinuxAgent#933 as pasted (the seconds of the header are cut short)
    (e,), _ = parse("Nov  2 02:00:2 python: 2017/11/02 03:00:29.408051 INFO Daemon Azure Linux Agent Version:2.2.18\n")
    assert (e.ts, e.local, e.kind) == (datetime(2017, 11, 2, 3, 0, 29, 408051), True, "agent.version")


def test_continuations_fold_across_interleaved_programs() -> None:
    text = ("Oct 08 17:10:33 h python3[1036]: 2020-10-08T17:10:33.000000Z ERROR ExtHandler ExtHandler Error fetching "
            "the goal state: boom\n"
            "Oct 08 17:10:33 h python3[1036]: Traceback (most recent call last):\n"
            "Oct 08 17:10:33 h systemd[1]: Started Session 1 of user azureuser.\n"
            'Oct 08 17:10:33 h python3[1036]:   File "x.py", line 1, in <module>\n')
    events, _ = parse(text)
    agent = next(e for e in events if e.kind == "wireserver.error")
    orig = waagent("2020-10-08T17:10:33.000000Z ERROR ExtHandler ExtHandler Error fetching the goal state: boom\n"
                   "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n")[0]
    assert agent.message == orig.message
    assert [e.component for e in events if e.kind == "log"] == ["systemd"]


def test_year_from_an_embedded_record_also_dates_earlier_lines() -> None:
    text = ("Dec 31 23:59:58 h kernel: [    0.000000] Linux version 5.4.0-1031-azure (buildd@lcy01-amd64-013)\n"
            "Jan  1 00:00:01 h python3[9]: 2021/01/01 00:00:01.000000 INFO Daemon Azure Linux Agent Version:2.2.45\n"
            "Jan  1 00:00:05 h kernel: [    7.000000] Out of memory: Killed process 2867622 (python3) "
            "total-vm:101920kB, anon-rss:14452kB\n")
    events, ctx = parse(text)
    by_kind = {e.kind: e for e in events}
    assert by_kind["system.boot"].ts == datetime(2020, 12, 31, 23, 59, 58)
    assert by_kind["system.boot"].attrs["kernel"] == "5.4.0-1031-azure"
    assert by_kind["system.oom"].ts == datetime(2021, 1, 1, 0, 0, 5) and by_kind["system.oom"].local
    assert by_kind["system.oom"].attrs["process"] == "python3"
    assert ctx.problems == []


def test_year_from_an_iso_date_in_a_line() -> None:
    (e, _), _ = parse("Mar  4 10:00:00 h cloud-init[1]: Cloud-init v. 21.4 finished at 2022-03-04 10:00:00 +0000\n"
                      "Mar  4 10:00:01 h systemd-logind[900]: System is powering down.\n")
    assert e.ts == datetime(2022, 3, 4, 10, 0, 0)


def test_no_year_in_the_file_leaves_the_header_time_for_the_pipeline() -> None:
    events, ctx = parse("Mar  4 10:00:01 h systemd-logind[900]: System is powering down.\n")
    assert events[0].ts is None and events[0].kind == "system.shutdown" and events[0].local
    assert events[0].attrs["syslog_time"] == "--03-04T10:00:01.000000"
    assert ctx.problems == []


@pytest.mark.parametrize(("rest", "kind", "attrs"), [
    ("kernel: [ 1234.567890] INFO: task jbd2/sda1-8:123 blocked for more than 120 seconds.", "system.hung_task",
     {"process": "jbd2/sda1-8", "seconds": "120"}),
    ("kernel: [ 99.1] Memory cgroup out of memory: Killed process 7211 (python3) total-vm:101920kB",
     "system.oom", {"pid": "7211", "process": "python3"}),
    ("systemd[1]: Reached target Shutdown.", "system.shutdown", {"planned": True}),
    ("systemd-logind[900]: System is rebooting.", "system.shutdown", {"planned": True}),
    ("sudo: azureuser : TTY=pts/0 ; PWD=/home/azureuser ; USER=root ; COMMAND=/sbin/shutdown -h now",
     "system.shutdown", {"user": "azureuser", "command": "/sbin/shutdown -h now"}),
    ("systemd[1]: Started Daily apt upgrade and clean activities.", "log", {}),
])
def test_system_markers(rest: str, kind: str, attrs: dict[str, object]) -> None:
    (e,), _ = parse(f"2021-06-01T10:00:00+02:00 vm {rest}\n")
    assert e.kind == kind
    assert e.ts == datetime(2021, 6, 1, 8, 0, tzinfo=UTC)
    assert {k: e.attrs.get(k) for k in attrs} == attrs


def test_dmesg_forms_and_journal_reboot_marker() -> None:
    events, _ = parse("[    0.000000] Linux version 5.15.0-1019-azure (buildd@lcy02-amd64-001)\n"
                      "[Tue Oct  6 10:00:00 2020] INFO: task kworker/0:1:45 blocked for more than 120 seconds.\n"
                      "-- Reboot --\n", "var/log/dmesg")
    assert [e.kind for e in events] == ["system.boot", "system.hung_task", "system.boot"]
    assert events[0].ts is None and events[0].attrs["uptime"] == 0.0
    assert events[1].ts == datetime(2020, 10, 6, 10, 0) and events[1].local


def test_utc_offset_from_headers_beside_utc_records() -> None:
    lines = [f"Oct 08 19:10:{s:02d} h python3[1]: 2020-10-08T17:10:{s:02d}.500000Z INFO ExtHandler ExtHandler x{s}"
             for s in (10, 20, 30)]
    _, ctx = parse("\n".join(lines) + "\n")
    (fact,) = [f for f in ctx.facts if f.name == "tz.pairs"]
    assert fact.value["votes"] == [["2020-10-08", 120, 3, 1]]


@pytest.mark.parametrize("name", ["var/log/syslog", "var/log/syslog.1", "var/log/syslog.2.gz", "var/log/messages",
                                  "var/log/messages-20240105", "var/log/kern.log.1", "var/log/dmesg.0",
                                  "truncated__var_log_syslog.1", "truncated__var_log_messages"])
def test_syslog_names_are_recognized(name: str) -> None:
    rec = recognize_path(normalize_path(name) or "")
    assert rec is not None and rec.parser == "syslog"


@pytest.mark.parametrize("data", [b"Oct 08 17:10:33 \xff\xfe\x00 python3[1]: \x00\x00\n", bytes(range(256)) * 16,
                                  b"Feb 30 25:61:99 h k: x\n2021-13-45T99:00:00+0000 h p[1]: y\n"])
def test_bad_bytes_never_raise(data: bytes) -> None:
    parse(data)


def test_bundle_keeps_one_copy_of_a_record_in_waagent_log_and_syslog(tmp_path: Path) -> None:
    log = tmp_path / "var" / "log"
    log.mkdir(parents=True)
    daemon = "2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45"
    (log / "waagent.log").write_text(f"{daemon}\n{AGENT_LINE}\n")
    (log / "syslog").write_text(f"Mar 30 19:35:35 vm python3[1]: {daemon}\n"
                                f"Oct 08 19:10:33 vm python3[1]: {AGENT_LINE}\n"
                                "Oct 08 19:10:34 vm kernel: [ 5.0] Out of memory: Killed process 1 (python3)\n")
    analysis, _ = parse_bundle(tmp_path, Options(keep_all_events=True))
    try:
        rows = [(e.source, e.message) for e in analysis.timeline.events()]
    finally:
        analysis.timeline.close()
    assert rows.count(("waagent_log", "Azure Linux Agent Version:2.2.45")) == 1
    assert ("syslog", "Azure Linux Agent Version:2.2.45") not in rows
    assert ("syslog", "Wire server endpoint:168.63.129.16") not in rows
    assert any(src == "syslog" and "Out of memory" in msg for src, msg in rows)


@pytest.mark.parametrize("form", ["bsd", "journal", "dmesg"])
@pytest.mark.parametrize("kernel", ["memcg", "task-in", "stats"])
def test_one_oom_report_is_one_oom_and_the_collectors_is_l17(form: str, kernel: str) -> None:
    """The report opens with ``X invoked oom-killer`` and ends with the kill: one event stands for it, the kill;
    inside the log collector's cgroup it is the collector at its own limit."""
    t = datetime(2024, 10, 5, 10, 31, 12)
    events, _ = parse("\n".join(java_oom(t, form) + collector_oom(t, form, kernel)) + "\n")
    kinds = [(e.kind, e.level) for e in events if e.kind != "log"]
    assert kinds == [("system.oom", "error"), ("agent.collector.failed", "info")]
    collector = events[-1].attrs
    assert collector["cgroup"].endswith("azure-walinuxagent-logcollector.slice") and collector["task"] == "python3"
    assert [e.kind for e in events if "invoked oom-killer" in e.message] == ["log", "log"]


def test_an_oom_killer_line_without_its_kill_is_still_an_oom() -> None:
    """``grep oom-killer /var/log/syslog``: only the opening lines."""
    text = "".join(kernel_line(datetime(2024, 10, 5, 10, m), "java invoked oom-killer: gfp_mask=0x140cca, order=0, "
                               "oom_score_adj=0", "journal") + "\n" for m in (1, 2))
    events, _ = parse(text)
    assert [(e.kind, e.attrs.get("process")) for e in events] == [("system.oom", "java")] * 2


def test_header_years_are_the_nearest_to_the_latest_dated_moment() -> None:
    """The year of a header time is the one that puts it nearest the latest dated moment (the first of two as near):
    the shortcut for headers within four months of it gives what trying the three years around gives, on every
    month pair, at month ends, on 29 February and on times no calendar has."""
    rng = random.Random(3)
    reader = syslog._Reader(ParseContext("var/log/syslog", "syslog"))

    def tried(header: tuple[int, int, int, int, int, int]) -> datetime | None:
        ref = reader.ref
        assert ref is not None
        cands = []
        for year in (ref.year - 1, ref.year, ref.year + 1):
            with contextlib.suppress(ValueError):  # no such moment that year
                cands.append(datetime(year, *header[:4], min(header[4], 59), header[5]))
        return min(cands, key=lambda c: abs(c - ref), default=None)

    for _ in range(20_000):
        reader.ref = datetime(rng.choice((2023, 2024)), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                              rng.randint(0, 59), rng.randint(0, 59), rng.choice((0, 999_999)))
        header = (rng.randint(1, 12), rng.choice((1, 15, 28, 29, 30, 31, 32)), rng.choice((0, 12, 23, 24)),
                  rng.choice((0, 59, 60)), rng.choice((0, 30, 59, 60, 99)), rng.choice((0, 500_000)))
        assert reader._dated(header) == tried(header), (reader.ref, header)
