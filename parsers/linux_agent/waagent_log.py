"""``/var/log/waagent.log`` (and rotations) and extensions' ``CommandExecution.log``: Azure Linux Agent records.

Daemon and extension handler of different generations write into one file, e.g. a 2.2.45 daemon in
local time beside a 2.9 extension handler in UTC:

    2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45
    2021-03-30T17:35:37.365590Z INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.16

Record patterns, continuation folding, kinds and facts live in :mod:`parsers.linux_agent._record`. Adjacent
local and UTC records of the same file date the same moment on two clocks: when several such pairs
agree, their difference is the VM's UTC offset (fact ``tz.utc_offset_minutes``).

A paste of the log (a text file of any name) mixes records with shell prompts, command output, console
lines and journal lines: a prompt, code fence or console line ends the record before it, a record behind
a syslog/journal header is read as a record, and a line outside any record gets its own undated event
when a signature knows it (``waagent --version`` output gives the versions); a syslog line of another program
(``Jan  6 13:02:17 vm kernel: ... Out of memory: Killed process``) too, with its yearless header time.

An extension's ``CommandExecution.log`` holds the same records as waagent.log for that extension's logger:
its events are marked ``via="command_log"``, copies that the timeline keeps once (as syslog copies).

Two paths give the same kept events, counts, facts and problems. The per-line path (:class:`Reader` fed
every line) is the reference and serves the full timeline. When ordinary records are only counted, large
members take the block path: blocks of :data:`BLOCK` bytes, scanned natively
(:mod:`parsers.linux_agent._block_scan`). Plain records are counted per hour without being decoded; so
are plain records whose first signature row decides their kind by its needles alone and gives no fact
(:attr:`Sig.decisive`): of those only the newest ``ctx.max_notable`` per kind, none older than what the
timeline keeps already of earlier members (``ctx.floor``), are read, at the end, to build the events the
timeline keeps (:mod:`parsers.kept`). Plain records that may give facts, name the
VMSnapshot extension or have a kind the text decides are held the same way when they give no fact new where
the walk reaches them: those of a digit-blind decisive row judged once per shape (the scan's hash of their text
after the time stamp, digits masked; :meth:`AgentEvents.shape`) and checked per set of facts, the others one by one
(:meth:`AgentEvents.quiet`). Warnings and errors of the plain shape, with
the traceback lines that continue them, are held too when their kind can give no fact: the scan hashes their
bytes after the time stamp, one record per hash is classified, and those dropped for the cap are accounted per
hash and merged by message as the timeline would. Every other hot line is fed to the same reader with its whole
record; its notable events are capped the same way before they are yielded.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO

from parsers import hour_counts
from parsers.base import GENERIC_KIND, Event, ParseContext, Parser
from parsers.clock_pairs import PairVotes
from parsers.kept import Grouped, NewestPerKind
from parsers.linux_agent import _block_scan, _record
from parsers.linux_agent._record import (
    VMSNAPSHOT,
    AgentEvents,
    Record,
    add_continuation,
    agent_command_output,
    ends_record,
    fold_g0,
    kind_without_facts,
    parse_record,
)
from parsers.linux_agent._signatures import AGENT_TABLE
from parsers.linux_agent.syslog import bsd_line, strip_header
from parsers.signatures import SignatureTable
from parsers.text import head_text, iter_lines, replay, sniff_encoding

if TYPE_CHECKING:  # numpy is imported on the block path only: a small bundle's start does without it
    import numpy as np

BLOCK = 4 * 1024 * 1024
#: members smaller than this are read line by line (no scanner to build, same result)
BLOCK_MIN = 1024 * 1024
#: ... and smaller than this many times it while numpy is not imported yet: in a fresh process its import (40 ms)
#: made the block path dearer than reading line by line below 3 MiB (docs/performance.md, cold start)
COLD_FACTOR = 3
_BUILD_PREFIX = re.compile(r"-\d+\.\d+\.\d+(?:\.\d+)?\]$")  # [Publisher.Type-1.0.9220.0]: the agent's extension logger
_AGENT_WORDS = re.compile(r"WALinuxAgent|Azure Linux Agent|Windows Azure|waagent|[Ww]ire ?[Ss]erver|168\.63\.129\.16")


class Reader:
    """The per-line state machine: records, continuations, orphan lines, local/UTC offset votes."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.builder = AgentEvents(ctx, via=copy_of(ctx.path))
        self.votes = PairVotes(timedelta(seconds=30))  # the daemon's line and the handler's moments apart
        self.pending: Record | None = None
        self.orphans: list[str] = []
        self.orphan_line = 0
        self.prev_timed: tuple[datetime, bool] | None = None  # (ts, local) of the last record with a time
        self.plain = _block_scan.PlainCounts(27)  # plain records counted in bulk (block path)
        # hour -> (records, a stamp of one) held records now kept whose hour was handed on already (taken back)
        self.taken_back: dict[bytes, tuple[int, bytes]] = {}

    def line(self, n: int, line: str, rec: Record | None = None) -> Iterator[Event]:
        """Feed line ``n``; ``rec`` is its record when the caller parsed it already."""
        if rec is None:
            rec = parse_record(line, n) or _pasted_record(line, n)
        if rec is None:
            syslog = bsd_line(line)
            if syslog is not None:  # a paste: a syslog line (a kernel OOM) among the records, dated by the pipeline
                yield from self.flush()
                e = self.builder.outside(n, syslog[1], yearless=syslog[0])
                if e is not None:
                    yield e
                return
            if self.pending is not None and ends_record(line):  # a paste: a prompt or console line follows
                yield from self.flush()
            if self.pending is not None:
                add_continuation(self.pending, line)
            elif line.strip():
                self.orphan_line = self.orphan_line or n
                if len(self.orphans) < 1000:
                    self.orphans.append(line)
                e = self.builder.outside(n, line)
                if e is not None:
                    yield e
            return
        if rec.ts is None:
            self.ctx.problem("problem.invalid_timestamp", n)
        if self.pending is not None and fold_g0(self.pending, rec):
            return
        if self.pending is not None:
            e = self.builder.event_or_count(self.pending)
            if e is not None:
                yield e
        elif self.orphans:
            yield _orphans(self.ctx, self.orphans, self.orphan_line, "problem.lines_before_first_record")
            self.orphans = []
        self.pending = rec
        if rec.ts is not None:
            prev = self.prev_timed
            if prev is not None and prev[1] != rec.local:
                local, utc = (rec.ts, prev[0]) if rec.local else (prev[0], rec.ts)
                self.votes.add(local, utc, rec.line)
            self.prev_timed = (rec.ts, rec.local)

    def flush(self) -> Iterator[Event]:
        """Finish the pending record (the next line starts a plain record, which never folds into it)."""
        if self.pending is not None:
            e = self.builder.event_or_count(self.pending)
            if e is not None:
                yield e
            self.pending = None

    def count_plain(self, block: bytes, start: int, stop: int, gaps: _block_scan.Gaps | None = None) -> int:
        """The plain records of ``block[start:stop]``: ordinary and UTC, counted per hour (reported at the end);
        ``gaps``: their continuation lines (an alarm record's, held), not counted. Returns the lines counted over."""
        stamp, n = self.plain.add(block, start, stop, gaps)
        self.prev_timed = (_block_scan.plain_time(stamp), False)
        if len(self.plain.hours) >= hour_counts.SPILL_HOURS:  # a log of very many hours: handed on in parts
            self.report_plain()
        return n + gaps.lines(start, stop) if gaps is not None else n

    def uncount_plain(self, line: bytes) -> None:
        """A plain record counted already that becomes an event (a held record kept): out of its hour again."""
        hours = self.plain.hours
        if line[:13] in hours:
            hours[line[:13]] -= 1
        else:  # its hour was handed on: taken back from the context at the end
            n, _ = self.taken_back.get(line[:13], (0, b""))
            self.taken_back[line[:13]] = (n + 1, line[:27])

    def finish(self) -> Iterator[Event]:
        """The pending record, orphan lines and the offset votes (:meth:`report_plain` reports the counts)."""
        if self.pending is not None:
            yield from self.flush()
        elif self.orphans:
            yield _orphans(self.ctx, self.orphans, self.orphan_line, "problem.lines_without_record")
        self.votes.emit(self.ctx, "adjacent local-time/UTC record pairs")

    def report_plain(self) -> None:
        """The plain records counted per hour (block path)."""
        self.plain.report(self.ctx, _block_scan.plain_time, False)
        for hour, (n, stamp) in sorted(self.taken_back.items()):
            at = _block_scan.plain_time(stamp)
            self.ctx.count_span([(_block_scan.plain_time(hour + b":00:00.000000Z"), -n)], at, at, False)
        self.taken_back = {}


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    if ctx.counter is None:  # the full timeline: every record is an event anyway
        yield from parse_lines(stream, ctx)
        return
    least = BLOCK_MIN if "numpy" in sys.modules else BLOCK_MIN * COLD_FACTOR
    head = stream.read(least)
    scan = _block_scan.scanner() if len(head) >= least else None
    if scan is not None and sniff_encoding(head[:4096]) in ("utf-8", "utf-8-sig"):
        yield from parse_blocks(replay(head, stream), ctx, scan)
    else:
        yield from parse_lines(replay(head, stream), ctx)


