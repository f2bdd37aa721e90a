"""One UTC-ordered event stream per bundle, with bounded memory.

Parsers stream events in file order. Events that detectors look for (``Event.notable``: a specific
kind, or warning and above) stay in memory; ordinary records are only counted, unless the caller
asks for the full stream (``keep_all=True``, used by ``bundle-analyze timeline``). Kept ordinary
records are spilled to anonymous temporary files (every :data:`SPILL_BYTES` of them) in sorted runs,
each written in small pieces, and merged on output with a bounded fan-in, so neither a 1 GB log nor
the export of it ever sits in memory. Notable events are capped too: per (source, kind) the newest
``MAX_NOTABLE`` are kept and older ones only counted (:meth:`Timeline.dropped`); all kept notable
events together stay within :data:`MAX_KEPT_BYTES` (the largest kind gives way first), and a kept
message is cut at :data:`parsers.kept.MAX_KEPT_MESSAGE` characters (the length any detector pattern searches), so a
log with millions of warnings, or of 64 KiB warnings, cannot exhaust memory; the alarms among the
records dropped so (``Event.alarm``) are counted by template in ``beyond_cap`` (bounded too), so that
they still count as unexplained errors. In the full stream nothing is dropped or cut: notable events
beyond the caps are spilled with the ordinary ones. The picture's hourly counts keep the newest
:data:`MAX_HOURS` (source, hour) buckets. Parsers may report an ordinary record without building an
event (:meth:`Timeline.count_ordinary`, through ``ParseContext.counter``) when the full stream is not
kept.

Local-time records (waagent 2.0-2.2.45, Event Viewer CSV/TXT) are converted with the VM's time zone
once the whole bundle has been read (each record with the offset in force at its own time, so a
daylight-saving switch inside the bundle is honoured); without one they are taken as UTC and marked
``attrs.tz = "assumed-utc"``. A syslog record whose file shows no year (``attrs.syslog_time``) is dated
then too, from the bundle's collection time (its newest dated record): the latest year that does not put it
after that time. A record that a syslog copy repeats from the agent's own log or from another copy (same UTC
time and message) is kept once, and so is one that an extension's CommandExecution.log repeats, and a Windows
event that two exports of the same log hold (an .evtx beside its XML, CSV or text export).

``last`` is the bundle's collection time: the newest record of its logs (``log_sources``: the parsers of the
source rows marked ``log``, analyzer/sources.py). The agent and the extensions write their state files while
they log, so the time of any other record (a status file's stamp, a setting's start time) counts only when no
log dates the bundle, or when it is at most ``STATE_LEAD`` newer than the logs: a status file stamped days
after the last record of every log (a wrong clock, a placeholder) does not move the collection time, which
would make a problem that runs up to the real collection look like old history. Without ``log_sources`` every
record counts.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from operator import itemgetter
from typing import IO, Any

from analyzer.log_templates import TemplateCounts
from parsers.base import YEARLESS, DroppedAlarm, Event, date_yearless, hour_of, wall_clock
from parsers.kept import age, cut

SPILL_EVENTS = 100_000
SPILL_BYTES = 16 << 20  # a run is spilled when its events reach about this size in memory
MAX_NOTABLE = 5_000  # notable events kept per (source, kind), the newest; older ones are counted
MAX_KEPT_BYTES = 96 << 20  # all kept notable events together, about (the largest kind gives way first)
MAX_HOURS = 20_000  # (source, hour) buckets of the picture's counts, the newest; older ones are counted
_RUN_PIECE_BYTES = 1 << 20  # a sorted run is written and read back in pieces of about this size
_MERGE_FAN_IN = 16  # runs merged at once; more runs are merged in passes
_MAX_SEEN = 10_000  # messages remembered at one time stamp, to drop syslog copies of them
_EVENT_OVERHEAD = 500  # bytes an event costs beyond its text, about (object, dict, datetime, strings)
_MAX_TS = datetime.max.replace(tzinfo=UTC)
STATE_LEAD = timedelta(days=1)  # how much newer than the newest log record a state file's time may be


def _key(e: Event) -> tuple[datetime, int, str, int]:
    # copies (syslog, CommandExecution.log) sort after the original so that de-duplication keeps the agent's own
    return (e.ts or _MAX_TS, 1 if e.attrs.get("via") else 0, e.path, e.line)


def _cost(e: Event) -> int:
    """About what ``e`` costs in memory: its text and its attributes' text, plus a fixed overhead."""
    return _EVENT_OVERHEAD + len(e.message) + _size(e.attrs, 3)


