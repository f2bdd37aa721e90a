"""The VM's UTC offset from the same Windows event exported twice: once in UTC, once in local time.

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
from datetime import datetime

from parsers.base import Event, Fact

QUARTER = 900  # seconds
TOLERANCE = 2.0  # seconds
MAX_OFFSET = 14 * 3600
MIN_AGREEING = 3

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
