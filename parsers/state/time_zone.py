"""The VM's time zone and clock, from every place a Linux bundle shows them.

Old agent records (waagent 2.0-2.2.45, VMSnapshot Python 2, syslog headers) are the VM's wall clock;
the timeline converts them with what these files say:

* ``/etc/timezone`` (``Europe/Prague``), ``/etc/sysconfig/clock`` (``ZONE="America/New_York"``,
  SUSE ``TIMEZONE=``) and ``/etc/localtime`` kept as the text of its link target
  (``../usr/share/zoneinfo/Europe/Prague``) -> ``host.timezone``;
* ``/etc/localtime`` as a TZif file: the POSIX rule of its footer (``CET-1CEST,M3.5.0,M10.5.0/3``)
  -> ``tz.posix_rule``;
* sosreport ``timedatectl``: ``Time zone: Europe/Prague (CEST, +0200)`` -> ``host.timezone`` and
  ``tz.utc_offset_minutes`` (also from its ``Local time:`` / ``Universal time:`` pair);
* ``date``, ``date --utc``, ``hwclock``: one reading of the wall clock, e.g.
  ``Mon Jun 10 14:05:31 CEST 2024`` -> ``clock.reading``; a UTC reading beside a local one gives the
  offset (:mod:`analyzer.clock`); ``hwclock``'s ISO form ``2024-06-10 14:05:30.123456+02:00`` gives it
  at once.

A zone with one offset whatever the date (``UTC``, ``Asia/Kolkata``) also gives ``tz.utc_offset_minutes``.
:func:`zone_info` turns a zone name or a POSIX rule into a ``tzinfo`` for the timeline.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parsers._structured import read_state
from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text

_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,3}")
_ETC_GMT = re.compile(r"(?:Etc/)?GMT([+-])(\d{1,2})")
_UTC_NAMES = {"utc", "etc/utc", "gmt", "etc/gmt", "zulu", "etc/zulu", "universal", "etc/universal", "uct", "etc/uct"}
_LINK = re.compile(r"zoneinfo/(?:posix/|right/)?(" + _ZONE_NAME.pattern + ")")
_SYSCONFIG = re.compile(r"^\s*(?:ZONE|TIMEZONE|DEFAULT_TIMEZONE)\s*=\s*[\"']?([^\"'\s#]+)", re.MULTILINE)
_TIMEDATECTL_ZONE = re.compile(r"^\s*Time ?zone:\s*(\S+)(?:\s*\((\w+)?,?\s*([+-]\d{2}):?(\d{2})\))?", re.MULTILINE)
_TDC_TIME = re.compile(r"^\s*(Local time|Universal time|UTC time):\s*\w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)",
                       re.MULTILINE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# date(1) in the C locale: "Mon Jun 10 14:05:31 CEST 2024"; old hwclock: "Mon 10 Jun 2024 02:05:31 PM CEST"
_DATE = re.compile(r"^\w{3},? +(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) ([A-Za-z][\w+\-]*|[+-]\d{2,4}) (\d{4})\s*$")
_HWCLOCK_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?([+-]\d\d):?(\d\d)\s*$")
_UTC_ABBREVIATIONS = {"UTC", "GMT", "UCT", "Z", "ZULU"}
MAX_OFFSET = 14 * 60


def zone_offset_minutes(zone: str) -> int | None:
    """The zone's UTC offset in minutes when it never changes (2015-2026), else None."""
    tz = zone_info(zone)
    if tz is None:
        return None
    offsets = {tz.utcoffset(datetime(year, month, 15)) for year in range(2015, 2027) for month in (1, 7)}
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds() // 60) if offset is not None else None


def zone_info(zone: str) -> tzinfo | None:
    """A ``tzinfo`` for an IANA zone name (``Europe/Prague``, ``Etc/GMT+5``) or a POSIX rule; None when neither."""
    zone = zone.strip()
    if zone.lower() in _UTC_NAMES:
        return UTC
    m = _ETC_GMT.fullmatch(zone)
    if m:  # POSIX sign: Etc/GMT+5 is five hours *behind* UTC
        hours = int(m.group(2))
        return timezone(timedelta(hours=-hours if m.group(1) == "+" else hours)) if hours <= 14 else None
    if _ZONE_NAME.fullmatch(zone) and ".." not in zone:
        try:
            return ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return PosixZone.parse(zone)


# --- POSIX TZ rules (the TZif footer, RFC 8536 section 3.3) ---------------------------------------

_P_NAME = r"(?:<[A-Za-z0-9+\-]{1,16}>|[A-Za-z]{3,16})"
_P_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_P_RULE = r"(?:J\d{1,3}|\d{1,3}|M\d{1,2}\.\d\.\d)(?:/" + _P_OFFSET + ")?"
_POSIX = re.compile(rf"({_P_NAME})({_P_OFFSET})(?:({_P_NAME})({_P_OFFSET})?(?:,({_P_RULE}),({_P_RULE}))?)?")


