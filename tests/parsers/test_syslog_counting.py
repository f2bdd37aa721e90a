"""syslog and journal exports when the caller only counts: ordinary lines counted per hour, not built as events.

The event path (no ``ctx.counter``: every line an event, the timeline export's path) is the reference. Both paths
feed a real :class:`~analyzer.timeline.Timeline` (with a small cap of notable events per kind and the default one)
and must end the same: kept events, counts per hour and per source, time range, the dropped numbers, the yearless
records and what dated them, facts and problems. Inputs: the sample bundles' system logs, the parser bench's
generator output and generated variations (yearless heads dated by an agent record later in the file, a year
rollover, ISO headers with offsets, dmesg forms, CRLF, agent copies of every generation with continuation lines,
OOM reports over several lines, journal ``-o json`` and ``-o export``); then whole bundles, report for report.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from analyzer.api import analyze
from analyzer.model import Options
from analyzer.report import to_dict
from analyzer.timeline import MAX_NOTABLE, Timeline
from bench import bench_parse_waagent
from parsers import hour_counts
from parsers.base import Event, ParseContext, Parser
from parsers.linux_agent import journal_export, syslog
from tests.conftest import ROOT
from tests.linux_bundle import collector_oom, java_oom, kernel_line
from tests.parsers.linux_helpers import timeline_outcome

LIMITS = (3, MAX_NOTABLE)
MODULES = {"syslog": syslog, "journal_export": journal_export}


def _timeline(data: bytes, source: str, counting: bool, limit: int, path: str = "var/log/syslog") -> dict[str, Any]:
    """What a timeline capped at ``limit`` notable events per kind ends with, and the parser's facts and problems."""
    tl = Timeline(max_notable=limit)
    if counting:
        ctx = ParseContext(path, source, partial(tl.count_ordinary, source), partial(tl.count_span, source))
    else:
        ctx = ParseContext(path, source)
    events = 0
    for e in MODULES[source].parse(io.BytesIO(data), ctx):
        tl.add(e)
        events += 1
    tl.finalize(None)
    return {**timeline_outcome(tl, ctx), "yearless": dict(tl.yearless), "year_ref": tl.year_ref,
            "records": events + ctx.counted, "events": events}


def assert_same(data: bytes, source: str = "syslog", counted: bool = True) -> None:
    """Both paths end the same; with ``counted``, the counting path counted some lines instead of yielding them
    (without, it yielded every one)."""
    for limit in LIMITS:
        want = _timeline(data, source, False, limit)
        have = _timeline(data, source, True, limit)
        for name in want:
            if name != "events":
                assert have[name] == want[name], f"{name} differ (cap {limit})"
        assert have["records"] == want["events"]
        assert have["events"] < want["events"] if counted else have["events"] == want["events"]


# --- inputs --------------------------------------------------------------------------------------------------

def test_sample_system_logs() -> None:
    paths = sorted(p for p in (ROOT / "samples").rglob("*") if p.is_file() and p.name in ("syslog", "kern.log"))
    assert len(paths) >= 2
    for path in paths:
        assert_same(path.read_bytes(), counted=False)  # every line of these is notable or undated


@pytest.mark.parametrize("journal", [False, True])
def test_parser_benchmark_input(tmp_path: Path, journal: bool) -> None:
    gz = tmp_path / "system.log.gz"
    bench_parse_waagent.generate_system(gz, 300_000, journal)
    assert_same(gzip.decompress(gz.read_bytes()), "journal_export" if journal else "syslog")


_PROGRAMS = ("systemd[1]", "CRON[{n}]", "sshd[{n}]", "rsyslogd", "systemd-networkd[611]", "dbus-daemon[702]")
_ORDINARY = ("Started Session {n} of user azureuser.", "(root) CMD (command -v debian-sa1 > /dev/null)",
             "Accepted publickey for azureuser from 10.0.0.4 port {n} ssh2", "eth0: Gained carrier",
             "action 'action-8-builtin:omfile' resumed (module 'builtin:omfile')")
