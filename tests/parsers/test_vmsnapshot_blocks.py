"""The block path of the VMSnapshot extension.log against the per-line reference: same events, facts, problems
and counts per hour, at block sizes that put block edges inside records, continuations and CRLF pairs."""

from __future__ import annotations

import codecs
import gzip
import io
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzer.api import analyze
from analyzer.locale import word
from analyzer.model import Options
from analyzer.report import to_dict
from bench import bench_large_bundle, bench_parse_waagent
from parsers import hour_counts
from parsers.base import MAX_LINE, ParseContext
from parsers.linux_agent import _block_scan, vmsnapshot_log
from parsers.linux_agent._signatures import AGENT, Sig, SignatureTable
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not _block_scan._c_available(), reason="the C module is not built here")

SIZES = (1 << 20, 4096, 97)
PATH = "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log"
PREFIX = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]"


def _scan() -> _block_scan.Scan:
    scan = _block_scan.extension_scanner(vmsnapshot_log.AGENT_TABLE, vmsnapshot_log.STATE_NEEDLES)
    assert scan is not None
    return scan


def _output(data: bytes, blocks: bool, size: int = vmsnapshot_log.BLOCK, max_line: int = MAX_LINE) -> tuple[Any, ...]:
    """Everything the parser reports, counts per hour included (through the per-record counter)."""
    counted: list[tuple[datetime | None, bool]] = []
    ctx = ParseContext(PATH, "vmsnapshot_log", lambda ts, local: counted.append((ts, local)), max_line=max_line)
    if blocks:
        events = list(vmsnapshot_log.parse_blocks(io.BytesIO(data), ctx, _scan(), size))
    else:
        events = list(vmsnapshot_log.parse_lines(io.BytesIO(data), ctx))
    hours = Counter((ts.replace(minute=0, second=0, microsecond=0) if ts else None, local) for ts, local in counted)
    times = [(ts.replace(tzinfo=None), local) for ts, local in counted if ts is not None]
    return ([(e.ts, e.line, e.level, e.component, e.kind, e.message, e.attrs, e.local) for e in events],
            [(f.name, f.value, f.line, f.ts, f.text) for f in ctx.facts],
            [(p.line, word(p.message)) for p in ctx.problems],
            sorted(hours.items(), key=str), len(counted), min(times, default=None), max(times, default=None))


def assert_same(data: bytes, sizes: tuple[int, ...] = SIZES, max_line: int = MAX_LINE) -> None:
    reference = _output(data, False, max_line=max_line)
    for size in sizes:
        got = _output(data, True, size, max_line)
        for name, want, have in zip(("events", "facts", "problems", "hours", "records", "first", "last"),
                                    reference, got, strict=True):
            assert have == want, f"{name} differ (block {size})"


# --- real-format inputs --------------------------------------------------------------------------------------

def _extension_logs() -> list[Path]:
    return sorted(p for p in (ROOT / "samples").rglob("*") if p.is_file() and "VMSnapshotLinux" in str(p)
                  and p.name.endswith(".log"))


@pytest.mark.parametrize("path", _extension_logs(), ids=lambda p: str(p.relative_to(p.parents[5])))
def test_every_sample(path: Path) -> None:
    assert_same(path.read_bytes())


def test_benchmark_inputs(tmp_path: Path) -> None:
    data = bench_large_bundle.lines(1, 6000, "ext")
    assert_same(data, sizes=(1 << 16, 4096))
    assert _output(data, True)[4] == 6000  # all counted, none an event
    gz = tmp_path / "extension.log.gz"
    bench_parse_waagent.generate_extension(gz, 600_000)
    assert_same(gzip.decompress(gz.read_bytes()), sizes=(1 << 16, 4096))


# --- generated variations -----------------------------------------------------------------------------------