def _size(value: Any, depth: int) -> int:
    if isinstance(value, str):
        return len(value)
    if depth and isinstance(value, dict):  # a loop, strings measured in place: one call per notable event
        n = 16 * len(value)
        for k, v in value.items():
            n += len(k if type(k) is str else str(k)) + (len(v) if type(v) is str else _size(v, depth - 1))
        return n
    if depth and isinstance(value, list | tuple):
        return sum(_size(v, depth - 1) + 8 for v in value)
    return 16


#: a kept notable event: (arrival number, event, its cost, its age); the age (:func:`parsers.kept.age`: local and UTC
#: times compare as wall clocks) orders a kind's events when they are capped, the cost is what it was charged
_Kept = tuple[int, Event, int, int]
_ARRIVAL = itemgetter(0)
_AGE = itemgetter(3)


class Timeline:
    def __init__(self, keep_all: bool = False, max_notable: int = MAX_NOTABLE,
                 log_sources: frozenset[str] | None = None) -> None:
        self.keep_all = keep_all
        self.log_sources = log_sources
        self.max_notable = max_notable
        self.notable: list[Event] = []
        # (source, kind) -> its kept events, trimmed to the newest max_notable now and then
        self._kept: dict[tuple[str, str], list[_Kept]] = {}
        self._seq = 0
        # -> (count, arrival of the first dropped record: its number or that of the next event when its parser
        # dropped it, its path): the path is that of the first member holding a dropped record, whoever dropped it
        self._dropped: dict[tuple[str, str], tuple[int, int, str]] = {}
        self._floors: dict[tuple[str, str], int | None] = {}  # (source, kind) -> floor(), until the kind changes
        self._budget_trimmed = False  # a kind gave way to MAX_KEPT_BYTES: no floor from then on
        self.beyond_cap = TemplateCounts()  # alarms dropped by the cap, counted by template
        self.count = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.utc_offset: timedelta | None = None  # the zone's offset at the newest local time, for reports
        self.zone: tzinfo | None = None
        self.by_source: Counter[str] = Counter()
        # (source, local, hour start) -> events, for the timeline picture
        self._hist: Counter[tuple[str, bool, datetime]] = Counter()
        # earliest record, newest log record, newest other record: by whether the time is the VM's wall clock
        self._lo: dict[bool, datetime] = {}
        self._hi: dict[bool, datetime] = {}
        self._hi_state: dict[bool, datetime] = {}
        self.hours_dropped = 0  # records of buckets beyond MAX_HOURS (the oldest), counted only
        self._buffer: list[Event] = []
        self._buffer_bytes = 0
        self._kept_bytes: Counter[tuple[str, str]] = Counter()  # (source, kind) -> cost of its kept events
        self._kept_total = 0  # their sum
        self._raw_spills: list[IO[bytes]] = []
        self._runs: list[IO[bytes]] = []
        self._finalized = False
        self._latest_local: datetime | None = None
        self._newest: datetime | None = None  # newest dated record (wall clock): the year reference without a log
        self.yearless: Counter[str] = Counter()  # path -> records whose header time has no year
        self._yearless_hours: Counter[tuple[str, str]] = Counter()  # (source, stamp to the hour) of counted ones
        self.year_ref: datetime | None = None  # what the yearless records were dated by (None: left undated)

    # --- filling -----------------------------------------------------------------------------
    def add(self, e: Event) -> None:
        self.by_source[e.source] += 1
        if e.ts is not None:
            if e.local and (self._latest_local is None or e.ts > self._latest_local):
                self._latest_local = e.ts
            wall = wall_clock(e.ts)
            self._seen(wall)
            self._hour(e.source, e.local, hour_of(wall))
        elif YEARLESS in e.attrs:
            self.yearless[e.path] += 1
            if not e.notable and not self.keep_all:
                self._yearless_hours[(e.source, str(e.attrs[YEARLESS])[:10] + ":00:00.000000")] += 1
        if e.notable:
            if not self.keep_all:
                cut(e)
            group = (e.source, e.kind)
            kept = self._kept.setdefault(group, [])
            cost = _cost(e)
            kept.append((self._seq, e, cost, age(e.ts)))
            if self._floors:
                self._floors.pop(group, None)
            self._seq += 1
            self._kept_bytes[group] += cost
            self._kept_total += cost
            if len(kept) >= 2 * self.max_notable:
                self._trim(e.source, e.kind, kept, self.max_notable)
            while self._kept_total > MAX_KEPT_BYTES and self._make_room():
                pass
        elif self.keep_all:
            self._keep(e)
        else:
            self._count(e)

    def _keep(self, e: Event) -> None:
        """An event of the full stream, held until its run is spilled."""
        self._buffer.append(e)
        self._buffer_bytes += _cost(e)
        if len(self._buffer) >= SPILL_EVENTS or self._buffer_bytes >= SPILL_BYTES:
            self._spill_raw()

    def _hour(self, source: str, local: bool, hour: datetime, n: int = 1) -> None:
        key = (source, local, hour)
        if n < 0 and key not in self._hist:  # records taken back (a parser's bulk count) from a bucket dropped
            self.hours_dropped += n
            return
        self._hist[key] += n
        if len(self._hist) >= 2 * MAX_HOURS:  # the oldest buckets go: a log of a thousand years stays small
            for key in sorted(self._hist, key=lambda k: k[2])[: len(self._hist) - MAX_HOURS]:
                self.hours_dropped += self._hist.pop(key)

    def _make_room(self) -> bool:
        """Kept notable events over :data:`MAX_KEPT_BYTES`: the kind that holds the most gives up its older half
        (False when there is nothing left to give)."""
        source, kind = max(self._kept_bytes, key=lambda g: self._kept_bytes[g])
        kept = self._kept[(source, kind)]
        if len(kept) <= 1:
            return False
        self._trim(source, kind, kept, len(kept) // 2)
        self._budget_trimmed = True
        self._floors.clear()
        return True

    def floor(self, source: str, kind: str) -> int | None:
        """The age (:func:`parsers.kept.age`) of the oldest of the newest ``max_notable`` events of (source, kind)
        kept so far, once there are that many: an event strictly older can never be kept (they are newer, and
        later arrivals only add), one as old can (ties go to the later arrival). None while fewer are kept, in the
        full stream, and once the byte budget has trimmed a kind (what it keeps then depends on when it gave
        way). What is older is dropped now, as it would be at the end (``ParseContext.floor``)."""
        group = (source, kind)
        if group in self._floors:
            return self._floors[group]
        kept = self._kept.get(group)
        floor = None
        if not self.keep_all and not self._budget_trimmed and kept is not None and len(kept) >= self.max_notable:
            self._trim(source, kind, kept, self.max_notable)
            floor = min(item[3] for item in kept)
        self._floors[group] = floor
        return floor

    def kept(self) -> Iterator[Event]:
        """The notable events kept so far (before :meth:`finalize`: local times not yet converted)."""
        for items in self._kept.values():
            for item in items:
                yield item[1]

    def count_ordinary(self, source: str, ts: datetime | None, local: bool) -> None:
        """An ordinary record (``Event.notable`` false) that is only counted: what :meth:`add` keeps of it."""
        self.by_source[source] += 1
        self.count += 1
        if ts is not None:
            if local and (self._latest_local is None or ts > self._latest_local):
                self._latest_local = ts
            wall = wall_clock(ts)
            self._seen(wall)
            self._hour(source, local, hour_of(wall))
            self._range(ts, local, source)

    def _seen(self, wall: datetime) -> None:
        """A record at ``wall`` (its time on its own clock, without a zone)."""
        if self._newest is None or wall > self._newest:
            self._newest = wall

    def count_span(self, source: str, hours: list[tuple[datetime, int]], first: datetime, last: datetime,
                   local: bool) -> None:
        """Ordinary records counted in bulk: per hour (hour start, records), with their earliest and latest time."""
        total = 0
        for hour, k in hours:
            self._hour(source, local, hour.replace(tzinfo=None), k)
            total += k
        self.by_source[source] += total
        self.count += total
        if local and (self._latest_local is None or last > self._latest_local):
            self._latest_local = last
        self._seen(last.replace(tzinfo=None))
        self._range(first, local, source)
        self._range(last, local, source)

    def _trim(self, source: str, kind: str, kept: list[_Kept], keep: int) -> None:
        """Keep the newest ``keep`` events of (source, kind); the others are counted only (in the full stream,
        spilled with the ordinary records: nothing of it is dropped)."""
        if len(kept) <= keep:
            return
        kept.sort(key=_AGE)
        cut = len(kept) - keep
        dropped = kept[:cut]
        cost = 0
        ends: dict[bool, list[datetime]] = {}  # wall clock or not -> the oldest and newest time dropped
        for _, e, c, _ in dropped:
            cost += c
            if self.keep_all:
                self._keep(e)
                continue
            if e.ts is not None:  # in age order: the first of each clock is the oldest, the last the newest
                span = ends.get(e.local)
                if span is None:
                    ends[e.local] = [e.ts, e.ts]
                else:
                    span[1] = e.ts
            if e.alarm:
                self.beyond_cap.add(e)
        self._kept_bytes[(source, kind)] -= cost
        self._kept_total -= cost
        if not self.keep_all:
            self.count += cut  # counted as ordinary records are (_count), the time range from the ends of each clock
            for local, (oldest, newest) in ends.items():
                self._range(oldest, local, source)
                self._range(newest, local, source)
            first, e, *_ = min(dropped, key=_ARRIVAL)
            self._note_dropped(source, kind, cut, first, e.path)
        del kept[:cut]

    def count_dropped(self, source: str, path: str, kind: str, n: int, alarms: list[DroppedAlarm]) -> None:
        """Notable records a parser dropped itself (``ParseContext.drop``), counted already: as :meth:`_trim`
        accounts for the events it drops."""
        if n:
            self._note_dropped(source, kind, n, self._seq, path)
        for e, records, first, first_local in alarms:
            self.beyond_cap.add(e, records, first, first_local)

    def _note_dropped(self, source: str, kind: str, n: int, arrival: int, path: str) -> None:
        old, first, first_path = self._dropped.get((source, kind), (0, arrival, path))
        self._dropped[(source, kind)] = (old + n, *((arrival, path) if arrival < first else (first, first_path)))

    def dropped(self) -> list[tuple[str, str, int, str]]:
        """(source, kind, events counted but not kept, path of the first member holding one) for every capped
        kind: the same whether the timeline or the parser dropped them."""
        return [(source, kind, n, path) for (source, kind), (n, _, path) in sorted(self._dropped.items())]

    def extend(self, events: Iterable[Event]) -> int:
        n = 0
        for e in events:
            self.add(e)
            n += 1
        return n

    def _count(self, e: Event) -> None:
        # ordinary records that are not kept: counted now, their time range fixed up in finalize
        self.count += 1
        if e.ts is not None:
            self._range(e.ts, e.local, e.source)

    def _range(self, ts: datetime, local: bool, source: str) -> None:
        """Earliest and newest times, kept apart for wall-clock and UTC records (a naive local time and a UTC
        time compare only once the zone is known, at the end)."""
        wall = wall_clock(ts)
        if local not in self._lo or wall < self._lo[local]:
            self._lo[local] = wall
        newest = self._hi_state if self.log_sources is not None and source not in self.log_sources else self._hi
        if local not in newest or wall > newest[local]:
            newest[local] = wall

    def _newest_utc(self, newest: dict[bool, datetime]) -> datetime | None:
        return max((self._to_utc(ts, local) for local, ts in newest.items()), default=None)

    def _collected(self) -> datetime | None:
        """The collection time: the newest log record, or another record's time close after it (see above)."""
        logs = self._newest_utc(self._hi)
        state = self._newest_utc(self._hi_state)
        if logs is None or (state is not None and logs < state <= logs + STATE_LEAD):
            return state
        return logs

    def _year_ref(self) -> datetime | None:
        """What yearless records are dated by: the collection time (:meth:`_collected`: a state file stamped long
        after every log does not move it) on the VM's wall clock, as their headers are; or the newest record."""
        collected = self._collected()
        if collected is None:
            return self._newest
        wall = collected.replace(tzinfo=None)
        return wall + self.zone.utcoffset(wall) if self.zone is not None else wall  # type: ignore[operator]

    def _spill_raw(self) -> None:
        f = tempfile.TemporaryFile()
        pickle.dump(self._buffer, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.seek(0)
        self._raw_spills.append(f)
        self._buffer = []
        self._buffer_bytes = 0

    def latest_local(self) -> datetime | None:
        """The newest wall-clock (local) time seen so far, to resolve a named time zone's offset."""
        return self._latest_local

    # --- finishing ----------------------------------------------------------------------------
    def finalize(self, zone: tzinfo | timedelta | None) -> None:
        """Convert local times with the VM's ``zone`` (or a fixed offset: local = UTC + offset), sort,
        de-duplicate."""
        if self._finalized:
            return
        self._finalized = True
        self.zone = timezone(zone) if isinstance(zone, timedelta) else zone
        if self.zone is not None:
            self.utc_offset = self.zone.utcoffset(self._latest_local or datetime(2024, 1, 1))
        kept: list[_Kept] = []
        for (source, kind), items in self._kept.items():
            self._trim(source, kind, items, self.max_notable)
            kept += items
        kept.sort(key=lambda item: item[0])  # arrival order, as the events came
        self.notable = [item[1] for item in kept]
        self._kept = {}
        if self.yearless:
            for e in self.notable:  # their time as written: the same moment once converted below
                if e.ts is not None:
                    self._range(e.ts, e.local, e.source)
            self.year_ref = self._year_ref()
        for e in self.notable:
            self._convert(e)
        self.notable.sort(key=_key)
        self.notable = list(_dedup(self.notable))
        self.count += len(self.notable)
        for e in self.notable:
            if e.ts is not None:
                self._range(e.ts, False, e.source)
        if self.keep_all:
            spills, self._raw_spills = [*self._raw_spills, None], []
            for spill in spills:  # one spill at a time in memory: converted, sorted, written as a run
                if spill is None:
                    chunk, self._buffer = self._buffer, []
                else:
                    chunk = pickle.load(spill)
                    spill.close()
                for e in chunk:
                    self._convert(e)
                    self._count(e)
                chunk.sort(key=_key)
                self._runs.append(_write_run(chunk))
                del chunk
            while len(self._runs) > _MERGE_FAN_IN:  # merge passes: at most _MERGE_FAN_IN runs read at once
                merged = [_write_run(heapq.merge(*map(_read_run, self._runs[i:i + _MERGE_FAN_IN]), key=_key))
                          for i in range(0, len(self._runs), _MERGE_FAN_IN)]
                for f in self._runs:
                    f.close()
                self._runs = merged
        self._count_yearless_hours()
        self.beyond_cap.resolve(self._to_utc)
        self.first = min((self._to_utc(ts, local) for local, ts in self._lo.items()), default=None)
        self.last = self._collected()

    def _to_utc(self, ts: datetime, local: bool) -> datetime:
        if local and self.zone is not None:
            return to_utc(ts, self.zone)
        return ts.replace(tzinfo=UTC)

    def _count_yearless_hours(self) -> None:
        """Ordinary yearless records that were only counted: into the picture and the time range, once dated."""
        if self.year_ref is None:
            return
        for (source, stamp), n in self._yearless_hours.items():
            ts = date_yearless(stamp, self.year_ref)
            if ts is not None:
                self._hour(source, True, ts, n)
                self._range(ts, True, source)
        self._yearless_hours.clear()

    def _convert(self, e: Event) -> None:
        if e.ts is None:
            stamp = e.attrs.get(YEARLESS)
            if self.year_ref is None or not isinstance(stamp, str):
                return
            e.ts = date_yearless(stamp, self.year_ref)
            if e.ts is None:
                return
            e.attrs["year"] = "inferred"
            self._hour(e.source, e.local, e.ts.replace(minute=0, second=0, microsecond=0))
        if e.local:
            if self.zone is not None:
                e.ts = to_utc(e.ts, self.zone)
                e.attrs["tz"] = "converted"
            else:
                e.ts = e.ts.replace(tzinfo=UTC)
                e.attrs["tz"] = "assumed-utc"
            e.local = False
        elif e.ts.tzinfo is None:
            e.ts = e.ts.replace(tzinfo=UTC)

    # --- reading ------------------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        """Every kept event in UTC order (notable ones, plus all records when ``keep_all``)."""
        if not self._finalized:
            raise RuntimeError("finalize() the timeline first")
        streams: list[Iterator[Event]] = [iter(self.notable), *map(_read_run, self._runs)]
        yield from _dedup(heapq.merge(*streams, key=_key))

    def histogram(self) -> dict[str, list[tuple[str, int]]]:
        """Events per source per hour (UTC, ISO strings), for the timeline picture."""
        out: dict[str, Counter[str]] = {}
        for (source, local, hour), n in self._hist.items():
            start = self._to_utc(hour, local)
            out.setdefault(source, Counter())[start.strftime("%Y-%m-%dT%H:00:00Z")] += n
        return {s: sorted(c.items()) for s, c in sorted(out.items())}

    def frame(self, events: Iterable[Event] | None = None) -> Any:
        """A pandas DataFrame of the notable events (or of ``events``), with the row schema."""
        import pandas as pd

        rows = [row(e) for e in (self.notable if events is None else events)]
        return pd.DataFrame(rows, columns=list(ROW_COLUMNS))

    def close(self) -> None:
        for f in self._raw_spills + self._runs:
            f.close()
        self._raw_spills, self._runs = [], []


ROW_COLUMNS = ("ts", "source", "path", "line", "level", "component", "kind", "message", "attrs")


def to_utc(wall: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time of ``zone`` as aware UTC (the offset in force at that time; the first of a
    repeated hour)."""
    try:
        return wall.replace(tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):  # the first or last days of the calendar
        return wall.replace(tzinfo=UTC)


def parse_iso(value: str) -> datetime:
    """An ISO-8601 time as aware UTC (a time without an offset is UTC; a date alone is its midnight);
    raises ``ValueError`` when ``value`` is none."""
    t = datetime.fromisoformat(value.strip().replace("z", "Z").replace("Z", "+00:00"))
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def iso_seconds(ts: datetime) -> str:
    """``2024-06-10T02:00:00Z``: a time the user typed or reads in a sentence (no microseconds)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(ts: datetime | None) -> str:
    if ts is None:
        return ""
    ts = ts.astimezone(UTC) if ts.tzinfo else ts
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row(e: Event) -> dict[str, Any]:
    return {
        "ts": iso(e.ts),
        "source": e.source,
        "path": e.path,
        "line": e.line,
        "level": e.level,
        "component": e.component,
        "kind": e.kind,
        "message": e.message,
        "attrs": e.attrs,
    }


def _write_run(events: Iterable[Event]) -> IO[bytes]:
    """Sorted events into an anonymous file, pickled in pieces of about :data:`_RUN_PIECE_BYTES`."""
    f = tempfile.TemporaryFile()
    piece: list[Event] = []
    size = 0
    for e in events:
        piece.append(e)
        size += _cost(e)
        if size >= _RUN_PIECE_BYTES:
            pickle.dump(piece, f, protocol=pickle.HIGHEST_PROTOCOL)
            piece, size = [], 0
    if piece:
        pickle.dump(piece, f, protocol=pickle.HIGHEST_PROTOCOL)
    f.seek(0)
    return f


def _read_run(f: IO[bytes]) -> Iterator[Event]:
    """The events of a run, one piece in memory at a time."""
    f.seek(0)
    while True:
        try:
            piece = pickle.load(f)
        except EOFError:
            return
        yield from piece


def _dedup(events: Iterable[Event]) -> Iterator[Event]:
    """Drop copies (``attrs.via``: a syslog or journal copy, an extension's CommandExecution.log) of a record
    already present with the same UTC time and message: in the agent's own log, or in another copy (syslog
    and a journal export of the same days). A Windows event exported twice (an .evtx and its XML, CSV or text
    export: the same provider and event id in the same UTC second, as many times as another file holds it) is
    kept once too: the exports round or drop the fraction and render the message their own way. The memory of
    one time stamp's messages (one second's events) is bounded: a copy beyond it is kept, not dropped."""
    current: datetime | None = None
    second: datetime | None = None
    seen: dict[int, str] = {}  # hash of the message -> path of the record kept
    exported: dict[tuple[str, object], dict[str, int]] = {}  # (provider, event id) of this second -> records per path
    for e in events:
        if e.ts != current:
            current = e.ts
            seen = {}
            if e.ts is None or e.ts.replace(microsecond=0) != second:
                second = None if e.ts is None else e.ts.replace(microsecond=0)
                exported = {}
        h = hash(e.message)
        kept = seen.get(h)
        if e.attrs.get("via") and kept is not None and kept != e.path:
            continue
        provider, event_id = e.attrs.get("provider"), e.attrs.get("event_id")
        if second is not None and isinstance(provider, str) and provider and event_id is not None:
            counts = exported.get((provider.lower(), event_id))
            if counts is None and len(exported) < _MAX_SEEN:
                counts = exported[(provider.lower(), event_id)] = {}
            if counts is not None:
                mine = counts[e.path] = counts.get(e.path, 0) + 1
                if any(n >= mine for path, n in counts.items() if path != e.path):
                    continue  # another export already holds as many records of this event in this second
        if len(seen) < _MAX_SEEN:
            seen.setdefault(h, e.path)
        yield e
