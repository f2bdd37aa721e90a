"""The VM's zone from every place a Linux bundle shows it, and local records converted with it."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analyzer.api import parse_bundle
from analyzer.locale import word
from analyzer.model import Options
from parsers.state.time_zone import PosixZone, sniff, zone_info, zone_offset_minutes
from tests.parsers.linux_helpers import one, run_as
from tests.parsers.windows_helpers import facts


def tzif(rule: str, version: bytes = b"2") -> bytes:
    """A TZif file with one local time type and no transitions; ``rule`` is its POSIX footer."""
    def block(time_size: int) -> bytes:
        counts = struct.pack(">6l", 0, 0, 0, 0, 1, 4)  # isut, isstd, leap, times, types, chars
        return b"TZif" + version + b"\0" * 15 + counts + struct.pack(">lBB", 3600, 0, 0) + b"LMT\0"
    if version == b"\0":
        return block(4)
    return block(4) + block(8) + b"\n" + rule.encode() + b"\n"


@pytest.mark.parametrize(("zone", "offset"), [("Etc/UTC", 0), ("UTC", 0), ("Asia/Kolkata", 330),
                                              ("Etc/GMT+5", -300), ("Etc/GMT-2", 120), ("Europe/Prague", None)])
def test_etc_timezone(zone: str, offset: int | None) -> None:
    _, ctx = run_as(f"{zone}\n".encode(), "etc/timezone")
    assert not ctx.problems
    assert one(ctx, "host.timezone") == zone
    assert facts(ctx, "tz.utc_offset_minutes") == ([] if offset is None else [offset])


@pytest.mark.parametrize("data", [b"/etc/shadow\x00\n", b"../../../etc/passwd\n", b"Mars/Olympus_Mons\n"])
def test_timezone_that_is_no_zone_is_refused(data: bytes) -> None:
    assert zone_offset_minutes("../../../etc/passwd") is None
    _, ctx = run_as(data, "etc/timezone")
    assert ctx.problems and ctx.facts == []


@pytest.mark.parametrize(("data", "zone"), [
    (b'ZONE="America/New_York"\nUTC=true\nARC=false\n', "America/New_York"),  # RHEL 6
    (b'## Path: System/Environment/Clock\nHWCLOCK="-u"\nTIMEZONE="Europe/Berlin"\n'
     b'DEFAULT_TIMEZONE="US/Eastern"\n', "Europe/Berlin"),  # SUSE
    (b"ZONE=Asia/Tokyo\r\n", "Asia/Tokyo"),
])
def test_sysconfig_clock(data: bytes, zone: str) -> None:
    _, ctx = run_as(data, "etc/sysconfig/clock")
    assert not ctx.problems
    assert one(ctx, "host.timezone") == zone


@pytest.mark.parametrize(("text", "zone"), [
    ("../usr/share/zoneinfo/Europe/Prague\n", "Europe/Prague"),
    ("/usr/share/zoneinfo/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("/usr/share/zoneinfo/posix/Australia/Sydney\n", "Australia/Sydney"),
])
def test_localtime_as_link_text(text: str, zone: str) -> None:
    _, ctx = run_as(text.encode(), "etc/localtime")
    assert not ctx.problems
    assert one(ctx, "host.timezone") == zone


@pytest.mark.parametrize(("rule", "fixed"), [("CET-1CEST,M3.5.0,M10.5.0/3", None), ("<+0530>-5:30", 330),
                                             ("EST5EDT", None), ("UTC0", 0), ("<-03>3", -180)])
def test_localtime_tzif_footer(rule: str, fixed: int | None) -> None:
    _, ctx = run_as(tzif(rule), "sosreport-vm1/etc/localtime")
    assert not ctx.problems
    assert one(ctx, "tz.posix_rule") == rule
    assert facts(ctx, "tz.utc_offset_minutes") == ([] if fixed is None else [fixed])


@pytest.mark.parametrize(("data", "problem"), [
    (tzif("", version=b"\0"), "version 1"), (tzif("CET-1CEST")[:60], "truncated"),
    (tzif("nonsense rule!"), "not understood"), (b"TZif2" + b"\xff" * 60, "negative"),
])
def test_damaged_tzif_is_a_problem_not_a_zone(data: bytes, problem: str) -> None:
    _, ctx = run_as(data, "etc/localtime")
    assert ctx.facts == [] and problem in word(ctx.problems[0].message)


def test_tzif_and_timedatectl_are_sniffed_under_any_name() -> None:
    assert sniff("x/localtime.bin", tzif("CET-1CEST,M3.5.0,M10.5.0/3"))
    assert sniff("timedate.out", TIMEDATECTL.encode())
    assert not sniff("notes.txt", b"Time zone: is not a thing here\n")


TIMEDATECTL = """               Local time: Mon 2024-06-10 14:05:31 CEST
           Universal time: Mon 2024-06-10 12:05:31 UTC
                 RTC time: Mon 2024-06-10 12:05:30
                Time zone: Europe/Prague (CEST, +0200)