_ROUTINE = ("PreSnapshot: Status Code: 200", "Sleeping for milliseconds: 12000", "T:S doing snapshot now...",
            "Taking Snapshot through Host", "snapshotting through host", "fsfreeze: True",
            "Number of mounts: 3", "T:S ***** freeze, time_before_freeze=2024-01-01 returned", "doing freeze now...")
_NOTABLE = ("PreSnapshot: Status Code: 500", "starting enable", "T:S freeze, timeout value 60",
            "T:S snapshotall ends...", "T:S Enable failed with error: x StatusCode.FailedRetryableFsFreezeFailed,",
            "CRP timeout limit has reached, will not take snapshot.", "Failed to FIFREEZE: /data", "freeze timed-out",
            "the sequence number are same, so skip, current:12== last:12", "dosnapshot responseBody: {\"x\": 1}",
            "Retry to aquire lock count: 2")


def _variety(seed: int, count: int = 1500) -> str:
    """Both writers' records (Python 3 in UTC, Python 2 in local time with prefixed continuation lines), tracebacks,
    freeze buffers and safefreeze output in their frames, sequence numbers and task ids (facts and state), times
    without a fraction, invalid dates, an empty prefix, odd bytes, hours rolling over."""
    rng = random.Random(seed)
    t = datetime(2024, 2, 28, 22, 50)
    out: list[str] = []
    for _ in range(count):
        t += timedelta(seconds=rng.randrange(1, 90), microseconds=rng.randrange(1_000_000))
        py3 = f"{t:%Y-%m-%d %H:%M:%S.%f} {PREFIX}"
        py2 = f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S} {PREFIX}"
        r = rng.random()
        if r < 0.55:
            out.append(py3 + rng.choice(_ROUTINE))
        elif r < 0.62:
            out.append(py3 + rng.choice(_NOTABLE))
        elif r < 0.64:
            out.append(py3 + f"taskId: {rng.randrange(16**8):08x}-1b2c-4d5e-8f90-123456789abc")
        elif r < 0.66:
            out.append(py3 + f"ConfigSequenceNumber from environment variable seqNo:{rng.randrange(99)}")
        elif r < 0.67:
            out.append(py3 + f"Sequence Number: {rng.randrange(99)}")
        elif r < 0.70:
            out.append(py3 + "Failed to call http with error: timed out, stack trace: Traceback (most recent call "
                       "last):")
            out += ['  File "/var/lib/waagent/x/main/blobwriter.py", line 207, in call', "socket.timeout: timed out"]
        elif r < 0.73:
            out.append(py2 + rng.choice(_ROUTINE + _NOTABLE))
            if rng.random() < 0.5:
                out.append(f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S}   File \"handle.py\", line 9, in main")
        elif r < 0.74:
            out.append(py2 + f"command start time is {t:%Y-%m-%d %H:%M:%S.%f} and utcNow is {t:%Y-%m-%d %H:%M:%S.%f}")
        elif r < 0.75:
            out.append(py2 + f"{t:%Y-%m-%d %H:%M:%S.%f}  Info  Failed to FIFREEZE: /data/dblog ")
        elif r < 0.77:
            out.append("================== Logs during Freeze Start ==============")
            out.append(f"{t:%Y/%m/%d %H:%M:%S.%f}  Info  Failed to open file or aquire lock:  [Errno 11] x ")
            out.append(f"{t:%Y/%m/%d %H:%M:%S.%f}  Info  routine buffered line ")
            out.append("================== Logs during Freeze End ==============")
        elif r < 0.79:
            out.append("============== Binary output traces start =================")
            out.append(f"{t:%Y-%m-%d %H:%M:%S} Thawing: /mnt")
            out.append(f"{t:%Y-%m-%d %H:%M:%S} routine safefreeze line")
            out.append("============== Binary output traces end =================")
        elif r < 0.80:
            out.append(f"{t:%Y-%m-%d %H:%M:%S} {PREFIX}a time without its fraction (microsecond 0)")
        elif r < 0.81:
            out.append(f"{t:%Y-%m-%d %H:%M:%S.%f}"[:-1] + f" {PREFIX}five fraction digits")
        elif r < 0.82:
            out.append(py3.replace(f"{t:%m-%d}", "02-30") + "no such day")
        elif r < 0.83:
            out.append(f"{t:%Y-%m-%d %H:%M:%S.%f} []an empty prefix: a continuation")
        elif r < 0.84:
            out.append(f"{t:%Y-%m-%d %H:%M:%S.%f} no prefix at all")
        elif r < 0.85:
            out.append(py3 + "path C:\\\\x and caf\u00e9 \x0b ctrl")
        elif r < 0.86:
            out.append(py3 + "PreSnapshot: Status Code: 200   \t")
        elif r < 0.87:
            out.append("===== an odd line with Logs during Freeze Start inside ===== then more")
        elif r < 0.88:
            out.append(py3 + "text with ===== Binary output traces start inside a record")
            out.append(py3 + "Binary output traces end =====")
        elif r < 0.89:
            out.append(f"Mon Nov 18 {t:%H:%M:%S} UTC 2019- 3 returned from handle.py")
        elif r < 0.90:
            out.append("")
        else:
            out.append(py3 + f"T:S snapshot {rng.randrange(9999)} taken, routine {rng.randrange(99)}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(4))
def test_both_writers_frames_continuations_and_block_edges(seed: int) -> None:
    assert_same(_variety(seed).encode())


def _python2(seed: int, count: int = 2000) -> str:
    """A log of the Python 2 writer (local time) with runs of the Python 3 writer between (an upgrade, a rollback):
    continuation lines, buffered lines behind the prefix, messages starting with a digit, an empty prefix, dates
    the calendar lacks, the writers changing inside a run of routine records and across an hour."""
    rng = random.Random(seed)
    t = datetime(2024, 2, 28, 22, 40)
    py3 = False
    out: list[str] = []
    for _ in range(count):
        t += timedelta(seconds=rng.randrange(1, 60), microseconds=rng.randrange(1_000_000))
        if rng.random() < 0.03:
            py3 = not py3
        local = f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S}"
        head = f"{t:%Y-%m-%d %H:%M:%S.%f} {PREFIX}" if py3 else f"{local} {PREFIX}"
        r = rng.random()
        if r < 0.75:
            out.append(head + rng.choice(_ROUTINE))
        elif r < 0.82:
            out.append(head + rng.choice(_NOTABLE))
        elif r < 0.86:
            out.append(head + "GetBlobProperties: Failed to get blob properties with error: timed out")
            out.append(f"{local}   File \"/var/lib/waagent/x/main/blobwriter.py\", line 207, in GetBlobProperties")
        elif r < 0.88:
            out.append(f"{local} {PREFIX}{t:%Y-%m-%d %H:%M:%S.%f}  Info  Failed to FIFREEZE: /data/dblog ")
        elif r < 0.90:
            out.append(f"{local} {PREFIX}3 returned, a message starting with a digit")
        elif r < 0.91:
            out.append(f"{local} []an empty prefix")
        elif r < 0.92:
            out.append(f"{local} {PREFIX}command start time is {t:%Y-%m-%d %H:%M:%S.%f} and utcNow is "
                       f"{t:%Y-%m-%d %H:%M:%S.%f}")
        elif r < 0.93:
            out.append(f"2023/02/29 {t:%H:%M:%S} {PREFIX}no such day")
        elif r < 0.94:
            out.append(f"{local} {PREFIX}ConfigSequenceNumber from environment variable seqNo:{rng.randrange(99)}")
        else:
            out.append(head + f"T:S snapshot {rng.randrange(9999)} taken")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(3))
