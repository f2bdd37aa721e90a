"""Local wall-clock times: the VM's UTC offset measured in the bundle, and the one place facts are converted.

:func:`resolve_facts` turns every local (naive) fact time into aware UTC with the bundle's zone, as the
timeline does for events, so that a fact read from an Event Viewer CSV row compares with everything else.
:func:`judge_leases` decides whether a DHCP lease had expired when the bundle was collected (the newest
time the bundle records), never by the wall clock of the analysis.

The offset is measured from the clock read twice, once in local time and once in UTC (``date`` and
``date --utc``, :func:`offset_from_readings`).

Event Viewer CSV/TXT and ``wevtutil /f:text`` exports carry local wall-clock times; ``.evtx`` and
event XML carry UTC. Support scripts often export the same log in several formats, so a record of
provider P with event id N at local time L usually has a twin in a UTC source at L - offset. For
each local record, the UTC twins (same provider and id) within two seconds of a whole quarter hour
(exports round to the second) vote for ``L - U`` (:func:`pairs_from_twins`): paired records like the
Linux ones below, decided with them.

Without any zone source the bundle often still proves the offset: records it shows twice, once on the VM's
wall clock and once in UTC (a G2 daemon line beside a G4 handler line, a VMSnapshot Python 2 record and its
``utcNow``, a syslog header and the UTC agent record behind it). Parsers count those pairs per local date
(``tz.pairs``, :mod:`parsers.clock_pairs`); so do :func:`pairs_from_twins` and :func:`pairs_from_runs` (an old
handler's enable and the Python 3 extension's start of one backup run, in two members). :func:`infer_zone`
decides from all members together: at least :data:`MIN_PAIRS` pairs, or two on two dates (two moments days
apart, e.g. two handler launches), two thirds of them agreeing. Dates whose pairs show two offsets in two
runs of dates (a daylight-saving switch inside the bundle) give one offset per period (:class:`PairedZone`);
pairs that disagree any other way decide nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from analyzer.sources import rows_proving
from analyzer.timeline import to_utc
from parsers.base import Event, Fact
from parsers.clock_pairs import PairVotes

QUARTER = 900  # seconds
TOLERANCE = 2.0  # seconds
MAX_OFFSET = 14 * 3600
READING_TOLERANCE = timedelta(minutes=2)  # date and date --utc run moments apart
RUN_START = timedelta(seconds=60)  # the extension starts seconds after the agent's enable

#: parsers of Windows event exports (the rows that prove ``windows_events``): a record in local time and one in
#: UTC of the same event are twins
_EVENT_EXPORTS = frozenset(s.parser for s in rows_proving("windows_events"))


def _key(e: Event) -> tuple[str, int] | None:
    eid = e.attrs.get("event_id")
    provider = str(e.attrs.get("provider") or e.component).strip().lower()
    return (provider, eid) if isinstance(eid, int) and provider else None


def pairs_from_twins(events: Iterable[Event]) -> Fact | None:
    """A ``tz.pairs`` fact from local/UTC twins among ``events`` (one vote per local record: of the offsets its
    twins show, the one most records show), or ``None`` when no local record has a twin."""
    utc: dict[tuple[str, int], list[datetime]] = defaultdict(list)
    local: list[tuple[tuple[str, int], datetime, Event]] = []
    for e in events:
        key = _key(e) if e.ts is not None else None
        if key is None:
            continue
        if e.source not in _EVENT_EXPORTS:
            continue
        if e.local:
            local.append((key, e.ts.replace(tzinfo=None), e))  # type: ignore[union-attr]
        else:
            utc[key].append(e.ts.replace(tzinfo=None))  # type: ignore[union-attr]
    candidates: list[tuple[datetime, Event, set[int]]] = []
    overall: Counter[int] = Counter()
    for key, ts, e in local:
        offsets = set()
        for u in utc.get(key, ()):
            diff = (ts - u).total_seconds()
            quarters = round(diff / QUARTER)
            if abs(diff - quarters * QUARTER) <= TOLERANCE and abs(diff) <= MAX_OFFSET:
                offsets.add(quarters * QUARTER // 60)
        if offsets:
            candidates.append((ts, e, offsets))
            overall.update(offsets)
    # a record of a recurring event has twins hours apart too: it votes once, for the offset most records show
    votes = PairVotes(timedelta(seconds=TOLERANCE))
    path = ""
    for ts, e, offsets in candidates:
        minutes = max(sorted(offsets), key=lambda m: overall[m])
        votes.add(ts, ts - timedelta(minutes=minutes), e.line)
        path = path or e.path
    return votes.fact(path, "local-time events beside their UTC twins (same provider and event id in an .evtx/XML "
                            "export)") if path else None


def pairs_from_runs(facts: Iterable[Fact]) -> Fact | None:
    """A ``tz.pairs`` fact from backup runs whose two sides write different clocks: the agent's enable of
    ``<seq>.settings`` (G0-G2: local) and the extension's start of the same run (Python 3: UTC), or the other
    way round; the run is told by its sequence number, or by the task id its settings give that number."""
    task_of: dict[str, str] = {}
    agent: dict[str, Fact] = {}
    ext: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        v = f.value
        if f.name != "vmsnapshot.invocation" or not isinstance(v, dict):
            continue
        seq, task = v.get("seq"), v.get("task_id")
        if seq is not None and task:
            task_of[str(seq)] = str(task)
        if f.ts is None:
            continue
        if v.get("source") == "waagent_log" and seq is not None:
            agent.setdefault(str(seq), f)
        elif v.get("source") == "vmsnapshot_log":
            for run in {str(task) if task else "", f"seq {seq}" if seq is not None else ""} - {""}:
                ext[run].append(f)
    votes = PairVotes(RUN_START)
    path = ""
    for seq, a in agent.items():
        starts = {id(b): b for run in (task_of.get(seq, ""), f"seq {seq}") for b in ext.get(run, ())}
        b = next((b for b in starts.values() if b.local != a.local), None)
        if b is None:
            continue
        local, utc = (a, b) if a.local else (b, a)
        votes.add(local.ts, utc.ts, local.line or 0)  # type: ignore[arg-type]
        path = path or local.path
    return votes.fact(path, "the agent's enable beside the extension's start of the same backup run") \
        if path else None


def offset_from_readings(facts: Iterable[Fact]) -> Fact | None:
    """A ``tz.utc_offset_minutes`` fact from ``clock.reading`` facts: the wall clock read once in local time
    (``date``) and once in UTC (``date --utc``) moments apart, as sosreport does; or ``None``."""
    readings = [(f, f.value) for f in facts if f.name == "clock.reading" and isinstance(f.value, dict)]
    utc = [datetime.fromisoformat(v["wall"]) for _, v in readings if v.get("utc")]
    for f, v in readings:
        if v.get("utc"):
            continue
        wall = datetime.fromisoformat(v["wall"])
        for u in utc:
            diff = (wall - u).total_seconds()
            quarters = round(diff / QUARTER)
            if abs(diff - quarters * QUARTER) <= READING_TOLERANCE.total_seconds() and abs(diff) <= MAX_OFFSET:
                minutes = quarters * QUARTER // 60
                return Fact("tz.utc_offset_minutes", minutes, f.path, f.line, None,
                            f"local clock reading {v['wall']} {v.get('zone', '')} beside a UTC reading "
                            f"{u.isoformat()}: local = UTC {minutes:+d} min")
    return None


def judge_leases(facts: Iterable[Fact], collected: datetime | None) -> None:
    """Set ``expired`` of every ``dhcp.lease`` fact whose parser left it open: its ``expire`` time before
    the bundle's collection time. Without a dated record in the bundle it stays None (unknown)."""
    for f in facts:
        value = f.value
        if f.name != "dhcp.lease" or not isinstance(value, dict) or value.get("expired") is not None:
            continue
        try:
            expire = datetime.fromisoformat(str(value.get("expire") or "").replace("Z", "+00:00"))
        except ValueError:
            continue
        if collected is not None:
            f.value = {**value, "expired": (expire if expire.tzinfo else expire.replace(tzinfo=UTC)) < collected}


