"""Which notable events are kept: the newest ``limit`` per kind, the rule the timeline caps with.

The timeline keeps, per (source, kind), the newest :data:`analyzer.timeline.MAX_NOTABLE` notable events by
their wall-clock time (:func:`age`; local and UTC times compare as wall clocks, undated events are the
oldest), ties going to the later arrival; older ones are only counted. A parser that is told the limit
(``ParseContext.max_notable``) may apply the same rule to one member first and build events only for
the records that can still be kept (:class:`NewestPerKind`): the newest of a member are a superset of
those the timeline keeps of it, so the timeline ends with the same events. The cap spans the bundle: a
record strictly older than the timeline's *floor* of its kind (``ParseContext.floor``: the age of the
``limit``-th newest event it keeps of the members before) can never be kept, whatever comes later, and is
dropped at once; one as old can (it arrives later), and waits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple

from parsers.base import Event, ParseContext, wall_clock

#: characters of a kept message (and of its raw copy); test_redos searches this many
MAX_KEPT_MESSAGE = 4096
_ORIGIN = datetime(1, 1, 1)
_US = timedelta(microseconds=1)
#: alarms dropped here are counted by text until this many texts are held, then handed on
_ALARM_TEXTS = 10_000
#: bytes the records waiting in one member's cap may take, about (the kind that takes the most gives way first, as
#: in the timeline's own budget); an event costs its message and a fixed overhead, an item its bytes and that
HELD_BYTES = 64 << 20
_OVERHEAD = 256
_KEY = itemgetter(0, 1)


def age(ts: datetime | None) -> int:
    """Microseconds since 0001-01-01 of the wall clock of ``ts``; -1 for an undated event (the oldest)."""
    return -1 if ts is None else (wall_clock(ts) - _ORIGIN) // _US


def cut(e: Event) -> None:
    """A kept message no longer than :data:`MAX_KEPT_MESSAGE` (its raw copy too); the full length is noted. Cutting
    again changes nothing: a parser's cap cuts what it holds, the timeline what it keeps."""
    if len(e.message) > MAX_KEPT_MESSAGE and "message_length" not in e.attrs:
        e.attrs["message_length"] = len(e.message)
        e.message = e.message[:MAX_KEPT_MESSAGE] + "…"
    raw = e.attrs.get("raw")
    if isinstance(raw, str) and len(raw) > MAX_KEPT_MESSAGE:
        e.attrs["raw"] = raw[:MAX_KEPT_MESSAGE] + "…"


class Grouped(NamedTuple):
    """An item of an alarm record: items of one ``group`` build events with the same (kind, level, message,
    extension), so that dropped ones are accounted per group with one event built for its newest and oldest."""

    item: Any
    group: int


def _cost(item: Any) -> int:
    if isinstance(item, Grouped):
        item = item.item
    if isinstance(item, Event):
        return _OVERHEAD + len(item.message)
    return _OVERHEAD + (len(item) if isinstance(item, (bytes, bytearray)) else 0)


def _item(item: Any) -> Any:
    return item.item if isinstance(item, Grouped) else item


