"""Time zones of the generated VMs and every way a bundle shows one (issue 13, class 4).

A zone is rendered into the files a real VM has: ``/etc/timezone`` (Debian, Ubuntu), a TZif
``/etc/localtime`` (every distribution), ``/etc/localtime`` as a link to ``/usr/share/zoneinfo/<zone>``,
``/etc/sysconfig/clock`` (RHEL 6, SLES), sosreport's ``timedatectl`` and ``date`` / ``date --utc``,
the Windows registry ``TimeZoneInformation`` key and ``systeminfo``'s ``Time Zone:`` line.
Windows facts (key names, display names, biases) are the standard Windows time-zone table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Zone:
    key: str  # short name used in variant ids
    iana: str
    windows: str  # TimeZoneKeyName
    display: str  # systeminfo / Settings display name (standard offset)
    posix: str  # TZif footer (POSIX TZ string)
    dst: tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None = None
    # Windows SYSTEMTIME rules: ((month, week, weekday, hour) of daylight start, (...) of standard start)

    def offset(self, t: datetime) -> timedelta:
        off = t.astimezone(ZoneInfo(self.iana)).utcoffset()
        assert off is not None
        return off

    def local(self, t: datetime) -> datetime:
        """Naive wall-clock time of the VM at UTC instant ``t``."""
        return (t.astimezone(UTC) + self.offset(t)).replace(tzinfo=None)

    def abbreviation(self, t: datetime) -> str:
        return t.astimezone(ZoneInfo(self.iana)).tzname() or "UTC"

    def standard_minutes(self) -> int:
        """The zone's standard offset in minutes (east positive)."""
        jan, jul = datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 7, 15, tzinfo=UTC)
        return int(min(self.offset(jan), self.offset(jul)).total_seconds() // 60)


ZONES: dict[str, Zone] = {z.key: z for z in (
    Zone("utc", "UTC", "UTC", "(UTC) Coordinated Universal Time", "UTC0"),
    Zone("prague", "Europe/Prague", "Central Europe Standard Time",
         "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague", "CET-1CEST,M3.5.0,M10.5.0/3",
         ((3, 5, 0, 2), (10, 5, 0, 3))),
    Zone("newyork", "America/New_York", "Eastern Standard Time", "(UTC-05:00) Eastern Time (US & Canada)",
         "EST5EDT,M3.2.0,M11.1.0", ((3, 2, 0, 2), (11, 1, 0, 2))),
    Zone("kolkata", "Asia/Kolkata", "India Standard Time", "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi",
         "IST-5:30"),
    Zone("sydney", "Australia/Sydney", "AUS Eastern Standard Time", "(UTC+10:00) Canberra, Melbourne, Sydney",
         "AEST-10AEDT,M10.1.0,M4.1.0/3", ((10, 1, 0, 2), (4, 1, 0, 3))),
    Zone("losangeles", "America/Los_Angeles", "Pacific Standard Time", "(UTC-08:00) Pacific Time (US & Canada)",
         "PST8PDT,M3.2.0,M11.1.0", ((3, 2, 0, 2), (11, 1, 0, 2))),
    Zone("tokyo", "Asia/Tokyo", "Tokyo Standard Time", "(UTC+09:00) Osaka, Sapporo, Tokyo", "JST-9"),
)}


def same_offset(zone: Zone, start: datetime, end: datetime) -> bool:
    """No daylight-saving change between ``start`` and ``end`` (a bundle is read with one offset)."""
    t = start
    first = zone.offset(start)
    while t <= end:
        if zone.offset(t) != first:
            return False
        t += timedelta(hours=6)
    return zone.offset(end) == first


# --- Linux renderings ----------------------------------------------------------------------------

def tzif(zone: Zone) -> bytes:
    """A version-2 TZif file with no transitions and the rule in the footer (what ``zic -b slim`` writes)."""
    std = zone.standard_minutes() * 60
    abbr = b"\0".join(a.encode() for a in _posix_abbreviations(zone.posix)) + b"\0"

    def block() -> bytes:  # the version-1 block and the version-2 block are alike without transitions
        head = b"TZif2" + b"\0" * 15
        counts = struct.pack(">6l", 0, 0, 0, 0, 1, len(abbr))  # isutcnt isstdcnt leapcnt timecnt typecnt charcnt
        ttinfo = struct.pack(">lBB", std, 0, 0)
        return head + counts + ttinfo + abbr

    return block() + block() + b"\n" + zone.posix.encode() + b"\n"


def _posix_abbreviations(posix: str) -> list[str]:
    import re

    names = re.findall(r"[A-Za-z]{3,}", posix.split(",", maxsplit=1)[0])
    return names[:1] or ["UTC"]


def timedatectl(zone: Zone, t: datetime) -> str:
    loc = zone.local(t)
    off = zone.offset(t)
    sign = "+" if off >= timedelta(0) else "-"
    minutes = abs(int(off.total_seconds() // 60))
    return (f"               Local time: {loc:%a %Y-%m-%d %H:%M:%S} {zone.abbreviation(t)}\n"
            f"           Universal time: {t.astimezone(UTC):%a %Y-%m-%d %H:%M:%S} UTC\n"
            f"                 RTC time: {t.astimezone(UTC):%a %Y-%m-%d %H:%M:%S}\n"
            f"                Time zone: {zone.iana} ({zone.abbreviation(t)}, "
            f"{sign}{minutes // 60:02d}{minutes % 60:02d})\n"
            "System clock synchronized: yes\n"
            "              NTP service: active\n"
            "          RTC in local TZ: no\n")


def date_output(zone: Zone, t: datetime, utc: bool) -> str:
    """``date`` / ``date --utc`` in the C locale: ``Mon Jun 10 07:30:12 IST 2024``."""
    if utc:
        u = t.astimezone(UTC)
        return f"{u:%a %b} {u.day:2d} {u:%H:%M:%S} UTC {u:%Y}\n"
    loc = zone.local(t)
    return f"{loc:%a %b} {loc.day:2d} {loc:%H:%M:%S} {zone.abbreviation(t)} {loc:%Y}\n"


# --- Windows renderings --------------------------------------------------------------------------

def _dword(value: int) -> str:
    return f"dword:{value & 0xFFFFFFFF:08x}"


def _systemtime_hex(rule: tuple[int, int, int, int] | None) -> str:
    month, week, weekday, hour = rule or (0, 0, 0, 0)
    data = struct.pack("<8H", 0, month, weekday, week, hour, 0, 0, 0)
    return "hex:" + ",".join(f"{b:02x}" for b in data)


def _resource_id(zone: Zone) -> int:
    import zlib

    return zlib.crc32(zone.windows.encode()) % 900 * 2 + 100


def registry_tzi(zone: Zone, t: datetime) -> list[tuple[str, str]]:
    """``(name, rendered .reg value)`` pairs of HKLM\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation."""
    bias = -zone.standard_minutes()
    active = -int(zone.offset(t).total_seconds() // 60)
    daylight_bias = -60 if zone.dst else 0
    return [
        ("ActiveTimeBias", _dword(active)),
        ("Bias", _dword(bias)),
        ("DaylightBias", _dword(daylight_bias)),
        ("DaylightName", f'"@tzres.dll,-{_resource_id(zone)}"'),
        ("DaylightStart", _systemtime_hex(zone.dst[0] if zone.dst else None)),
        ("DynamicDaylightTimeDisabled", _dword(0)),
        ("StandardBias", _dword(0)),
        ("StandardName", f'"@tzres.dll,-{_resource_id(zone) + 1}"'),
        ("StandardStart", _systemtime_hex(zone.dst[1] if zone.dst else None)),
        ("TimeZoneKeyName", f'"{zone.windows}"'),
    ]