def resolve_facts(facts: Iterable[Fact], zone: tzinfo | timedelta | None) -> None:
    """Make every fact time aware UTC: local ones (naive ``ts``) converted with the VM's ``zone`` (or a fixed
    offset: local = UTC + offset), or taken as UTC when the bundle shows none; a local fact's
    ``value["ts"]`` (ISO text of the same wall clock) is converted with it. After this no fact carries a
    naive time."""
    tz = timezone(zone) if isinstance(zone, timedelta) else zone or UTC
    for f in facts:
        if f.ts is None or f.ts.tzinfo is not None:
            f.local = False
            continue
        f.ts = to_utc(f.ts, tz)
        f.local = False
        value = f.value
        if isinstance(value, dict) and value.get("local") and isinstance(value.get("ts"), str):
            try:
                wall = datetime.fromisoformat(value["ts"])
            except ValueError:
                continue
            if wall.tzinfo is None:
                f.value = {**value, "ts": to_utc(wall, tz).isoformat(), "local": False}


# --- the offset proved by paired records --------------------------------------------------------

MIN_PAIRS = 3  # pairs that must agree, or two on two dates (one pair can be two unrelated records that fit)
AGREEING = 2 / 3  # of all pairs within a quarter hour
DST_STEPS = (30, 60, 120)  # minutes a daylight-saving switch moves the clock (Lord Howe: 30, Troll: 120)