class NewestPerKind:
    """The newest ``limit`` notable events per kind of one member; records may enter as events or as
    something cheaper (``item``, turned into an event by ``build`` only when kept). What waits stays within
    :data:`HELD_BYTES`, the kind that holds the most giving up its older half first, as in the timeline.

    What is dropped is accounted as the timeline would: a dropped event is counted (``ctx.count``), the
    number dropped per kind and the dropped alarms (grouped by message, for the count by template) go to
    ``ctx.drop``. Items are already counted by their parser (ordinary-looking records counted in bulk); items of
    alarm records come :class:`Grouped` (by their bytes), and a parser that drops such records itself hands them
    on per group (:meth:`dropped_alarms`).
    """

    def __init__(self, ctx: ParseContext, limit: int) -> None:
        self.ctx = ctx
        self.limit = limit
        self.kinds: dict[str, list[tuple[int, int, Any]]] = {}  # kind -> (age, line, Event or item)
        self.bytes: dict[str, int] = {}  # kind -> cost of what it holds (see HELD_BYTES)
        self.total = 0
        self.dropped: dict[str, int] = {}
        # (kind, level, message, extension) -> [count, newest (age, line), newest event, oldest age, oldest event]
        self.alarms: dict[tuple[str, str, str, Any], list[Any]] = {}
        self.grouped: list[tuple[str, int, int, Grouped]] = []  # dropped Grouped items: (kind, age, line, item)

    def add(self, e: Event) -> None:
        cut(e)  # as the timeline keeps it: what waits here stays small
        self._put(e.kind, age(e.ts), e.line, e)

    def add_item(self, kind: str, age_us: int, line: int, item: Any) -> None:
        """A record as something cheaper than an event (:class:`Grouped` for an alarm's)."""
        self._put(kind, age_us, line, item)

    def floor(self, kind: str) -> int | None:
        """The age below which no record of ``kind`` can be kept (``ParseContext.floor``); None: any may be."""
        return self.ctx.floor(kind) if self.ctx.floor is not None else None

    def _put(self, kind: str, age_us: int, line: int, item: Any) -> None:
        floor = self.floor(kind)
        if floor is not None and age_us < floor:
            self._drop(kind, age_us, line, item)
            self.dropped[kind] = self.dropped.get(kind, 0) + 1
            return
        items = self.kinds.get(kind)
        if items is None:
            items = self.kinds[kind] = []
        items.append((age_us, line, item))
        cost = _cost(item)
        self.bytes[kind] = self.bytes.get(kind, 0) + cost
        self.total += cost
        if len(items) >= 2 * self.limit:
            self._trim(kind, items)
        while self.total > HELD_BYTES and self._make_room():
            pass

    def dropped_items(self, kind: str, n: int) -> None:
        """``n`` records of ``kind`` that their parser dropped itself, being older than ``limit`` others."""
        self.dropped[kind] = self.dropped.get(kind, 0) + n

    def _trim(self, kind: str, items: list[tuple[int, int, Any]], keep: int | None = None) -> None:
        keep = self.limit if keep is None else keep
        items.sort(key=_KEY)
        if len(items) <= keep:
            return
        cut = len(items) - keep
        freed = 0
        for age_us, line, item in items[:cut]:
            freed += _cost(item)
            self._drop(kind, age_us, line, item)
        self.dropped[kind] = self.dropped.get(kind, 0) + cut
        self.bytes[kind] -= freed
        self.total -= freed
        del items[:cut]

    def _drop(self, kind: str, age_us: int, line: int, item: Any) -> None:
        """Account one record that cannot be kept as the timeline would (its parser counted an item already; an
        alarm's, :class:`Grouped`, waits to be accounted per group)."""
        if isinstance(item, Event):
            self.ctx.count(item.ts, item.local)
            if item.alarm:
                self.dropped_alarms(1, (age_us, line), item, age_us, item)
        elif isinstance(item, Grouped):
            self.grouped.append((kind, age_us, line, item))

    def _make_room(self) -> bool:
        """Over :data:`HELD_BYTES`: the kind that holds the most gives up its older half; False when none can."""
        kind = max(self.bytes, key=lambda k: self.bytes[k])
        items = self.kinds[kind]
        if len(items) < 2:
            return False
        self._trim(kind, items, len(items) // 2)
        return True

    def dropped_alarms(self, n: int, newest_at: tuple[int, int], newest: Event, oldest_age: int,
                       oldest: Event) -> None:
        """``n`` dropped records giving events like ``newest`` (same kind, level, message and extension): the
        newest at (age, line) ``newest_at``, the oldest (``oldest``) at age ``oldest_age``; counted already (their
        number per kind too). Accounted when they are alarms, grouped with the others of their message."""
        if not newest.alarm:
            return
        key = (newest.kind, newest.level, newest.message, newest.attrs.get("extension"))
        group = self.alarms.get(key)
        if group is None:
            if len(self.alarms) >= _ALARM_TEXTS:
                self._hand_on()
            self.alarms[key] = [n, newest_at, newest, oldest_age, oldest]
            return
        group[0] += n
        if newest_at >= group[1]:
            group[1], group[2] = newest_at, newest
        if oldest_age < group[3]:
            group[3], group[4] = oldest_age, oldest

    def _dropped_grouped(self, build: Callable[[Any, int], Event]) -> None:
        """The dropped :class:`Grouped` items, per group: events built for the newest and the oldest only."""
        groups: dict[tuple[str, int], list[Any]] = {}  # -> [count, newest (age, line, item), oldest (age, line, item)]
        for kind, age_us, line, item in self.grouped:
            g = groups.get((kind, item.group))
            if g is None:
                groups[(kind, item.group)] = [1, (age_us, line, item.item), (age_us, line, item.item)]
                continue
            g[0] += 1
            g[1] = max(g[1], (age_us, line, item.item), key=_KEY)
            g[2] = min(g[2], (age_us, line, item.item), key=_KEY)
        self.grouped = []
        for n, (age_new, line_new, new), (age_old, line_old, old) in groups.values():
            newest = build(new, line_new)
            self.dropped_alarms(n, (age_new, line_new), newest, age_old,
                                newest if line_old == line_new else build(old, line_old))

    def _hand_on(self) -> None:
        by_kind: dict[str, list[tuple[Event, int, datetime | None, bool]]] = {}
        for (kind, *_), (n, _, newest, _, oldest) in self.alarms.items():
            by_kind.setdefault(kind, []).append((newest, n, oldest.ts, oldest.local))
        for kind, alarms in by_kind.items():
            self.ctx.drop(kind, 0, alarms)
        self.alarms = {}

    def finish(self, build: Callable[[Any, int], Event],
               exemplar: Callable[[Any, int], Event] | None = None) -> list[Event]:
        """The kept events in line order (items built with ``build(item, line)``); what was dropped is reported,
        dropped :class:`Grouped` items through events built with ``exemplar(item, line)``."""
        kept: list[tuple[int, Event]] = []
        for kind, items in self.kinds.items():
            self._trim(kind, items)
            kept += [(line, item if isinstance(item, Event) else build(_item(item), line)) for _, line, item in items]
        if self.grouped:
            assert exemplar is not None
            self._dropped_grouped(exemplar)
        self._hand_on()
        for kind, n in self.dropped.items():
            self.ctx.drop(kind, n, [])
        self.kinds, self.bytes, self.total = {}, {}, 0
        kept.sort(key=itemgetter(0))
        return [e for _, e in kept]
