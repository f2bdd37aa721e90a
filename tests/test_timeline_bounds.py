"""Bounded analysis: notable events capped per (source, kind), ordinary records counted without events."""

from __future__ import annotations

import dataclasses
import io
import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from analyzer.timeline import Timeline
from parsers.base import GENERIC_KIND, Event, ParseContext, hour_of, wall_clock
from parsers.linux_agent.waagent_log import parse

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

VMS = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0]"
LOG = f"""\
2024/05/01 12:00:00.000001 INFO Daemon Azure Linux Agent Version:2.2.45
2024-05-01T10:00:01.000000Z INFO ExtHandler ExtHandler Stopped tracking cgroup walinuxagent.extension
2024-05-01T10:00:02.000000Z INFO ExtHandler ExtHandler Checking for agent updates (family: Prod)
2024-05-01T10:00:03.000000Z WARNING ExtHandler ExtHandler Fetch failed from [http://168.63.129.16/x]: [HTTP Failed]
2024-05-01T10:00:04.000000Z INFO ExtHandler {VMS} Update settings file: 12.settings
2024-05-01T10:00:05.000000Z INFO ExtHandler {VMS} Enable extension: [main/handle.sh enable]
2024/05/01 12:00:06.000001 VERBOSE Daemon Python: 3.6.9
2024-05-01T10:00:07.000000Z INFO ExtHandler ExtHandler an ordinary line
  with a continuation
"""


def _ev(minutes: int, kind: str = "wireserver.error", level: str = "warning", line: int = 1) -> Event:
    return Event(T0 + timedelta(minutes=minutes), "waagent_log", "var/log/waagent.log", line, level, "", kind,
                 f"record {minutes}")


def test_counted_records_are_exactly_the_ordinary_ones() -> None:
    full_ctx = ParseContext("var/log/waagent.log", "waagent_log")
    full = list(parse(_stream(LOG), full_ctx))
    seen: list[tuple[datetime | None, bool]] = []
    ctx = ParseContext("var/log/waagent.log", "waagent_log", lambda ts, local: seen.append((ts, local)))
    kept = list(parse(_stream(LOG), ctx))
    assert len(kept) + ctx.counted == len(full) == 8
    assert ctx.counted == len(seen) == 3
    # ordinary and nothing else to say: no extension, no fact (``Python: `` gives one)
    ordinary = [e for e in full if not e.notable and set(e.attrs) <= {"gen", "thread"}]
    assert seen == [(e.ts, e.local) for e in ordinary]
    assert [e.line for e in kept] == [e.line for e in full if e not in ordinary]
    assert [(f.name, f.value) for f in ctx.facts] == [(f.name, f.value) for f in full_ctx.facts]


def test_count_ordinary_keeps_what_add_keeps() -> None:
    added, counted = Timeline(), Timeline()
    for i, local in enumerate((False, True, False)):
        e = _ev(70 * i, kind="log", level="info")
        e.local = local
        if local:
            e.ts = e.ts.replace(tzinfo=None)
        added.add(e)
        counted.count_ordinary(e.source, e.ts, e.local)
    assert counted.latest_local() == added.latest_local()
    for tl in (added, counted):
        tl.finalize(timedelta(hours=2))
    assert (counted.count, counted.first, counted.last) == (added.count, added.first, added.last)
    assert counted.histogram() == added.histogram()
    assert counted.by_source == added.by_source


def test_notable_events_capped_per_kind_newest_kept() -> None:
    tl = Timeline(max_notable=3)
    for minutes in reversed(range(10)):  # a rotated log: newest file first
        tl.add(_ev(minutes, line=minutes))
    tl.add(_ev(5, kind="dhcp.error", line=99))
    tl.finalize(None)
    assert [e.line for e in tl.notable if e.kind == "wireserver.error"] == [7, 8, 9]
    assert [e.line for e in tl.notable if e.kind == "dhcp.error"] == [99]
    assert tl.count == 11
    assert (tl.first, tl.last) == (T0, T0 + timedelta(minutes=9))
    assert tl.dropped() == [("waagent_log", "wireserver.error", 7, "var/log/waagent.log")]


