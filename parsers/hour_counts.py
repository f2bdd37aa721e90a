"""Ordinary records only counted, tallied per hour by the parser and handed on with ``ParseContext.count_span``.

When the caller only counts ordinary records (``ctx.counter`` set: an analysis), a parser that reads a log line by
line may tally them here instead of calling ``ctx.count`` for each: the timeline then gets, per clock (UTC or the
VM's wall clock), the records of every hour and their earliest and latest times in one call, which gives it the
same per-hour picture, totals and time range as one ``ctx.count`` per record. Used by the syslog and journal
parsers, whose records are time-ordered only roughly (the earliest and latest are tracked, not the first and last).
"""

from __future__ import annotations

from datetime import datetime

from parsers.base import ParseContext

#: hours held before the counts are handed on (the timeline keeps as many hourly buckets), so what waits stays small
SPILL_HOURS = 20_000


class HourCounts:
    """Per clock: hour start -> records, and the earliest and latest time counted."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        # by clock (UTC, local): (year, month, day, hour) -> records (a tuple costs a tenth of ``replace``)
        self.hours: tuple[dict[tuple[int, int, int, int], int], ...] = ({}, {})
        self.ends: list[list[datetime] | None] = [None, None]

    def add(self, ts: datetime, local: bool) -> None:
        """One ordinary record at ``ts`` (naive when ``local``: the VM's wall clock)."""
        hours = self.hours[local]
        hour = (ts.year, ts.month, ts.day, ts.hour)
        hours[hour] = hours.get(hour, 0) + 1
        ends = self.ends[local]
        if ends is None:
            self.ends[local] = [ts, ts]
        elif ts < ends[0]:
            ends[0] = ts
        elif ts > ends[1]:
            ends[1] = ts
        if len(hours) >= SPILL_HOURS:
            self.report()

    def count(self, ts: datetime | None, local: bool) -> bool:
        """As ``ParseContext.count``: True, the record is counted; False for an undated one, which stays an event
        (what the caller makes of a member's undated events, e.g. whether it holds any dated record, is unchanged)."""
        if ts is None:
            return False
        self.add(ts, local)
        return True

    def report(self) -> None:
        """Hand what was tallied to the caller and start afresh (at the end of the member, and every
        :data:`SPILL_HOURS` hours)."""
        for local in (False, True):
            ends = self.ends[local]
            if ends is not None:
                self.ctx.count_span([(datetime(*hour), n) for hour, n in sorted(self.hours[local].items())],
                                    ends[0], ends[1], local)
                self.hours[local].clear()
                self.ends[local] = None
