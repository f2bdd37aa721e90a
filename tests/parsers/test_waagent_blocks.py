"""The block path of waagent_log against the per-line reference: same events, facts, problems and counts.

Two comparisons. Uncapped (no ``ctx.max_notable``): every event the reference yields, for every scan
engine (the C module and the Python engine with hyperscan or ``re``) and several block sizes, the small
ones putting block edges inside records, continuations and CRLF pairs. Capped, as an analysis runs:
both paths feed a real :class:`~analyzer.timeline.Timeline` with a small cap of notable events per kind
(and the default one), and what it ends with must be the same: the kept events, counts per hour and per
source, time range, the numbers dropped per kind and the dropped alarms counted by template.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import random
import shutil
import sysconfig
from collections import Counter
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzer.api import analyze
from analyzer.locale import word
from analyzer.model import Options
from analyzer.report import to_dict
from analyzer.timeline import MAX_NOTABLE, Timeline
from bench import bench_large_bundle, bench_parse_waagent
from parsers import hour_counts
from parsers.base import MAX_LINE, ParseContext
from parsers.kept import MAX_KEPT_MESSAGE, NewestPerKind, cut
from parsers.linux_agent import _block_scan, _record, waagent_log
from parsers.linux_agent._signatures import AGENT, Sig, SignatureTable
from parsers.text import iter_lines
from tests.conftest import REFDATA, ROOT
from tests.parsers.linux_helpers import timeline_outcome

#: the C scan wherever it is built (CI builds it: test_the_c_module_is_built_where_a_compiler_is), the Python engine
C_ENGINE = ("c",) if _block_scan._c_available() else ()
ENGINES = (*C_ENGINE, "hyperscan", "re")
SIZES = (1 << 20, 4096, 97)
LIMITS = (7, MAX_NOTABLE)
VMS = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0]"
SOURCE, PATH = "waagent_log", "var/log/waagent.log"


def _output(data: bytes, blocks: bool, engine: str = "re", size: int = waagent_log.BLOCK,
            max_line: int = MAX_LINE) -> tuple[Any, ...]:
    """Everything the parser reports, counts per hour included (through the per-record counter)."""
    counted: list[tuple[datetime | None, bool]] = []
    ctx = ParseContext(PATH, SOURCE, lambda ts, local: counted.append((ts, local)))
    if blocks:
        scan = _block_scan.scanner(engine)
        assert scan is not None
        events = list(waagent_log.parse_blocks(io.BytesIO(data), ctx, scan, size, max_line))
    else:
        reader = waagent_log.Reader(ctx)
        events = [e for n, line in iter_lines(io.BytesIO(data), ctx, max_line) for e in reader.line(n, line)]
        events += list(reader.finish())
    hours = Counter((ts.replace(minute=0, second=0, microsecond=0) if ts else None, local) for ts, local in counted)
    times = [(ts.replace(tzinfo=None), local) for ts, local in counted if ts is not None]  # as Timeline._range
    return ([(e.ts, e.line, e.level, e.component, e.kind, e.message, e.attrs, e.local) for e in events],
            [(f.name, f.value, f.line, f.ts, f.text) for f in ctx.facts],
            [(p.line, word(p.message)) for p in ctx.problems],
            sorted(hours.items(), key=str), len(counted), min(times, default=None), max(times, default=None))


def _timeline(data: bytes, blocks: bool, limit: int, engine: str = "auto", size: int = waagent_log.BLOCK,
              max_line: int = MAX_LINE) -> dict[str, Any]:
    """What a timeline with a cap of ``limit`` notable events per kind ends with, the parser's facts and problems."""
    tl = Timeline(max_notable=limit)
    ctx = ParseContext(PATH, SOURCE, partial(tl.count_ordinary, SOURCE), partial(tl.count_span, SOURCE),
                       max_notable=limit, drop_counter=partial(tl.count_dropped, SOURCE, PATH) if blocks else None)
    if blocks:
        scan = _block_scan.scanner(engine)
        assert scan is not None
        events: Any = waagent_log.parse_blocks(io.BytesIO(data), ctx, scan, size, max_line)
    else:
        reader = waagent_log.Reader(ctx)
        events = [e for n, line in iter_lines(io.BytesIO(data), ctx, max_line) for e in reader.line(n, line)]
        events += list(reader.finish())
    for e in events:
        tl.add(e)
    tl.finalize(None)
    return {**timeline_outcome(tl, ctx),
            "beyond": sorted((c.template.text, c.count, c.first, c.last, c.example, c.line, c.level)
                             for c in tl.beyond_cap)}


def assert_same(data: bytes, sizes: tuple[int, ...] = SIZES, max_line: int = MAX_LINE,
                limits: tuple[int, ...] = LIMITS) -> None:
    reference = _output(data, False, max_line=max_line)
    for engine in ENGINES:
        for size in sizes:
            got = _output(data, True, engine, size, max_line)
            for name, want, have in zip(("events", "facts", "problems", "hours", "records", "first", "last"),
                                        reference, got, strict=True):
                assert have == want, f"{name} differ (engine {engine}, block {size})"
    for limit in limits:
        want = _timeline(data, False, limit, max_line=max_line)
        for engine in (*C_ENGINE, "hyperscan"):
            for size in sizes:
                have = _timeline(data, True, limit, engine, size, max_line)
                for name in want:
                    assert have[name] == want[name], f"{name} differ (cap {limit}, engine {engine}, block {size})"


# --- real-format inputs ------------------------------------------------------------------------------

def _agent_logs() -> list[Path]:
    found = sorted(p for p in (ROOT / "samples").rglob("*") if p.is_file() and ("waagent" in p.name
                                                                                 or "extension" in p.name))
    found += sorted(p for p in (REFDATA / "linux").rglob("*") if p.is_file() and p.stat().st_size < 1 << 20)
    return found


@pytest.mark.parametrize("path", _agent_logs(), ids=lambda p: str(p.relative_to(p.parents[2])))
def test_every_sample_and_reference_file(path: Path) -> None:
    assert_same(path.read_bytes())


@pytest.mark.parametrize("mix", sorted(bench_large_bundle.MIXES))
def test_benchmark_mixes(mix: str) -> None:
    assert_same(bench_large_bundle.lines(1, 6000, "agent", bench_large_bundle.MIXES[mix]), sizes=(1 << 16, 4096))


def test_parser_benchmark_input(tmp_path: Path) -> None:
    gz = tmp_path / "waagent.log.gz"
    bench_parse_waagent.generate(gz, 400_000)
    assert_same(gzip.decompress(gz.read_bytes()), sizes=(1 << 16, 4096))


# --- the hard parts, generated -------------------------------------------------------------------------