def _hms(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


class PosixZone(tzinfo):
    """A POSIX TZ rule such as ``CET-1CEST,M3.5.0,M10.5.0/3``: standard offset, daylight offset and the
    two yearly switch moments (the offset's sign is west-positive, the opposite of ISO 8601)."""

    def __init__(self, rule: str, std: timedelta, dst: timedelta | None, start: str, end: str) -> None:
        self.rule, self.std, self.dst_offset, self.start, self.end = rule, std, dst, start, end

    @classmethod
    def parse(cls, rule: str) -> PosixZone | None:
        m = _POSIX.fullmatch(rule.strip())
        if m is None:
            return None
        std = -_hms(m.group(2))
        if abs(std) > timedelta(hours=25):
            return None
        if not m.group(3):
            return cls(rule, std, None, "", "")
        dst = -_hms(m.group(4)) if m.group(4) else std + timedelta(hours=1)
        start, end = (m.group(5), m.group(6)) if m.group(5) else ("M3.2.0", "M11.1.0")
        zone = cls(rule, std, dst, start, end)
        try:
            zone.utcoffset(datetime(2024, 1, 1))
        except (ValueError, OverflowError):
            return None
        return zone

    def __repr__(self) -> str:
        return f"PosixZone({self.rule!r})"

    def _in_dst(self, dt: datetime) -> bool:
        if self.dst_offset is None:
            return False
        start, end = _switch(dt.year, self.start), _switch(dt.year, self.end)
        wall = dt.replace(tzinfo=None)
        return start <= wall < end if start < end else not end <= wall < start

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None or self.dst_offset is None:
            return self.std
        return self.dst_offset if self._in_dst(dt) else self.std

    def dst(self, dt: datetime | None) -> timedelta:
        return self.utcoffset(dt) - self.std

    def tzname(self, dt: datetime | None) -> str:
        return self.rule


def _switch(year: int, rule: str) -> datetime:
    """The wall-clock moment of a POSIX switch rule (``M3.5.0/3``, ``J60``, ``59``) in ``year``."""
    day_rule, _, at = rule.partition("/")
    when = _hms(at) if at else timedelta(hours=2)
    if day_rule.startswith("M"):
        month, week, weekday = (int(p) for p in day_rule[1:].split("."))
        first = date(year, month, 1)
        day = first + timedelta(days=(weekday - (first.weekday() + 1) % 7) % 7 + 7 * (min(week, 5) - 1))
        while day.month != month:  # week 5 means the last such weekday of the month
            day -= timedelta(days=7)
    elif day_rule.startswith("J"):  # 1-365, February 29 never counted
        n = int(day_rule[1:])
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        day = date(year, 1, 1) + timedelta(days=n - 1 + (1 if leap and n >= 60 else 0))
    else:  # 0-365, February 29 counted
        day = date(year, 1, 1) + timedelta(days=int(day_rule))
    return datetime(day.year, day.month, day.day) + when


# --- the files --------------------------------------------------------------------------------------

def _zone_fact(ctx: ParseContext, zone: str, line: int | None, text: str) -> None:
    if zone_info(zone) is None:
        ctx.problem("problem.unknown_zone", line, zone=repr(zone[:80]))
        return
    ctx.fact("host.timezone", zone, line=line, text=text[:200])
    offset = zone_offset_minutes(zone)
    if offset is not None:
        ctx.fact("tz.utc_offset_minutes", offset, line=line, text=text[:200])


def _offset_fact(ctx: ParseContext, minutes: int, line: int | None, text: str) -> None:
    if abs(minutes) <= MAX_OFFSET:
        ctx.fact("tz.utc_offset_minutes", minutes, line=line, text=text[:200])


def _tzif(data: bytes, ctx: ParseContext) -> None:
    """A compiled zone file: the POSIX rule of its footer (version 2 and later)."""
    if len(data) < 44 or data[4:5] not in (b"\0", b"2", b"3", b"4"):
        ctx.problem("problem.tzif_damaged_header")
        return
    counts = struct.unpack(">6l", data[20:44])
    if min(counts) < 0:
        ctx.problem("problem.tzif_negative_counts")
        return
    isut, isstd, leap, times, types, chars = counts
    end = 44 + times * 5 + types * 6 + chars + leap * 8 + isstd + isut
    if data[4:5] == b"\0":
        ctx.problem("problem.tzif_v1_no_footer")
        return
    if data[end:end + 4] != b"TZif" or len(data) < end + 44:
        ctx.problem("problem.tzif_truncated")
        return
    isut, isstd, leap, times, types, chars = struct.unpack(">6l", data[end + 20:end + 44])
    footer_at = end + 44 + times * 9 + types * 6 + chars + leap * 12 + isstd + isut
    footer = data[footer_at:footer_at + 256].split(b"\n")
    rule = footer[1].decode("ascii", "replace") if len(footer) > 2 and footer[0] == b"" else ""
    if not rule:
        ctx.problem("problem.tzif_no_footer")
        return
    zone = PosixZone.parse(rule)
    if zone is None:
        ctx.problem("problem.tzif_rule_unknown", rule=repr(rule[:60]))
        return
    ctx.fact("tz.posix_rule", rule, text=f"/etc/localtime rule {rule}")
    if zone.dst_offset is None:  # no daylight saving: one offset whatever the date
        _offset_fact(ctx, int(zone.std.total_seconds() // 60), None, f"/etc/localtime rule {rule}")


def link_zone(path: str, target: str) -> str | None:
    """The zone an ``/etc/localtime`` link points to (``../usr/share/zoneinfo/Europe/Prague``), else None.
    A bundle keeps the link as a text file, or the intake refuses it as a link and names its target."""
    if not path.replace("\\", "/").lower().endswith("etc/localtime"):
        return None
    m = _LINK.search(target[:1024])
    return m.group(1) if m is not None and zone_info(m.group(1)) is not None else None


def _localtime_text(text: str, ctx: ParseContext) -> None:
    """``/etc/localtime`` captured as the text of its link target."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    m = _LINK.search(first)
    if m is None or first[m.end():].strip():
        ctx.problem("problem.localtime_unknown")
        return
    _zone_fact(ctx, m.group(1), 1, text.strip()[:200])


def _timedatectl(text: str, ctx: ParseContext) -> None:
    m = _TIMEDATECTL_ZONE.search(text)
    line = text[: m.start()].count("\n") + 1 if m else None
    if m is not None:
        _zone_fact(ctx, m.group(1), line, m.group(0).strip())
        if m.group(3) and zone_info(m.group(1)) is None:
            sign = -1 if m.group(3).startswith("-") else 1
            _offset_fact(ctx, sign * (int(m.group(3)[1:]) * 60 + int(m.group(4))), line, m.group(0).strip())
    times = {k.split()[0]: datetime.fromisoformat(v) for k, v in _TDC_TIME.findall(text)}
    if "Local" in times and ("Universal" in times or "UTC" in times):
        minutes = _quarter_hours(times["Local"] - times.get("Universal", times.get("UTC")))  # type: ignore[operator]
        if minutes is not None and (m is None or zone_info(m.group(1)) is None):
            _offset_fact(ctx, minutes, None, "timedatectl local time beside universal time")
    if m is None and not times:
        ctx.problem("problem.timedatectl_no_zone")


def _quarter_hours(diff: timedelta) -> int | None:
    """``diff`` as whole quarter hours of minutes, when it is one within two minutes."""
    minutes = round(diff.total_seconds() / 900) * 15
    return minutes if abs(diff - timedelta(minutes=minutes)) <= timedelta(minutes=2) else None


def _readings(text: str, ctx: ParseContext) -> None:
    """``date`` / ``date --utc`` / ``hwclock`` output: one reading of the clock per line."""
    found = False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = _HWCLOCK_ISO.match(line)
        if m:
            sign = -1 if m.group(3).startswith("-") else 1
            _offset_fact(ctx, sign * (int(m.group(3)[1:]) * 60 + int(m.group(4))), n, line)
            found = True
            continue
        m = _DATE.match(line)
        if m is None or m.group(1) not in _MONTHS:
            continue
        mon, day, hh, mm, ss, zone, year = m.groups()
        try:
            wall = datetime(int(year), _MONTHS.index(mon) + 1, int(day), int(hh), int(mm), int(ss))
        except ValueError:
            ctx.problem("problem.invalid_date", n)
            continue
        found = True
        is_utc = zone.upper() in _UTC_ABBREVIATIONS or zone in ("+0000", "-0000", "+00")
        ctx.fact("clock.reading", {"wall": wall.isoformat(), "zone": zone, "utc": is_utc}, line=n, text=line)
    if not found:
        ctx.problem("problem.no_clock_reading")


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    data = read_state(stream, ctx)
    name = ctx.path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if data.startswith(b"TZif"):
        _tzif(data, ctx)
        yield from ()
        return
    text = head_text(data[:65536]).lstrip("\ufeff")
    if name == "localtime":
        _localtime_text(text, ctx)
    elif name == "timezone":
        first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
        if _ZONE_NAME.fullmatch(first) is None:
            ctx.problem("problem.timezone_file_empty")
        else:
            _zone_fact(ctx, first, 1, first)
    elif name == "clock":
        m = _SYSCONFIG.search(text)
        if m is None:
            ctx.problem("problem.clock_file_no_zone")
        else:
            _zone_fact(ctx, m.group(1), text[: m.start()].count("\n") + 1, m.group(0).strip())
    elif "Time zone:" in text or "Timezone:" in text or "Universal time:" in text:
        _timedatectl(text, ctx)
    else:
        _readings(text, ctx)
    yield from ()  # clock facts only


def sniff(path: str, head: bytes) -> bool:
    if head.startswith(b"TZif") and head[4:5] in (b"\0", b"2", b"3", b"4"):
        return True
    text = head_text(head)
    return "Universal time:" in text and ("Time zone:" in text or "Timezone:" in text)


PARSER = Parser(name="time_zone", parse=parse, sniff=sniff,
                description="the VM's time zone: /etc/timezone, /etc/localtime (TZif or link text), "
                            "/etc/sysconfig/clock, timedatectl, date, date --utc, hwclock")