def test_python2_writer_and_writer_changes(seed: int) -> None:
    assert_same(_python2(seed).encode())
    assert_same(_python2(seed).replace("\n", "\r\n").encode(), sizes=(4096,))


@pytest.mark.parametrize("seed", range(2))
def test_crlf(seed: int) -> None:
    assert_same(_variety(seed).replace("\n", "\r\n").encode())


def test_bom_lines_before_the_first_record_and_no_final_newline() -> None:
    text = "leading junk\n  more junk\n" + _variety(7, 400).rstrip("\n")
    assert_same(codecs.BOM_UTF8 + text.encode())
    assert_same(b"only\njunk lines\nhere\n")
    assert_same(b"")


def test_lines_past_the_length_limit_are_cut_and_counted_once() -> None:
    lines = _variety(3, 300).splitlines()
    lines[10] = f"2024-02-28 23:00:00.000000 {PREFIX}routine " + "x " * 300  # an ordinary record, cut
    lines[50] = f"2024-02-28 23:00:00.000000 {PREFIX}" + "y" * 900 + " starting enable"  # the needle cut off
    lines[51] = "z" * 5000  # a continuation without any newline for several blocks
    assert_same(("\n".join(lines) + "\n").encode(), sizes=(4096, 300, 97), max_line=512)


