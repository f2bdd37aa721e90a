"""Which notable events are kept: the newest ``limit`` per kind, the rule the timeline caps with.

The timeline keeps, per (source, kind), the newest :data:`analyzer.timeline.MAX_NOTABLE` notable events by
their wall-clock time (:func:`age`; local and UTC times compare as wall clocks, undated events are the
oldest), ties going to the later arrival; older ones are only counted. A parser that is told the limit
(``ParseContext.max_notable``) may apply the same rule to one member first and build events only for
the records that can still be kept (:class:`NewestPerKind`): the newest of a member are a superset of
those the timeline keeps of it, so the timeline ends with the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from parsers.base import Event, ParseContext

#: characters of a kept message (and of its raw copy); test_redos searches this many
MAX_KEPT_MESSAGE = 4096
_ORIGIN = datetime(1, 1, 1)
_US = timedelta(microseconds=1)
#: alarms dropped here are counted by text until this many texts are held, then handed on
_ALARM_TEXTS = 10_000
_KEY = itemgetter(0, 1)


def age(ts: datetime | None) -> int:
    """Microseconds since 0001-01-01 of the wall clock of ``ts``; -1 for an undated event (the oldest)."""
    return -1 if ts is None else (ts.replace(tzinfo=None) - _ORIGIN) // _US


def cut(e: Event) -> None:
    """A kept message no longer than :data:`MAX_KEPT_MESSAGE` (its raw copy too); the full length is noted. Cutting
    again changes nothing: a parser's cap cuts what it holds, the timeline what it keeps."""
    if len(e.message) > MAX_KEPT_MESSAGE and "message_length" not in e.attrs:
        e.attrs["message_length"] = len(e.message)
        e.message = e.message[:MAX_KEPT_MESSAGE] + "…"
    raw = e.attrs.get("raw")
    if isinstance(raw, str) and len(raw) > MAX_KEPT_MESSAGE:
        e.attrs["raw"] = raw[:MAX_KEPT_MESSAGE] + "…"


class NewestPerKind:
    """The newest ``limit`` notable events per kind of one member; records may enter as events or as
    something cheaper (``item``, turned into an event by ``build`` only when kept).

    What is dropped is accounted as the timeline would: a dropped event is counted (``ctx.count``), the
    number dropped per kind and the dropped alarms (grouped by message, for the count by template) go to
    ``ctx.drop``. Items are already counted by their parser (ordinary-looking records counted in bulk).
    """

    def __init__(self, ctx: ParseContext, limit: int) -> None:
        self.ctx = ctx
        self.limit = limit
        self.kinds: dict[str, list[tuple[int, int, Any]]] = {}  # kind -> (age, line, Event or item)
        self.dropped: dict[str, int] = {}
        # (kind, level, message, extension) -> [count, newest (age, line), newest event, oldest age, oldest event]
        self.alarms: dict[tuple[str, str, str, Any], list[Any]] = {}

    def add(self, e: Event) -> None:
        cut(e)  # as the timeline keeps it: what waits here stays small
        self._put(e.kind, age(e.ts), e.line, e)

    def add_item(self, kind: str, age_us: int, line: int, item: Any) -> None:
        self._put(kind, age_us, line, item)

    def _put(self, kind: str, age_us: int, line: int, item: Any) -> None:
        items = self.kinds.get(kind)
        if items is None:
            items = self.kinds[kind] = []
        items.append((age_us, line, item))
        if len(items) >= 2 * self.limit:
            self._trim(kind, items)

    def dropped_items(self, kind: str, n: int) -> None:
        """``n`` records of ``kind`` that their parser dropped itself, being older than ``limit`` others."""
        self.dropped[kind] = self.dropped.get(kind, 0) + n

    def _trim(self, kind: str, items: list[tuple[int, int, Any]]) -> None:
        if len(items) <= self.limit:
            items.sort(key=_KEY)
            return
        items.sort(key=_KEY)
        cut = len(items) - self.limit
        for age_us, line, item in items[:cut]:
            if isinstance(item, Event):
                self.ctx.count(item.ts, item.local)
                if item.alarm:
                    self._alarm(age_us, line, item)
        self.dropped[kind] = self.dropped.get(kind, 0) + cut
        del items[:cut]

    def _alarm(self, age_us: int, line: int, e: Event) -> None:
        key = (e.kind, e.level, e.message, e.attrs.get("extension"))
        group = self.alarms.get(key)
        if group is None:
            if len(self.alarms) >= _ALARM_TEXTS:
                self._hand_on()
            self.alarms[key] = [1, (age_us, line), e, age_us, e]
            return
        group[0] += 1
        if (age_us, line) >= group[1]:
            group[1], group[2] = (age_us, line), e
        if age_us < group[3]:
            group[3], group[4] = age_us, e

    def _hand_on(self) -> None:
        by_kind: dict[str, list[tuple[Event, int, datetime | None, bool]]] = {}
        for (kind, *_), (n, _, newest, _, oldest) in self.alarms.items():
            by_kind.setdefault(kind, []).append((newest, n, oldest.ts, oldest.local))
        for kind, alarms in by_kind.items():
            self.ctx.drop(kind, 0, alarms)
        self.alarms = {}

    def finish(self, build: Callable[[Any, int], Event]) -> list[Event]:
        """The kept events in line order (items built with ``build(item, line)``); what was dropped is reported."""
        kept: list[tuple[int, Event]] = []
        for kind, items in self.kinds.items():
            self._trim(kind, items)
            kept += [(line, item if isinstance(item, Event) else build(item, line)) for _, line, item in items]
        self._hand_on()
        for kind, n in self.dropped.items():
            self.ctx.drop(kind, n, [])
        self.kinds = {}
        kept.sort(key=itemgetter(0))
        return [e for _, e in kept]