_MARKERS = (("systemd-logind[900]", "System is powering down."), ("systemd[1]", "Reached target Shutdown."),
            ("systemd[1]", "Started Azure Linux Agent."), ("systemd[1]", "Stopped Azure Linux Agent."),
            ("kernel", "[ 1234.567890] INFO: task jbd2/sda1-8:123 blocked for more than 120 seconds."),
            ("kernel", "[    0.000000] Linux version 5.15.0-1064-azure (buildd@lcy02-amd64-023) (gcc 11.4.0)"),
            ("cloud-init[1]", "Cloud-init v. 21.4 finished at {iso} +0000"))
#: the agent's records (message, level): ordinary ones, notable ones, ones giving facts
_AGENT = (("ProcessExtensionsGoalState completed [incarnation_{n} 98 ms]", "INFO"),
          ("[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0] Target handler state: enabled", "INFO"),
          ("Configure routes", "INFO"), ("Wire server endpoint:168.63.129.16", "INFO"),
          ("Error fetching the goal state: boom {n}", "ERROR"), ("Agent WALinuxAgent-2.9.1.1 is running as the goal "
                                                                 "state agent", "INFO"),
          ("Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: [HTTP Failed] [400: Bad Request]",
           "WARNING"), ("Checking for agent updates (family: Prod)", "VERBOSE"))


def _header(t: datetime, style: str, program: str) -> str:
    if style == "bsd":
        return f"{t:%b} {t.day:2d} {t:%H:%M:%S} vm {program}: "
    if style == "bsd-frac":
        return f"{t:%b} {t.day:02d} {t:%H:%M:%S.%f} {program}: "
    if style == "iso":  # journalctl -o short-iso, offsets of several zones, with and without a colon
        zone = random.Random(t.toordinal()).choice(("+0000", "+02:00", "-0530", "Z", "+00:00", ""))
        return f"{t:%Y-%m-%dT%H:%M:%S}{zone} vm {program}: "
    return f"{t:%Y-%m-%dT%H:%M:%S.%f}+01:00 vm {program}: "


def syslog_text(seed: int, count: int = 2500, start: datetime = datetime(2024, 5, 1, 8), year_after: int = 0,
                styles: tuple[str, ...] = ("bsd",), step_ms: int = 9000) -> str:
    """A syslog of ``count`` lines: system lines of several programs, markers, OOM reports, dmesg forms, blank
    lines and the agent's stdout copies (G4 UTC, G2 local, continuation lines, interleaved programs); no line
    that shows a year before line ``year_after``."""
    rng = random.Random(seed)
    t = start
    out: list[str] = []
    while len(out) < count:
        t += timedelta(milliseconds=rng.randrange(1, step_ms))
        style = rng.choice(styles)
        n = rng.randrange(99999)
        r = rng.random()
        dated_ok = len(out) >= year_after
        if r < 0.3 and dated_ok:
            msg, level = rng.choice(_AGENT)
            msg = msg.format(n=n)
            if rng.random() < 0.15:  # G2: the daemon, local time, two hours ahead
                rec = f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S.%f} {level} Daemon {msg}"
            else:
                rec = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z {level} ExtHandler ExtHandler {msg}"
            out.append(_header(t, style, "python3[1036]") + rec)
            if rng.random() < 0.1:  # a traceback, a line of another program inside it
                out.append(_header(t, style, "python3[1036]") + "Traceback (most recent call last):")
                if rng.random() < 0.5:
                    out.append(_header(t, style, "systemd[1]") + f"Started Session {n} of user azureuser.")
                out.append(_header(t, style, "python3[1036]") + '  File "x.py", line 1, in <module>')
        elif r < 0.33:
            form = "journal" if style.startswith("iso") else "bsd"
            oom = rng.choice((java_oom(t, form), collector_oom(t, form, rng.choice(("memcg", "task-in", "stats")))))
            filler = [kernel_line(t, f"[{k}] {n + k:>7} {1000 + k:>8} python3", form) for k in range(rng.randrange(3))]
            out += [oom[0], *filler, *oom[1:]]
        elif r < 0.36:
            program, msg = rng.choice(_MARKERS)
            if "{iso}" in msg and not dated_ok:
                continue
            out.append(_header(t, style, program) + msg.format(iso=f"{t:%Y-%m-%d %H:%M:%S}"))
        elif r < 0.37:
            out.append(rng.choice(("", "-- Reboot --", f"[{n}.123456] hv_balloon: Max. dynamic memory size: 8192 MB",
                                   f"[{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y}] eth0: link up" if dated_ok else "")))
        else:
            out.append(_header(t, style, rng.choice(_PROGRAMS).format(n=n)) + rng.choice(_ORDINARY).format(n=n))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bsd_headers_with_agent_copies_and_oom_reports(seed: int) -> None:
    assert_same(syslog_text(seed).encode())