def test_ordinary_records_are_counted_without_being_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python reads only the lines that matter: on a log of routine records and a few notable ones, the
    state machine sees the notable ones (and a block's last line), the text-decided ones are classified once
    per distinct message."""
    fed: list[str] = []
    line = vmsnapshot_log._State.line

    def spy(self: vmsnapshot_log._State, n: int, text: str) -> Any:
        fed.append(text)
        return line(self, n, text)

    t = datetime(2024, 1, 1)
    text = "".join(f"{t + timedelta(seconds=7 * i):%Y-%m-%d %H:%M:%S.%f} {PREFIX}"
                   f"{_NOTABLE[i % 3] if i % 100 == 0 else _ROUTINE[i % len(_ROUTINE)]}\n" for i in range(20_000))
    monkeypatch.setattr(vmsnapshot_log._State, "line", spy)
    assert_same(text.encode(), sizes=(1 << 20,))
    fed.clear()
    _output(text.encode(), True)
    assert len(fed) == 201
    # the Python 2 writer's records (local time), the writers taking turns every 1,000 records
    python2 = "".join(line if i // 1000 % 2 else f"{t + timedelta(seconds=7 * i):%Y/%m/%d %H:%M:%S} {line[27:]}"
                      for i, line in enumerate(text.splitlines(keepends=True)))
    assert_same(python2.encode(), sizes=(1 << 20,))
    fed.clear()
    out = _output(python2.encode(), True)
    assert len(fed) == 201 and {local for (_, local), _ in out[3]} == {True, False}


def test_what_waits_stays_small_on_a_log_of_many_hours_and_long_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log whose every record is in an hour of its own hands its counts on in parts; long text-decided records
    are read, not remembered: the same output, and bounded memory whatever the log holds."""
    monkeypatch.setattr(hour_counts, "SPILL_HOURS", 50)
    start = datetime(2024, 1, 1)
    text = "".join(f"{start + timedelta(hours=i):%Y-%m-%d %H:%M:%S}.000001 {PREFIX}PreSnapshot: Status Code: 200"
                   f"{' x' * (1500 * (i % 3))}\n" for i in range(3000))
    text += "".join(f"{start + timedelta(hours=3000 + i):%Y/%m/%d %H:%M:%S} {PREFIX}routine\n" for i in range(300))
    assert_same(text.encode(), sizes=(1 << 20, 4096))
    spans: list[int] = []
    ctx = ParseContext(PATH, "vmsnapshot_log", lambda ts, local: None,
                       lambda hours, first, last, local: spans.append(len(hours)))
    list(vmsnapshot_log.parse_blocks(io.BytesIO(text.encode()), ctx, _scan()))
    assert ctx.counted == 3300 and len(spans) > 20 and max(spans) <= 300  # at most the limit and one run's hours
    assert sum(spans) == 1299  # the long ones (two in three of the first 3,000) read, and each block's last line


def test_a_row_added_to_the_table_at_run_time_is_scanned_for(monkeypatch: pytest.MonkeyPatch) -> None:
    wording = "Brand-new extension wording nobody has seen"
    text = _variety(5, 300) + f"2024-03-01 00:00:00.000001 {PREFIX}{wording} here\n"
    monkeypatch.setattr(vmsnapshot_log, "AGENT_TABLE", SignatureTable((*AGENT, Sig("test.new_kind", (wording,)))))
    assert_same(text.encode())
    events = _output(text.encode(), True)[0]
    assert [e[4] for e in events if wording in e[5]] == ["test.new_kind"]


def test_how_the_c_scan_judges_extension_lines() -> None:
    """The plain shapes: Python 3's stamp with six fraction digits or Python 2's (a local time, always reported, a
    message not starting with a digit), a date the calendar has, a prefix that is not empty; needles count inside
    the message only; state needles make a line special."""
    lines = [
        f"2024-02-29 10:00:00.000001 {PREFIX}routine",  # plain, no needle
        f"2023-02-29 10:00:00.000001 {PREFIX}routine",  # no such day
        f"2024-01-01 24:00:00.000001 {PREFIX}routine",  # hour 24
        f"2024-01-01 10:00:00 {PREFIX}routine",  # no fraction
        f"2024-01-01 10:00:00.00001 {PREFIX}routine",  # five digits
        f"2024-01-01T10:00:00.000001 {PREFIX}routine",  # the agent's separator
        "2024-01-01 10:00:00.000001 []routine",  # empty prefix
        f"2024/01/01 10:00:00.000001 {PREFIX}routine",  # Python 2's date
        f"2024-01-01 10:00:00.000001 {PREFIX}starting enable",  # a needle in the message
        "2024-01-01 10:00:00.000001 [starting enable]routine",  # ... in the prefix: none
        f"2024-01-01 10:00:00.000001 {PREFIX}seqNo:7",  # a state needle
        f"2024-01-01 10:00:00.000001 {PREFIX}==== not a frame",  # four '=': nothing
        f"2024-01-01 10:00:00.000001 {PREFIX}caf\u00e9",  # a byte outside ASCII
        f"2024/01/01 10:00:00 {PREFIX}routine",  # Python 2: plain, local
        f"2024/01/01 10:00:00 {PREFIX}2024-01-01 10:00:00.532512  Info  buffered",  # a buffered line behind it
        "2024/01/01 10:00:00 []routine",  # empty prefix
        "2024/01/01 10:00:00   File x",  # a continuation line
        f"2023/02/29 10:00:00 {PREFIX}routine",  # no such day
        f"2024/01/01 10:00:00 {PREFIX}starting enable",  # a needle in the message
    ]
    out = _scan()(("\n".join(lines) + "\n").encode())
    starts = np.cumsum([0] + [len(s.encode()) + 1 for s in lines[:-1]])
    verdict = {int(s): int(i) for s, i, _ in out}
    plain = [s not in verdict or bool(verdict[s] & _block_scan.PLAIN_BIT) for s in starts.tolist()]
    assert plain == [True, False, False, False, False, False, False, False, True, True, True, True, True,
                     True, False, False, False, False, True]
    special = [bool(verdict.get(s, 0) & _block_scan.SPECIAL_BIT) for s in starts.tolist()]
    assert special == [False] * 10 + [True, False, True] + [False] * 6
    ranked = [s in verdict and verdict[s] & _block_scan.RANK_NONE != _block_scan.RANK_NONE for s in starts.tolist()]
    assert ranked[8] and not ranked[9] and not ranked[0] and ranked[18] and not ranked[13]
    local = [bool(verdict.get(s, 0) & _block_scan.LOCAL_BIT) for s in starts.tolist()]
    assert local == [False] * 13 + [True, False, False, False, False, True]  # reported, whatever else they hold


def test_an_older_c_module_reads_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module built before the extension's shape refuses it: the log is read line by line, not wrongly."""
    import sys
    import types

    import parsers.linux_agent

    class Stale:
        def __init__(self, needles: list[bytes], codes: list[int]) -> None:
            pass

    stale = types.SimpleNamespace(Scanner=Stale)
    monkeypatch.setitem(sys.modules, "parsers.linux_agent._linescan", stale)
    monkeypatch.setattr(parsers.linux_agent, "_linescan", stale, raising=False)
    _block_scan.extension_scanner.cache_clear()
    try:
        assert _block_scan.extension_scanner(vmsnapshot_log.AGENT_TABLE, vmsnapshot_log.STATE_NEEDLES) is None
    finally:
        _block_scan.extension_scanner.cache_clear()


def test_an_out_of_order_line_is_counted_in_its_neighbours_hour_unless_it_is_read() -> None:
    """The guarantee of docs/performance.md: the totals and the first and last times of every run of ordinary
    records are exact; a line out of time order inside a run is counted in the hour of the run's part it falls
    in (the extension writes in time order: such a line is not expected)."""
    start = datetime(2024, 1, 1, 10, 0)
    lines = [f"{start + timedelta(seconds=i):%Y-%m-%d %H:%M:%S}.000001 {PREFIX}routine\n" for i in range(1000)]
    lines[500] = f"2024-01-01 03:00:00.000001 {PREFIX}routine\n"
    blocks = _output("".join(lines).encode(), True)
    assert blocks[3] == [((datetime(2024, 1, 1, 10, tzinfo=UTC), False), 1000)] and blocks[4] == 1000
    assert blocks[5:] == ((datetime(2024, 1, 1, 10, 0, 0, 1), False), (datetime(2024, 1, 1, 10, 16, 39, 1), False))
    lines[0] = f"2024-01-01 03:00:00.000001 {PREFIX}routine\n"  # at a run's first line it is read
    assert dict(_output("".join(lines).encode(), True)[3])[(datetime(2024, 1, 1, 3, tzinfo=UTC), False)] >= 1
    lines[500] = f"2024-01-01 03:00:00.000001 {PREFIX}starting enable\n"  # read: its own event
    assert_same("".join(lines).encode())


# --- the pipeline --------------------------------------------------------------------------------------------

def _report(path: Path, monkeypatch: pytest.MonkeyPatch, blocks: bool) -> dict[str, Any]:
    monkeypatch.setattr(vmsnapshot_log, "BLOCK_MIN", 1024)
    if not blocks:
        monkeypatch.setattr(_block_scan, "extension_scanner", lambda table, needles: None)
    report = analyze(path, Options())
    extras = {k: v for k, v in report.extras.items() if k != "seconds"}
    return {**to_dict(report), "extras": extras}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_bundle_gives_the_same_report_on_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       encoding: str) -> None:
    """The extension.log, a rotation gzipped inside the tar, CRLF; UTF-16 takes the per-line path."""
    import tarfile

    text = _variety(11, 6000)
    members = {f"{PATH}": text.encode(encoding), f"{PATH}.1.gz": gzip.compress(text.encode()),
               f"{PATH}.2": text.replace("\n", "\r\n").encode()}
    bundle = tmp_path / "bundle.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    read = vmsnapshot_log.parse_blocks
    calls: list[str] = []

    def spy(stream: Any, ctx: ParseContext, *args: Any) -> Any:
        calls.append(ctx.path)
        return read(stream, ctx, *args)

    monkeypatch.setattr(vmsnapshot_log, "parse_blocks", spy)
    blocks = _report(bundle, monkeypatch, True)
    assert len(calls) == (3 if encoding == "utf-8" else 2)
    lines = _report(bundle, monkeypatch, False)
    assert len(calls) == (3 if encoding == "utf-8" else 2)
    assert lines["timeline"]["events"] > 15_000 and lines["findings"]
    assert blocks == lines
