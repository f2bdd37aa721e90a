"""Chunks counted without the library (``_evtx_read``, ``_evtxread.c``): the same analysis as the library's path.

A chunk whose every record the reader understands and finds ordinary is only tallied; every other chunk goes to
the library. The reference is the library's path for every chunk (``evtx._read_chunk`` set to None, as without the
C module): events, facts, problems, per-hour counts, time range and records counted must be the same on every
reference file and on variations of them that move, copy, zero, corrupt or re-sign chunks.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import struct
import sysconfig
import zlib
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import evtx
import pytest

from analyzer.locale import word
from analyzer.timeline import Timeline
from parsers.base import ParseContext
from parsers.windows_events import evtx as evtx_parser
from parsers.windows_events._evtx_chunks import CHUNK_SIZE, FILE_HEADER
from parsers.windows_events._evtx_read import Unread, read_chunk
from parsers.windows_events._evtx_read import _read_chunk as _read_records
from parsers.windows_events._records import ordinary
from parsers.windows_events.evtx import _OPENING, _TIME_KEY
from tests.conftest import REFDATA

WINDOWS = REFDATA / "windows"
FILES = sorted(p.name for p in WINDOWS.glob("*.evtx"))
EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

try:
    from parsers.windows_events._evtxread import read_chunk as c_read_chunk
except ImportError:
    c_read_chunk = None


def _chunks(data: bytes) -> list[bytes]:
    return [data[FILE_HEADER + i * CHUNK_SIZE:FILE_HEADER + (i + 1) * CHUNK_SIZE]
            for i in range((len(data) - FILE_HEADER) // CHUNK_SIZE)]


def _signed(chunk: bytes | bytearray) -> bytes:
    """The chunk with both checksums made to match its bytes (as a crafted file would)."""
    chunk = bytearray(chunk)
    free = min(max(struct.unpack_from("<I", chunk, 48)[0], 512), CHUNK_SIZE)
    struct.pack_into("<I", chunk, 52, zlib.crc32(chunk[512:free]))
    struct.pack_into("<I", chunk, 124, zlib.crc32(chunk[:120] + chunk[128:512]))
    return bytes(chunk)


def _variants(data: bytes, seed: int) -> list[bytes]:
    """Chunks of a reference file moved, copied, zeroed, given a bad magic or header checksum, their records' bytes
    changed (then re-signed, so that only the reader's own checks stand between them and a count), cut short."""
    rng = random.Random(seed)
    head, chunks = data[:FILE_HEADER], _chunks(data)
    good = [c for c in chunks if c.startswith(b"ElfChnk")]
    out = [head + b"".join(reversed(chunks)), head + b"".join(chunks + good),
           head + b"".join(c for pair in zip(good, reversed(good), strict=True) for c in pair)]
    zeroed = list(chunks)
    zeroed[rng.randrange(len(zeroed))] = bytes(CHUNK_SIZE)
    out.append(head + b"".join(zeroed))
    for field in (0, 124, 52, 48, 44, 24):  # magic, header checksum, data checksum, free space, last record, first id
        changed = [bytearray(c) for c in chunks]
        for c in changed:
            c[field] ^= 0x5A
        out.append(head + b"".join(map(bytes, changed)))
    for _ in range(12):  # bytes of the records changed, chunks re-signed
        changed = [bytearray(c) for c in chunks]
        for c in changed:
            if not c.startswith(b"ElfChnk"):
                continue
            free = struct.unpack_from("<I", c, 48)[0]
            for _ in range(rng.choice((1, 3, 20))):
                at = rng.randrange(512, max(free, 513))
                c[at] = rng.choice((0, 0xFF, c[at] ^ (1 << rng.randrange(8)), 0x0C, 0x0E, 0x21, 0x22, 0x5C))
        out.append(head + b"".join(_signed(c) for c in changed))
    out.append(data[:len(data) - CHUNK_SIZE // 2])  # cut inside the last chunk
    return out


def _library(data: bytes) -> list[object]:
    """The library's records of a file: their JSON, or the error text."""
    out: list[object] = []
    records = evtx.PyEvtxParser(io.BytesIO(data), number_of_threads=1).records_json()
    while True:
        try:
            out.append(next(records)["data"])
        except StopIteration:
            return out
        except RuntimeError as exc:
            out.append(str(exc))


@pytest.mark.parametrize("name", FILES)
def test_the_reader_gives_what_the_library_renders(name: str) -> None:
    """Every chunk the reader takes: record by record the opening (provider, event id, level) and time the library
    writes; and the chunk made by the plan renders as the chunk did but for one empty record per run of ordinary
    records."""
    data = (WINDOWS / name).read_bytes()
    for chunk in _chunks(data):
        try:
            records = _read_records(chunk)
        except Unread:
            continue
        rendered = _library(data[:FILE_HEADER] + chunk)
        assert len(rendered) == len(records)
        for (key, _, _, filetime, *_), text in zip(records, rendered, strict=True):
            assert isinstance(text, str)
            at = text.find(_TIME_KEY)
            head = _OPENING.fullmatch(text[:at])
            assert head is not None and (head[1], int(head[2] or head[3]), int(head[4])) == key, text[:300]
            stamp = text[at + len(_TIME_KEY):text.find('"', at + len(_TIME_KEY))]
            assert datetime.fromisoformat(stamp) == EPOCH + timedelta(microseconds=filetime // 10)
        plan = read_chunk(chunk, ordinary)
        assert plan is not None and plan[0] == len(records)
        if plan[5] is not None:
            stubbed = _library(data[:FILE_HEADER] + plan[5])
            assert [t for t in stubbed if t != '{"Event":null}'] == [
                t for (key, *_), t in zip(records, rendered, strict=True) if not ordinary(*key)]
            assert len(stubbed) - len(plan[6]) == plan[0] - plan[1] and sum(plan[6]) + sum(plan[7].values()) == plan[1]


def test_the_reader_takes_whole_chunks_of_real_files() -> None:
    taken = [read_chunk(c, ordinary) is not None for name in FILES for c in _chunks((WINDOWS / name).read_bytes())
             if c.startswith(b"ElfChnk")]
    assert sum(taken) >= 25  # every chunk with both checksums right (two files have chunks without)


@pytest.mark.skipif(c_read_chunk is None, reason="parsers.windows_events._evtxread not built: pip install -e .")
@pytest.mark.parametrize("name", FILES)
def test_the_c_reader_is_the_python_reader(name: str) -> None:
    every = partial(_every, True)
    for data in [(WINDOWS / name).read_bytes(), *_variants((WINDOWS / name).read_bytes(), 7)]:
        for chunk in _chunks(data):
            for verdict in (ordinary, every, partial(_every, False)):
                assert c_read_chunk(chunk, verdict) == read_chunk(chunk, verdict)
    assert c_read_chunk(b"ElfChnk\x00", every) is None and c_read_chunk(bytes(CHUNK_SIZE), every) is None


def _every(answer: bool, provider: str, event_id: int, level: int) -> bool:
    return answer


def _as_library_reads(data: bytes) -> tuple[int, int]:
    """Every record the reader reads to the end (``notable``), in every chunk it takes, against the library's JSON of
    the same chunk, field by field as ``evtx.record`` takes them; (records compared, records left to the library)."""
    from parsers.windows_events._evtx_notable import NotTaken
    from parsers.windows_events._evtx_read import notable

    compared = left = 0
    for chunk in _chunks(data):
        templates: dict[Any, Any] = {}
        try:
            records = _read_records(chunk, templates)
        except Unread:
            continue
        rendered = _library(data[:FILE_HEADER] + chunk)
        first_id = struct.unpack_from("<Q", chunk, 24)[0]
        free = struct.unpack_from("<I", chunk, 48)[0]
        assert len(rendered) == len(records)
        for index, ((provider, event_id, level), _, _, time, _, template, values) in enumerate(records):
            try:
                fields = notable(chunk, template, values, templates, free, first_id + index)
            except (NotTaken, Unread):
                left += 1
                continue
            text = rendered[index]
            assert isinstance(text, str), text
            rec = evtx_parser.record({"data": text, "event_record_id": first_id + index})
            assert (rec.provider, rec.event_id, rec.level, rec.ts, rec.qualifiers, rec.channel, rec.computer,
                    rec.record_id, rec.data) == (provider, event_id, level, EPOCH + timedelta(microseconds=time // 10),
                                                 *fields), text[:400]
            compared += 1
    return compared, left


@pytest.mark.parametrize("name", FILES)
def test_records_read_from_the_bytes_are_what_the_library_renders(name: str) -> None:
    """Channel, computer, record id, qualifiers and EventData/UserData values of every type the files hold (strings,
    numbers, hex numbers, GUIDs, SIDs, times, bytes, string arrays), in the reference files and in variations of
    them; a record of a shape without a program sends its chunk to the library."""
    data = (WINDOWS / name).read_bytes()
    taken = [_as_library_reads(variant) for variant in [data, *_variants(data, 3)]]
    if name in ("system.evtx", "2-vss_7-System.evtx"):
        assert taken[0][0] > 500


def test_values_of_every_type_read_from_the_bytes_are_what_the_library_renders() -> None:
    """Data values of each type Windows writes (null, strings with and without a NUL at the end, numbers signed and
    unsigned, booleans, HexInt, GUIDs, SIDs, FILETIMEs, bytes), in named and unnamed Data elements, alone and beside
    others, made into records by the test writer: what is read from the bytes is what the library renders, and a
    shape the library writes otherwise (unnamed Data beside named ones, a NUL inside a string) is left to it."""
    from typing import cast

    from tests.scenarios.evtx_writer import Sub, write_evtx
    from tests.scenarios.windows import WinEvent

    rng = random.Random(5)
    values = [Sub(0x00, b""), Sub(0x00, b"\0\0\0\0"), Sub(0x01, b""), Sub(0x01, "ab\0".encode("utf-16-le")),
              Sub(0x01, "a\0b".encode("utf-16-le")), Sub(0x01, "Volume Shadow Copy".encode("utf-16-le")),
              Sub(0x02, b"ansi\0"), Sub(0x03, b"\xff"), Sub(0x05, b"\x00\x80"), Sub(0x07, b"\xff\xff\xff\x7f"),
              Sub(0x09, struct.pack("<q", -5)), Sub(0x04, b"\x07"), Sub(0x06, b"\x34\x12"), Sub(0x08, b"\x05\0\0\0"),
              Sub(0x0A, struct.pack("<Q", 2 ** 63)), Sub(0x0D, b"\x01\0\0\0"), Sub(0x0D, b"\0\0\0\0"),
              Sub(0x0E, b""), Sub(0x0E, bytes(range(0, 256, 17))), Sub(0x0F, bytes(range(16))),
              Sub(0x11, struct.pack("<Q", 131443534981941925)), Sub(0x13, bytes([1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0,
                                                                                   32, 2, 0, 0])),
              Sub(0x14, b"\xff\0\0\0"), Sub(0x15, struct.pack("<Q", 0x8000000000000000))]

    class Host:
        host = "VM-EVTX"

    records = []
    for rid in range(1, 400):
        named = rng.random() < 0.5
        data = [(f"param{i}" if named or rng.random() < 0.1 else None, rng.choice(values))
                for i in range(rng.randrange(0, 5))]
        records.append((WinEvent(datetime(2024, 5, 1, tzinfo=UTC) + timedelta(seconds=rid), "System",
                                 "Service Control Manager", 7000 + rid % 50, rng.choice((2, 3, 4)), "",
                                 cast(list[tuple[str | None, str]], data), qualifiers=rng.choice((None, 16384))),
                        rid))
    compared = left = 0
    for at in range(0, len(records), 25):  # the writer gives each record its own template: 64 a chunk at most
        data = write_evtx(cast(Any, Host()), records[at:at + 25])
        counts = _as_library_reads(data)
        compared, left = compared + counts[0], left + counts[1]
        for chunk in _chunks(data):
            for verdict in (ordinary, partial(_every, False)):
                assert c_read_chunk is None or c_read_chunk(chunk, verdict) == read_chunk(chunk, verdict)
    assert compared >= 200 and left >= 20


def test_records_of_generated_files_read_from_the_bytes_are_what_the_library_renders() -> None:
    """The files the scenario corpus writes hold EventData in the record's own template (real files nest it in a
    value): named, unnamed and empty Data elements of every Windows story."""
    import dataclasses

    from tests.scenarios.design import corpus
    from tests.scenarios.evtx_writer import write_evtx
    from tests.scenarios.render import build
    from tests.scenarios.render_windows import _ids
    from tests.scenarios.stories import STORIES

    records = 0
    for story, variant in corpus([s for s in STORIES.values() if s.os == "windows"]):
        vm, _ = build(story, dataclasses.replace(variant, events="evtx"))
        for channel in sorted({e.channel for e in vm.events}):
            records += _as_library_reads(write_evtx(vm, [(e, r) for e, r in _ids(vm) if e.channel == channel]))[0]
    assert records > 500


def _analysis(data: bytes) -> tuple[object, ...]:
    """What an analysis gets from the file: events, facts, problems, the timeline's counts and range."""
    timeline = Timeline()
    ctx = ParseContext("bundle/file", "evtx", partial(timeline.count_ordinary, "evtx"),
                       partial(timeline.count_span, "evtx"))
    events = [(e.line, e.ts, e.level, e.kind, e.message, e.attrs)
              for e in evtx_parser.PARSER.parse(io.BytesIO(data), ctx)]
    return (events, [(f.name, f.value) for f in ctx.facts], [word(p.message) for p in ctx.problems], ctx.counted,
            timeline.count, timeline.by_source, timeline._hist, timeline._lo, timeline._hi)


@pytest.mark.parametrize("engine", ["c", "python"])
@pytest.mark.parametrize("name", FILES)
def test_an_analysis_is_the_same_with_chunks_counted_without_the_library(
        name: str, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine == "c" and c_read_chunk is None:
        pytest.skip("parsers.windows_events._evtxread not built: pip install -e .")
    data = (WINDOWS / name).read_bytes()
    for variant in [data, *_variants(data, len(name))]:
        monkeypatch.setattr(evtx_parser, "_read_chunk", None)
        reference = _analysis(variant)
        monkeypatch.setattr(evtx_parser, "_read_chunk", c_read_chunk if engine == "c" else read_chunk)
        assert _analysis(variant) == reference


@pytest.mark.parametrize("engine", ["c", "python"])
@pytest.mark.parametrize("name", FILES)
def test_the_timeline_export_is_the_same_with_chunks_read_without_the_library(
        name: str, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The export builds an event for every record: chunks whose every record is read from their bytes give the
    events the library's path gives, in the same order, with the same numbers."""
    if engine == "c" and c_read_chunk is None:
        pytest.skip("parsers.windows_events._evtxread not built: pip install -e .")

    def export(data: bytes) -> list[tuple[object, ...]]:
        ctx = ParseContext("bundle/file", "evtx")
        events = [(e.line, e.ts, e.level, e.kind, e.message, e.attrs) for e in evtx_parser.PARSER.parse(
            io.BytesIO(data), ctx)]
        return [events, [(f.name, f.value) for f in ctx.facts], [word(p.message) for p in ctx.problems]]

    data = (WINDOWS / name).read_bytes()
    for variant in [data, *_variants(data, 11)]:
        monkeypatch.setattr(evtx_parser, "_read_chunk", None)
        reference = export(variant)
        monkeypatch.setattr(evtx_parser, "_read_chunk", c_read_chunk if engine == "c" else read_chunk)
        assert export(variant) == reference
    if name == "system.evtx":
        assert len(reference[0]) == 1881


def test_a_stub_like_record_of_a_chunk_read_whole_is_an_event() -> None:
    """Only a chunk the plan changed holds empty records of ours: elsewhere ``{"Event":null}`` is read as before."""
    ctx = ParseContext("bundle/file", "evtx", lambda ts, local: None, lambda *args: None)
    unread = evtx_parser._Unread(io.BytesIO(), ordinary)
    events = list(evtx_parser.read(iter([{"data": '{"Event":null}', "event_record_id": 1}]), ctx, set(), unread))
    assert len(events) == 1 and events[0].line == 1


def test_the_c_reader_is_built_where_a_compiler_is() -> None:
    """As the counting module (tests/parsers/test_evtx.py): a checkout not installed again lacks it, slower only."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if c_read_chunk is None and not os.environ.get("CI"):
        pytest.skip("parsers.windows_events._evtxread not built here: pip install -e . builds it")
    assert shutil.which(compiler) is None or evtx_parser._read_chunk is not None


def test_memory_does_not_grow_with_the_chunks_planned() -> None:
    """One chunk's plan is held at a time, and the records read from the bytes of the chunks the library passes over
    wait for at most a few chunks: a file of 128 chunks with some notable records peaks as one of 16."""
    import tracemalloc

    data = (WINDOWS / "system.evtx").read_bytes()
    partial_chunk = next(c for c in _chunks(data) if (plan := read_chunk(c, ordinary)) and 0 < plan[1] < plan[0])
    peaks = []
    for copies in (16, 128):
        ctx = ParseContext("bundle/file", "evtx", lambda ts, local: None, lambda *args: None)
        stream = io.BytesIO(data[:FILE_HEADER] + partial_chunk * copies)
        tracemalloc.start()
        for _ in evtx_parser.PARSER.parse(stream, ctx):
            pass
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] + 1_000_000


def _descriptors(chunk: bytes, record: int) -> tuple[int, int]:
    """Where the top template instance of the record at ``record`` has its value descriptors, and how many."""
    p = record + 28
    offset = struct.unpack_from("<I", chunk, p + 6)[0]
    p += 10
    if offset == p:
        p += 24 + struct.unpack_from("<I", chunk, offset + 20)[0]
    return p + 4, struct.unpack_from("<I", chunk, p)[0]


def _inline_templates(chunk: bytes) -> list[int]:
    """Offsets of the template definitions written inside the records' instances, the records' own first."""
    found = []
    for _, at, *_ in _read_records(chunk):
        p = at + 28
        if struct.unpack_from("<I", chunk, p + 6)[0] == p + 10:
            found.append(p + 10)
    return found


def _shapes(chunk: bytes) -> dict[str, bytes]:
    """The chunk changed into each shape the library fails on or writes otherwise than the reader would count it
    (found by changing re-signed chunks at random), every one re-signed."""
    records = _read_records(chunk)
    out = {}
    first = records[0][1]

    def descriptor(kind: int) -> int | None:  # the first value of that type among the records' own
        for _, record, *_ in records:
            at, count = _descriptors(chunk, record)
            for i in range(count):
                if chunk[at + 4 * i + 2] == kind:
                    return at + 4 * i + 2
        return None

    for shape, kind, new in (("binary content", 0x21, 0x0E), ("string array", 0x01, 0x81)):
        # EventData as binary: written before System; a string as a string array: its element expanded
        if (where := descriptor(kind)) is not None:
            changed = bytearray(chunk)
            changed[where] = new
            out[shape] = _signed(changed)
    template = _inline_templates(chunk)[0]
    body = bytes(chunk[template + 24:template + 24 + struct.unpack_from("<I", chunk, template + 20)[0]])
    token = body.index(b"\x0e") if b"\x0e" in body else body.index(b"\x0d")
    changed = bytearray(chunk)
    changed[template + 24 + token + 3] = 0xFF  # a substitution's declared type the library does not know
    out["declared type"] = _signed(changed)
    changed = bytearray(chunk)
    changed[template + 24 + 4] = 0x00  # the template ends before its root element
    out["no root"] = _signed(changed)
    name = chunk.find("xmlns".encode("utf-16-le"))  # Event's attribute, met in every record
    changed = bytearray(chunk)
    changed[name + 4:name + 6] = b'"\x00'  # a name the library would write into a JSON key as it is
    out["quote in a name"] = _signed(changed)
    slot = next(128 + 4 * i for i in range(64) if struct.unpack_from("<I", chunk, 128 + 4 * i)[0])
    changed = bytearray(chunk)
    struct.pack_into("<I", changed, struct.unpack_from("<I", chunk, slot)[0], first)  # a chained name in a record
    out["chained name"] = _signed(changed)
    return out


@pytest.mark.parametrize("engine", ["c", "python"])
def test_shapes_the_library_fails_on_or_writes_otherwise_send_the_chunk_to_it(
        engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine == "c" and c_read_chunk is None:
        pytest.skip("parsers.windows_events._evtxread not built: pip install -e .")
    reader = c_read_chunk if engine == "c" else read_chunk
    data = (WINDOWS / "system.evtx").read_bytes()
    taken = [(index, chunk) for index, chunk in enumerate(_chunks(data)) if read_chunk(chunk, ordinary) is not None]
    for index, chunk in taken[::5]:
        for shape, changed in _shapes(chunk).items():
            assert reader(changed, ordinary) is None, shape
            variant = data[:FILE_HEADER + index * CHUNK_SIZE] + changed + data[FILE_HEADER + (index + 1) * CHUNK_SIZE:]
            monkeypatch.setattr(evtx_parser, "_read_chunk", None)
            reference = _analysis(variant)
            monkeypatch.setattr(evtx_parser, "_read_chunk", reader)
            assert _analysis(variant) == reference, shape