def _stream(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


@pytest.mark.parametrize("offset_hours", [9, 5.5, 1, -5, -8])
@pytest.mark.parametrize("counted", [False, True])
def test_local_and_utc_records_are_compared_in_utc_for_the_bundles_range(offset_hours: float, counted: bool) -> None:
    """A wall-clock record (py2 extension.log, a G2 daemon line) and a UTC one compare only once the zone is known:
    the newest naive wall-clock time is not the newest record when the VM is east of UTC, nor the oldest west of it."""
    from analyzer.unexplained import LOG_PARSERS

    offset = timedelta(hours=offset_hours)
    utc_last = T0 + timedelta(hours=3)  # the agent logs on, in UTC, three hours after the extension's record
    local_at = (T0 + offset).replace(tzinfo=None)  # the extension's record at T0, in the VM's wall clock
    t = Timeline(log_sources=LOG_PARSERS)
    t.add(Event(local_at, "vmsnapshot_log", "var/log/azure/x/extension.log", 1, "info", "", GENERIC_KIND, "a",
                local=True))  # an ordinary record: only counted
    t.add(Event(T0 - timedelta(hours=1), "waagent_log", "var/log/waagent.log", 1, "warning", "", "wireserver.error",
                "b"))
    if counted:
        t.count_span("waagent_log", [(utc_last.replace(minute=0, tzinfo=None), 1)], utc_last, utc_last, False)
    else:
        t.add(Event(utc_last, "waagent_log", "var/log/waagent.log", 2, "warning", "", "wireserver.error", "c"))
    t.finalize(offset)
    try:
        assert t.last == utc_last and t.first == T0 - timedelta(hours=1)
    finally:
        t.close()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("cap", [1, 3, 40])
def test_the_cap_changes_which_events_are_kept_never_what_is_counted(seed: int, cap: int) -> None:
    """Dropping a kind's older events (in bulk, at every trim) counts them and keeps the bundle's range, picture and
    alarms as keeping them would: shuffled arrivals of wall-clock, UTC and undated records, state files beside logs,
    alarms and routine warnings, kinds in both clocks (a dropped wall-clock record west of UTC can be the newest)."""
    from analyzer.unexplained import LOG_PARSERS

    rng = random.Random(seed)
    events = []
    for i in range(600):
        local = rng.random() < 0.3
        ts = None if rng.random() < 0.05 else T0 + timedelta(minutes=rng.randrange(-3000, 3000), microseconds=i)
        if ts is not None and local:
            ts = ts.replace(tzinfo=None)
        source = rng.choice(["waagent_log", "vmsnapshot_log", "extension_status"][: 1 + seed % 3])
        kind, level = rng.choice(["a.b", "c.d", "e.f"][: 1 + seed % 3]), rng.choice(["info", "warning", "error"])
        events.append(Event(ts, source, f"{source}.{i % 3}", i, level, "", kind,
                            f"record {rng.randrange(4)} at {i}", {"routine": True} if rng.random() < 0.2 else {},
                            local=local))
    zone = timedelta(hours=[-10, 9, -7, 0, 5.5][seed])
    capped, full = Timeline(max_notable=cap, log_sources=LOG_PARSERS), Timeline(log_sources=LOG_PARSERS)
    for tl in (capped, full):
        for e in events:
            tl.add(dataclasses.replace(e, attrs=dict(e.attrs)))
        tl.finalize(zone)
    assert (capped.count, capped.first, capped.last) == (full.count, full.first, full.last)
    assert capped.histogram() == full.histogram() and capped.by_source == full.by_source
    kept = {(e.path, e.line) for e in capped.notable}
    alarms = [e for e in full.notable if e.alarm and (e.path, e.line) not in kept]
    assert sum(n for *_, n, _ in capped.dropped()) == len(full.notable) - len(capped.notable)
    assert sum(c.count for c in capped.beyond_cap) == len(alarms)


def test_the_newest_record_can_be_a_dropped_wall_clock_one() -> None:
    """Capped by wall clock, a kind drops its older records together; west of UTC a dropped wall-clock record (04:00
    at UTC-10 is 14:00Z) is newer than the UTC ones kept (up to 10:00Z) and still dates the bundle."""
    zone = timedelta(hours=-10)
    day = T0.replace(hour=0, minute=0)
    records = [(day + timedelta(hours=h), False) for h in (8, 9, 10)]
    records += [((day + timedelta(hours=h)).replace(tzinfo=None), True) for h in (2, 4)]
    records.append((day + timedelta(hours=1), False))
    capped, full = Timeline(max_notable=3), Timeline()
    for tl in (capped, full):
        for n, (ts, local) in enumerate(records):
            tl.add(Event(ts, "waagent_log", "var/log/waagent.log", n, "warning", "", "wireserver.error", "x",
                         local=local))
        tl.finalize(zone)
    assert [e.ts.hour for e in capped.notable] == [8, 9, 10]
    expected = (day + timedelta(hours=1), day + timedelta(hours=14))
    assert (capped.first, capped.last) == (full.first, full.last) == expected


def test_wall_clocks_and_hours_are_those_replace_gives() -> None:
    """The timeline takes every record's wall clock and hour by arithmetic (``replace`` costs 2-3 us a call): the
    same naive times as ``replace`` for naive, UTC and other-zone times, microseconds, the calendar's ends and a
    repeated hour's second pass (``fold``)."""
    rng = random.Random(5)
    zones = (None, UTC, timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=8)),
             ZoneInfo("Europe/Prague"))
    times = [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]
    times += [datetime(rng.randint(1971, 2100), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                       rng.randint(0, 59), rng.randint(0, 59), rng.choice((0, 1, 999_999)), fold=rng.randint(0, 1))
              for _ in range(5000)]
    for t in times:
        for zone in zones:
            ts = t.replace(tzinfo=zone)
            want = ts.replace(tzinfo=None)
            have = wall_clock(ts)
            assert (have, have.tzinfo) == (want, None)
            assert hour_of(have) == want.replace(minute=0, second=0, microsecond=0)
