"""The contract between parsers and the analyzer.

A parser turns the bytes of one bundle member into three kinds of output:

* **events** (yielded): one per log record, in file order, for the timeline;
* **facts** (``ctx.fact``): typed values such as the agent version or an option-245 lease;
* **problems** (``ctx.problem``): what could not be parsed, kept as data for the report: a :class:`Message`
  (a key of the locale files' ``messages``, ``problem.*``, and its parameters), worded at render time.
  A text that comes from outside (a library's error, a value read from the member) is a parameter.

An ordinary record (kind ``log``, level below warning: ``Event.notable`` false) may instead be reported
with ``ctx.count(ts, local)`` (or many at once, per hour, with ``ctx.count_span``) when ``ctx.counter`` is
set: the caller then only counts it (analysis
without the full timeline), and the parser skips building the event. Without a counter (the full
timeline, tests) ``ctx.count`` returns False and the parser yields the event as usual.

A record at warning or above is an *alarm* (``Event.alarm``): unless a finding explains it, the report lists
it as an unexplained error. A parser that knows such a record is not a failure says so in its attrs:
``routine`` (the agent writes it on healthy runs, per the reference) or ``unrelated`` (a Windows event of a
provider or service the backup does not depend on). A record about another extension carries
``other_extension`` (:mod:`parsers.extension_names`; :meth:`ParseContext.event` marks it). The level stays as
written.

Whatever a member holds, what a context keeps is bounded: the newest :data:`MAX_FACTS_PER_NAME` facts of
each name and the first :data:`MAX_PROBLEMS` problems; the rest is counted and reported as one problem.

Parsers know nothing of detectors. Every parser module defines ``PARSER``, a :class:`Parser`.
Notable events are capped by the caller (the newest ``max_notable`` per kind are kept, see
:mod:`parsers.kept`). When ``ctx.max_notable`` is set a parser may apply that cap to its member itself
and build events only for what can be kept; it then reports what it dropped with ``ctx.drop``. The caller
may also say, per kind, how old a record of this member may be and still be kept (``ctx.floor``: what it
keeps already of earlier members, e.g. the live log before its rotations), so that older ones are dropped
the same way without being built.

The vocabulary of event kinds and fact names lives in ``docs/vocabulary.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from parsers.extension_names import about_other_extension

# Levels, normalized. Parsers map their own spellings onto these.
LEVELS = ("debug", "verbose", "info", "warning", "error", "critical")
#: the levels of an alarm (``Event.alarm``)
ALARM_LEVELS = frozenset(("warning", "error", "critical"))

#: kind of an ordinary record that no detector looks for (kept for the full timeline export).
GENERIC_KIND = "log"
#: bytes of one line handed to a parser by default; the pipeline passes ``Limits.max_line`` (ParseContext)
MAX_LINE = 64 * 1024
#: facts of one name kept per member (the newest); older ones are only counted (``ParseContext.facts_dropped``)
MAX_FACTS_PER_NAME = 1_000
#: problems kept per member (the first); later ones are only counted (``ParseContext.problems_dropped``)
MAX_PROBLEMS = 100


@dataclass(slots=True)
class Event:
    """One log record. ``ts`` is timezone-aware UTC, or naive when ``local`` (the VM's wall clock)."""

    ts: datetime | None
    source: str
    path: str
    line: int
    level: str
    component: str
    kind: str
    message: str
    attrs: dict[str, Any] = field(default_factory=dict)
    local: bool = False

    @property
    def notable(self) -> bool:
        return self.kind != GENERIC_KIND or self.level in ("warning", "error", "critical")

    @property
    def alarm(self) -> bool:
        """A warning or worse that needs a finding to explain it: not marked ``routine`` (the agent writes it on
        healthy runs) or ``unrelated`` (about a service or provider the backup does not depend on) by its parser."""
        return (self.level in ALARM_LEVELS and not self.attrs.get("routine")
                and not self.attrs.get("unrelated"))


@dataclass(slots=True)
class Fact:
    """A typed value read from the bundle, with where it came from.

    ``ts`` follows the rule of :class:`Event`: aware UTC, or naive when ``local`` (the VM's wall clock,
    e.g. a fact read from an Event Viewer CSV row). Local facts are converted once for the whole bundle
    (:func:`analyzer.clock.resolve_facts`), so no detector ever sees a naive time.
    """

    name: str
    value: Any
    path: str
    line: int | None = None
    ts: datetime | None = None
    text: str = ""
    local: bool = False


@dataclass
class Message:
    """A sentence in the tool's own words, worded at render time: a key of the locale files' ``messages``
    and its parameters. A parameter is a number (formatted for the language), a string or a list of
    strings shown as they are (values from the bundle, versions, ids, a library's error text), or a
    nested :class:`Message` (a worded part: a role, a state)."""

    key: str = field(metadata={"verbatim": True})  # never redacted or masked: it is ours, not the bundle's
    params: dict[str, Any] = field(default_factory=dict)


def say(key: str, **params: Any) -> Message:
    """``say("evidence.heartbeat_gap", minutes=119, record=line)``: a message to word at render time."""
    return Message(key, params)


@dataclass(slots=True)
class Problem:
    """Something in a member that could not be read as its format says; shown in the report, worded at
    render time (``message`` is a ``problem.*`` key and its parameters)."""

    path: str
    line: int | None
    message: Message


SpanCounter = Callable[[list[tuple[datetime, int]], datetime, datetime, bool], None]
#: (newest event, records, time of the oldest, whether that time is local) of dropped alarms of one message
DroppedAlarm = tuple[Event, int, datetime | None, bool]
DropCounter = Callable[[str, int, list[DroppedAlarm]], None]


class ParseContext:
    """Collects facts and problems while a parser runs over one member."""

    def __init__(self, path: str, source: str = "",
                 counter: Callable[[datetime | None, bool], None] | None = None,
                 span_counter: SpanCounter | None = None, max_line: int = MAX_LINE,
                 max_notable: int | None = None, drop_counter: DropCounter | None = None,
                 floor: Callable[[str], int | None] | None = None) -> None:
        self.path = path
        self.source = source
        self.max_line = max_line  # bytes of one line a parser reads at most (Limits.max_line); the rest is cut
        self.facts: list[Fact] = []
        self.problems: list[Problem] = []
        self.facts_dropped: Counter[str] = Counter()  # fact name -> older facts counted, not kept
        self.problems_dropped = 0
        self._fact_counts: Counter[str] = Counter()
        self.counter = counter  # takes (ts, local) of ordinary records that are only counted
        self.span_counter = span_counter  # takes (hours, first, last, local) of records counted in bulk
        self.counted = 0
        # notable events the caller keeps per kind (None: the parser yields them all); needs drop_counter
        self.max_notable = max_notable if drop_counter is not None else None
        self.drop_counter = drop_counter
        # kind -> the age (parsers.kept.age) of the oldest notable event of this source the caller can still keep
        # (it keeps max_notable newer or as new): a record strictly older never is; None: any may be
        self.floor = floor if self.max_notable is not None else None

    def drop(self, kind: str, n: int, alarms: list[DroppedAlarm]) -> None:
        """``n`` notable records of ``kind`` that the parser counted (``count``, ``count_span``) but did not
        yield, being older than the ``max_notable`` kept; ``alarms`` are those of them that are alarms,
        grouped by message (already among the ``n`` of some call)."""
        assert self.drop_counter is not None
        self.drop_counter(kind, n, alarms)

    def count_span(self, hours: list[tuple[datetime, int]], first: datetime, last: datetime, local: bool) -> None:
        """Ordinary records counted in bulk: ``hours`` is (hour start, records), ``first``/``last`` their
        earliest and latest times. Needs ``counter``; ``span_counter``, when set, takes them in one call (a negative
        count takes records back: only ``span_counter`` can)."""
        total = sum(k for _, k in hours)
        self.counted += total
        if self.span_counter is not None:
            self.span_counter(hours, first, last, local)
            return
        assert self.counter is not None
        for i, (hour, k) in enumerate(hours):  # one call per record; the first and last hours at the span's ends
            ts = first if i == 0 else last if i == len(hours) - 1 else hour.replace(tzinfo=first.tzinfo)
            for j in range(k):  # in a span of one hour, the first record at its first time, the others at its last
                self.counter(last if len(hours) == 1 and j else ts, local)

    def count(self, ts: datetime | None, local: bool) -> bool:
        """Report an ordinary record without an event; False when the caller wants the event itself."""
        if self.counter is None:
            return False
        self.counter(ts, local)
        self.counted += 1
        return True

    def fact(
        self,
        name: str,
        value: Any,
        line: int | None = None,
        ts: datetime | None = None,
        text: str = "",
    ) -> None:
        """Record a fact; a naive ``ts`` is the VM's wall clock (``local``), as for events."""
        self.facts.append(Fact(name, value, self.path, line, ts, text, ts is not None and ts.tzinfo is None))
        self._fact_counts[name] += 1
        if self._fact_counts[name] >= 2 * MAX_FACTS_PER_NAME:  # trimmed now and then: amortized constant time
            self.facts_dropped += keep_newest(self.facts, MAX_FACTS_PER_NAME, self._fact_counts)

    def problem(self, key: str, line: int | None = None, **params: Any) -> None:
        """``ctx.problem("problem.invalid_timestamp", n)``: a problem of this member, a ``problem.*`` key of
        the locale files and its parameters (a text from outside, such as a library's error, is a parameter).
        Past :data:`MAX_PROBLEMS` it is only counted, before anything is built."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(self.path, line, Message(key, params)))
        else:
            self.problems_dropped += 1

    def finish(self) -> None:
        """After the member: the facts trimmed to their cap, and what was only counted said in one problem each."""
        self.facts_dropped += keep_newest(self.facts, MAX_FACTS_PER_NAME, self._fact_counts)
        notes = [Problem(self.path, None, say("problem.facts_dropped_member", n=n, name=name, cap=MAX_FACTS_PER_NAME))
                 for name, n in sorted(self.facts_dropped.items())]
        if self.problems_dropped:
            notes.append(Problem(self.path, None, say("problem.problems_dropped_member", n=self.problems_dropped,
                                                      cap=MAX_PROBLEMS)))
        self.problems[:0] = notes  # first, so that the member's row (its first problems) says them

    def event(
        self,
        ts: datetime | None,
        line: int,
        message: str,
        *,
        level: str = "info",
        component: str = "",
        kind: str = GENERIC_KIND,
        local: bool = False,
        **attrs: Any,
    ) -> Event:
        """Build an event of this member (parsers still ``yield`` it); an alarm about another extension is marked
        ``other_extension`` (unless the parser decided it already)."""
        if level in ALARM_LEVELS and "other_extension" not in attrs:
            extension = attrs.get("extension")
            if about_other_extension(message, (extension,) if isinstance(extension, str) else ()):
                attrs["other_extension"] = True
        return Event(ts, self.source, self.path, line, level, component, kind, message, attrs, local)


def keep_newest(facts: list[Fact], cap: int, counts: Counter[str]) -> Counter[str]:
    """Drop, in place, the oldest facts of every name that has more than ``cap`` (``counts`` holds the number per
    name and is updated); returns how many of each name were dropped. The order of what is kept is unchanged."""
    over = {name: n - cap for name, n in counts.items() if n > cap}
    if not over:
        return Counter()
    dropped: Counter[str] = Counter()
    kept = []
    for f in facts:  # facts of a name arrive oldest first: the first ones over the cap go
        if dropped[f.name] < over.get(f.name, 0):
            dropped[f.name] += 1
            continue
        kept.append(f)
    facts[:] = kept
    counts.subtract(dropped)
    return dropped


ParseFn = Callable[[BinaryIO, ParseContext], Iterator[Event]]
SniffFn = Callable[[str, bytes], bool]


@dataclass(frozen=True)
class Parser:
    """A parser plugin: a name, a cheap sniff on the member's first bytes, and the parse function."""

    name: str
    parse: ParseFn
    sniff: SniffFn | None = None
    description: str = ""


# --- small time helpers shared by parsers -------------------------------------------------

_DOTNET_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def from_dotnet_ticks(ticks: int | str) -> datetime | None:
    """.NET ticks (100 ns since 0001-01-01 UTC) to an aware datetime; None when out of range."""
    try:
        return _DOTNET_EPOCH + timedelta(microseconds=int(ticks) // 10)
    except (ValueError, OverflowError, TypeError):
        return None


#: attr of a record whose header time has no year (``Jan  6 13:02:17``) and whose own file showed none: the time
#: as an ISO-8601 date without year, ``--01-06T13:02:17.000000``; the pipeline dates it from the whole bundle
YEARLESS = "syslog_time"


def yearless_stamp(month: int, day: int, hh: int, mm: int, ss: int, us: int = 0) -> str:
    return f"--{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{min(ss, 59):02d}.{us:06d}"


def date_yearless(stamp: str, newest: datetime) -> datetime | None:
    """The naive time a :data:`YEARLESS` stamp stands for: the latest year that does not put it after ``newest``
    (the bundle's collection time; a day of slack for time zones), so ``Dec 30`` in a bundle collected on
    January 2 is the previous year. None when the stamp is malformed or no year fits (29 February)."""
    try:
        month, day = int(stamp[2:4]), int(stamp[5:7])
        clock = datetime.strptime(stamp[8:], "%H:%M:%S.%f")
    except ValueError:
        return None
    limit = newest.replace(tzinfo=None) + timedelta(days=1)
    for year in range(limit.year, limit.year - 8, -1):
        try:
            cand = datetime(year, month, day, clock.hour, clock.minute, clock.second, clock.microsecond)
        except ValueError:
            continue
        if cand <= limit:
            return cand
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)


def wall_clock(ts: datetime) -> datetime:
    """``ts`` without its zone (its wall clock, naive): ``ts.replace(tzinfo=None)``, for a UTC time by arithmetic,
    several times cheaper (``replace`` parses its keywords: 2-3 us a call), as the timeline does for every record."""
    tz = ts.tzinfo
    if tz is None:
        return ts
    return _NAIVE_EPOCH + (ts - _EPOCH) if tz is UTC else ts.replace(tzinfo=None)


def hour_of(wall: datetime) -> datetime:
    """The start of the hour of a naive time (``replace(minute=0, second=0, microsecond=0)``, cheaper)."""
    return datetime(wall.year, wall.month, wall.day, wall.hour)


def utc(dt: datetime) -> datetime:
    """Mark a naive datetime that is known to be UTC as aware."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
