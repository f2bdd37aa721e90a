"""Local wall-clock times: the VM's UTC offset measured in the bundle, and the one place facts are converted.

:func:`resolve_facts` turns every local (naive) fact time into aware UTC with the bundle's zone, as the
timeline does for events, so that a fact read from an Event Viewer CSV row compares with everything else.
:func:`judge_leases` decides whether a DHCP lease had expired when the bundle was collected (the newest
time the bundle records), never by the wall clock of the analysis.

The offset is measured from the same Windows event exported twice, once in UTC and once in local
time, and from the clock read twice, once in each (``date`` and ``date --utc``, :func:`offset_from_readings`).

Event Viewer CSV/TXT and ``wevtutil /f:text`` exports carry local wall-clock times; ``.evtx`` and
event XML carry UTC. Support scripts often export the same log in several formats, so a record of
provider P with event id N at local time L usually has a twin in a UTC source at L - offset. For
each local record every UTC twin (same provider and id) votes for ``L - U``; a vote counts only when
it lies within two seconds of a whole quarter hour (exports round to the second). The offset that
the most local records vote for wins when at least three records and half of those with any vote
agree; the result is a ``tz.utc_offset_minutes`` fact with the evidence in its text.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from analyzer.timeline import to_utc
from parsers.base import Event, Fact

QUARTER = 900  # seconds
TOLERANCE = 2.0  # seconds
MAX_OFFSET = 14 * 3600
MIN_AGREEING = 3
READING_TOLERANCE = timedelta(minutes=2)  # date and date --utc run moments apart

_LOCAL_SOURCES = frozenset({"event_csv", "event_text"})
_UTC_SOURCES = frozenset({"evtx", "event_xml"})


def _key(e: Event) -> tuple[str, int] | None:
    eid = e.attrs.get("event_id")
    provider = str(e.attrs.get("provider") or e.component).strip().lower()
    return (provider, eid) if isinstance(eid, int) and provider else None


def offset_from_twins(events: Iterable[Event]) -> Fact | None:
    """A ``tz.utc_offset_minutes`` fact from local/UTC twins among ``events``, or ``None``."""
    utc: dict[tuple[str, int], list[datetime]] = defaultdict(list)
    local: list[tuple[tuple[str, int], datetime, Event]] = []
    for e in events:
        key = _key(e) if e.ts is not None else None
        if key is None:
            continue
        if e.local and e.source in _LOCAL_SOURCES:
            local.append((key, e.ts.replace(tzinfo=None), e))  # type: ignore[union-attr]
        elif not e.local and e.source in _UTC_SOURCES:
            utc[key].append(e.ts.replace(tzinfo=None))  # type: ignore[union-attr]
    votes: Counter[int] = Counter()
    voters = 0
    example: dict[int, Event] = {}
    for key, ts, e in local:
        offsets = set()
        for u in utc.get(key, ()):
            diff = (ts - u).total_seconds()
            quarters = round(diff / QUARTER)
            if abs(diff - quarters * QUARTER) <= TOLERANCE and abs(diff) <= MAX_OFFSET:
                offsets.add(quarters * QUARTER // 60)
        if offsets:
            voters += 1
            for minutes in offsets:
                votes[minutes] += 1
                example.setdefault(minutes, e)
    if not votes:
        return None
    minutes, n = votes.most_common(1)[0]
    if n < MIN_AGREEING or n * 2 < voters:
        return None
    e = example[minutes]
    return Fact("tz.utc_offset_minutes", minutes, e.path, e.line, None,
                f"{n} of {voters} local-time event(s) have a UTC twin {minutes:+d} min away "
                f"(same provider and event id in an .evtx/XML export)")


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
