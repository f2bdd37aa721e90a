"""Pairs of times that a bundle proves are one moment, read once on the VM's wall clock and once in UTC.

A source that writes both clocks shows the VM's UTC offset without any zone file, e.g. a 2.2.45 daemon
(local time, G2) and a 2.9 handler (UTC, G4) writing into one waagent.log one second apart:

    2021/07/06 08:40:03.411000 INFO Daemon Agent WALinuxAgent-2.3.0.2 launched with command ...
    2021-07-05T23:40:04.011000Z INFO ExtHandler ExtHandler Agent WALinuxAgent-2.3.0.2 is running ...

or a VMSnapshot Python 2 line, local prefix and UTC ``utcNow`` in one record:

    2021/07/07 02:23:56 [...VMSnapshotLinux-1.0]command start time is 2021-07-06 17:21:02.438135 and utcNow is
    2021-07-06 17:23:55.989891

Every pair votes for ``local - utc`` rounded to a whole quarter hour, when it lies within the source's
tolerance of one (the two records of a pair are written moments apart); a pair farther from any quarter
hour is counted as rejected. Votes are kept per local date, so that a daylight-saving switch inside the
bundle shows as two offsets on two sides of a date, and emitted as one ``tz.pairs`` fact per member:
``{"what": ..., "votes": [[date, minutes, pairs, first line], ...], "rejected": n}``. The bundle's offset
is decided from all members' votes together (:func:`analyzer.clock.infer_zone`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from parsers.base import Fact, ParseContext

_MICROSECOND = timedelta(microseconds=1)

STEP = 15  # minutes: every UTC offset in use is a whole quarter hour (+5:45, +8:45, +12:45 included)
MAX_OFFSET = 14 * 60
MAX_DATES = 2000  # (date, offset) cells kept per member; enough for five years of daily pairs


class PairVotes:
    """(local wall clock, UTC) pairs of one member, as votes per local date."""

    def __init__(self, tolerance: timedelta = timedelta(seconds=120)) -> None:
        self.tolerance = tolerance
        self._tolerance_us = tolerance // _MICROSECOND
        self.cells: dict[tuple[str, int], list[int]] = {}  # (local date, minutes) -> [pairs, first line]
        self.rejected = 0
        self._day: tuple[int, str] = (0, "")  # the last local date met: its ordinal, its ISO form

    def add(self, local: datetime, utc: datetime, line: int) -> int | None:
        """Count one pair; the offset it votes for (minutes, local = UTC + offset), or None when rejected.
        (Called for a third of a big syslog's lines: a naive time is taken as it is, the tolerance is compared in
        whole microseconds, the date's ISO form is that of the last call while the date stays.)"""
        diff = (local if local.tzinfo is None else local.replace(tzinfo=None)) - (
            utc if utc.tzinfo is None else utc.replace(tzinfo=None))
        minutes = round(diff.total_seconds() / 60 / STEP) * STEP
        if abs(minutes) > MAX_OFFSET or abs(diff // _MICROSECOND - minutes * 60_000_000) > self._tolerance_us:
            self.rejected += 1
            return None
        day = local.toordinal()
        if day != self._day[0]:
            self._day = (day, local.date().isoformat())
        key = (self._day[1], minutes)
        cell = self.cells.get(key)
        if cell is not None:
            cell[0] += 1
        elif len(self.cells) < MAX_DATES:
            self.cells[key] = [1, line]
        return minutes

    @property
    def total(self) -> int:
        return sum(c[0] for c in self.cells.values())

    def emit(self, ctx: ParseContext, what: str) -> None:
        """One ``tz.pairs`` fact with the votes (nothing when no pair was seen)."""
        f = self.fact(ctx.path, what)
        if f is not None:
            ctx.facts.append(f)

    def fact(self, path: str, what: str) -> Fact | None:
        """The ``tz.pairs`` fact of member ``path``, or None when no pair was seen."""
        if not self.cells and not self.rejected:
            return None
        votes = sorted([date, minutes, n, line] for (date, minutes), (n, line) in self.cells.items())
        by_offset: dict[int, int] = {}
        for _, minutes, n, _ in votes:
            by_offset[minutes] = by_offset.get(minutes, 0) + n
        summary = ", ".join(f"{n} for UTC{m:+d} min" for m, n in sorted(by_offset.items(), key=lambda x: -x[1]))
        text = f"{what}: {summary or 'none within a quarter hour'}"
        if self.rejected:
            text += f"; {self.rejected} pair(s) not a whole quarter hour apart"
        return Fact("tz.pairs", {"what": what, "votes": votes, "rejected": self.rejected}, path,
                    votes[0][3] if votes else None, None, text[:300])