System clock synchronized: yes
              NTP service: active
          RTC in local TZ: no
"""
TIMEDATECTL_OLD = """      Local time: Tue 2016-03-01 17:31:40 IST
  Universal time: Tue 2016-03-01 12:01:40 UTC
        RTC time: Tue 2016-03-01 12:01:39
       Time zone: Asia/Kolkata (IST, +0530)
     NTP enabled: yes
"""


def test_timedatectl() -> None:
    _, ctx = run_as(TIMEDATECTL.encode(), "sosreport-vm1-2024/sos_commands/systemd/timedatectl")
    assert not ctx.problems
    assert one(ctx, "host.timezone") == "Europe/Prague"
    assert facts(ctx, "tz.utc_offset_minutes") == []  # the zone converts each record by its own date
    _, ctx = run_as(TIMEDATECTL_OLD.replace("\n", "\r\n").encode(), "sos_commands/systemd/timedatectl")
    assert one(ctx, "host.timezone") == "Asia/Kolkata" and one(ctx, "tz.utc_offset_minutes") == 330


def test_timedatectl_with_an_unknown_zone_name_gives_the_offset() -> None:
    text = TIMEDATECTL.replace("Europe/Prague (CEST, +0200)", "Local/Custom (XST, -0330)").replace("14:05", "08:35")
    _, ctx = run_as(text.encode(), "sos_commands/systemd/timedatectl")
    assert facts(ctx, "host.timezone") == [] and facts(ctx, "tz.utc_offset_minutes") == [-210, -210]


def test_hwclock_iso_gives_the_offset() -> None:
    _, ctx = run_as(b"2024-06-10 14:05:30.123456+02:00\n", "sos_commands/date/hwclock")
    assert one(ctx, "tz.utc_offset_minutes") == 120


@pytest.mark.parametrize(("zone", "rule"), [
    ("Europe/Prague", "CET-1CEST,M3.5.0,M10.5.0/3"), ("America/New_York", "EST5EDT,M3.2.0,M11.1.0"),
    ("Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"), ("America/Santiago", "<-04>4<-03>,M9.1.6/24,M4.1.6/24"),
    ("Pacific/Chatham", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45"), ("Asia/Tehran", "<+0330>-3:30"),
])
def test_posix_rules_agree_with_the_zone_database(zone: str, rule: str) -> None:
    posix, real = PosixZone.parse(rule), ZoneInfo(zone)
    assert posix is not None
    t = datetime(2024, 1, 1, 0, 30)
    while t < datetime(2025, 1, 1):
        # an hour after each whole hour of every day: away from the repeated hour, but across every switch
        assert posix.utcoffset(t) == real.utcoffset(t), (zone, t)
        t += timedelta(hours=5)


def test_zone_info_accepts_names_and_rules_only() -> None:
    assert zone_info("Europe/Prague") == ZoneInfo("Europe/Prague")
    assert zone_info("Etc/GMT+5").utcoffset(None) == timedelta(hours=-5)  # type: ignore[union-attr]
    assert isinstance(zone_info("CET-1CEST,M3.5.0,M10.5.0/3"), PosixZone)
    for bad in ("", "../etc/passwd", "X" * 300, "CET-99", "Nowhere/Town"):
        assert zone_info(bad) is None


# --- end to end: local agent records converted with the zone of each way a bundle shows it -------------

G2 = ("2024/01/15 10:00:00.000000 INFO Daemon Azure Linux Agent Version:2.2.45\n"
      "2024/07/15 10:00:00.000000 INFO Daemon Azure Linux Agent Version:2.2.45\n")
WAYS = {
    "etc/timezone": b"Europe/Prague\n",
    "etc/sysconfig/clock": b'ZONE="Europe/Prague"\n',
    "etc/localtime": tzif("CET-1CEST,M3.5.0,M10.5.0/3"),
    "sos_commands/systemd/timedatectl": TIMEDATECTL.encode(),
}


@pytest.mark.parametrize("member", sorted(WAYS))
def test_local_records_converted_by_their_own_date(tmp_path: Path, member: str) -> None:
    (tmp_path / member).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / member).write_bytes(WAYS[member])
    (tmp_path / "var/log").mkdir(parents=True)
    (tmp_path / "var/log/waagent.log").write_text(G2)
    analysis, _ = parse_bundle(tmp_path, Options())
    stamps = sorted(e.ts for e in analysis.timeline.notable if e.kind == "agent.version")
    assert stamps == [datetime(2024, 1, 15, 9, tzinfo=UTC), datetime(2024, 7, 15, 8, tzinfo=UTC)]
    assert {e.attrs["tz"] for e in analysis.timeline.notable if e.kind == "agent.version"} == {"converted"}


def test_date_beside_date_utc_gives_the_offset(tmp_path: Path) -> None:
    sos = tmp_path / "sosreport-vm1-2024-06-10"
    (sos / "sos_commands/date").mkdir(parents=True)
    (sos / "sos_commands/date/date").write_text("Mon Jun 10 14:05:31 CEST 2024\n")
    (sos / "sos_commands/date/date_--utc").write_text("Mon Jun 10 12:05:32 UTC 2024\n")
    (sos / "var/log").mkdir(parents=True)
    (sos / "var/log/waagent.log").write_text(G2)
    analysis, _ = parse_bundle(tmp_path, Options())
    assert [f.value for f in analysis.facts if f.name == "tz.utc_offset_minutes"] == [120]
    assert analysis.timeline.utc_offset == timedelta(hours=2)
    stamps = sorted(e.ts for e in analysis.timeline.notable if e.kind == "agent.version")
    assert stamps == [datetime(2024, 1, 15, 8, tzinfo=UTC), datetime(2024, 7, 15, 8, tzinfo=UTC)]


def test_measured_offset_beats_a_zone_that_disagrees(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/timezone").write_text("America/New_York\n")  # stale: the clock says +2
    (tmp_path / "sos_commands/date").mkdir(parents=True)
    (tmp_path / "sos_commands/date/date").write_text("Mon Jul 15 12:00:00 CEST 2024\n")
    (tmp_path / "sos_commands/date/date_--utc").write_text("Mon Jul 15 10:00:00 UTC 2024\n")
    (tmp_path / "waagent.log").write_text(G2)
    analysis, _ = parse_bundle(tmp_path, Options())
    stamps = sorted(e.ts for e in analysis.timeline.notable if e.kind == "agent.version")
    assert stamps[1] == datetime(2024, 7, 15, 8, tzinfo=UTC)


def test_a_refused_localtime_link_still_names_the_zone(tmp_path: Path) -> None:
    import io
    import tarfile

    bundle = tmp_path / "bundle.tar.gz"
    with tarfile.open(bundle, "w:gz") as tf:
        link = tarfile.TarInfo("sosreport-vm1/etc/localtime")
        link.type, link.linkname = tarfile.SYMTYPE, "../usr/share/zoneinfo/Europe/Prague"
        tf.addfile(link)
        data = G2.encode()
        log = tarfile.TarInfo("sosreport-vm1/var/log/waagent.log")
        log.size = len(data)
        tf.addfile(log, io.BytesIO(data))
    folder = tmp_path / "folder"
    (folder / "etc").mkdir(parents=True)
    (folder / "etc/localtime").symlink_to("/usr/share/zoneinfo/Europe/Prague")
    (folder / "waagent.log").write_text(G2)
    for path in (bundle, folder):
        analysis, _ = parse_bundle(path, Options())
        assert [f.value for f in analysis.facts if f.name == "host.timezone"] == ["Europe/Prague"]
        assert any(s.error is not None and "links are never followed" in word(s.error) for s in analysis.sources)
        stamps = sorted(e.ts for e in analysis.timeline.notable if e.kind == "agent.version")
        assert stamps == [datetime(2024, 1, 15, 9, tzinfo=UTC), datetime(2024, 7, 15, 8, tzinfo=UTC)]