@pytest.mark.parametrize("seed", [4, 5])
def test_iso_headers_with_offsets(seed: int) -> None:
    assert_same(syslog_text(seed, styles=("iso", "iso-frac")).encode())


def test_mixed_header_forms_and_crlf() -> None:
    text = syslog_text(6, styles=("bsd", "bsd-frac", "iso", "iso-frac"))
    assert_same(text.replace("\n", "\r\n").encode())


@pytest.mark.parametrize("year_after", [400, 2400])
def test_a_yearless_head_is_dated_by_an_agent_record_later_in_the_file(year_after: int,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines wait for a year (up to ``_MAX_WAITING``, set low here so that the wait also overflows): counted with
    the year they get, exactly as their events are dated; those that never get one stay events."""
    monkeypatch.setattr(syslog, "_MAX_WAITING", 300)
    assert_same(syslog_text(7, count=3000, year_after=year_after).encode())


def test_a_file_without_any_year() -> None:
    assert_same(syslog_text(8, count=1500, year_after=10**6).encode(), counted=False)


@pytest.mark.parametrize("seed", [9, 10])
def test_a_year_rollover(seed: int) -> None:
    text = syslog_text(seed, count=3000, start=datetime(2023, 12, 31, 22, 30), step_ms=5000)
    assert "Dec 31 23:5" in text and "Jan  1 00:" in text
    assert_same(text.encode())


@pytest.mark.parametrize("form", ["bsd", "journal", "dmesg"])
@pytest.mark.parametrize("between", [5, 450])
def test_ordinary_lines_inside_an_oom_report_count_towards_its_length(form: str, between: int) -> None:
    """An opening line waits for its kill for at most ``_OOM_REPORT_LINES`` lines, counted ones among them: a kill
    further on is an OOM of its own and the opening one too."""
    t = datetime(2024, 10, 5, 10, 31, 12)
    opening, *rest = java_oom(t, form)
    filler = [kernel_line(t + timedelta(seconds=k), f"[{k}] {k:>7} {1000 + k:>8} python3", form)
              for k in range(between)]
    anchor = f"{t:%b} {t.day:2d} {t:%H:%M:%S} vm python3[9]: {t:%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler ExtHandler x"
    data = "\n".join([anchor, opening, *filler, *rest]).encode() + b"\n"
    assert_same(data)
    events = _timeline(data, "syslog", True, MAX_NOTABLE)
    assert [k[4] for k in events["kept"] if k[4] != "log"] == ["system.oom"] * (1 if between < 400 else 2)


def test_undated_agent_records_stay_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent copy whose own time is no date (month 13) is not counted: the member's row says the same."""
    text = "".join(f"Oct 08 17:10:{s:02d} vm python3[1]: 2024-13-45T10:00:{s:02d}.000000Z INFO ExtHandler ExtHandler "
                   "Configure routes\n" for s in range(30))
    assert_same(text.encode(), counted=False)
    (tmp_path / "var" / "log").mkdir(parents=True)
    (tmp_path / "var" / "log" / "syslog").write_text(text)
    assert _report(tmp_path, monkeypatch, True) == _report(tmp_path, monkeypatch, False)


def test_many_hours_are_handed_on_in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hour_counts, "SPILL_HOURS", 5)
    assert_same(syslog_text(11, count=2000, step_ms=4 * 3_600_000).encode())