@dataclass
class Period:
    """Local dates ``first``..``last`` whose pairs show ``minutes`` (local = UTC + minutes)."""

    first: date
    last: date
    minutes: int
    pairs: int
    dates: int = 1  # dates with pairs


@dataclass
class Inference:
    """What the paired records of a bundle show: the zone to convert with (None when they disagree)."""

    zone: tzinfo | None
    pairs: int  # pairs that agree with the zone
    total: int  # pairs within a quarter hour of some offset
    members: list[str] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)

    def offset_on(self, day: date) -> int | None:
        """The offset the pairs show on ``day`` (minutes), None outside every period."""
        return next((p.minutes for p in self.periods if p.first <= day <= p.last), None)


class PairedZone(tzinfo):
    """The offsets of :class:`Period` runs, each for its own dates. A wall time between two periods, or on the
    first or last date of a period next to another (the switch may lie inside that date), takes the offset
    every IANA zone that fits all periods gives it (the switch moment of its rule), else that of its period or
    the nearer one; before the first or after the last period, the offset of that period."""

    def __init__(self, periods: list[Period], candidates: list[tzinfo]) -> None:
        self.periods = periods
        self.starts = [p.first for p in periods]
        self.candidates = candidates
        self._cache: dict[tuple[date, int], timedelta] = {}

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(minutes=self.periods[-1].minutes)
        key = (dt.date(), dt.hour)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._offset(dt.replace(tzinfo=None, minute=0, second=0, microsecond=0))
        return found

    def _offset(self, wall: datetime) -> timedelta:
        day = wall.date()
        i = bisect_right(self.starts, day) - 1
        last = len(self.periods) - 1
        inside = i >= 0 and day <= self.periods[i].last
        switch_day = inside and ((i > 0 and day == self.periods[i].first) or (i < last and day == self.periods[i].last))
        if (switch_day or (not inside and 0 <= i < last)) and self.candidates:  # the switch may lie here
            offsets = {z.utcoffset(wall) for z in self.candidates}
            if len(offsets) == 1:
                return offsets.pop()  # type: ignore[return-value]
        if inside:
            return timedelta(minutes=self.periods[i].minutes)
        if 0 <= i < last:  # between two periods, no zone rule to tell the moment: the nearer period
            before, after = self.periods[i], self.periods[i + 1]
            nearer = before if day - before.last <= after.first - day else after
            return timedelta(minutes=nearer.minutes)
        return timedelta(minutes=self.periods[0 if i < 0 else -1].minutes)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "paired records"

    def __repr__(self) -> str:
        return "PairedZone(" + ", ".join(f"{p.first}..{p.last} {p.minutes:+d}" for p in self.periods) + ")"