def _variety(seed: int, count: int = 1500) -> str:
    """Every generation in one file, continuations, tracebacks, escapes, odd lines, hours rolling over."""
    rng = random.Random(seed)
    t = datetime(2024, 2, 28, 22, 50)
    out: list[str] = []
    for _ in range(count):
        t += timedelta(seconds=rng.randrange(1, 90))
        utc = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z"
        local = f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S}"
        r = rng.random()
        if r < 0.55:
            thread = rng.choice(("ExtHandler", "MonitorHandler", "EnvHandler", "Daemon"))
            out.append(f"{utc} INFO {thread} ExtHandler Routine work item {rng.randrange(999)}")
        elif r < 0.60:
            out.append(f"{utc} INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Target handler "
                       f"state: enabled [incarnation {rng.randrange(99)}]")
        elif r < 0.63:
            out.append(f"{utc} INFO ExtHandler {VMS} Enable extension: [main/handle.sh enable]")
        elif r < 0.66:
            out.append(f"{local}.{t.microsecond:06d} INFO Daemon Azure Linux Agent Version:2.2.45")
        elif r < 0.68:
            out.append(f"{local} Traceback (most recent call last):")
            out.append(f'{local}   File "/usr/sbin/waagent", line 1, in <module>')
            out.append(f"{local} OSError: [Errno 5] failed")
        elif r < 0.70:
            out.append(f"{local}.{t.microsecond:06d} WARNING Agent thing went wrong")
        elif r < 0.73:
            out.append(f"{utc} ERROR ExtHandler ExtHandler Error fetching the goal state: timed out")
            out += ["Traceback (most recent call last):", '  File "update.py", line 9, in run', "OSError: boom"]
        elif r < 0.75:
            out.append(f"{utc} INFO ExtHandler ExtHandler Command output:")
            out += ["[stdout]", f"{t:%Y-%m-%d %H:%M:%S} starting enable", "", "[stderr]"]
        elif r < 0.77:
            out.append(f"{utc} INFO ExtHandler ExtHandler Event: name=Microsoft.OSTCExtensions.VMAccess, op=Enable, "
                       f"message=ok, duration={rng.randrange(9)}")
        elif r < 0.79:
            out.append(f"{utc} INFO ExtHandler ExtHandler path \\u0044hcpError escaped, also \\x41")
        elif r < 0.81:
            out.append(f"{utc} INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.{rng.randrange(2) + 16}")
        elif r < 0.83:
            out.append(f"{utc} INFO Odd Component text that is no record")
        elif r < 0.85:
            out.append(f"{utc} VERBOSE ExtHandler ExtHandler verbose detail")
        elif r < 0.86:
            out.append(f"2024-13-01T{t:%H:%M:%S.%f}Z INFO ExtHandler ExtHandler month thirteen")
        elif r < 0.87:
            out.append(f"{t:%Y-%m-%dT%H:%M:%S}.12Z INFO ExtHandler ExtHandler two fraction digits")
        elif r < 0.88:
            out.append(f"{utc} INFO ExtHandler ExtHandler")  # component at the line end
        elif r < 0.89:
            out.append(f"{utc} INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.{rng.randrange(3)} is "
                       f"running as the goal state agent [DEBUG HeartbeatCounter: 1;HeartbeatId: X]")
        else:
            out.append(f"{utc} INFO ExtHandler ExtHandler Fetch failed: [HTTP Failed] GET "
                       f"http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(4))
def test_mixed_generations_continuations_and_block_edges(seed: int) -> None:
    assert_same(_variety(seed).encode())


def _fact_rows(seed: int, count: int = 3000) -> str:
    """Records whose rows give facts once per change of value, mostly repeating the last value: heartbeats
    (a version, or DEBUG keys that set one, a role or a Python), the extension's records under versions that
    change (and its "1.0" schema), its settings files and enables, statuses naming it, daemon versions."""
    rng = random.Random(seed)
    t = datetime(2024, 2, 28, 22, 50)
    exts = (VMS, "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9219.0]",
            "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]", "[Microsoft.CPlat.Core.RunCommandLinux-1.0.5]")
    out: list[str] = []
    for i in range(count):
        t += timedelta(seconds=rng.randrange(1, 30))
        utc = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z INFO"
        ext = exts[0] if rng.random() < 0.9 else rng.choice(exts)
        version = "2.9.1.1" if rng.random() < 0.95 else rng.choice(("2.9.1.2", "2.2.45"))
        r = rng.random()
        if r < 0.3:
            debug = rng.choice(("HeartbeatCounter: 1", "HeartbeatCounter: 2;UpdateGSErrors: 0", "version: 9.9.9",
                                "role: daemon", "python: 3.9")) if rng.random() < 0.05 else f"HeartbeatCounter: {i}"
            out.append(f"{utc} ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-{version} is running as the goal "
                       f"state agent [DEBUG {debug};HeartbeatId: X]")
        elif r < 0.5:
            out.append(f"{utc} ExtHandler {ext} Target handler state: enabled [incarnation {i}]")
        elif r < 0.6:
            out.append(f"{utc} ExtHandler {ext} Requested extension state: enabled")
        elif r < 0.7:
            out.append(f"{utc} ExtHandler ExtHandler Extension status: [('Microsoft.Azure.RecoveryServices."
                       f"VMSnapshotLinux', 'success')]")
        elif r < 0.73:
            out.append(f"{utc} ExtHandler {ext} Update settings file: {i}.settings")
        elif r < 0.76:
            out.append(f"{utc} ExtHandler {ext} Enable extension: [main/handle.sh enable]")
        elif r < 0.78:
            out.append(f"{utc} Daemon Daemon Goal State Agent version {version}")
        elif r < 0.80:
            out.append(f"{utc} ExtHandler ExtHandler Agent WALinuxAgent-{version} is running as the goal state agent")
        elif r < 0.81:
            out.append(f"{t:%Y/%m/%d %H:%M:%S}.{t.microsecond:06d} INFO Daemon Azure Linux Agent Version:{version}")
        elif r < 0.82:
            out.append(f"{utc} ExtHandler ExtHandler Routine mention of VMSnapshotLinux in passing")
        else:
            out.append(f"{utc} EnvHandler ExtHandler Configure routes")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(3))
