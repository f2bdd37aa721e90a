"""The .evtx parser on the reference files: counts, levels and providers as expected-counts.json says."""

from __future__ import annotations

import copy
import io
import json
import os
import random
import shutil
import sysconfig
import warnings
from collections import Counter
from datetime import UTC, datetime
from functools import partial

import evtx
import orjson
import pytest

from analyzer.locale import word
from analyzer.timeline import Timeline
from parsers import get_parser
from parsers.base import ParseContext
from parsers.windows_events import evtx as evtx_parser
from parsers.windows_events.evtx import read
from tests.conftest import REFDATA
from tests.parsers.windows_helpers import facts, run

WINDOWS = REFDATA / "windows"
EXPECTED = json.loads((WINDOWS / "expected-counts.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_levels_and_providers_match_ground_truth(name: str) -> None:
    expected = EXPECTED[name]
    events, ctx = run("evtx", (WINDOWS / name).read_bytes(), f"C/Windows/System32/winevt/Logs/{name}")
    assert len(events) == expected["pyevtx_rs_0_14_0_records_ok"]
    assert Counter(str(e.attrs["level_value"]) for e in events) == Counter(expected["levels"])
    by_provider = Counter(f"{e.attrs['provider'] or 'None'}|{e.attrs['event_id']}" for e in events)
    assert by_provider == Counter(expected["provider_eventid_counts"])
    assert {e.attrs["computer"] for e in events} == set(expected["computers"])
    stamps = sorted(e.ts for e in events if e.ts is not None)
    assert all(ts.tzinfo is not None for ts in stamps)
    if expected["first_SystemTime_utc"]:
        first = datetime.fromisoformat(expected["first_SystemTime_utc"])
        assert stamps[0] == first.astimezone(UTC)
    assert stamps[-1] == datetime.fromisoformat(expected["last_SystemTime_utc"])
    assert len(ctx.problems) == expected["pyevtx_rs_iteration_errors"]


def test_corrupt_chunks_are_skipped_counted_and_reported() -> None:
    events, ctx = run("evtx", (WINDOWS / "sample_with_a_bad_chunk_magic.evtx").read_bytes())
    assert len(events) == 270
    assert facts(ctx, "evtx.skipped") == [{"records_skipped": 0, "chunks_skipped": 2}]
    assert all("ElfChnk" in word(p.message) for p in ctx.problems)
    # the record without TimeCreated takes the record header's time
    no_provider = [e for e in events if not e.attrs["provider"]]
    assert len(no_provider) == 1 and no_provider[0].ts is not None


def test_dirty_file_yields_every_record_and_maps_kinds() -> None:
    events, ctx = run("evtx", (WINDOWS / "2-vss_7-System.evtx").read_bytes())
    assert len(events) == 1160  # python-evtx, trusting the dirty header, reads 457
    assert not facts(ctx, "evtx.skipped")
    kinds = Counter(e.kind for e in events)
    assert kinds["system.shutdown"] == 2 + 2 + 2 + 9  # User32 1074, EventLog 6006, Kernel-Power 109, Dhcp 50103-6
    assert kinds["system.boot"] == 3
    crash_7023 = [e for e in events if e.attrs["event_id"] == 7023]
    assert {e.kind for e in crash_7023} == {"service.state"}
    assert crash_7023[0].attrs["service"] == "iphlpsvc"
    assert crash_7023[0].attrs["data"] == {"param1": "iphlpsvc", "param2": "%%21"}
    assert crash_7023[0].message == "The iphlpsvc service terminated with the following error: %%21"
    assert crash_7023[0].attrs["qualifiers"] == 49152 and crash_7023[0].level == "error"
    bits = [e for e in events if e.attrs["event_id"] == 7040 and e.attrs["service"] == "BITS"]
    assert bits and bits[0].attrs["start_type"] == "auto" and bits[0].attrs["old_start_type"] == "manual"
    restart = next(e for e in events if e.attrs["event_id"] == 1074)
    assert restart.attrs["user"] == "NT AUTHORITY\\SYSTEM" and restart.attrs["planned"] is True
    volsnap = [e for e in events if e.attrs["provider"] == "Volsnap"]
    assert {e.kind for e in volsnap} == {"log"}  # 33 is benign
    warnings = [e for e in events if e.kind == "windows.event"]
    assert warnings and all(e.level in ("warning", "error", "critical") for e in warnings)


def test_start_type_changes_of_known_services_become_facts() -> None:
    _, ctx = run("evtx", (WINDOWS / "2-vss_7-System.evtx").read_bytes())
    start_types = facts(ctx, "service.start_type")
    assert start_types and all(f["source"] == "event 7040" for f in start_types)  # type: ignore[index]
    assert {f["service"] for f in start_types} <= {"MSDTC", "VSS", "msiserver", "swprv", "Dhcp"}  # type: ignore[index]


def _library_records(name: str) -> list[dict[str, object]]:
    """The records of a reference file as the library gives them (its errors skipped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return list(evtx.PyEvtxParser(str(WINDOWS / name), number_of_threads=1, skip_errors=True).records_json())


def _timeline_state(timeline: Timeline) -> tuple[object, ...]:
    kept = {group: [(e.line, e.ts, e.level, e.kind, e.message, e.attrs) for _, e, *_ in events]
            for group, events in timeline._kept.items()}
    return (timeline.count, timeline.by_source, timeline._hist, timeline._lo, timeline._hi, timeline._hi_state,
            timeline._newest, timeline._latest_local, kept)


def _assert_counting_matches_the_reference(records: list[dict[str, object]]) -> int:
    """The records read as an analysis reads them (ordinary ones only counted, into a timeline) and as the
    timeline export reads them (an event for every record, the reference path): the same events where events
    are built, only ordinary ones counted, and the timelines fed by both the same. Returns the records counted."""
    counted, reference = Timeline(), Timeline()
    ctx = ParseContext("bundle/file", "evtx", partial(counted.count_ordinary, "evtx"),
                       partial(counted.count_span, "evtx"))
    events = list(read(iter(records), ctx, set()))
    for e in events:
        counted.add(e)
    full_ctx = ParseContext("bundle/file", "evtx")
    full = list(read(iter(records), full_ctx, set()))
    for e in full:
        reference.add(e)
    assert len(events) + ctx.counted == len(full)
    lines = {e.line for e in events}
    skipped = [e for e in full if e.line not in lines]
    assert not any(e.notable for e in skipped)  # every event a detector could look at is still there
    assert [(e.ts, e.level, e.kind, e.message, e.attrs) for e in events] == [
        (e.ts, e.level, e.kind, e.message, e.attrs) for e in full if e.line in lines]
    assert _timeline_state(counted) == _timeline_state(reference)
    assert [(f.name, f.value) for f in ctx.facts] == [(f.name, f.value) for f in full_ctx.facts]
    assert [word(p.message) for p in ctx.problems] == [word(p.message) for p in full_ctx.problems]
    return ctx.counted


@pytest.fixture(params=["c", "python"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The counting path in C (``_evtxcount``, when built) and in Python: each against the reference."""
    if request.param == "python":
        monkeypatch.setattr(evtx_parser, "_next_record", None)
    elif evtx_parser._next_record is None:
        pytest.skip("parsers.windows_events._evtxcount not built here: pip install -e . builds it")
    return str(request.param)


def test_the_c_counting_path_is_built_where_a_compiler_is() -> None:
    """The install builds it wherever the C compiler Python was built with is present (CI: a fresh install
    with gcc). A checkout not installed again since the module came has none: it is slower, not wrong."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if evtx_parser._next_record is None and not os.environ.get("CI"):
        pytest.skip("parsers.windows_events._evtxcount not built here: pip install -e . builds it")
    assert shutil.which(compiler) is None or evtx_parser._next_record is not None


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ordinary_records_are_only_counted_when_the_caller_counts(name: str) -> None:
    data = (WINDOWS / name).read_bytes()
    full, full_ctx = run("evtx", data)
    counted: list[tuple[datetime | None, bool]] = []
    ctx = ParseContext("bundle/file", "evtx", lambda ts, local: counted.append((ts, local)))
    events = list(get_parser("evtx").parse(io.BytesIO(data), ctx))
    assert ctx.counted and len(events) + ctx.counted == len(full)
    assert [word(p.message) for p in ctx.problems] == [word(p.message) for p in full_ctx.problems]
    assert _assert_counting_matches_the_reference(_library_records(name)) == ctx.counted


#: time strings beside the library's own shape: other offsets, week dates, the basic form, no time, garbage
_ODD_TIMES = ["2018-07-06T18:37:44Z", "2018-07-06T18:37:44.5+02:00", "2018-07-06 23:59:59.999999Z",
              "2018-W27-5T18:37:44Z", "20180706T183744Z", "2018-07-06", "2018-07-06T18Z", "not a time", "",
              "2018-07-06T18:37:44.881628", "1601-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z",
              "2018-07-06T18:37:44.881628Z UTC", "2018-07-06T18:37:44+00:00", "2018-07-06T24:00:00Z",
              "\uff12\uff10\uff11\uff18-07-06T18:37:44Z", "2018-07-06T18:37:44.881628Z\u00e9", "2018-02-30T18:37:44Z"]


@pytest.mark.usefixtures("engine")
def test_counting_matches_the_reference_on_generated_records() -> None:
    """Records of the reference files with their provider, event id, level, time and data changed: the
    providers every rule reads and others, the ids the rules name and their neighbours, every level, time
    strings of other shapes, data that would trigger a rule; the counting path must build and count
    exactly what the reference path does."""
    from parsers.windows_events import _records as r

    rng = random.Random(16)
    base = [orjson.loads(raw["data"]) for name in ("system.evtx", "Application_no_crc32.evtx")  # type: ignore[arg-type]
            for raw in _library_records(name)]
    providers = [*r._FAMILIES, "Microsoft-Windows-Dhcp-Client", "MSSQL$PROD", "MsiInstaller", "SomeVendor-Agent",
                 "Microsoft-Windows-DNS-Client", ""]
    ids = sorted({i + d for i in (*r._SCM_STATES, *r._SCM_CRASH, *r._VSS_IDS, *r._VOLSNAP_IDS, *r._SQL_IDS,
                                  *r._DHCP_ERRORS, *r._DHCP_SHUTDOWN, 6005, 6006, 6008, 6013, 41, 109, 1074, 2004,
                                  1000, 1002, 1026) for d in (-1, 0, 1)})
    data = [{"param1": "VSS", "param2": "stopped", "param3": "auto start", "param4": "VSS"},
            {"Data": {"#text": ["MSSQLSERVER", "running", "demand start", "0x80042313", "-2147023143"]}},
            {"Data": {"#text": "Faulting application name: WaAppAgent.exe, error 0x8004230F"}},
            {"Data": "Product: Microsoft Visual C++ 2015 -- error 1603, VSS_E_HOLD_WRITES_TIMEOUT"}]
    records = []
    for n in range(4000):
        event = copy.deepcopy(rng.choice(base))
        system = event["Event"]["System"]
        system["Provider"]["#attributes"]["Name"] = rng.choice(providers)
        eid = rng.choice(ids)
        if isinstance(system["EventID"], dict):
            system["EventID"]["#text"] = eid
        else:
            system["EventID"] = eid
        system["Level"] = rng.choice((0, 1, 2, 3, 4, 4, 4, 5))
        if rng.random() < 0.2:
            system["TimeCreated"]["#attributes"]["SystemTime"] = rng.choice(_ODD_TIMES)
        if rng.random() < 0.3:
            event["Event"]["EventData"] = rng.choice(data)
        records.append({"event_record_id": n, "timestamp": "2018-07-06T18:37:44.881628Z UTC",
                        "data": orjson.dumps(event).decode()})
    for n in range(4000, 6000):  # repeats of those but for their record id and time: events copied
        event = orjson.loads(rng.choice(records)["data"])  # type: ignore[arg-type]
        system = event["Event"]["System"]
        system["EventRecordID"] = rng.choice((n, n, 0, str(n), None, 2**40))
        system["TimeCreated"]["#attributes"]["SystemTime"] = rng.choice(
            (f"2018-07-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:37:44.{n:06d}Z", rng.choice(_ODD_TIMES)))
        records.append({"event_record_id": n, "timestamp": "2018-07-06T18:37:44.881628Z UTC",
                        "data": orjson.dumps(event).decode()})
    for raw in rng.sample(records, 50):  # cut inside the time string: not JSON any more, a problem either way
        data = str(raw["data"])
        cut = data.find('"SystemTime":"') + rng.randint(14, 30)
        records.append({**raw, "data": data[:cut]})
    assert _assert_counting_matches_the_reference(records) > 1000


@pytest.mark.usefixtures("engine")
def test_a_tally_of_many_hours_goes_to_the_timeline_in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log of more hours than the tally holds (a crafted one may give every record its own): the tally is
    handed over whenever it is full, and the timeline ends the same."""
    monkeypatch.setattr(evtx_parser, "_HOURS_HELD", 3)
    spans: list[int] = []
    ctx = ParseContext("bundle/file", "evtx", lambda ts, local: None,
                       lambda hours, first, last, local: spans.append(len(hours)))
    records = _library_records("system.evtx")
    list(read(iter(records), ctx, set()))
    assert len(spans) > 10 and max(spans) == 3
    assert _assert_counting_matches_the_reference(records) == ctx.counted


class _Failing:
    """The library's iterator with an error every ``every`` records (as a bad chunk raises once, then reading
    goes on)."""

    def __init__(self, records: list[dict[str, object]], every: int) -> None:
        self.records, self.every, self.at, self.raised, self.errors = iter(records), every, 0, False, 0

    def __iter__(self) -> _Failing:
        return self

    def __next__(self) -> dict[str, object]:
        self.at += 1
        if self.at % self.every == 0 and not self.raised:
            self.raised = True
            self.errors += 1
            raise RuntimeError(f"Failed to parse chunk number {self.at}: invalid chunk header")
        self.raised = False
        return next(self.records)


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("every", [2, 7, 500])
def test_reader_errors_between_counted_records_keep_every_line_number(every: int) -> None:
    records = _library_records("system.evtx")
    reference = list(read(iter(records), ParseContext("bundle/file", "evtx"), set()))
    ctx = ParseContext("bundle/file", "evtx", lambda ts, local: None, lambda hours, first, last, local: None)
    chunks: set[str] = set()
    failing = _Failing(records, every)
    events = list(read(failing, ctx, chunks))
    by_line = {e.line: e for e in reference}
    assert events and all((e.kind, e.message, e.attrs) == (by_line[e.line].kind, by_line[e.line].message,
                                                            by_line[e.line].attrs) for e in events)
    assert len(events) + ctx.counted == len(reference)
    assert len(chunks) == failing.errors == len(ctx.problems) + ctx.problems_dropped >= len(records) // (every + 1)


@pytest.mark.parametrize("data", [b"", b"ElfFile\x00" + b"\x00" * 100, b"not an evtx file at all" * 50])
def test_garbage_is_a_problem_not_an_exception(data: bytes) -> None:
    events, ctx = run("evtx", data)
    assert events == [] and ctx.problems


def test_truncated_file_keeps_the_records_before_the_cut() -> None:
    data = (WINDOWS / "system.evtx").read_bytes()
    events, _ = run("evtx", data[: len(data) // 2])
    assert 0 < len(events) < 1881


def _ints(value: object) -> set[int]:
    """Every int in a constant (nested tuples, sets, dict keys): the ids :func:`classify` names."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, tuple | set | frozenset):
        return set().union(*(_ints(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return _ints(tuple(value))
    return set()


def test_a_record_ordinary_by_its_id_is_ordinary_whatever_its_data_and_message() -> None:
    """``ordinary(provider, id, level)`` lets the counting path skip a record from its opening alone: for every
    family classify() has rules for, every id its rules and tables name (and their neighbours), the event built
    from any data or message must then be an ordinary one: kind ``log``, not notable, no attrs beyond the record's
    own fields, no fact."""
    from parsers.windows_events import _records as r

    ids = _ints(r.classify.__code__.co_consts)
    for value in vars(r).values():
        ids |= _ints(value) if isinstance(value, set | frozenset | dict) else set()
    ids = {i + d for i in ids if 0 <= i < 1 << 16 for d in (-1, 0, 1)}
    providers = [*r._FAMILIES, "Microsoft-Windows-Dhcp-Client", "MSSQL$PROD", "MSSQLSERVER", "MsiInstaller",
                 "SomeVendor-Agent"]
    variants = [(None, ""), ({"param1": "VSS", "param2": "stopped", "param3": "auto start", "param4": "VSS"}, ""),
                (["MSSQLSERVER", "running", "demand start", "x", "y", "z", "w"], ""),
                ({"Data": "Microsoft Visual C++ 2015 error 0x80070005"}, "Product: Microsoft Visual C++ error"),
                (None, "IaaSVmSnapshotMessage: restart of WindowsAzureGuestAgent.exe, VSS_E_FLUSH_WRITES_TIMEOUT"),
                ({"param1": "Application: WaAppAgent.exe"}, "Faulting application name: IaaSBcdrExtension.exe")]
    common = {"provider", "event_id", "qualifiers", "channel", "computer", "record_id", "level_value", "data"}
    by_id = 0
    for provider in providers:
        for eid in sorted(ids):
            for level in (0, 4, 5, "Information"):
                if not r.ordinary(provider, eid, level):
                    continue
                by_id += r.known_provider(provider)
                for data, message in variants:
                    ctx = ParseContext("bundle/file", "evtx")
                    rec = r.WinRecord(provider, eid, datetime(2024, 1, 1, tzinfo=UTC), level, data=data,
                                      message=message)
                    e = r.to_event(ctx, rec, 1)
                    assert not e.notable and e.kind == "log" and set(e.attrs) <= common and not ctx.facts, \
                        (provider, eid, level, data, message, e.kind, e.attrs)
    assert by_id  # ids that no rule of a family maps are counted too
    assert not r.ordinary("Service Control Manager", 7036, 4) and not r.ordinary("MsiInstaller", 1, 4)
    assert not r.ordinary("SomeVendor-Agent", 1, 3)  # a warning is never ordinary


def _hresults_by_scan(text: str) -> list[str]:
    """:func:`hresults` as a scan of the whole text with its expression: the reference of its candidate search."""
    from parsers.windows_events import _records as r

    out = list(dict.fromkeys(r._VSS_NAMED[m.group()] for m in r._VSS_NAME.finditer(text.lower())))
    for m in r._HRESULT.finditer(text):
        n = int(m.group(2)) if m.group(2) else 0
        code = f"0x{m.group(1).upper()}" if m.group(1) else f"0x{n & 0xFFFFFFFF:08X}"
        if n >= -(2**31) and code[2] in "89ABCDEF" and code not in out:
            out.append(code)
    return out


def test_hresults_finds_what_a_scan_of_the_whole_text_finds() -> None:
    """Codes found from the places ``0x`` and ``-2`` start equal those of the expression run over the whole text:
    codes glued to words, runs of zeros, SIDs, signed decimals out of range, codes in a row, VSS names."""
    from parsers.windows_events._records import hresults

    rng = random.Random(16)
    pieces = ["0x8004230F", "0x80042313", "-2147023143", "-2147483649", "-21474836480", "0x0000000a", "a0x80070005",
              "0x800700051", "0x80070005z", "S-1-5-21-1769714682-2803786108", "00000000000000000000", "0x", "-2",
              "-0x80070005", "00x80070005", "0x0x80070005", "VSS_E_FLUSH_WRITES_TIMEOUT", "timed out while holding "
              "writes", "error", " ", ",", "=", "(", ")", "x", "-", "\u0662", "-2\u0661\u0664\u0667\u0664\u0668"
              "\u0663\u0666\u0664\u0668"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert hresults(text) == _hresults_by_scan(text), text
    assert hresults("Address=0208080800000000, error 0x8004230F, SID S-1-5-21-2803786108-2147023143") == [
        "0x8004230F"]


def test_templates_are_filled_as_a_substitution_of_their_placeholders_fills_them() -> None:
    """Every message template with fewer, as many and more data values than it has placeholders (a missing one
    empty), values that look like placeholders themselves included."""
    import re

    from parsers.windows_events import _records as r

    for (family, eid), template in r._TEMPLATES.items():
        for n in range(1, 9):
            values = [f"v{i}%{i}" for i in range(1, n + 1)]
            rec = r.WinRecord("provider", eid, None, 4, data=values)
            expected = re.sub(r"%(\d+)", lambda m, v=values: v[int(m[1]) - 1] if int(m[1]) <= len(v) else "",
                              template)
            assert r.render(family, rec) == (expected, False)