def infer_zone(facts: Iterable[Fact]) -> Inference | None:
    """The VM's offset from the ``tz.pairs`` facts of every member, or None when no member saw a pair.

    An :class:`Inference` with ``zone`` None means the pairs do not decide: too few, or disagreeing in a
    way no daylight-saving switch explains."""
    by_date: dict[date, Counter[int]] = defaultdict(Counter)
    members: list[str] = []
    for f in facts:
        if f.name != "tz.pairs" or not isinstance(f.value, dict):
            continue
        seen = False
        for cell in f.value.get("votes") or ():
            try:
                day, minutes, n = date.fromisoformat(str(cell[0])), int(cell[1]), int(cell[2])
            except (TypeError, ValueError, IndexError):
                continue
            by_date[day][minutes] += n
            seen = True
        if seen and f.path not in members:
            members.append(f.path)
    if not by_date:
        return None
    total = sum(sum(c.values()) for c in by_date.values())
    periods = _periods(by_date)
    agreeing = sum(p.pairs for p in periods)
    offsets = {p.minutes for p in periods}
    steps_ok = all(abs(a.minutes - b.minutes) in DST_STEPS for a, b in pairwise(periods))
    enough = agreeing >= MIN_PAIRS or (agreeing >= 2 and sum(p.dates for p in periods) >= 2)
    if not enough or agreeing < AGREEING * total or len(offsets) > 2 or not steps_ok:
        return Inference(None, agreeing, total, members, periods)
    if len(periods) == 1:
        return Inference(timezone(timedelta(minutes=periods[0].minutes)), agreeing, total, members, periods)
    return Inference(PairedZone(periods, _candidates(periods)), agreeing, total, members, periods)


def _periods(by_date: dict[date, Counter[int]]) -> list[Period]:
    """Runs of dates with the same winning offset; a run of a single pair between others is dropped as noise."""
    overall: Counter[int] = Counter()
    for votes in by_date.values():
        overall.update(votes)
    # a date's offset: the one most of its pairs show; a tie goes to the offset most pairs of the bundle show
    winners = [(day, *max(by_date[day].items(), key=lambda kv: (kv[1], overall[kv[0]]))) for day in sorted(by_date)]
    while True:
        runs: list[Period] = []
        for day, minutes, n in winners:
            if runs and runs[-1].minutes == minutes:
                runs[-1].last, runs[-1].pairs, runs[-1].dates = day, runs[-1].pairs + n, runs[-1].dates + 1
            else:
                runs.append(Period(day, day, minutes, n))
        weak = [r for r in runs if r.pairs < 2]
        if len(runs) == 1 or not weak:
            return runs
        drop = {(r.first, r.last) for r in weak}
        winners = [w for w in winners if not any(a <= w[0] <= b for a, b in drop)]
        if not winners:
            return []


@cache
def _zones() -> tuple[tzinfo, ...]:
    zones = []
    for key in sorted(available_timezones()):
        try:
            zones.append(ZoneInfo(key))
        except (ValueError, OSError):
            continue
    return tuple(zones)


def _candidates(periods: list[Period]) -> list[tzinfo]:
    """IANA zones whose offset is each period's on its first and last date."""
    checks = [(datetime.combine(d, time(12)), timedelta(minutes=p.minutes)) for p in periods for d in (p.first, p.last)]
    return [z for z in _zones() if all(z.utcoffset(wall) == want for wall, want in checks)]
