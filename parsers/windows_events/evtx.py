"""Binary Windows event logs (``.evtx``) through the ``evtx`` package (pyevtx-rs).

Each record comes from ``PyEvtxParser.records_json()`` as a JSON string, e.g. (shortened)::

    {"Event":{"System":{"Provider":{"#attributes":{"Name":"Service Control Manager"}},
     "EventID":{"#attributes":{"Qualifiers":49152},"#text":7023},"Level":2,
     "TimeCreated":{"#attributes":{"SystemTime":"2018-07-06T18:38:41.014372Z"}},"EventRecordID":42,
     "Channel":"System","Computer":"DESKTOP-1N4R894"},"EventData":{"param1":"iphlpsvc","param2":"%%21"}}}

JSON is used rather than XML because decoding it with orjson is about twice as fast as parsing the
XML rendering with lxml (bench/bench_evtx.py). Files copied from a live system are often *dirty*
(the header undercounts chunks); the library still reads every chunk. A corrupt chunk or record makes
the iterator raise once and then go on with the next one: each such error is a parse problem, and
the totals become the ``evtx.skipped`` fact. Times are UTC (``TimeCreated/@SystemTime``, else the
record header's time).

Most records of a system log are ordinary (Information records of providers no detector reads, or of ids
that no rule of a provider it reads maps, ``_records.ordinary``). When
the caller only counts those (``ParseContext.count``), the opening of the JSON string (everything
before the time: provider, event id, level, task, keywords) is checked against the exact shape the
library writes and the record is counted without being decoded: about five times cheaper than an
event. JSON escapes every quote inside a string value, so data cannot imitate these keys; a record of
any other shape takes the full path. Counted records are tallied by the hour their time string opens
with and go to the caller in one ``ctx.count_span`` per file. A record equal to an earlier one of the
file but for its time and record id (a warning logged again and again) gets a copy of that event.

When the C reader ``_evtxread`` is built and the caller counts, most ordinary records are not rendered at all:
each 64 KiB chunk is first read from its bytes (``_evtx_read``: provider, event id, level and time of every record,
strictly, or not at all), its ordinary records are tallied, and the library is given the file with each run of
them taken into the record before it (which the library reads only up to its end token) or folded into one empty
record (rendered ``{"Event":null}``), or, when every record of the chunk is ordinary, with the chunk zeroed (the
library passes over it). When the reader also reads every other record of the chunk from its bytes (channel,
computer, record id, qualifiers and the EventData or UserData values, as the library would render them:
``_evtx_notable``), the chunk is zeroed too and those records become events here: they wait until the library hands
on its next record (so that they are numbered after every record before them), at most ``_PENDING_CHUNKS`` chunks of
them at a time. Chunks the reader does not understand reach the library as they are. The timeline export (an event
for every record) reads the chunks the same way, every record taken as one a rule may read.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import evtx as pyevtx
import orjson

from parsers.base import Event, ParseContext, Parser
from parsers.windows_events._evtx_chunks import CHUNK_SIZE, FILE_HEADER, scan_chunks
from parsers.windows_events._evtx_notable import attributes, event_data, filetime
from parsers.windows_events._evtx_read import Plan
from parsers.windows_events._records import WinRecord, ordinary, to_event

try:  # the counting path in C (setup.py builds it; the same path runs in Python without it)
    from parsers.windows_events._evtxcount import next_record as _next_record
except ImportError:
    _next_record = None
try:  # chunks read without the library (the same reader in Python, _evtx_read, is the reference in tests)
    from parsers.windows_events._evtxread import read_chunk as _read_chunk
except ImportError:
    _read_chunk = None

MAGIC = b"ElfFile\x00"
SPOOL_MEMORY = 16 * 1024 * 1024  # non-seekable members are spooled; larger ones go to a temp file
_CHUNK_ERROR = re.compile(r"chunk number (\d+)", re.I)
#: reader threads: one is fastest for the files of a bundle on 2 cores (the default, 0 = one per core,
#: is about 1.5x slower per record; bench/bench_evtx.py reads with the same setting)
THREADS = 1
#: the key of the record's time; what comes before it is the record's opening
_TIME_KEY = '"TimeCreated":{"#attributes":{"SystemTime":"'
_TIME_KEY_LEN = len(_TIME_KEY)
#: an opening as the library writes it: provider name, event id (plain or with qualifiers), level (then task,
#: opcode, keywords)
_OPENING = re.compile(  # possessive: nothing to backtrack into
    r'\{"Event":\{(?:"#attributes":\{[^{}]*+\},)?+"System":\{'
    r'"Provider":\{"#attributes":\{"Name":"([^"\\]++)"(?:,"[^"\\]*+":"[^"\\]*+")*+\}\},'
    r'"EventID":(?:(\d++)|\{"#attributes":\{"Qualifiers":\d++\},"#text":(\d++)\}),'
    r'(?:"Version":\d++,)?+"Level":(\d++),(?:"Task":\d++,)?+(?:"Opcode":\d++,)?+(?:"Keywords":"[^"\\]*+",)?+'
)
_OPENINGS_KEPT = 4096  # distinct openings whose verdict is remembered per file
#: chunks whose records read from their bytes wait for the library's next record (when as many wait, the next
#: chunk goes to the library as it is, so that the waiting records are handed on)
_PENDING_CHUNKS = 16
#: hours of ordinary records tallied before they go to the caller (a crafted log may give every record its own)
_HOURS_HELD = 4096
#: a record that repeats an earlier one but for its time and record id (a warning logged every few minutes) gets a
#: copy of its event: remembered of records up to _SAME_LENGTH characters, _SAME_KEPT of them per file
_RECORD_ID_KEY = '"}},"EventRecordID":'
_RECORD_ID_KEY_LEN = len(_RECORD_ID_KEY)
_SAME_LENGTH = 4096
_SAME_KEPT = 1024
_Same = tuple[str, str, str, str, dict[str, Any]]  # level, component, kind, message, attrs
_NO_TIME = (datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC))  # an empty tally's (lo, hi)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_STUB = '{"Event":null}'  # how the library renders an empty record (_evtx_read.STUB)
_ZEROED = memoryview(bytes(CHUNK_SIZE))


def _seekable(stream: BinaryIO) -> BinaryIO:
    try:
        if stream.seekable():
            return stream
    except (AttributeError, OSError, ValueError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
    while chunk := stream.read(1 << 20):
        spool.write(chunk)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.removesuffix(" UTC"))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def record(raw: dict[str, Any]) -> WinRecord:
    """A record of ``records_json()`` (``data`` still a JSON string) as a :class:`WinRecord`."""
    event = orjson.loads(raw["data"]).get("Event") or {}
    system = event.get("System") or {}
    provider = attributes(system.get("Provider"))
    eid = system.get("EventID")
    qualifiers = None
    if type(eid) is dict:
        qualifiers = _int(attributes(eid).get("Qualifiers"))
        eid = eid.get("#text")
    level = system.get("Level")
    record_id = system.get("EventRecordID")
    return WinRecord(
        str(provider.get("Name") or provider.get("EventSourceName") or ""),
        eid if type(eid) is int else _int(eid),
        _time(attributes(system.get("TimeCreated")).get("SystemTime")) or _time(raw.get("timestamp")),
        level if type(level) is int else _int(level),
        False,
        qualifiers,
        str(system.get("Channel") or ""),
        str(system.get("Computer") or ""),
        (record_id if type(record_id) is int else _int(record_id)) or _int(raw.get("event_record_id")),
        event_data(event),
    )


def _verdict(opening: str, verdicts: dict[str, bool]) -> bool:
    """Whether an opening shows its record to be ordinary. Records of one provider, id and level share their
    opening: ``verdicts`` remembers what each one showed."""
    verdict = verdicts.get(opening)
    if verdict is None:
        head = _OPENING.fullmatch(opening)
        verdict = head is not None and ordinary(head[1], int(head[2] or head[3]), int(head[4]))
        if len(verdicts) < _OPENINGS_KEPT:
            verdicts[opening] = verdict
    return verdict


def _count_hours(ctx: ParseContext, hours: dict[str, list[Any]], tally: list[Any]) -> None:
    """The ordinary records tallied by hour, to the caller in one call; the tally starts again."""
    if hours:
        ctx.count_span([(hour, n) for hour, n in hours.values()], tally[0], tally[1], False)
        hours.clear()
        tally[:2] = _NO_TIME


def _again(same: _Same, ctx: ParseContext, line: int, time: str, record_id: str) -> Event | None:
    """The event of a record that differs from one met before only in its time and record id, as :func:`to_event`
    builds it; None unless both are in the shape :func:`record` reads as they stand (a JSON number, an ISO time)."""
    if not (record_id.isascii() and record_id.isdigit() and record_id[0] != "0"):
        return None
    try:
        ts = datetime.fromisoformat(time.removesuffix(" UTC"))
    except ValueError:
        return None
    return _copy(same, ctx, line, ts, int(record_id))


def _copy(same: _Same, ctx: ParseContext, line: int, ts: datetime, record_id: int) -> Event:
    level, component, kind, message, attrs = same
    attrs = dict(attrs)
    attrs["record_id"] = record_id
    return Event(ts, ctx.source, ctx.path, line, level, component, kind, message, attrs, False)


def read(records: Iterator[dict[str, Any]], ctx: ParseContext, chunks: set[str],
         unread: _Unread | None = None) -> Generator[Event, None, int]:
    """The events of the records of ``records_json()`` (dicts with the JSON string as ``data``); the ordinary ones
    only counted when the caller counts. Chunks the reader skipped go into ``chunks``; returns the records skipped.
    ``unread``: the file as the library reads it, the chunks counted without it tallied as the library passes them."""
    skipped_records = 0
    n = 0
    counting = ctx.counter is not None
    verdicts: dict[str, bool] = {}
    hours: dict[str, list[Any]] = {}  # ordinary records by the hour their time string opens with: [hour, records]
    tally: list[Any] = [*_NO_TIME, 0]  # their earliest and latest times, and the records the C module counted
    native = _next_record if counting else None
    seen: dict[str, _Same] = {}  # the events of records met before, by all but their time and record id
    pending: list[tuple[int, list[tuple[Any, ...]]]] = []  # records of chunks read without the library
    seen_read: dict[tuple[Any, ...], _Same] = {}  # the events of those met before, by all but time and record id
    if unread is not None:
        unread.tally_into(ctx, hours, tally, pending)
    try:
        while True:
            try:
                raw = next(records) if native is None else native(records, verdicts, hours, tally,
                                                                  datetime.fromisoformat, UTC, _HOURS_HELD)
            except StopIteration:
                yield from _read_pending(ctx, pending, n, seen_read)
                break
            except (RuntimeError, OSError, ValueError) as exc:  # one bad chunk or record; the iterator goes on
                m = _CHUNK_ERROR.search(str(exc))
                if m and "record" not in str(exc).lower():
                    chunks.add(m.group(1))
                else:
                    skipped_records += 1
                ctx.problem("problem.evtx_skipped", error=str(exc))
                continue
            except BaseException as exc:  # a panic in the Rust reader ends the file, not the bundle
                if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
                    raise
                ctx.problem("problem.evtx_reader_stopped", error=f"{type(exc).__name__}: {exc}")
                skipped_records += 1
                break
            if raw is None:  # the C module's end
                yield from _read_pending(ctx, pending, n, seen_read)
                break
            if pending:
                yield from _read_pending(ctx, pending, n, seen_read)
            n += 1 + tally[2]
            tally[2] = 0
            if unread is not None:  # ordinary records the library did not render, tallied already
                if raw.get("data") == _STUB and (run := unread.run()):
                    n += run - 1
                    continue
                tally[2] += unread.absorbed(raw)
            same_key = ""
            if counting:  # every record: the ordinary ones are counted from their opening and time string
                data = raw["data"]
                at = data.find(_TIME_KEY)
                verdict = at >= 0 and verdicts.get(opening := data[:at])
                if verdict is None:
                    verdict = _verdict(opening, verdicts)
                start = at + _TIME_KEY_LEN
                end = data.find('"', start) if at >= 0 else -1
                if verdict and end > 0:
                    try:
                        ts = datetime.fromisoformat(data[start:end].removesuffix(" UTC"))
                    except ValueError:
                        pass
                    else:
                        if ts.tzinfo is UTC and data[start + 10] == "T":  # "2018-07-06T18": its date and hour
                            bucket = hours.get(key := data[start:start + 13])
                            if bucket is None:
                                if len(hours) >= _HOURS_HELD:
                                    _count_hours(ctx, hours, tally)
                                hours[key] = [ts.replace(minute=0, second=0, microsecond=0), 1]
                            else:
                                bucket[1] += 1
                            tally[0] = min(tally[0], ts)
                            tally[1] = max(tally[1], ts)
                        else:
                            ctx.count(ts, False)
                        continue
                if end > 0 and len(data) <= _SAME_LENGTH and data.startswith(_RECORD_ID_KEY, end) and (
                        comma := data.find(",", end + _RECORD_ID_KEY_LEN)) > 0:  # all but its time and record id
                    same = seen.get(same_key := opening + data[comma:])
                    if same is not None and (event := _again(same, ctx, n, data[start:end],
                                                             data[end + _RECORD_ID_KEY_LEN:comma])) is not None:
                        yield event
                        continue
            try:
                rec = record(raw)
            except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
                skipped_records += 1
                ctx.problem("problem.evtx_record_json", record=str(raw.get("event_record_id")), error=str(exc))
                continue
            facts = len(ctx.facts)
            event = to_event(ctx, rec, n)
            if same_key and len(ctx.facts) == facts and len(seen) < _SAME_KEPT:  # a record that proves no fact
                seen[same_key] = (event.level, event.component, event.kind, event.message, dict(event.attrs))
                same_key = ""
            yield event
    finally:  # also when the caller stops reading: what was tallied is counted
        _count_hours(ctx, hours, tally)
    return skipped_records


def _read_pending(ctx: ParseContext, pending: list[tuple[int, list[tuple[Any, ...]]]], n: int,
                  seen: dict[tuple[Any, ...], _Same]) -> Iterator[Event]:
    """The events of the records read from the bytes of chunks the library passed over (``_evtx_read.notable``),
    numbered after the ``n`` records handed on before them and the records counted in between. A record equal to
    one met before but for its time and record id gets a copy of its event, as in :func:`read`."""
    for before, records in pending:
        for index, provider, event_id, level, time, qualifiers, channel, computer, record_id, data in records:
            line = n + before + index + 1
            key = _frozen(data)
            if key is not None:
                key = (provider, event_id, level, qualifiers, channel, computer, key)
                same = seen.get(key)
                if same is not None:
                    yield _copy(same, ctx, line, filetime(time), record_id)
                    continue
            facts = len(ctx.facts)
            event = to_event(ctx, WinRecord(provider, event_id, filetime(time), level, False, qualifiers, channel,
                                            computer, record_id, data), line)
            if key is not None and len(ctx.facts) == facts and len(seen) < _SAME_KEPT and \
                    len(event.message) + sum(len(str(v)) for v in key[-1]) <= _SAME_LENGTH:  # no fact, not too big
                seen[key] = (event.level, event.component, event.kind, event.message, dict(event.attrs))
            yield event
    pending.clear()


def _frozen(data: dict[str, Any] | list[Any] | None) -> tuple[Any, ...] | None:
    """EventData values as a key (None: values no key holds, a list among them)."""
    items = tuple(data.items()) if isinstance(data, dict) else (tuple(data) if data is not None else ())
    try:
        hash(items)
    except TypeError:
        return None
    return items


def _tally_chunk(ctx: ParseContext, hours: dict[str, list[Any]], tally: list[Any], pending: list[Any],
                 plan: Plan) -> None:
    """The ordinary records of a chunk read without the library, tallied as :func:`read` tallies them one by one
    (and numbered when the library reads none of the chunk: its other records, read from its bytes too, wait in
    ``pending`` with the records numbered before them)."""
    records, counted, by_hour, earliest, latest, stubbed = plan[:6]
    for hour, n in by_hour.items():
        start = _FILETIME_EPOCH + timedelta(hours=hour)
        key = f"{start.year:04d}-{start.month:02d}-{start.day:02d}T{start.hour:02d}"  # as the time string opens
        bucket = hours.get(key)
        if bucket is None:
            if len(hours) >= _HOURS_HELD:
                _count_hours(ctx, hours, tally)
            hours[key] = [start, n]
        else:
            bucket[1] += n
    if counted:
        tally[0] = min(tally[0], filetime(earliest))
        tally[1] = max(tally[1], filetime(latest))
    if stubbed is None:
        if plan[8]:
            pending.append((tally[2], plan[8]))
        tally[2] += records


class _Unread(io.RawIOBase):
    """The file as the library is given it. Each chunk is read by :func:`_read_chunk` when the library starts
    reading it: a chunk whose records are all ordinary reads as zeros (the library passes over a zeroed chunk
    silently), a chunk with some as its plan's bytes, where each run of ordinary records is taken into the record
    before it or made one empty record. The library reads a chunk only when it has handed on every record before
    it, so a chunk's ordinary records are tallied (and those of a zeroed chunk numbered) then, and a record it
    hands on belongs to the chunk it read last. One chunk is held at a time."""

    def __init__(self, source: BinaryIO, ordinary: Callable[[str, int, int], bool]) -> None:
        super().__init__()
        self._source = source
        self._ordinary = ordinary  # records only counted: none in the timeline export
        self._held = -1  # the chunk whose bytes as the library is to read them are held
        self._bytes: memoryview | None = None  # those bytes (None: the file's own)
        self._tallied: set[int] = set()
        self._runs: dict[int, list[int]] = {}  # chunk -> records each empty record stands for, the last first
        self._absorbed: dict[int, dict[int, int]] = {}  # chunk -> record id -> ordinary records it took in
        self._last = -1  # the chunk read last
        self._into: tuple[ParseContext, dict[str, list[Any]], list[Any], list[Any]] | None = None
        self._waiting: list[Plan] = []  # plans met before read() gave where to tally them

    def tally_into(self, ctx: ParseContext, hours: dict[str, list[Any]], tally: list[Any], pending: list[Any]) -> None:
        self._into = (ctx, hours, tally, pending)
        for plan in self._waiting:
            _tally_chunk(ctx, hours, tally, pending, plan)
        self._waiting.clear()

    def run(self) -> int:
        """The records the empty record just handed on stands for; 0 if it is not one of ours."""
        runs = self._runs.get(self._last)
        return runs.pop() if runs else 0

    def absorbed(self, raw: dict[str, Any]) -> int:
        """The ordinary records the record just handed on took in after it."""
        absorbed = self._absorbed.get(self._last)
        return absorbed.pop(raw.get("event_record_id"), 0) if absorbed else 0

    def _hold(self, index: int) -> None:
        """The chunk ``index`` as the library is to read it, planned (and tallied) the first time."""
        if index == self._held:
            return
        at = self._source.tell()
        self._source.seek(FILE_HEADER + index * CHUNK_SIZE)
        plan = _read_chunk(self._source.read(CHUNK_SIZE), self._ordinary)
        self._source.seek(at)
        self._held, self._bytes = index, None
        if plan is None or (not plan[1] and plan[8] is None):
            return
        if plan[8] and self._into is not None and len(self._into[3]) >= _PENDING_CHUNKS:
            return
        self._bytes = _ZEROED if plan[5] is None else memoryview(plan[5])
        if index not in self._tallied:
            self._tallied.add(index)
            if plan[6]:
                self._runs[index] = list(reversed(plan[6]))
            if plan[7]:
                self._absorbed[index] = dict(plan[7])
            if self._into is None:
                self._waiting.append(plan)
            else:
                _tally_chunk(*self._into, plan)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()

    def read(self, size: int | None = -1) -> bytes:  # what the library calls
        at = self._source.tell()
        data = self._source.read(-1 if size is None else size)
        n = len(data)
        if not n or at + n <= FILE_HEADER:
            return data
        first = max(at - FILE_HEADER, 0) // CHUNK_SIZE
        last = (at + n - 1 - FILE_HEADER) // CHUNK_SIZE
        out: bytearray | None = None
        for chunk in range(first, last + 1):
            self._hold(chunk)
            self._last = max(self._last, chunk)
            if self._bytes is None:
                continue
            base = FILE_HEADER + chunk * CHUNK_SIZE
            start, stop = max(base - at, 0), min(base + CHUNK_SIZE - at, n)
            if first == last and at >= base:  # the library's way: a chunk read in parts
                return self._bytes[at - base:at - base + n].tobytes()
            if out is None:
                out = bytearray(data)
            out[start:stop] = self._bytes[at + start - base:at + stop - base]
        return data if out is None else bytes(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)


def _none(provider: str, event_id: int, level: int) -> bool:
    """The timeline export's verdict: no record is only counted."""
    return False


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    source = _seekable(stream)
    head = source.read(8)
    source.seek(0)
    if head != MAGIC:
        ctx.problem("problem.evtx_no_signature")
        return
    damage = scan_chunks(source)
    unread = None if _read_chunk is None else _Unread(source, ordinary if ctx.counter is not None else _none)
    try:
        records = pyevtx.PyEvtxParser(source if unread is None else unread, number_of_threads=THREADS).records_json()
    except (OSError, RuntimeError, ValueError) as exc:
        ctx.problem("problem.evtx_unreadable", error=str(exc))
        return
    chunks: set[str] = set()
    skipped_records = yield from read(records, ctx, chunks, unread)
    for chunk, why in damage:
        if str(chunk) not in chunks:  # the reader's own error for that chunk is already a problem
            ctx.problem(why.key, **why.params)
            chunks.add(str(chunk))
    if chunks or skipped_records:
        ctx.fact("evtx.skipped", {"records_skipped": skipped_records, "chunks_skipped": len(chunks)},
                 text=f"{len(chunks)} chunk(s) and {skipped_records} record(s) could not be read")


def sniff(path: str, head: bytes) -> bool:
    return head.startswith(MAGIC)


PARSER = Parser(name="evtx", parse=parse, sniff=sniff, description="Windows .evtx event logs (evtx package)")
