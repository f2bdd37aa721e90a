"""journalctl -o export / -o json: agent records, system markers, receive times and the clock pairs they give."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analyzer.api import analyze, parse_bundle
from analyzer.locale import word
from analyzer.model import Options
from analyzer.sources import recognize_content
from parsers.base import Event, ParseContext
from parsers.linux_agent import journal_export
from tests.parsers.linux_helpers import run_as

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(t: datetime) -> str:
    return str((t - EPOCH) // timedelta(microseconds=1))


def entry(received: datetime, message: str, zone: str = "UTC", ident: str = "python3", pid: int = 1036,
          syslog: bool = True) -> dict[str, str]:
    """One journal entry as journald stores the agent's stdout line (``SYSLOG_TIMESTAMP`` when it came by syslog)."""
    fields = {"__CURSOR": f"s=6f1c;i={int(_us(received)) % 99991:x}", "__REALTIME_TIMESTAMP": _us(received),
              "__MONOTONIC_TIMESTAMP": "93411000", "_BOOT_ID": "9b2b0f3c2f0b4c1e8f1f3e7f4c2a1d00",
              "PRIORITY": "6", "SYSLOG_FACILITY": "3", "SYSLOG_IDENTIFIER": ident, "_PID": str(pid),
              "_COMM": ident, "_HOSTNAME": "ora-db-01", "MESSAGE": message}
    if syslog:
        local = received.astimezone(ZoneInfo(zone))
        fields["SYSLOG_TIMESTAMP"] = f"{local:%b} {local.day:>2} {local:%H:%M:%S} "
    return fields


def export(entries: list[dict[str, str]], binary: tuple[str, ...] = ()) -> bytes:
    out = b""
    for fields in entries:
        for k, v in fields.items():
            data = v.encode()
            if k in binary or "\n" in v:
                out += k.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
            else:
                out += k.encode() + b"=" + data + b"\n"
        out += b"\n"
    return out


def as_json(entries: list[dict[str, str]]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in entries).encode()


def agent_day(zone: str, u: datetime) -> list[dict[str, str]]:
    """A 2.2.45 daemon (G2, local) launching a 2.9.1.1 handler (G4, UTC), as the journal receives both."""
    loc = u.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return [entry(u + timedelta(milliseconds=3), f"{loc:%Y/%m/%d %H:%M:%S.%f} INFO Daemon Azure Linux Agent "
                  "Version:2.2.45", zone, pid=901),
            entry(u + timedelta(seconds=1.002), f"{loc + timedelta(seconds=1):%Y/%m/%d %H:%M:%S.%f} INFO Daemon Agent "
                  "WALinuxAgent-2.9.1.1 launched with command 'python3 -u bin/WALinuxAgent-2.9.1.1-py3.8.egg "
                  "-run-exthandlers'", zone, pid=901),
            entry(u + timedelta(seconds=1.9), f"{u + timedelta(seconds=1.6):%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler "
                  "ExtHandler Wire server endpoint:168.63.129.16", zone, pid=1036)]


def parse(data: bytes, path: str = "journal.export") -> tuple[list[Event], ParseContext]:
    return run_as(data, path)


@pytest.mark.parametrize("form", ["export", "json"])
def test_agent_records_are_copies_and_other_entries_are_dated_by_their_receive_time(form: str) -> None:
    u = datetime(2021, 7, 6, 17, 23, 54, 154891, tzinfo=UTC)
    hung = entry(u + timedelta(minutes=5), "INFO: task jbd2/sda1-8:231 blocked for more than 120 seconds.",
                 ident="kernel", pid=0, syslog=False)
    entries = [*agent_day("UTC", u), hung]
    data = export(entries) if form == "export" else as_json(entries)
    events, ctx = parse(data, f"journal.{form if form == 'json' else 'export'}")
    assert [e.kind for e in events][-1] == "system.hung_task"
    assert events[-1].ts == u + timedelta(minutes=5) and not events[-1].local
    agent = [e for e in events if e.attrs.get("via") == "syslog"]
    assert [(e.local, e.component) for e in agent] == [(True, "Daemon"), (True, "Daemon"), (False, "ExtHandler")]
    assert [f.value for f in ctx.facts if f.name == "wireserver.endpoint"] == ["168.63.129.16"]
    assert [f.value for f in ctx.facts if f.name == "source.also"] == ["waagent_log"]


def test_a_multi_line_message_in_binary_form_is_read() -> None:
    u = datetime(2023, 10, 27, 8, 36, 40, tzinfo=UTC)
    text = ("2023-10-27T08:36:40.000000Z ERROR ExtHandler ExtHandler Error fetching the goal state: [ProtocolError] "
            "timed out\nTraceback (most recent call last):\n  File \"update.py\", line 451, in _try_update")
    events, ctx = parse(export([entry(u, text)], binary=("MESSAGE",)))
    (e,) = events
    assert "Traceback" in e.message and e.ts == u and not ctx.problems


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Chicago", "Asia/Kolkata", "Australia/Eucla",
                                  "America/St_Johns", "Pacific/Chatham"])