def parse_lines(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    """The reference path: every line through :class:`Reader`."""
    reader = Reader(ctx)
    for n, line in iter_lines(stream, ctx):
        yield from reader.line(n, line)
    yield from reader.finish()


def parse_blocks(stream: BinaryIO, ctx: ParseContext, scan: _block_scan.Scan,
                 block_size: int = BLOCK, max_line: int | None = None) -> Iterator[Event]:
    """The block path: the same kept events, counts and facts as :func:`parse_lines` when ordinary records are
    counted (``ctx.counter``); lines are cut at ``max_line`` (default: the context's, ``Limits.max_line``)."""
    max_line = max_line or ctx.max_line
    reader = Reader(ctx)
    # records are counted by their needles only when the scan judges lines (the C module)
    keep = NewestPerKind(ctx, ctx.max_notable) if ctx.max_notable and scan.judges else None
    bulk = _Bulk(reader, keep, _bulk_rows(_record.AGENT_TABLE)) if keep is not None else None
    # the kinds whose records may be counted by their needles: their events read are capped with them (a kind an
    # alarm held brings joins it; the events of that kind already handed on are among those the timeline caps)
    held = bulk.held_kinds if bulk is not None else set()
    for block, base in _block_scan.member_blocks(stream, ctx, block_size, max_line):
        found = scan(block)
        hot = bulk.take(block, base, found, max_line) if bulk is not None else found[:, 0]
        yield from _capped(keep, held, _block(reader, block, base, hot.tolist(), max_line, bulk))
        if bulk is not None:
            bulk.hold_deferred(block)
    yield from _capped(keep, held, reader.finish())
    if keep is not None:
        assert bulk is not None
        bulk.finish()
        yield from keep.finish(bulk.build, bulk.exemplar)
    reader.report_plain()


def _capped(keep: NewestPerKind | None, held: set[str], events: Iterable[Event]) -> Iterator[Event]:
    """``events``, the notable ones of the ``held`` kinds held back in ``keep`` (yielded at the end, in line
    order, when they are among the newest); the timeline caps the other kinds itself."""
    for e in events:
        if keep is not None and e.notable and e.kind in held:
            keep.add(e)
        else:
            yield e


@lru_cache(maxsize=8)
def _bulk_rows(table: SignatureTable) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Per scan rank (row, then "none"): -1 read the record, 0 an ordinary record, k the notable kind
    ``kinds[k]`` decided by the needles (a decisive row); whether the row's records may give facts; whether
    they are classified in the walk (a row whose kind depends on the text, or none); whether its deferred records
    are judged once per shape (a decisive row that tells no digit from another, :attr:`Sig.digit_blind`).
    ``kinds``: those of the decisive rows, then those other rows declare (:attr:`Sig.kinds`), the kinds a classified
    record may be held as."""
    import numpy as np
    kinds: list[str] = [GENERIC_KIND]
    rows = np.full(len(table.sigs) + 1, -1, dtype=np.int64)
    facts = np.zeros(len(table.sigs) + 1, dtype=bool)
    probe = np.ones(len(table.sigs) + 1, dtype=bool)
    blind = np.zeros(len(table.sigs) + 1, dtype=bool)
    for i, sig in enumerate(table.sigs):
        if sig.decisive:
            if sig.kind not in kinds:
                kinds.append(sig.kind)
            rows[i] = kinds.index(sig.kind)
            facts[i] = bool(AgentEvents.row_facts(sig))
            probe[i] = False
            blind[i] = sig.digit_blind
    kinds += sorted({k for sig in table.sigs if not sig.decisive for k in sig.kinds or ()} - set(kinds))
    return rows, facts, probe, blind, tuple(kinds)


#: bytes of the longest line held as its bytes: a longer one is read (its event waits cut at 4 KiB, kept.cut), so
#: what waits for the end stays small whatever the lines hold (a log of long records of held kinds held 0.6 GB)
HELD_LINE = 2048
#: alarm records (by hash) whose kind is remembered; past this many the memo starts again
ALARM_KINDS = 1 << 16
#: records a hash new to that memo needs in one block to be classified and held; fewer are read (holding a record
#: costs a classification and, once dropped, an event: more than reading it when it does not come again)
ALARM_REPEATS = 2
#: shapes of deferred records whose verdict is remembered; past this many the memo starts again
SHAPES = 1 << 12
#: sets of facts (with their values) the deferred records of one block may be judged in bulk under; the records of
#: a shape beyond them are checked one by one (what the walk checks when a fact changes stays bounded)
SHAPE_FACTS = 64


class _Bulk:
    """Records whose kind the scan decides (plain, single-line, a decisive row): counted with the plain
    records; per kind the newest ``limit`` are held as offsets (their bytes copied once their block is
    gone) and become events only when kept. A record that may give facts (its row's, or the VMSnapshot
    extension's: a marked line) is *deferred*: the walk over the block checks it in line order
    (:meth:`AgentEvents.quiet`) and holds it only when it gives no fact new at that point, else reads it.

    Alarm records (warnings and errors of the plain shape, with the lines that can only continue them) are held
    the same way when their kind gives no fact whatever came before (:func:`kind_without_facts`, asked once per
    hash of their bytes): single-line ones at once, longer ones (:class:`_Multi`) where the walk counts them with
    the plain records around them, their continuation lines as gaps. Those dropped for
    the cap are accounted per hash (one event built for the newest and one for the oldest of each) and merged
    by message in :class:`NewestPerKind`, as the events read are."""

    WINDOW = 4  # blocks held in memory for the offsets into them

    def __init__(self, reader: Reader, keep: NewestPerKind,
                 rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]) -> None:
        self.reader = reader
        self.keep = keep
        self.rows, self.facts, self.probe, self.blind, kinds = rows
        self.kinds = list(kinds)  # and those of the alarms held
        self.kind_index = {kind: k for k, kind in enumerate(self.kinds)}
        self.held_kinds = set(self.kinds[1:])
        # line start -> (line number, end, kind, row) of the block's deferred records; those the walk held
        self.lazy: dict[int, tuple[int, int, int, int]] = {}
        self.deferred: list[int] = []
        self.multi = _Multi()  # the block's multi-line alarm records, held where the walk counts them
        # (scan rank, shape hash) -> kind, facts, places of the facts' values: deferred records judged per shape
        self.shapes: dict[tuple[int, int], tuple[str | None, list[tuple[str, Any]] | None,
                                                 list[tuple[int, int, str]]] | None] = {}
        self.bulk = _Judged()
        self.alarm_kinds: dict[int, int] = {}  # hash -> kind index, -1: read
        self.limit = keep.limit
        self.blocks: dict[int, bytes] = {}
        self.block_no = 0
        # kind -> held rows (age, line, block, start, end, hash: 0 but for an alarm); parts appended per block,
        # joined when needed
        self.parts: dict[int, list[np.ndarray]] = {}
        self.held: dict[int, int] = {}
        self.copied: dict[int, bytes] = {}  # line -> bytes of a held record whose block is gone

    def take(self, block: bytes, base: int, found: np.ndarray, max_line: int) -> np.ndarray:
        """The lines of ``found`` still to read; the others are counted as plain, the notable ones held."""
        import numpy as np
        self.block_no += 1
        self._retire(self.block_no - self.WINDOW)
        self.lazy, self.multi, self.bulk = {}, _Multi(), _Judged()
        starts, info, hashes = found[:, 0], found[:, 1], found[:, 2]
        if not len(starts):
            return starts
        rank = np.minimum(info & _block_scan.RANK_NONE, len(self.rows) - 1)
        row = self.rows[rank]
        probe = self.probe[rank]
        candidate = ((info & (_block_scan.PLAIN_BIT | _block_scan.SPECIAL_BIT)) == _block_scan.PLAIN_BIT)
        candidate &= (row >= 0) | probe
        alarm = (info & (_block_scan.ALARM_BIT | _block_scan.SPECIAL_BIT | _block_scan.MARKED_BIT)
                 ) == _block_scan.ALARM_BIT
        if not candidate.any() and not alarm.any():
            return starts
        nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        idx = np.searchsorted(nl, starts)  # newlines before each line: its number in the block
        cont = info >> _block_scan.CONT_SHIFT  # an alarm record's continuation lines (0 for other lines)
        last = np.minimum(idx + cont, len(nl) - 1)  # the record's last line
        ends = nl[last]
        opens = (info & (_block_scan.PLAIN_BIT | _block_scan.ALARM_BIT)) != 0  # a UTC record of the plain shape
        not_plain = starts[~opens]
        # the last continuation line of an alarm record: the reader read the record (or the walk held it) when it
        # comes to the line after, as after a plain one
        extended = np.flatnonzero(((info & _block_scan.ALARM_BIT) != 0) & (cont > 0))
        after = not_plain[~_among(not_plain, starts[extended + cont[extended]])] if len(extended) else not_plain
        prev_start = np.where(idx >= 2, nl[np.maximum(idx - 2, 0)] + 1, 0)
        # not the block's first or two last lines (the reader reads the last one and, as the record it may
        # continue, the one before), not after a line that is not plain
        # (a local-time record or a line outside any record makes the reader read the next line), not before
        # one (it may continue the record), not cut at the line limit
        fits = (starts > 0) & (last < len(nl) - 2) & (ends - starts < min(max_line, HELD_LINE))
        fits &= ~_among(prev_start, after) & ~_among(ends + 1, not_plain)
        candidate &= fits
        alarm &= fits
        if not candidate.any() and not alarm.any():
            return starts
        lazy = candidate & (self.facts[rank] | probe | ((info & _block_scan.MARKED_BIT) != 0))
        notable = np.flatnonzero(candidate & ~lazy & (row > 0))
        if lazy.any():
            shaped = np.flatnonzero(lazy & self.blind[rank] & (hashes != 0))
            if len(shaped):
                judged, read = self._by_shape(block, starts, ends, base + idx + 1, rank, hashes, shaped, max_line)
                lazy[judged] = lazy[read] = False
                candidate[read] = False
            at = np.flatnonzero(lazy)
            self.lazy = dict(zip(starts[at].tolist(), zip((base + idx[at] + 1).tolist(), ends[at].tolist(),
                                                          row[at].tolist(), rank[at].tolist(), strict=True),
                                 strict=True))
            candidate &= ~lazy  # those judged by their shape are counted (and held) in the walk
        if len(notable):
            self.blocks[self.block_no] = block
            self._hold(starts[notable], ends[notable], base + idx[notable] + 1, row[notable],
                       _block_scan.ages(block, starts[notable]))
        if alarm.any():
            at = np.flatnonzero(alarm)
            kinds = self._alarm_kinds(block, starts[at], ends[at], hashes[at])
            at, kinds = at[kinds >= 0], kinds[kinds >= 0]
            single = cont[at] == 0
            one, k = at[single], kinds[single]
            if len(one):
                self.blocks[self.block_no] = block
                self._hold(starts[one], ends[one], base + idx[one] + 1, k, _block_scan.ages(block, starts[one]),
                           hashes[one])
                candidate[one] = True  # counted with the plain records
            many, k = at[~single], kinds[~single]
            if len(many):  # counted with the plain records, their continuation lines too (not as records)
                self.multi = _Multi(starts[many], nl[idx[many]] + 1, ends[many], cont[many], k, hashes[many],
                                    base + idx[many] + 1)
                candidate[many] = True
                before = np.repeat(idx[many], cont[many]) + _ranks(cont[many]) - 1  # the newline before each
                candidate[np.searchsorted(starts, nl[before] + 1)] = True
        return starts[~candidate]

    def _by_shape(self, block: bytes, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray, rank: np.ndarray,
                  hashes: np.ndarray, at: np.ndarray, max_line: int) -> tuple[np.ndarray, np.ndarray]:
        """Judge the deferred records ``at`` (of digit-blind decisive rows) per shape (:meth:`AgentEvents.shape`,
        worked out once per scan rank and shape hash): those whose facts' values sit where their shape's exemplar
        has them become ``self.bulk``, checked in the walk per set of facts; those whose shape says they change a
        state or whose kind is not held are read. Returns (judged, read); the others are checked one by one."""
        import numpy as np
        buf = np.frombuffer(block, dtype=np.uint8)
        order = np.argsort(hashes[at], kind="stable")
        at = at[order]
        h = hashes[at]
        bounds = np.flatnonzero(h[1:] != h[:-1]) + 1
        firsts = np.concatenate(([0], bounds)).tolist()
        lasts = np.concatenate((bounds, [len(at)])).tolist()
        verdict = np.full(len(at), -2, dtype=np.int64)  # -2 one by one, -1 read, g the set of facts g
        sets: dict[tuple[int, tuple[tuple[str, Any], ...]], int] = {}
        for f, stop in zip(firsts, lasts, strict=True):
            first = int(at[f])
            r = int(rank[first])
            key = (r, int(h[f]))
            if key not in self.shapes:
                text = _block_scan.line_text(block, int(starts[first]), int(ends[first]) + 1, max_line)
                rec = parse_record(text, 0)
                if len(self.shapes) >= SHAPES:
                    self.shapes.clear()
                self.shapes[key] = None if rec is None else self.reader.builder.shape(rec, r, text[_STAMP:])
            memo = self.shapes[key]
            if memo is None:
                continue
            kind, facts, spans = memo
            members = at[f:stop]
            # a shape is a length too (digits read as 0): another length is another text under the same hash
            ok = (rank[members] == r) & (ends[members] - starts[members] == ends[first] - starts[first])
            for a, b, value in spans:
                got = buf[starts[members[ok]][:, None] + np.arange(_STAMP + a, _STAMP + b)]
                ok[ok] = (got == np.frombuffer(value.encode(), dtype=np.uint8)).all(axis=1)
            k = self.kind_index.get(kind) if kind is not None and facts is not None else None
            if k is None:
                verdict[f:stop][ok] = -1
                continue
            assert facts is not None
            g = sets.setdefault((k, tuple(facts)), len(sets))
            if g >= SHAPE_FACTS:
                del sets[(k, tuple(facts))]
                continue
            verdict[f:stop][ok] = g
        judged = verdict >= 0
        if judged.any():
            sel = np.sort(at[judged])
            group = verdict[judged][np.argsort(at[judged], kind="stable")]
            self.bulk = _Judged(starts[sel], ends[sel], lines[sel], group,
                                [(k, list(facts)) for (k, facts) in sets])
        return at[judged], at[verdict == -1]

    def _alarm_kinds(self, block: bytes, starts: np.ndarray, ends: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """The kind index of each alarm record (-1: read it), one record per hash classified. A record whose hash
        is new and comes less than :data:`ALARM_REPEATS` times in the block is read (a log whose every warning
        holds a fresh number costs what it did)."""
        import numpy as np
        unique, first, inverse, counts = np.unique(hashes, return_index=True, return_inverse=True, return_counts=True)
        kinds = np.empty(len(unique), dtype=np.int64)
        for j, (h, f, n) in enumerate(zip(unique.tolist(), first.tolist(), counts.tolist(), strict=True)):
            k = self.alarm_kinds.get(h)
            if k is None:
                if n < ALARM_REPEATS:
                    kinds[j] = -1
                    continue
                kind = kind_without_facts(self._record(block[starts[f]:ends[f]], 0))
                k = -1 if kind is None else self._kind(kind)
                if len(self.alarm_kinds) >= ALARM_KINDS:
                    self.alarm_kinds = {}
                self.alarm_kinds[h] = k
            kinds[j] = k
        return kinds[inverse.reshape(-1)]

    def _kind(self, kind: str) -> int:
        """The index of ``kind`` among those held (added when new: the alarm's kind decides it, any kind)."""
        k = self.kind_index.get(kind)
        if k is None:
            k = self.kind_index[kind] = len(self.kinds)
            self.kinds.append(kind)
        self.held_kinds.add(kind)  # "log" too: an alarm of no other kind is notable
        return k

    def defer(self, start: int, rec: Record) -> bool:
        """Hold the deferred record at ``start`` (``rec``) when it gives no new fact now and its kind is one the
        block path holds; False: read it."""
        _, _, _, row = self.lazy[start]
        kind = self.reader.builder.quiet(rec, None if self.probe[row] else row)
        k = self.kind_index.get(kind) if kind is not None else None
        if k is None:
            return False
        if k:
            self.lazy[start] = (*self.lazy[start][:2], k, row)
            self.deferred.append(start)
        return True

    def hold_deferred(self, block: bytes) -> None:
        """Hold the notable records the walk over ``block`` deferred, and its multi-line alarm records it held."""
        import numpy as np
        starts, end, line, kind = self.bulk.held()
        if self.deferred:
            one = (np.array(v, dtype=np.int64) for v in zip(*map(self.lazy.get, self.deferred), strict=True))
            line_one, end_one, kind_one, _ = one
            starts = np.concatenate((starts, np.array(self.deferred, dtype=np.int64)))
            end, line, kind = (np.concatenate(v) for v in ((end, end_one), (line, line_one), (kind, kind_one)))
            order = np.argsort(starts, kind="stable")
            starts, end, line, kind = starts[order], end[order], line[order], kind[order]
            self.deferred = []
        if len(starts):
            self.blocks[self.block_no] = block
            self._hold(starts, end, line, kind, _block_scan.ages(block, starts))
        multi = self.multi
        at = multi.counted()
        if len(at):
            assert multi.ends is not None and multi.lines is not None and multi.kinds is not None
            assert multi.hashes is not None
            starts = np.array(multi.starts, dtype=np.int64)[at]
            self.blocks[self.block_no] = block
            self._hold(starts, multi.ends[at], multi.lines[at], multi.kinds[at], _block_scan.ages(block, starts),
                       multi.hashes[at])

    def _hold(self, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray, kinds: np.ndarray,
              ages: np.ndarray, hashes: np.ndarray | None = None) -> None:
        import numpy as np
        if hashes is None:
            hashes = np.zeros(len(starts), dtype=np.int64)
        for k in np.unique(kinds).tolist():
            sel = np.flatnonzero(kinds == k)
            rows = np.stack((ages[sel], lines[sel], np.full(len(sel), self.block_no), starts[sel], ends[sel],
                             hashes[sel]))
            floor = self.keep.floor(self.kinds[k])
            if floor is not None:  # older than what the timeline keeps already of this kind: never kept
                old = rows[0] < floor
                if old.any():
                    self._drop(k, rows[:, old])
                    rows = rows[:, ~old]
                    if not rows.shape[1]:
                        continue
            self.parts.setdefault(k, []).append(rows)
            self.held[k] = self.held.get(k, 0) + rows.shape[1]
            if self.held[k] >= 2 * self.limit:
                self._join(k)

    def _join(self, k: int) -> np.ndarray:
        """The held rows of kind ``k`` as one array, the newest ``limit`` of them."""
        import numpy as np
        parts = self.parts.get(k, [])
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        if rows.shape[1] > self.limit:
            order = np.lexsort((rows[1], rows[0]))
            cut = rows.shape[1] - self.limit
            gone = rows[:, order[:cut]]
            self._drop(k, gone)
            for line in gone[1, gone[2] == 0].tolist():
                del self.copied[line]
            rows = rows[:, order[cut:]]
        self.parts[k] = [rows]
        self.held[k] = rows.shape[1]
        return rows

    def _drop(self, k: int, gone: np.ndarray) -> None:
        """Held rows of kind ``k`` that cannot be kept: counted as dropped, the alarms among them accounted."""
        self.keep.dropped_items(self.kinds[k], gone.shape[1])
        alarms = gone[5] != 0
        if alarms.any():
            self._drop_alarms(self.kinds[k], gone[:, alarms])

    def _drop_alarms(self, kind: str, rows: np.ndarray) -> None:
        """Alarm records dropped for the cap, accounted per hash: events are built for the newest and the oldest."""
        import numpy as np
        rows = rows[:, np.lexsort((rows[1], rows[0], rows[5]))]  # by hash, then (age, line)
        bounds = np.flatnonzero(np.diff(rows[5])) + 1
        firsts = np.concatenate(([0], bounds)).tolist()
        lasts = np.concatenate((bounds, [rows.shape[1]])).tolist()
        for f, stop in zip(firsts, lasts, strict=True):
            age, line, block_no, start, end, _ = rows[:, stop - 1].tolist()
            newest = self.exemplar(self._bytes(line, block_no, start, end), line)
            age_old, line_old, block_old, start_old, end_old, _ = rows[:, f].tolist()
            oldest = newest if stop - 1 == f else self.exemplar(
                self._bytes(line_old, block_old, start_old, end_old), line_old)
            self.keep.dropped_alarms(stop - f, (age, line), newest, age_old, oldest)

    def _bytes(self, line: int, block_no: int, start: int, end: int) -> bytes:
        return self.copied[line] if block_no == 0 else self.blocks[block_no][start:end]

    def _retire(self, block_no: int) -> None:
        """Copy the held records of an old block (usually none are left) and let the block go."""
        if block_no not in self.blocks:
            return
        rows_of = [self._join(k) for k in list(self.parts)]
        block = self.blocks.pop(block_no)
        for rows in rows_of:
            for line, start, end in rows[[1, 3, 4]][:, rows[2] == block_no].T.tolist():
                self.copied[line] = block[start:end]
            rows[2, rows[2] == block_no] = 0

    def finish(self) -> None:
        """Hand the held records to ``keep``, which picks the newest of them and of the events read."""
        for k in list(self.parts):
            rows = self._join(k)
            kind = self.kinds[k]
            for age, line, block_no, start, end, group in rows.T.tolist():
                data = self._bytes(line, block_no, start, end)
                self.keep.add_item(kind, age, line, Grouped(data, group) if group else data)
        self.parts, self.blocks, self.copied = {}, {}, {}

    def build(self, line: bytes, n: int) -> Event:
        """The event of a held record, now kept: it leaves the plain counts."""
        self.reader.uncount_plain(line)
        return self.exemplar(line, n)

    def exemplar(self, line: bytes, n: int) -> Event:
        """The event of a held record (its facts, if any, were taken where the walk reached it)."""
        return self.reader.builder.event_without_facts(self._record(line, n))

    @staticmethod
    def _record(data: bytes, n: int) -> Record:
        """The record of held bytes: its first line and the lines that continue it (as ``line_text`` gives them)."""
        first, *extra = data.split(b"\n")
        rec = parse_record(first.rstrip(b"\r").decode("ascii"), n)
        assert rec is not None
        for text in extra:
            add_continuation(rec, text.rstrip(b"\r").decode("ascii"))
        return rec


def _among(values: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Which of ``values`` are in ``ordered`` (sorted): ``np.isin`` without its sort."""
    import numpy as np
    if not len(ordered):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return ordered[at] == values


def _ranks(counts: np.ndarray) -> np.ndarray:
    """1, 2, .. counts[0], 1, 2, .. counts[1], ..: the place of each item of consecutive groups of these sizes."""
    import numpy as np
    total = int(counts.sum())
    firsts = np.cumsum(counts) - counts  # where each group starts
    return np.arange(total) - np.repeat(firsts, counts) + 1


#: bytes of a plain record's time stamp and the blank after it: the shape hash covers the rest of its line
_STAMP = 28


class _InRuns:
    """Records of a block taken out of the hot lines (``starts``, in line order): the walk counts them with the
    plain records of the runs they fall in (:meth:`count`) and they are held then; one it reads is not."""

    def __init__(self, starts: np.ndarray | None) -> None:
        self.starts: list[int] = starts.tolist() if starts is not None else []
        self.ranges: list[tuple[int, int]] = []  # index ranges counted with the plain records

    def between(self, start: int, stop: int) -> tuple[int, int]:
        """The index range of the records starting in ``[start, stop)``."""
        return bisect_left(self.starts, start), bisect_left(self.starts, stop)

    def count(self, start: int, stop: int) -> None:
        """The records in ``[start, stop)`` are counted with the plain records."""
        if self.starts:
            lo, hi = self.between(start, stop)
            if lo < hi:
                self.ranges.append((lo, hi))

    def counted(self) -> np.ndarray:
        """The indices of the records counted, in order."""
        import numpy as np
        if not self.ranges:
            return np.zeros(0, dtype=np.int64)
        lo, hi = np.array(self.ranges, dtype=np.int64).T
        size = len(self.starts) + 1
        return np.flatnonzero(np.cumsum(np.bincount(lo, minlength=size) - np.bincount(hi, minlength=size))[:-1])


class _Multi(_InRuns):
    """The multi-line alarm records of a block whose kind is held (:meth:`_Bulk.take`): ``gaps`` their continuation
    lines, counted with them; ``stop_of``: start -> offset after the record, for the walk to read one whole."""

    def __init__(self, starts: np.ndarray | None = None, first_ends: np.ndarray | None = None,
                 ends: np.ndarray | None = None, cont: np.ndarray | None = None, kinds: np.ndarray | None = None,
                 hashes: np.ndarray | None = None, lines: np.ndarray | None = None) -> None:
        super().__init__(starts)
        self.ends, self.kinds, self.hashes, self.lines = ends, kinds, hashes, lines
        self.gaps: _block_scan.Gaps | None = None
        self.stop_of: dict[int, int] = {}
        if starts is not None and len(starts):
            assert first_ends is not None and ends is not None and cont is not None
            stops = (ends + 1).tolist()
            self.gaps = _block_scan.Gaps(first_ends.tolist(), stops, cont.tolist())
            self.stop_of = dict(zip(self.starts, stops, strict=True))


class _Judged(_InRuns):
    """The deferred records of a block judged per shape (:meth:`_Bulk._by_shape`), in line order: record ``j``
    gives the facts of set ``sets[group[j]]`` (a kind index and its facts) and nothing else. The walk counts it with
    the plain records around it, held as that kind (0: only counted), when those facts are the values given last
    where it stands; else it reads it there (:meth:`first_loud`)."""

    def __init__(self, starts: np.ndarray | None = None, ends: np.ndarray | None = None,
                 lines: np.ndarray | None = None, group: np.ndarray | None = None,
                 sets: list[tuple[int, list[tuple[str, Any]]]] | None = None) -> None:
        super().__init__(starts)
        self.ends, self.lines, self.group = ends, lines, group
        self.sets = sets or []
        self.seen = -1  # ``AgentEvents.changes`` when the sets giving a fact new were last worked out
        self.loud: list[int] = []  # those sets
        self.of_set: dict[int, list[int]] = {}  # set -> its records (indices), worked out when it is loud

    def first_loud(self, builder: AgentEvents, lo: int, hi: int) -> int:
        """The first record of ``lo:hi`` that gives a fact new now (its set's facts are not all the values given
        last), or ``hi``."""
        if builder.changes != self.seen:
            self.seen = builder.changes
            self.loud = [g for g, (_, facts) in enumerate(self.sets) if not builder.gives_none_new(facts)]
        first = hi
        for g in self.loud:
            at = self.of_set.get(g)
            if at is None:
                import numpy as np
                assert self.group is not None
                at = self.of_set[g] = np.flatnonzero(self.group == g).tolist()
            j = bisect_left(at, lo)
            if j < len(at) and at[j] < first:
                first = at[j]
        return first

    def held(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Starts, ends, line numbers and kinds of the records counted whose kind is held."""
        import numpy as np
        at = self.counted()
        if not len(at):
            return at, at, at, at
        assert self.ends is not None and self.lines is not None and self.group is not None
        kind = np.array([k for k, _ in self.sets], dtype=np.int64)[self.group[at]]
        at, kind = at[kind > 0], kind[kind > 0]
        return np.array(self.starts, dtype=np.int64)[at], self.ends[at], self.lines[at], kind


def _block(reader: Reader, block: bytes, base: int, hot: list[int], max_line: int,
           bulk: _Bulk | None = None) -> Iterator[Event]:
    """Feed the hot lines of ``block`` (with their records) to ``reader``; count the plain records between
    (and the records ``bulk`` defers and then holds, and its multi-line alarm records)."""
    lazy = bulk.lazy if bulk is not None else {}
    multi = bulk.multi if bulk is not None else _Multi()
    judged = bulk.bulk if bulk is not None else _Judged()
    gaps, stop_of = multi.gaps, multi.stop_of
    taken = bool(judged.starts or multi.starts)  # records out of the hot lines: counted with the runs they are in
    end = len(block)
    last_line = block.rfind(b"\n", 0, end - 1) + 1  # fed to the reader: the next block may continue it
    hot.append(last_line)
    hot.sort()
    cur = 0  # offset of the next line not yet handled
    n = base  # lines of the file before ``cur``
    i = 0
    while cur < end:
        while hot[i] < cur:
            i += 1
        h = hot[i]
        runs = not reader.orphans and not (reader.prev_timed is not None and reader.prev_timed[1])
        if judged.starts and runs and h > cur:
            lo, hi = judged.between(cur, h)
            if lo < hi:  # records judged by their shape before h: each gives no fact new unless its facts moved on
                yield from reader.flush()
                x = judged.first_loud(reader.builder, lo, hi)
                if x < hi:  # read where it stands, as the reference does
                    start = judged.starts[x]
                    if start > cur:
                        n += reader.count_plain(block, cur, start, gaps)
                        judged.count(cur, start)
                        multi.count(cur, start)
                    nl = block.find(b"\n", start) + 1
                    n += 1
                    yield from reader.line(n, _block_scan.line_text(block, start, nl, max_line))
                    cur = nl
                    continue
        if h in lazy and runs:
            assert bulk is not None
            n_h, stop_h, _, _ = lazy[h]
            rec = parse_record(_block_scan.line_text(block, h, stop_h + 1, max_line), n_h)
            if rec is not None:
                yield from reader.flush()  # h starts a record: the one before it ends here, its facts taken
                if bulk.defer(h, rec):
                    i += 1  # counted with the plain records around it
                    continue
        if h > cur and runs:
            # cur starts a run of plain lines: whole records, unless h continues the last of them
            nl = block.find(b"\n", h) + 1
            text = _block_scan.line_text(block, h, nl, max_line)
            rec = parse_record(text, 0) if h != last_line else None  # its number once the run is counted
            if rec is not None:
                stop = h
            else:
                stop = block.rfind(b"\n", cur, h - 1) + 1  # the plain line before h: its record goes on
                stop = max(stop, cur)
            if stop > cur:
                yield from reader.flush()
                n += reader.count_plain(block, cur, stop, gaps)
                if taken:
                    judged.count(cur, stop)
                    multi.count(cur, stop)
                cur = stop
                if rec is not None:  # h, parsed already
                    n += 1
                    rec.line = n
                    yield from reader.line(n, text, rec)
                    cur = nl
                    continue
        nl = block.find(b"\n", cur) + 1
        n += 1
        yield from reader.line(n, _block_scan.line_text(block, cur, nl, max_line))
        stop_rec = stop_of.get(cur) if stop_of else None
        cur = nl
        while stop_rec is not None and cur < stop_rec:  # an alarm record read (not counted): its lines are read too
            nl = block.find(b"\n", cur) + 1
            n += 1
            yield from reader.line(n, _block_scan.line_text(block, cur, nl, max_line))
            cur = nl


def _pasted_record(line: str, n: int) -> Record | None:
    """An agent record behind a syslog or journal header, as pasted from ``journalctl``."""
    if line[:1].isdigit() or len(line) < 40:
        return None
    inner = strip_header(line)
    return parse_record(inner, n) if inner else None


def _orphans(ctx: ParseContext, lines: list[str], first: int, key: str) -> Event:
    """Lines that belong to no record: one undated event, and a problem (``key``) saying why."""
    ctx.problem(key, first, n=len(lines))
    return ctx.event(None, first, "\n".join(lines), level="info", component="")


def copy_of(path: str) -> str | None:
    """``command_log`` for an extension's ``CommandExecution.log``: the agent writes the records of the
    extension's logger there and into waagent.log, so they are copies (kept once by the timeline)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "command_log" if name.startswith("commandexecution") else None


def sniff(path: str, head: bytes) -> bool:
    """An agent record anywhere in the head: a log, or a paste of one among prompts and command output; or,
    without any record, the output of ``waagent --version`` or ``systemctl status`` of the agent's unit."""
    for line in head_text(head).splitlines():
        rec = parse_record(line, 0)
        if rec is None:
            if agent_command_output(line):
                return True
            continue
        if rec.gen != "G0":
            return True
        # G0's form is also the extension's Python 2 log, whose prefix names version 1.0 (the agent's, a build), and
        # it has no level: ``ERROR:`` or ``WARNING:`` glued to the message is the 2.0 agent's logger
        if rec.prefix != f"[{VMSNAPSHOT}-1.0]" and (_AGENT_WORDS.search(rec.msg) or AGENT_TABLE.classify(rec.msg)
                                                    or _BUILD_PREFIX.search(rec.prefix)
                                                    or (rec.level != "info" and rec.msg[:1].isalpha())):
            return True
    return False


PARSER = Parser(name="waagent_log", parse=parse, sniff=sniff,
                description="Azure Linux Agent log (G0-G4 records), also extensions' CommandExecution.log")