def test_records_giving_facts_are_held_only_when_they_give_none_new(seed: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Such records are counted by their needles when their facts repeat the last ones, else read: same
    facts (each at its record), kept events and counts as the reference, at every block size; one by one and judged
    by their shape (both, many times)."""
    held: list[bool] = []
    shaped: list[bool] = []
    _spy_verdicts(monkeypatch, held, shaped)
    data = _fact_rows(seed).encode()
    assert_same(data, sizes=(1 << 20, 4096, 300))
    if C_ENGINE:
        assert held.count(True) > 200 and held.count(False) > 50
        assert shaped.count(True) > 1000 and shaped.count(False) > 50


def _spy_verdicts(monkeypatch: pytest.MonkeyPatch, held: list[bool], shaped: list[bool]) -> None:
    """Record the verdicts on deferred records: ``held`` those checked one by one (held or read), ``shaped`` those
    judged by their shape (held, or read where a fact moved on)."""
    quiet = _record.AgentEvents.quiet
    first_loud = waagent_log._Judged.first_loud
    counted = waagent_log._Judged.held

    def spy(self: _record.AgentEvents, rec: _record.Record, row: int | None = None) -> str | None:
        kind = quiet(self, rec, row)
        held.append(kind is not None)
        return kind

    def loud(self: waagent_log._Judged, builder: _record.AgentEvents, lo: int, hi: int) -> int:
        x = first_loud(self, builder, lo, hi)
        if x < hi:
            shaped.append(False)
        return x

    def kept(self: waagent_log._Judged) -> Any:
        out = counted(self)
        shaped.extend([True] * len(out[0]))
        return out

    monkeypatch.setattr(_record.AgentEvents, "quiet", spy)
    monkeypatch.setattr(waagent_log._Judged, "first_loud", loud)
    monkeypatch.setattr(waagent_log._Judged, "held", kept)


def _shapes(seed: int, count: int = 4000) -> str:
    """Deferred records of the shapes that fill a steady log (heartbeats, the VMSnapshot extension's handler states,
    statuses naming it), in runs whose fact moves A, B, A (agent and extension versions), beside records that set
    the same fact when read (the goal state agent's version line, the daemon's), local-time and G0 records, orphan
    and continuation lines, alarms with and without a traceback, and other digits in the same shapes."""
    rng = random.Random(seed)
    t = datetime(2024, 2, 28, 22, 50)
    versions = ("2.9.1.1", "2.9.1.2", "2.9.1.1", "2.10.0.8")
    builds = ("1.0.9218.0", "1.0.9219.0", "1.0.9218.0")
    out: list[str] = []
    run = 0
    for i in range(count):
        if i % rng.choice((7, 40, 300)) == 0:
            run += 1
        t += timedelta(seconds=rng.randrange(1, 30), microseconds=rng.randrange(999_999))
        utc = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z INFO"
        local = f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S}"
        version = versions[run % len(versions)]
        build = builds[run % len(builds)]
        r = rng.random()
        if r < 0.3:
            out.append(f"{utc} ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-{version} is running as the goal "
                       f"state agent [DEBUG HeartbeatCounter: {i};HeartbeatId: {rng.randrange(10**6)};"
                       f"DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]")
        elif r < 0.5:
            out.append(f"{utc} ExtHandler [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-{build}] Target handler "
                       f"state: enabled [incarnation {rng.randrange(99)}]")
        elif r < 0.6:
            out.append(f"{utc} ExtHandler ExtHandler Extension status: [('Microsoft.Azure.RecoveryServices."
                       f"VMSnapshotLinux', 'success')]")
        elif r < 0.62:  # read, and sets the fact the heartbeats give
            out.append(f"{utc} ExtHandler ExtHandler Agent WALinuxAgent-{rng.choice(versions)} is running as the "
                       f"goal state agent")
        elif r < 0.63:
            out.append(f"{local}.{t.microsecond:06d} INFO Daemon Azure Linux Agent Version:2.2.45")
        elif r < 0.64:
            out.append(f"{local} Traceback (most recent call last):")
            out.append(f'{local}   File "/usr/sbin/waagent", line 1, in <module>')
        elif r < 0.65:
            out.append("an orphan line of a paste")
        elif r < 0.66:
            out.append(f"{utc} ExtHandler ExtHandler Command output:")
            out += ["[stdout]", "  done", ""]
        elif r < 0.70:
            out.append(f"{t:%Y-%m-%dT%H:%M:%S.%f}Z ERROR ExtHandler ExtHandler Error fetching the goal state: "
                       f"[ProtocolError] timed out")
            out += list(_TRACEBACK[:rng.randrange(0, 5)])
        elif r < 0.71:
            out.append(f"{utc} ExtHandler [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-{build}] Enable "
                       f"extension: [main/handle.sh enable]")
        else:
            out.append(f"{utc} EnvHandler ExtHandler Configure routes")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(3))
def test_deferred_records_judged_by_their_shape(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records of a decisive digit-blind row are judged once per shape (their text after the time stamp, digits
    masked) and per value of their facts: held where those are the values given last, read where a fact moved on
    (A, B, A; set by a record read between two of them), at block edges and beside lines that are not plain, at
    every block size down to 97 bytes and on every scan engine: the reference's output."""
    held: list[bool] = []
    shaped: list[bool] = []
    _spy_verdicts(monkeypatch, held, shaped)
    assert_same(_shapes(seed).encode(), sizes=(1 << 20, 4096, 300, 97))
    if C_ENGINE:
        assert shaped.count(True) > 1000 and shaped.count(False) > 30


def test_many_shapes_with_facts_of_their_own_in_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """More sets of facts in a block than are judged in bulk (a version of its own per shape, each in a run): the
    records of the sets beyond :data:`~parsers.linux_agent.waagent_log.SHAPE_FACTS` are checked one by one."""
    held: list[bool] = []
    shaped: list[bool] = []
    _spy_verdicts(monkeypatch, held, shaped)
    t = datetime(2024, 3, 1, 6)
    out = []
    for i in range(6000):
        t += timedelta(seconds=3)
        version = "2." + "9" * (1 + (i // 5) % (waagent_log.SHAPE_FACTS + 20)) + ".1"
        out.append(f"{t:%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-{version} "
                   f"is running as the goal state agent [DEBUG HeartbeatCounter: {i}]")
        out.append(f"{t:%Y-%m-%dT%H:%M:%S.%f}Z INFO EnvHandler ExtHandler Configure routes")
    assert_same(("\n".join(out) + "\n").encode(), sizes=(1 << 20, 4096), limits=(7,))
    if C_ENGINE:
        assert shaped.count(True) > 1000 and held.count(True) > 100


def _text_kinds(seed: int, count: int = 3000) -> str:
    """Records whose kind the text decides beyond the needle: a URL's host, a status code, a stale goal state, a
    refusal, a local inner error, a needle where the row's pattern does not match, the VMSnapshot extension's
    enable (an invocation fact), a Python version (a fact)."""
    rng = random.Random(seed)
    t = datetime(2024, 2, 28, 22, 50)
    messages = (
        "Fetch failed: [HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out",
        "Fetch failed: [HTTP Failed] GET https://md-abc.blob.core.windows.net/x -- IOError timed out -- 3 attempts",
        "Fetch failed: [HTTP Failed] GET https://example.org/manifest.xml -- Connection refused",
        "Fetch failed from [http://168.63.129.16:32526/extensionArtifact]: [HTTP Failed] [410: Gone] ResourceGone",
        "[HTTP Failed] [400: Bad Request] b'<Error>nope</Error>'",
        "Error fetching the goal state: [Errno 28] No space left on device",
        "Error fetching the goal state: [ProtocolError] timed out",
        "Enable extension: [bin/custom-script-shim enable]",
        "the step said Enable extension: [x] but later",
        "PreSnapshot: Status Code: 200", "PreSnapshot: Status Code: 500",
        "dosnapshot responseBody: {\"statusCode\": 200}", "Retry to aquire lock count: 0",
        "Retry to aquire lock count: 2",
        "Python: 3.9.2", "Python: 3.10.1",
    )
    prefixes = ("ExtHandler", "[Microsoft.Azure.Extensions.CustomScript-2.1.10]", VMS)
    out: list[str] = []
    for _ in range(count):
        t += timedelta(seconds=rng.randrange(1, 30))
        msg = messages[rng.randrange(len(messages)) if rng.random() < 0.3 else rng.randrange(3)]
        prefix = prefixes[0] if rng.random() < 0.8 else rng.choice(prefixes)
        out.append(f"{t:%Y-%m-%dT%H:%M:%S.%f}Z {rng.choice(('INFO', 'INFO', 'VERBOSE'))} ExtHandler {prefix} {msg}")
        if rng.random() < 0.3:
            out.append(f"{t:%Y-%m-%dT%H:%M:%S.%f}Z INFO EnvHandler ExtHandler Configure routes")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(2))
def test_records_whose_kind_the_text_decides_are_classified_in_the_walk(seed: int,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A record whose first row is not decisive is classified (the whole table) where the walk reaches it, and
    held under that kind when the block path holds it and it gives no fact new: same output as the reference."""
    kinds: list[str | None] = []
    quiet = _record.AgentEvents.quiet

    def spy(self: _record.AgentEvents, rec: _record.Record, row: int | None = None) -> str | None:
        kind = quiet(self, rec, row)
        if row is None:
            kinds.append(kind)
        return kind

    monkeypatch.setattr(_record.AgentEvents, "quiet", spy)
    assert_same(_text_kinds(seed).encode(), sizes=(1 << 20, 4096, 300))
    if C_ENGINE:
        seen = Counter(kinds)
        assert {"wireserver.error", "storage.error", "network.error", "log"} <= set(seen) and seen[None] > 10


_TRACEBACK = ("Traceback (most recent call last):",
              '  File "/var/lib/waagent/WALinuxAgent-2.9.1.1/update.py", line 350, in run', "    self._fetch()",
              "azurelinuxagent.common.exception.ProtocolError: [ProtocolError] timed out")


def _alarms(seed: int, count: int = 3000) -> str:
    """Warnings and errors of every class among routine records: the same texts again and again (under other
    threads, trailing blanks, extension versions), fresh numbers in each record, other extensions' failures,
    HRESULTs, routine warnings, kinds the text decides, alarms that give facts or name the VMSnapshot extension,
    tracebacks (continuation lines that are blank, indented, empty; or a syslog line, a prompt, an escape, the
    extension's name, a line opening with a digit, too many lines: read), local-time and G0 alarms."""
    rng = random.Random(seed)
    t = datetime(2024, 2, 28, 22, 50)
    other = "[Microsoft.CPlat.Core.RunCommandLinux-1.0.{v}]"
    texts = (
        "Fetch failed: [HttpError] [HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out",
        "Fetch failed: [HTTP Failed] GET https://md-abc.blob.core.windows.net/x -- IOError timed out -- 3 attempts",
        "Fetch failed: [HTTP Failed] GET https://example.org/manifest.xml -- Connection refused",
        "Error fetching the goal state: [ProtocolError] timed out",
        "Install of Microsoft.Azure.Extensions.CustomScript failed: HRESULT 0x8007000E (-2147024882)",
        "Dropped events for Extension: Microsoft.Azure.Monitor.AzureMonitorLinuxAgent; Details: none",
        "Non-zero exit code: 1, /var/lib/waagent/x/handle.sh install",
        "Something unexpected happened",
    )
    out: list[str] = []
    for i in range(count):
        t += timedelta(seconds=rng.randrange(1, 20), microseconds=rng.randrange(999_999))
        utc = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z"
        level = rng.choice(("WARNING", "ERROR"))
        thread = rng.choice(("ExtHandler", "ExtHandler", "MonitorHandler"))
        r = rng.random()
        if r < 0.45:
            out.append(f"{utc} INFO EnvHandler ExtHandler Configure routes")
        elif r < 0.65:
            out.append(f"{utc} {level} {thread} ExtHandler {rng.choice(texts)}{rng.choice(('', '', ' ', '  '))}")
        elif r < 0.70:
            out.append(f"{utc} {level} ExtHandler ExtHandler Operation {i} failed after {rng.randrange(9999)} ms")
        elif r < 0.74:
            out.append(f"{utc} {level} ExtHandler {other.format(v=rng.randrange(3))} Command failed, "
                       f"{rng.choice(texts[4:])}")
        elif r < 0.77:
            out.append(f"{utc} WARNING ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1."
                       f"{int(rng.random() < 0.1)} is running as the goal state agent")
        elif r < 0.78:
            out.append(f"{utc} WARNING ExtHandler ExtHandler Wire server endpoint:168.63.129.{16 + rng.randrange(2)}")
        elif r < 0.80:
            out.append(f"{utc} ERROR ExtHandler {VMS} Enable failed: {rng.choice(texts[:2])}")
        elif r < 0.92:
            out.append(f"{utc} ERROR ExtHandler ExtHandler {rng.choice(texts[3:5])}")
            lines = list(_TRACEBACK[:rng.randrange(1, 5)])
            odd = rng.random()
            if odd < 0.1:
                lines.insert(1, "")
            elif odd < 0.15:
                lines.insert(1, "\t\tindented with tabs  ")
            elif odd < 0.2:
                lines.append("Jan  6 13:02:17 vm kernel: a syslog line")
            elif odd < 0.25:
                lines.append("user@vm:~$ tail /var/log/waagent.log")
            elif odd < 0.3:
                lines.append("  path \\u0041 escaped")
            elif odd < 0.35:
                lines.append("  in Microsoft.Azure.RecoveryServices.VMSnapshotLinux/main")
            elif odd < 0.4:
                lines.append("404 lines follow")
            elif odd < 0.42:
                lines += [f"  frame {k}" for k in range(70)]
            out += [line + rng.choice(("", "", " ")) for line in lines]
        elif r < 0.95:
            out.append(f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S}.{t.microsecond:06d} WARNING ExtHandler "
                       f"{rng.choice(texts)}")
        elif r < 0.97:
            out.append(f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S} ERROR:{rng.choice(texts)}")
        else:
            out.append(f"{utc} VERBOSE ExtHandler ExtHandler detail {rng.randrange(5)}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(3))
def test_alarms_held_by_their_bytes(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Warnings and errors are held like the records counted by their needles when their kind gives no fact, and
    those dropped for the cap are accounted per hash of their bytes, merged by message: the timeline ends with the
    same kept events, drops per kind and dropped alarms by template as the reference, at every block size (block
    edges inside tracebacks), also when the accounting hands its groups on early and with CRLF line ends; records
    whose hash is new and single in their block are read, or held too."""
    from parsers import kept as kept_module

    kinds: list[str | None] = []
    groups: list[int] = []
    multi: list[int] = []
    classify = waagent_log.kind_without_facts
    drop = waagent_log._Bulk._drop_alarms
    hold = waagent_log._Bulk.hold_deferred

    def spy_kind(rec: _record.Record) -> str | None:
        kinds.append(classify(rec))
        return kinds[-1]

    def spy_drop(self: waagent_log._Bulk, kind: str, rows: np.ndarray) -> None:
        groups.append(rows.shape[1])
        drop(self, kind, rows)

    def spy_hold(self: waagent_log._Bulk, block: bytes) -> None:
        multi.append(len(self.multi.counted()))
        hold(self, block)

    monkeypatch.setattr(waagent_log, "kind_without_facts", spy_kind)
    monkeypatch.setattr(waagent_log._Bulk, "_drop_alarms", spy_drop)
    monkeypatch.setattr(waagent_log._Bulk, "hold_deferred", spy_hold)
    if seed == 1:  # the default: a record whose hash is new is held when it comes again in its block
        monkeypatch.setattr(kept_module, "_ALARM_TEXTS", 25)
    else:  # every record classified and held, also in the smallest blocks
        monkeypatch.setattr(waagent_log, "ALARM_REPEATS", 1)
    text = _alarms(seed)
    assert_same(text.encode(), sizes=(1 << 20, 4096, 300))
    if C_ENGINE:
        assert None in kinds and {"wireserver.error", "network.error", "log"} <= set(kinds)
        assert len(groups) > 10 and max(groups) > 20  # groups of many records, each built twice at most
        assert sum(multi) > 100  # tracebacks held
    if seed == 2:
        assert_same(text.replace("\n", "\r\n").encode(), sizes=(4096, 300), limits=(7,))


def _deferred(seed: int, count: int = 4000) -> list[str]:
    """Records of rows that remember their verdicts by shape, digits changed where facts are read and where not:
    versions of one shape (2.9.1.1, 2.9.1.2), a version in the DEBUG keys beside the agent's own, a Python, a role,
    the extension's versions in the prefix, its settings files, statuses naming it."""
    rng = random.Random(seed)
    t = datetime(2024, 3, 10, 6, 0)
    out: list[str] = []
    for i in range(count):
        t += timedelta(seconds=1)
        utc = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z INFO"
        version = "2.9.1.1" if rng.random() < 0.9 else rng.choice(("2.9.1.2", "2.9.1.3", "3.9.1.1"))
        debug = f"HeartbeatCounter: {i}" if rng.random() < 0.8 else rng.choice((
            f"version: {version}", "version: 2.9.1.2", "python: 3.9", "python: 3.8", "role: daemon",
            f"HeartbeatCounter: {i};version: 2.9.1.{i % 3}"))
        ext = VMS.replace("9218", rng.choice(("9218", "9218", "9219", "9318")))
        r = rng.random()
        if r < 0.5:
            out.append(f"{utc} ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-{version} is running as the goal "
                       f"state agent [DEBUG {debug};HeartbeatId: {rng.randrange(99)}]")
        elif r < 0.7:
            out.append(f"{utc} ExtHandler {ext} Target handler state: enabled [incarnation {i}]")
        elif r < 0.8:
            out.append(f"{utc} ExtHandler {ext} Update settings file: {i}.settings")
        else:
            out.append(f"{utc} ExtHandler ExtHandler Extension status: [('Microsoft.Azure.RecoveryServices."
                       f"VMSnapshotLinux', 'success{i % 2}')]")
    return out


@pytest.mark.parametrize("seed", range(3))
def test_remembered_verdicts_are_those_worked_out_afresh(seed: int) -> None:
    ctx = ParseContext(PATH, SOURCE)
    memo = _record.AgentEvents(ctx)
    worked: list[str] = []
    verdict = memo._verdict

    def spy(message: str, prefix: str, row: int | None) -> Any:
        worked.append(message)
        return verdict(message, prefix, row)

    memo._verdict = spy  # type: ignore[method-assign]
    rows = 0
    for n, line in enumerate(_deferred(seed), 1):
        rec = _record.parse_record(line, n)
        assert rec is not None
        row = next(i for i, sig in enumerate(_record.AGENT_TABLE.sigs) if any(x in rec.msg for x in sig.needles))
        assert _record.AGENT_TABLE.sigs[row].decisive and _record.AGENT_TABLE.sigs[row].digit_blind
        afresh = _record.AgentEvents(ctx)
        afresh._last = dict(memo._last)
        assert memo.quiet(rec, row) == afresh.quiet(rec, row) == afresh.quiet(rec, None), line
        rows += 1
        if n % 5 == 0:  # the facts move on now and then, as records are read
            memo.event(rec)
    assert rows == 4000 and len(worked) < rows // 5  # each shape and value its facts read once: the rest remembered


def test_rows_that_tell_digits_apart_are_not_remembered() -> None:
    """A row whose expression holds a digit (a status code) or whose post reads digits is worked out every time."""
    blind = {sig.kind for sig in _record.AGENT_TABLE.sigs if sig.digit_blind}
    assert {"agent.heartbeat", "extension.state", "extension.status"} <= blind
    codes = [sig for sig in _record.AGENT_TABLE.sigs if sig.needles == ("PreSnapshot: Status Code",)]
    assert codes and not any(sig.digit_blind for sig in codes)  # its post says 200 is no error
    ctx = ParseContext(PATH, SOURCE)
    events = _record.AgentEvents(ctx)
    row = _record.AGENT_TABLE.sigs.index(codes[0])
    for n, code in enumerate(("200", "500", "200"), 1):
        line = f"2024-03-10T06:00:0{n}.000000Z INFO ExtHandler {VMS} PreSnapshot: Status Code: {code}"
        rec = _record.parse_record(line, n)
        assert rec is not None
        events.quiet(rec, row)
    assert not events._quiet
    assert _record._QUIET_MEMO >= 1000


def test_long_records_of_held_kinds_wait_cut_as_the_timeline_keeps_them() -> None:
    """Records the block path holds back per kind (a heartbeat, an extension's failure: its kind is held) wait
    with their message cut as the timeline keeps it, so many long ones cost no more than short ones; the
    timeline ends with the same events, lengths noted, as the reference."""
    t = datetime(2024, 2, 28, 22, 50)
    lines = []
    for i in range(300):
        stamp = f"{t + timedelta(seconds=i):%Y-%m-%dT%H:%M:%S.%f}Z"
        pad = "x" * (3000 + 97 * (i % 50))
        lines.append(f"{stamp} ERROR ExtHandler ExtHandler Non-zero exit code: 1, /x/handle.sh install {i} {pad}")
        lines.append(f"{stamp} INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running "
                     f"[DEBUG HeartbeatCounter: {i};{pad}]")
    assert_same(("\n".join(lines) + "\n").encode(), sizes=(1 << 20, 65536), limits=(7, 500))
    ctx = ParseContext(PATH, SOURCE, lambda ts, local: None, max_notable=7, drop_counter=lambda *a: None)
    keep = NewestPerKind(ctx, 7)
    e = ctx.event(t, 1, "y" * 10_000, level="error", kind="extension.install.failed", raw="z" * 10_000)
    keep.add(e)
    assert len(e.message) == MAX_KEPT_MESSAGE + 1 and e.attrs["message_length"] == 10_000
    assert len(e.attrs["raw"]) == MAX_KEPT_MESSAGE + 1
    cut(e)  # the timeline cuts what it keeps again: nothing changes
    assert len(e.message) == MAX_KEPT_MESSAGE + 1 and e.attrs["message_length"] == 10_000


@pytest.mark.parametrize("kinds", [("heartbeat",), ("heartbeat", "goal state", "handler state")])
def test_long_lines_of_held_kinds_are_read_not_held_as_bytes(kinds: tuple[str, ...]) -> None:
    """A line longer than ``HELD_LINE`` is read, so that what waits for the end of the member is events cut at
    4 KiB, not whole lines: 36 MB of 60 KB records of held kinds (each one held) peak far below their size."""
    import tracemalloc

    t = datetime(2024, 2, 28, 22, 50)
    texts = {"heartbeat": "[HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the goal state agent "
                          "[DEBUG HeartbeatCounter: {i};HeartbeatId: 3d5b6c1e;DroppedPackets: 0;{pad}]",
             "goal state": "ProcessExtensionsGoalState completed [incarnation_{i} 98 ms] {pad}",
             "handler state": f"{VMS} Target handler state: enabled [incarnation {{i}}] {{pad}}"}
    pad = "x" * 60_000
    lines = [f"{t + timedelta(seconds=i):%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler "
             f"{'' if texts[k].startswith('[Microsoft') else 'ExtHandler '}{texts[k].format(i=i, pad=pad)}"
             for i in range(600 // len(kinds)) for k in kinds]
    data = ("\n".join(lines) + "\n").encode()
    ctx = ParseContext(PATH, SOURCE, lambda ts, local: None, lambda *a: None, max_notable=MAX_NOTABLE,
                       drop_counter=lambda *a: None)
    scan = _block_scan.scanner()
    n = longest = 0
    tracemalloc.start()
    try:
        for e in waagent_log.parse_blocks(io.BytesIO(data), ctx, scan):  # handed on, as the timeline takes them
            n, longest = n + 1, max(longest, len(e.message))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n and peak < len(data) * 2 // 3, (peak, len(data))
    if C_ENGINE:  # the held path (without the C scan every candidate is read and handed on at once)
        assert longest <= MAX_KEPT_MESSAGE + 1


@pytest.mark.parametrize("seed", range(2))
def test_crlf(seed: int) -> None:
    assert_same(_variety(seed).replace("\n", "\r\n").encode())


def test_orphans_bom_and_no_final_newline() -> None:
    text = "leading junk\n  more junk\n" + _variety(7, 400).rstrip("\n")
    assert_same(codecs.BOM_UTF8 + text.encode())
    assert_same(b"only\njunk lines\nhere\n")
    assert_same(b"")


def test_lines_past_the_length_limit_are_cut_and_counted_once() -> None:
    lines = _variety(3, 300).splitlines()
    lines[10] = lines[10] + " x" * 300  # cut inside the message
    lines[50] = "2024-02-28T23:00:00.000000Z INFO ExtHandler ExtHandler " + "y" * 900 + " DhcpError"  # needle cut off
    lines[51] = "z" * 5000  # a continuation without any newline for several blocks
    assert_same(("\n".join(lines) + "\n").encode(), sizes=(4096, 300, 97), max_line=512)


def test_invalid_times_are_problems_on_both_paths() -> None:
    bad = ["2024-02-30T10:00:00.000000Z", "2023-02-29T10:00:00.000000Z", "2024-04-31T10:00:00.000000Z",
           "2024-01-01T24:00:00.000000Z", "2024-01-01T10:60:00.000000Z", "2024-01-01T10:00:61.000000Z",
           "0000-01-01T10:00:00.000000Z", "2024-00-10T10:00:00.000000Z", "2024-01-00T10:00:00.000000Z"]
    text = "".join(f"2024-01-01T09:00:0{i}.000000Z INFO ExtHandler ExtHandler ok\n{b} INFO ExtHandler ExtHandler x\n"
                   for i, b in enumerate(bad))
    assert_same(text.encode())
    events = _output(text.encode(), True)
    assert len(events[2]) == len(bad)  # one "invalid timestamp" problem each


def test_a_row_added_to_the_table_at_run_time_is_scanned_for(monkeypatch: pytest.MonkeyPatch) -> None:
    wording = "Brand-new agent wording nobody has seen"
    text = _variety(5, 300) + f"2024-03-01T00:00:00.000000Z INFO ExtHandler ExtHandler {wording} here\n"
    monkeypatch.setattr(_record, "AGENT_TABLE", SignatureTable((*AGENT, Sig("test.new_kind", (wording,)))))
    assert_same(text.encode())
    events = _output(text.encode(), True)[0]
    assert [e[4] for e in events if wording in e[5]] == ["test.new_kind"]


def test_a_needle_with_a_line_break_falls_back_to_the_line_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_record, "AGENT_TABLE", SignatureTable((*AGENT, Sig("test.x", ("two\nlines",)))))
    assert _block_scan.scanner() is None
    assert _block_scan.scanner("python") is None


@pytest.mark.skipif(not C_ENGINE, reason="the C module is not built here")
def test_how_the_c_scan_judges_lines() -> None:
    """Needles in the opening of a record or after its last visible character do not count; special bytes,
    calendar times and line shapes. The Python engine reports a superset of the lines, all to be read."""
    opening = "2024-02-28T22:50:01.000001Z INFO ExtHandler ExtHandler "
    lines = [
        f"{opening}Configure routes", f"{opening}DhcpError seen",
        "2024-02-28T22:50:01.000001Z INFO DhcpError x Routine",
        "2024-02-28T22:50:01.000001Z INFO ExtHandler [DhcpError] Routine", f"{opening}Python: ",
        f"{opening}Python: 3", f"{opening}Python: \t\r", f"{opening}caf\u00e9 DhcpError", f"{opening}x \\u0041",
        f"{opening}tab\there", f"{opening}bell\x07", "2024-02-29T22:50:01.000001Z INFO ExtHandler ExtHandler leap day",
        "2023-02-29T22:50:01.000001Z INFO ExtHandler ExtHandler no leap day",
        "2024-02-28T24:50:01.000001Z INFO ExtHandler ExtHandler hour 24", f"{opening}{VMS} x",
        f"2024-02-28T22:50:01.000001Z INFO ExtHandler {VMS} Target handler state: enabled",
        f"{opening}Event: name=x, op=y, message=z, duration=1", "2024/02/28 22:50:01.000001 INFO Daemon DhcpError",
        "  continuation with DhcpError", "", f"{opening}",
        "2024-02-28T22:50:01.000001Z WARNING ExtHandler ExtHandler w",
        "2024-02-28T22:50:01.00001Z INFO ExtHandler ExtHandler five digits", f"{opening}[HEARTBEAT] WALinuxAgent-2.9",
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    c = _block_scan.scanner("c")
    assert c is not None
    want = c(data)
    by_line = {data[s:data.find(b"\n", s)].decode(): i for s, i, _ in want.tolist()}
    rank = _block_scan.ScanTable(_record.AGENT_TABLE).rank
    assert lines[0] not in by_line  # plain, no needle
    assert by_line[lines[1]] & _block_scan.RANK_NONE == rank["DhcpError"]
    assert not by_line[lines[2]] & _block_scan.PLAIN_BIT  # an unknown component: the whole line is read
    assert lines[3] not in by_line  # the needle is in the prefix of a plain record
    assert lines[4] not in by_line and lines[6] not in by_line  # "Python: " then only blanks
    assert by_line[lines[5]] & _block_scan.RANK_NONE == rank["Python: "]
    for special in (lines[7], lines[8], lines[10], lines[16]):
        assert by_line[special] & _block_scan.SPECIAL_BIT, special
    for marked in (lines[14], lines[15]):  # the extension's name, in the prefix or the message: a mark, no special
        assert by_line[marked] & _block_scan.MARKED_BIT and not by_line[marked] & _block_scan.SPECIAL_BIT, marked
    assert by_line[lines[14]] & _block_scan.RANK_NONE == _block_scan.RANK_NONE
    assert by_line[lines[15]] & _block_scan.RANK_NONE == rank["Target handler state"]
    assert lines[9] not in by_line and lines[11] not in by_line  # a tab is plain text; 2024 is a leap year
    for odd in (lines[12], lines[13], lines[17], lines[18], lines[19], lines[21], lines[22]):
        assert not by_line[odd] & _block_scan.PLAIN_BIT, odd
    for engine in ("hyperscan", "re"):
        python = _block_scan.scanner(engine)
        assert python is not None
        found = python(data)
        assert set(want[:, 0].tolist()) <= set(found[:, 0].tolist())
        assert (found[:, 1] == _block_scan.RANK_NONE | _block_scan.SPECIAL_BIT).all()


@pytest.mark.skipif(not C_ENGINE, reason="the C module is not built here")
def test_how_the_c_scan_judges_alarm_records() -> None:
    """An alarm line (the plain shape at WARNING or ERROR) is reported with its extent (the lines that can only
    continue its record) and a hash of its bytes after the time stamp and of those lines: equal for records equal
    but for their time, other for any other byte; a special or marked line in the extent, or too many, make it
    special."""
    stamp = "2024-02-28T22:50:0{}.000001Z"
    body = "ERROR ExtHandler ExtHandler Error fetching the goal state: timed out"
    records = {
        "plain": [f"{stamp} {body}"],
        "again": [f"{stamp} {body}"],  # another time, the same bytes
        "blank": [f"{stamp} {body} "],
        "thread": [f"{stamp} {body.replace('ExtHandler Ext', 'MonitorHandler Ext', 1)}"],
        "traceback": [f"{stamp} {body}", *_TRACEBACK, "", "\tin tabs", "next (letter first)"],
        "traceback again": [f"{stamp} {body}", *_TRACEBACK, "", "\tin tabs", "next (letter first)"],
        "syslog": [f"{stamp} {body}", "Jan  6 13:02:17 vm kernel: x"],
        "prompt": [f"{stamp} {body}", "user@vm:~$ ls"],
        "digit": [f"{stamp} {body}", "404 lines"],
        "escape": [f"{stamp} {body}", "  a \\u0041"],
        "marked": [f"{stamp} {body}", "  VMSnapshotLinux"],
        "long": [f"{stamp} {body}", *(f"  frame {k}" for k in range(70))],
        "warning": [f"{stamp} WARNING ExtHandler ExtHandler Fetch failed"],
    }
    lines: list[str] = []
    at: dict[str, int] = {}
    for i, (name, rec) in enumerate(records.items()):
        at[name] = len(lines)
        lines += [rec[0].format(i % 10), *rec[1:]]
        lines.append(_plain(datetime(2024, 2, 28, 22, 51)).rstrip("\n"))
    data = ("\n".join(lines) + "\n").encode()
    c = _block_scan.scanner("c")
    assert c is not None
    found = c(data)
    starts = [sum(len(x) + 1 for x in lines[:k]) for k in range(len(lines))]
    row = {name: found[found[:, 0] == starts[k]][0].tolist() for name, k in at.items()}
    for name, (_, info, h) in row.items():
        assert info & _block_scan.ALARM_BIT and not info & _block_scan.PLAIN_BIT and h != 0, name
    cont = {name: info >> _block_scan.CONT_SHIFT for name, (_, info, _) in row.items()}
    assert cont["plain"] == 0 and cont["traceback"] == len(_TRACEBACK) + 3
    assert cont["syslog"] == cont["prompt"] == cont["digit"] == 0  # the line cannot be told from a record's end
    assert cont["escape"] == cont["marked"] == 1 and cont["long"] == 64
    for name in ("escape", "marked", "long"):
        assert row[name][1] & _block_scan.SPECIAL_BIT, name
    for name in ("plain", "traceback", "syslog", "warning"):
        assert not row[name][1] & _block_scan.SPECIAL_BIT, name
    hashes = {name: h for name, (_, _, h) in row.items()}
    assert hashes["plain"] == hashes["again"] == hashes["syslog"] and hashes["traceback"] == hashes["traceback again"]
    assert len({hashes[n] for n in ("plain", "blank", "thread", "traceback", "escape", "warning")}) == 6


@pytest.mark.skipif(not C_ENGINE, reason="the C module is not built here")
def test_the_alarm_hash_starts_from_a_key_of_each_scanner() -> None:
    """Records that share a hash are held under one kind, so a log must not be able to choose two records that
    meet: the hash starts from a key each scanner draws at random (``os.urandom``), never from a fixed value."""
    from parsers.linux_agent import _linescan

    data = b"2024-02-28T22:50:00.000001Z ERROR ExtHandler ExtHandler Error fetching the goal state: timed out\n"
    keyed = [_linescan.Scanner([b"goal state"], [0], key=key).scan(data) for key in (1, 2, 2**64 - 1, 2)]
    assert len(set(keyed)) == 3 and keyed[1] == keyed[3]
    drawn = []
    for _ in range(3):
        _block_scan._build.cache_clear()
        scan = _block_scan.scanner("c")
        assert scan is not None
        drawn.append(int(scan(data)[0, 2]))
    _block_scan._build.cache_clear()
    assert len(set(drawn)) == 3 and 0 not in drawn


def test_the_c_module_is_built_where_a_compiler_is() -> None:
    """The install builds it wherever the C compiler Python was built with is present (CI: a fresh install
    with gcc). A checkout that was not installed again since the module came has none: it is slower, not wrong."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not _block_scan._c_available() and not os.environ.get("CI"):
        pytest.skip("parsers.linux_agent._linescan not built here: pip install -e . builds it")
    assert shutil.which(compiler) is None or _block_scan._c_available()


def test_without_the_c_module_the_python_engine_reads_every_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_block_scan, "_c_available", lambda: False)
    data = _variety(1).encode()
    scan = _block_scan.scanner()
    assert scan is not None
    assert np.array_equal(scan(data), _block_scan.scanner("hyperscan")(data))  # type: ignore[misc]
    monkeypatch.setattr(_block_scan, "_hyperscan_available", lambda: False)
    assert np.array_equal(_block_scan.scanner()(data), _block_scan.scanner("re")(data))  # type: ignore[misc]


@pytest.mark.parametrize("output", [_block_scan.C_FORMAT, None])
def test_a_c_module_older_than_the_table_falls_back_to_the_python_engine(monkeypatch: pytest.MonkeyPatch,
                                                                         output: int | None) -> None:
    """A checkout updated without rebuilding the C module: its scanner refuses the table's codes, or its output has
    an older layout (no ``FORMAT``: pairs, no alarm hash); the scan runs in Python instead of stopping the parser
    ("ValueError: code out of range" before) or misreading the output."""
    import sys
    import types

    class Stale:
        def __init__(self, needles: list[bytes], codes: list[int]) -> None:
            if output is not None:
                raise ValueError("code out of range")

        def scan(self, block: bytes) -> bytes:
            return b"\0" * 16

    import parsers.linux_agent

    stale = types.SimpleNamespace(Scanner=Stale, **({} if output is None else {"FORMAT": output}))
    monkeypatch.setitem(sys.modules, "parsers.linux_agent._linescan", stale)
    monkeypatch.setattr(parsers.linux_agent, "_linescan", stale, raising=False)
    monkeypatch.setattr(_block_scan, "_c_available", lambda: True)
    _block_scan._build.cache_clear()
    try:
        data = _variety(1).encode()
        scan = _block_scan.scanner()
        assert scan is not None and not scan.judges
        assert np.array_equal(scan(data), _block_scan.scanner("python")(data))  # type: ignore[misc]
    finally:
        _block_scan._build.cache_clear()


# --- counts per hour: the ordering guarantee -----------------------------------------------------------

def _plain(ts: datetime) -> str:
    return f"{ts:%Y-%m-%dT%H:%M:%S.%f}Z INFO EnvHandler ExtHandler Configure routes\n"


def test_ordered_plain_records_are_counted_per_hour_exactly() -> None:
    start = datetime(2024, 1, 1, 0, 0)
    data = "".join(_plain(start + timedelta(seconds=37 * i)) for i in range(20_000)).encode()  # ~8 days
    assert_same(data, sizes=(1 << 20, 65536))
    counts: dict[bytes, int] = {}
    _block_scan.hours(data, 0, len(data), counts)
    assert sum(counts.values()) == 20_000 and len(counts) == 206


@pytest.mark.parametrize("seed", range(3))
def test_records_with_continuation_lines_are_counted_per_hour_exactly(seed: int) -> None:
    """Alarm records counted with the plain ones, their tracebacks as gaps: every record once in its own hour
    (a traceback line is never read as a record, a halving point that falls in one moves past it), the last
    record's stamp is its first line's."""
    rng = random.Random(seed)
    t = datetime(2024, 1, 1, 0, 0)
    out: list[bytes] = []
    gap_starts, gap_ends, gap_lines = [], [], []
    want: Counter[bytes] = Counter()
    at = 0
    for _ in range(5000):
        t += timedelta(seconds=rng.randrange(1, 400))
        line = _plain(t).encode()
        if rng.random() < 0.3:
            line = line.replace(b"INFO EnvHandler", b"ERROR ExtHandler")
        out.append(line)
        want[line[:13]] += 1
        at += len(line)
        if rng.random() < 0.3:
            extra = "".join(f"{x}\n" for x in _TRACEBACK[:rng.randrange(1, 5)]).encode()
            gap_starts.append(at)
            gap_lines.append(extra.count(b"\n"))
            at += len(extra)
            gap_ends.append(at)
            out.append(extra)
    data = b"".join(out)
    gaps = _block_scan.Gaps(gap_starts, gap_ends, gap_lines)
    counts: dict[bytes, int] = {}
    assert _block_scan.hours(data, 0, len(data), counts, gaps) == 5000
    assert counts == dict(want)
    plain = _block_scan.PlainCounts(27)
    last, n = plain.add(data, 0, len(data), gaps)
    assert n == 5000 and last == out[-1 if not gap_ends or gap_ends[-1] != len(data) else -2][:27]


@pytest.mark.parametrize("seed", range(2))
def test_the_counts_of_a_log_of_many_hours_are_handed_on_in_parts(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the walk counts per hour is handed on each time it spans ``SPILL_HOURS`` hours, so it stays small
    whatever the log holds (a log with a new hour in every line kept a count for every hour: 281 MB of RSS at 68 MB
    of log). A held record kept at the end whose hour was handed on already is taken back from that hour: the
    timeline ends as on the per-line path."""
    monkeypatch.setattr(hour_counts, "SPILL_HOURS", 3)
    seen = {"reports": 0, "taken back": 0}
    report = waagent_log.Reader.report_plain

    def counting(self: waagent_log.Reader) -> None:
        seen["reports"] += 1
        seen["taken back"] += sum(n for n, _ in self.taken_back.values())
        report(self)

    monkeypatch.setattr(waagent_log.Reader, "report_plain", counting)
    hours = "".join(_plain(datetime(2001, 1, 1) + timedelta(hours=7 * i, seconds=i)) for i in range(2000))
    engines = (*C_ENGINE, "hyperscan")  # the C scan where it is built
    for data in (_variety(seed), _alarms(seed), _fact_rows(seed), hours):
        for limit in LIMITS:
            want = _timeline(data.encode(), False, limit)
            for engine in engines:
                for size in (4096, 97):
                    have = _timeline(data.encode(), True, limit, engine, size)
                    for name in want:
                        assert have[name] == want[name], f"{name} differ (cap {limit}, engine {engine}, block {size})"
    assert seen["reports"] > 80 * len(engines) and seen["taken back"] > 0


def test_an_out_of_order_line_is_counted_in_its_neighbours_hour_unless_it_is_probed() -> None:
    """Documented guarantee: record totals, first and last times are exact; a line out of time order is
    counted in its own hour only when it falls where the bisection reads (a span's first or last line)."""
    start = datetime(2024, 1, 1, 10, 0)
    lines = [_plain(start + timedelta(seconds=i)) for i in range(1000)]  # all in hour 10
    lines[500] = _plain(datetime(2024, 1, 1, 3, 0))  # a stray line from hour 3, inside the span
    data = "".join(lines).encode()
    counts: dict[bytes, int] = {}
    _block_scan.hours(data, 0, len(data), counts)
    assert counts == {b"2024-01-01T10": 1000}
    lines[0] = _plain(datetime(2024, 1, 1, 3, 0))  # ... at the span's first line it is read
    data = "".join(lines).encode()
    counts = {}
    _block_scan.hours(data, 0, len(data), counts)
    assert sum(counts.values()) == 1000 and counts[b"2024-01-01T03"] >= 1


# --- the pipeline ----------------------------------------------------------------------------------------

def _report(path: Path, monkeypatch: pytest.MonkeyPatch, blocks: bool) -> dict[str, Any]:
    monkeypatch.setattr(waagent_log, "BLOCK_MIN", 1024)
    if not blocks:
        monkeypatch.setattr(_block_scan, "scanner", lambda engine="auto": None)
    report = analyze(path, Options())
    extras = {k: v for k, v in report.extras.items() if k != "seconds"}
    return {**to_dict(report), "extras": extras}


def test_a_bundle_gives_the_same_report_on_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rotations (one gzipped inside the tar), a syslog copy of agent records, CRLF: same findings and counts."""
    import tarfile

    text = _variety(11, 6000)
    syslog = "".join(f"Feb 28 23:{i % 60:02d}:00 vm python3[99]: {line}\n" for i, line in
                     enumerate(text.splitlines()[:300]) if line[:4] == "2024")
    members = {"var/log/waagent.log": text.encode(), "var/log/waagent.log.1.gz": gzip.compress(text.encode()),
               "var/log/waagent.log.2": text.replace("\n", "\r\n").encode(), "var/log/syslog": syslog.encode()}
    bundle = tmp_path / "bundle.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    blocks = _report(bundle, monkeypatch, True)
    lines = _report(bundle, monkeypatch, False)
    assert lines["timeline"]["events"] > 15_000 and lines["findings"]
    assert blocks == lines


def test_what_waits_in_a_members_cap_stays_within_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over ``HELD_BYTES`` the kind that holds the most gives up its older half (as the timeline's own budget
    does); every record is still accounted: kept, or counted as dropped."""
    from parsers import kept as kept_module

    monkeypatch.setattr(kept_module, "HELD_BYTES", 200_000)
    dropped: list[tuple[str, int]] = []
    ctx = ParseContext(PATH, SOURCE, lambda ts, local: None, max_notable=MAX_NOTABLE,
                       drop_counter=lambda kind, n, alarms: dropped.append((kind, n)))
    keep = NewestPerKind(ctx, MAX_NOTABLE)
    t = datetime(2024, 2, 28, 22, 50)
    for i in range(300):
        for kind, size in (("agent.heartbeat", 3000), ("goalstate.fetched", 100)):
            keep.add(ctx.event(t + timedelta(seconds=i), 2 * i + (kind == "goalstate.fetched"), "y" * size,
                               kind=kind))
        assert keep.total <= 200_000
    events = keep.finish(lambda item, line: item)
    held = Counter(e.kind for e in events)
    assert held["agent.heartbeat"] < 300 and sum(held.values()) < 600
    for kind in held:  # every record is kept or counted as dropped, the newest of each kind kept
        assert held[kind] + sum(n for k, n in dropped if k == kind) == 300
        newest = max(e.ts for e in events if e.kind == kind)
        assert newest == t + timedelta(seconds=299)


@pytest.mark.parametrize("seed", range(2))
def test_shape_hashes_that_all_collide_cost_no_crash(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The shape hash is keyed by a secret drawn per scanner, so no log can make two texts share it; were every
    record's hash the same (records of other lengths, other rows, block edges), the walk still reads the whole
    log: every record is counted in its hour, the time range is exact (a record of another length than its
    shape's is never compared byte by byte with it)."""
    real = _block_scan.scanner

    def colliding(engine: str = "auto") -> Any:
        scan = real(engine)
        assert scan is not None

        def same_hash(block: bytes) -> Any:
            found = scan(block).copy()
            found[:, 2] = 0x5EED
            return found

        return _block_scan.Scan(same_hash, scan.judges)

    data = ("\n".join(_deferred(seed, 3000)) + "\n").encode()
    reference = _timeline(data, False, 50)
    monkeypatch.setattr(_block_scan, "scanner", colliding)
    for size in (1 << 20, 4096, 97):
        got = _timeline(data, True, 50, size=size)
        assert (got["hours"], got["count"], got["first"], got["last"]) == (
            reference["hours"], reference["count"], reference["first"], reference["last"])