def _journal_entries(seed: int, count: int = 1500) -> list[dict[str, str]]:
    rng = random.Random(seed)
    t = datetime(2024, 3, 1, 6, tzinfo=UTC)
    out: list[dict[str, str]] = []
    for _ in range(count):
        t += timedelta(milliseconds=rng.randrange(1, 20000))
        n = rng.randrange(99999)
        us = str((t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))
        local = t + timedelta(hours=2)
        fields = {"__REALTIME_TIMESTAMP": us, "SYSLOG_TIMESTAMP": f"{local:%b} {local.day:2d} {local:%H:%M:%S} "}
        r = rng.random()
        if r < 0.3:
            msg, level = rng.choice(_AGENT)
            msg = msg.format(n=n)
            if rng.random() < 0.2:
                msg = f"{local:%Y/%m/%d %H:%M:%S.%f} {level} Daemon {msg}"
            else:
                msg = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z {level} ExtHandler ExtHandler {msg}"
            if rng.random() < 0.1:
                msg += "\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>"
            fields |= {"SYSLOG_IDENTIFIER": "python3", "_PID": "1036", "MESSAGE": msg}
        elif r < 0.34:
            program, msg = rng.choice(_MARKERS)
            name, _, pid = program.rstrip("]").partition("[")
            fields |= {"SYSLOG_IDENTIFIER": name, "_PID": pid, "MESSAGE": msg.format(iso=f"{t:%Y-%m-%d %H:%M:%S}")}
        elif r < 0.36:  # a continuation the agent wrote as an entry of its own, an empty message
            fields |= {"SYSLOG_IDENTIFIER": "python3", "_PID": "1036", "MESSAGE": rng.choice(("  more", ""))}
        else:
            name, _, pid = rng.choice(_PROGRAMS).format(n=n).rstrip("]").partition("[")
            fields |= {"SYSLOG_IDENTIFIER": name, "_PID": pid, "MESSAGE": rng.choice(_ORDINARY).format(n=n)}
        if rng.random() < 0.01:
            fields.pop("__REALTIME_TIMESTAMP")
        out.append(fields)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_journal_json(seed: int) -> None:
    entries = [e for e in _journal_entries(seed) if "__REALTIME_TIMESTAMP" in e]
    assert_same("".join(json.dumps(e) + "\n" for e in entries).encode(), "journal_export")


@pytest.mark.parametrize("seed", [3, 4])
def test_journal_export(seed: int) -> None:
    data = b""
    for fields in _journal_entries(seed):
        for k, v in fields.items():
            if "\n" in v:
                raw = v.encode()
                data += k.encode() + b"\n" + len(raw).to_bytes(8, "little") + raw + b"\n"
            else:
                data += f"{k}={v}\n".encode()
        data += b"\n"
    assert_same(b"__CURSOR=s=1\n" + data, "journal_export")


# --- whole bundles -----------------------------------------------------------------------------------------

def _events_only(module: Any) -> Parser:
    """``module``'s parser as the timeline export runs it: every record an event."""
    def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
        ctx.counter = ctx.span_counter = None
        yield from module.parse(stream, ctx)
    return Parser(module.PARSER.name, parse, module.PARSER.sniff, module.PARSER.description)


def _report(path: Path, monkeypatch: pytest.MonkeyPatch, counting: bool) -> dict[str, Any]:
    with monkeypatch.context() as m:
        if not counting:
            for module in MODULES.values():
                m.setattr(module, "PARSER", _events_only(module))
        report = analyze(path, Options())
    return {**to_dict(report), "extras": {k: v for k, v in report.extras.items() if k != "seconds"}}


def _bundle(root: Path) -> Path:
    """waagent.log beside a syslog holding copies of its records, a kern.log without a year, a journal export."""
    text = syslog_text(21, count=3000, start=datetime(2024, 6, 9, 20))
    log = root / "var" / "log"
    log.mkdir(parents=True)
    agent = [line.split("python3[1036]: ", 1)[1] for line in text.splitlines() if "python3[1036]: 2024-" in line]
    (log / "waagent.log").write_text("\n".join(agent) + "\n")
    (log / "syslog").write_text(text)
    (log / "kern.log").write_text(syslog_text(22, count=500, year_after=10**6))
    (log / "journal.json").write_text("".join(json.dumps(e) + "\n" for e in _journal_entries(23)
                                              if "__REALTIME_TIMESTAMP" in e))
    return root


def test_bundles_give_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = [_bundle(tmp_path / "generated"),
               *sorted(p for p in (ROOT / "samples").iterdir() if p.name.startswith("linux-"))]
    for bundle in bundles:
        assert _report(bundle, monkeypatch, True) == _report(bundle, monkeypatch, False), bundle.name