@pytest.mark.parametrize("form", ["export", "json"])
def test_receive_times_beside_local_records_give_the_offset(tmp_path: Path, zone: str, form: str) -> None:
    days = [datetime(2024, 2, 1 + k, 6, 17, 3, 250000, tzinfo=UTC) for k in range(3)]
    entries = [e for u in days for e in agent_day(zone, u)]
    root = tmp_path / "bundle"
    root.mkdir()
    (root / f"journal.{form}").write_bytes(export(entries) if form == "export" else as_json(entries))
    analysis, _ = parse_bundle(root, Options(keep_all_events=True))
    daemon = [e for e in analysis.timeline.events() if e.component == "Daemon"]
    assert [e.ts for e in daemon if "launched" in e.message] == [u + timedelta(seconds=1) for u in days]
    assert all(e.attrs["tz"] == "converted" for e in daemon)
    report = analyze(root)
    assert report.extras["tz_source"]["key"] == "tz.inferred"


def test_syslog_timestamps_alone_pair_with_receive_times() -> None:
    u = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    entries = [entry(u + timedelta(minutes=k), f"Started Session {k} of user azureuser.", "Europe/Prague",
                     ident="systemd", pid=1) for k in range(3)]
    _, ctx = parse(export(entries))
    (fact,) = [f for f in ctx.facts if f.name == "tz.pairs"]
    assert fact.value["votes"] == [["2024-07-01", 120, 3, 1]]


def test_damaged_exports_give_problems_not_exceptions() -> None:
    events, ctx = parse(b"__CURSOR=s=1\n__REALTIME_TIMESTAMP=x\nMESSAGE=hello\n\nMESSAGE\n\x05\x00")
    assert [e.ts for e in events] == [None] and ctx.problems
    events, ctx = parse(b'{"__REALTIME_TIMESTAMP": "1", "MESSAGE": [104, 105]}\n{broken\n', "journal.json")
    assert [e.message for e in events] == ["hi"] and ctx.problems


def test_sniff_claims_exports_under_any_name() -> None:
    u = datetime(2021, 7, 6, tzinfo=UTC)
    for data in (export(agent_day("UTC", u)), as_json(agent_day("UTC", u))):
        rec = recognize_content("support/out.txt", data[:4096])
        assert rec is not None and rec.parser == "journal_export"


def test_an_over_long_field_is_cut_and_the_next_entry_still_read() -> None:
    u = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    data = export([entry(u, "x" * 200_000, syslog=False), entry(u + timedelta(seconds=1), "Started Daily apt.",
                                                                 ident="systemd", syslog=False)])
    events, ctx = parse(data)
    assert [len(e.message) < 70_000 for e in events] == [True, True] and events[1].message == "Started Daily apt."
    assert any("truncated" in word(p.message) for p in ctx.problems)


@pytest.mark.parametrize(("value", "text"), [
    ('"1717000000000000"', "1717000000000000"), ("1717000000000000", "1717000000000000"),
    ("123456789012345678901234567890", "123456789012345678901234567890"),  # past 64 bits: an integer, as ever
    ("1.5", "1.5"), ("NaN", "nan"), ('"\\ud800"', "\ud800"), ("[104, 105]", "hi"), ("true", "True"),
])
def test_json_fields_read_as_the_standard_library_reads_them(value: str, text: str) -> None:
    """Entries are decoded by orjson; what only ``json`` reads (NaN, a lone surrogate, an integer past 64 bits, which
    orjson makes a float) is decoded by ``json`` as before: the field's text is the same."""
    line = ('{"__REALTIME_TIMESTAMP": "1717000000000000", "SYSLOG_IDENTIFIER": "systemd", "_PID": VALUE, '
            '"MESSAGE": "Reached target Shutdown.", "X": 1}\n').replace("VALUE", value)
    (e,), ctx = parse(line.encode(), "journal.json")
    assert ctx.problems == [] and e.kind == "system.shutdown"
    assert journal_export._json_entry(line.rstrip())["_PID"] == text  # type: ignore[index]


def test_json_entries_past_the_field_limit_keep_their_first_fields() -> None:
    many = ", ".join(f'"F{i}": {i}' for i in range(journal_export.MAX_FIELDS))
    late = '{"__REALTIME_TIMESTAMP": "1717000000000000", ' + many + ', "MESSAGE": "late"}'
    early = '{"__REALTIME_TIMESTAMP": "1717000000000000", "MESSAGE": "early", ' + many + "}"
    assert "MESSAGE" not in journal_export._json_entry(late)  # type: ignore[operator]
    assert journal_export._json_entry(early)["MESSAGE"] == "early"  # type: ignore[index]
