"""The cap spans the bundle: a member's records older than what the timeline keeps already are never built.

The timeline keeps the newest ``max_notable`` notable events per (source, kind), ties going to the later arrival,
and tells the parser of each member how old a record may be and still be kept (``Timeline.floor`` through
``ParseContext.floor``). These tests feed members one after another into a real :class:`Timeline` three ways (the
per-line reference, whose timeline caps everything itself; the block path without the floor; the block path with
it) and compare all it ends with, on layouts of rotations older, newer, equal to and interleaved with the live log,
several sources, facts that change in a rotation read later, at caps of 7 and 5,000; then whole analyses of
bundles (gz rotations inside the tar, the benchmark's layouts, every sample) with and without the floor.
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from analyzer import api
from analyzer.api import analyze
from analyzer.locale import word
from analyzer.model import Options
from analyzer.report import to_dict
from analyzer.timeline import MAX_NOTABLE, Timeline
from bench import bench_large_bundle
from parsers.base import ParseContext
from parsers.linux_agent import _block_scan, waagent_log
from parsers.text import iter_lines
from tests.conftest import ROOT
from tests.parsers.test_waagent_blocks import C_ENGINE, VMS

pytestmark = pytest.mark.skipif(not C_ENGINE, reason="records are held by their needles only with the C scan")

SOURCE = "waagent_log"
LIVE = "var/log/waagent.log"


def _agent_log(seed: int, start: datetime, count: int, version: str = "2.9.1.1",
               ext: str = VMS, warnings: float = 0.02) -> str:
    """Records the block path holds (heartbeats giving the agent's version, goal states, the extension's handler
    states and statuses), alarms, local-time daemon records, settings files and enables, routine lines; time
    stamps repeat (steps of 0 s) so that ages tie within and across members. ``warnings``: the share of lines that
    are heartbeats at warning level (of 0.3 that are heartbeats)."""
    rng = random.Random(seed)
    t = start
    out: list[str] = []
    for i in range(count):
        t += timedelta(seconds=rng.choice((0, 1, 1, 7)))
        utc = f"{t:%Y-%m-%dT%H:%M:%S.%f}Z"
        r = rng.random()
        if r < 0.3:  # now and then a warning: an alarm of a held kind, counted by template when dropped
            level = "WARNING" if r < warnings else "INFO"
            out.append(f"{utc} {level} ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-{version} is running as "
                       f"the goal state agent [DEBUG HeartbeatCounter: {i};HeartbeatId: 3d5b;UpdateGSErrors: 0]")
        elif r < 0.45:
            out.append(f"{utc} INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [incarnation_{i} 98 ms]")
        elif r < 0.6:
            out.append(f"{utc} INFO ExtHandler {ext} Target handler state: enabled [incarnation {i}]")
        elif r < 0.68:
            out.append(f"{utc} INFO ExtHandler ExtHandler Extension status: [('Microsoft.Azure.RecoveryServices."
                       f"VMSnapshotLinux', 'success')]")
        elif r < 0.74:
            out.append(f"{utc} WARNING ExtHandler ExtHandler Fetch failed: [HttpError] [HTTP Failed] GET "
                       f"http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- {i % 7} attempts made")
        elif r < 0.76:
            out.append(f"{t + timedelta(hours=2):%Y/%m/%d %H:%M:%S}.{t.microsecond:06d} INFO Daemon Azure Linux "
                       f"Agent Version:2.2.45")
        elif r < 0.77:
            out.append(f"{utc} INFO ExtHandler {ext} Update settings file: {i}.settings")
            out.append(f"{utc} INFO ExtHandler {ext} Enable extension: [main/handle.sh enable]")
        else:
            out.append(f"{utc} INFO EnvHandler ExtHandler Configure routes {rng.randrange(9)}")
    return "\n".join(out) + "\n"


def _span(count: int) -> timedelta:
    return timedelta(seconds=count * 3)  # about the span of _agent_log's times


def _layouts(count: int, limit: int = 7) -> dict[str, list[tuple[str, str, bytes]]]:
    """(source, path, bytes) of members in the order read; the live log comes first."""
    start = datetime(2024, 3, 10, 6, 0)
    text = _agent_log(1, start, count)
    live = text.encode()
    # the live log cut after its limit-th newest heartbeat: a rotation whose newest heartbeat is as old as the floor
    lines = text.splitlines(keepends=True)
    beats = [i for i, line in enumerate(lines) if "[HEARTBEAT]" in line]
    tie = "".join(lines[:beats[-limit] + 1]).encode()
    alarms = _agent_log(1, start, 2 * limit, warnings=0.25).encode()  # most heartbeats are warnings
    newer = _agent_log(6, start + _span(count), 4 * limit).encode()
    older = _agent_log(2, start - _span(count) - timedelta(days=1), count, "2.9.0.4",
                       VMS.replace("9218", "9100")).encode()  # facts that change in a rotation read later
    return {
        "older": [(SOURCE, LIVE, live), (SOURCE, LIVE + ".1", older),
                  (SOURCE, LIVE + ".2", _agent_log(3, start - 3 * _span(count), count).encode())],
        # a member newer than the live log, then a copy of it: the floor rises past records the timeline still holds
        "newer": [(SOURCE, LIVE, live), (SOURCE, LIVE + ".1", _agent_log(4, start + _span(count), count).encode())],
        # fewer records than the cap, then newer ones, then the first again: the floor rises past records the
        # timeline still holds, and the copies of these (alarms of the same text and time) are dropped
        "rising": [(SOURCE, LIVE, alarms), (SOURCE, LIVE + ".1", newer), (SOURCE, LIVE + ".2", alarms)],
        "equal": [(SOURCE, LIVE, live), (SOURCE, LIVE + ".1", live)],
        "tie": [(SOURCE, LIVE, live), (SOURCE, LIVE + ".1", tie)],
        "interleaved": [(SOURCE, LIVE, live), (SOURCE, LIVE + ".1", _agent_log(5, start + _span(count) / 2,
                                                                              count).encode())],
        "sources": [(SOURCE, LIVE, live), ("other_log", "var/log/other.log", older), (SOURCE, LIVE + ".1", older),
                    (SOURCE, "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/CommandExecution.log", live),
                    ("other_log", "var/log/other.log.1", live)],
    }


def _bundle(members: list[tuple[str, str, bytes]], limit: int, mode: str, size: int = 1 << 16) -> dict[str, Any]:
    """What a timeline capped at ``limit`` ends with after the members, read in order: ``lines`` the per-line
    reference (the timeline caps every kind), ``blocks`` the block path, ``floor`` the block path told the floor."""
    tl = Timeline(max_notable=limit)
    facts: list[tuple[Any, ...]] = []
    problems: list[tuple[Any, ...]] = []
    for source, path, data in members:
        ctx = ParseContext(path, source, partial(tl.count_ordinary, source), partial(tl.count_span, source),
                           max_notable=limit,
                           drop_counter=partial(tl.count_dropped, source, path) if mode != "lines" else None,
                           floor=partial(tl.floor, source) if mode == "floor" else None)
        if mode == "lines":
            reader = waagent_log.Reader(ctx)
            events: Any = [e for n, line in iter_lines(io.BytesIO(data), ctx) for e in reader.line(n, line)]
            events += list(reader.finish())
        else:
            scan = _block_scan.scanner("c")
            assert scan is not None
            events = waagent_log.parse_blocks(io.BytesIO(data), ctx, scan, size)
        for e in events:
            tl.add(e)
        facts += [(f.path, f.name, f.value, f.line, f.ts, f.text) for f in ctx.facts]
        problems += [(p.path, p.line, word(p.message)) for p in ctx.problems]
    tl.finalize(None)
    return {
        "kept": [(e.ts, e.path, e.line, e.level, e.component, e.kind, e.message, e.attrs) for e in tl.notable],
        "facts": facts, "problems": problems,
        "hours": tl.histogram(), "count": tl.count, "by_source": dict(tl.by_source), "dropped": tl.dropped(),
        "first": tl.first, "last": tl.last,
        "beyond": sorted((c.template.text, c.count, c.copies, c.first, c.last, c.example, c.path, c.line, c.level)
                         for c in tl.beyond_cap),
    }


@pytest.mark.parametrize(("limit", "count", "size"), [(7, 3000, 4096), (MAX_NOTABLE, 24_000, 1 << 16)])
@pytest.mark.parametrize("layout", ["older", "newer", "equal", "tie", "rising", "interleaved", "sources"])
def test_the_floor_changes_nothing_the_timeline_ends_with(layout: str, limit: int, count: int, size: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    members = _layouts(count, limit)[layout]
    built: list[int] = []
    build = waagent_log._Bulk.build

    def spy(self: Any, line: bytes, n: int) -> Any:
        built.append(n)
        return build(self, line, n)

    monkeypatch.setattr(waagent_log._Bulk, "build", spy)
    want = _bundle(members, limit, "lines", size)
    blocks = _bundle(members, limit, "blocks", size)
    built_without = len(built)
    floor = _bundle(members, limit, "floor", size)
    for name in want:
        assert blocks[name] == want[name], f"{name} differ without the floor"
        assert floor[name] == want[name], f"{name} differ with the floor"
    built_with = len(built) - built_without
    if layout in ("older", "sources"):  # what is older than the live log's newest is never built (a tie can be kept:
        assert built_with < built_without  # the equal layout builds as much)
    if layout == "older" and limit == 7:  # the live log holds more than 7 of every kind: the rotations build none
        assert built_with * 2 < built_without


def test_the_floor_is_the_oldest_of_the_newest_kept_and_ties_can_still_be_kept() -> None:
    tl = Timeline(max_notable=3)
    t = datetime(2024, 3, 10, 6, 0)
    ctx = ParseContext(LIVE, SOURCE)
    for i in (5, 1, 4, 4, 2):
        tl.add(ctx.event(t + timedelta(seconds=i), i, f"beat {i}", kind="agent.heartbeat"))
    assert tl.floor(SOURCE, "goalstate.fetched") is None and tl.floor("other", "agent.heartbeat") is None
    floor = tl.floor(SOURCE, "agent.heartbeat")
    assert floor is not None and floor == tl.floor(SOURCE, "agent.heartbeat")
    tl.add(ctx.event(t + timedelta(seconds=4), 9, "beat 4 again", kind="agent.heartbeat"))  # as old: kept
    tl.finalize(None)
    assert [e.message for e in tl.notable] == ["beat 4", "beat 4 again", "beat 5"]
    assert tl.dropped() == [(SOURCE, "agent.heartbeat", 3, LIVE)]


def test_no_floor_in_the_full_stream_nor_once_the_byte_budget_trimmed_a_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer import timeline as timeline_module

    t = datetime(2024, 3, 10, 6, 0)
    ctx = ParseContext(LIVE, SOURCE)
    full = Timeline(keep_all=True, max_notable=2)
    full.extend(ctx.event(t, i, "beat", kind="agent.heartbeat") for i in range(5))
    assert full.floor(SOURCE, "agent.heartbeat") is None
    monkeypatch.setattr(timeline_module, "MAX_KEPT_BYTES", 20_000)
    tl = Timeline(max_notable=10)
    tl.extend(ctx.event(t + timedelta(seconds=i), i, "beat", kind="agent.heartbeat") for i in range(10))
    assert tl.floor(SOURCE, "agent.heartbeat") is not None
    tl.extend(ctx.event(t + timedelta(seconds=i), i, "x" * 4000, kind="goalstate.fetched") for i in range(10))
    assert tl.floor(SOURCE, "agent.heartbeat") is None and tl.floor(SOURCE, "goalstate.fetched") is None


# --- whole analyses -------------------------------------------------------------------------------------------

def _report(path: Path, monkeypatch: pytest.MonkeyPatch, floor: bool, limit: int) -> dict[str, Any]:
    monkeypatch.setattr(waagent_log, "BLOCK_MIN", 1024)
    monkeypatch.setattr(api, "Timeline", partial(Timeline, max_notable=limit))
    if not floor:
        monkeypatch.setattr(Timeline, "floor", lambda self, source, kind: None)
    report = analyze(path, Options())
    monkeypatch.undo()
    extras = {k: v for k, v in report.extras.items() if k != "seconds"}
    return {**to_dict(report), "extras": extras}


def _assert_same_analysis(path: Path, monkeypatch: pytest.MonkeyPatch, limits: tuple[int, ...] = (7, MAX_NOTABLE),
                          ) -> dict[str, Any]:
    for limit in limits:
        without = _report(path, monkeypatch, False, limit)
        with_floor = _report(path, monkeypatch, True, limit)
        for name in without:
            assert with_floor[name] == without[name], f"{name} differ (cap {limit})"
    return without


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("layout", ["older", "equal", "interleaved"])
def test_a_bundle_with_gz_rotations_gives_the_same_analysis_with_and_without_the_floor(
        layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = {}
    layouts = _layouts(3000)[layout]
    for i, (_, path, data) in enumerate(layouts):  # waagent.log.1 stays plain beside .2.gz (delaycompress)
        gz = i > 1 or (i == 1 and len(layouts) == 2)
        members[path + (".gz" if gz else "")] = gzip.compress(data) if gz else data
    if layout == "older":  # a rotation inside the tar before the live log too: the floor then helps less, same result
        members = {LIVE + ".3.gz": gzip.compress(_agent_log(7, datetime(2024, 1, 1), 3000).encode()), **members}
    report = _assert_same_analysis(_tar(tmp_path / "bundle.tar.gz", members), monkeypatch)
    assert report["findings"] and report["timeline"]["events"] > 6000


@pytest.mark.parametrize("rotations", bench_large_bundle.ROTATIONS)
@pytest.mark.parametrize("mix", sorted(bench_large_bundle.MIXES))
def test_the_benchmark_bundles_give_the_same_analysis_with_and_without_the_floor(
        mix: str, rotations: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, _ = bench_large_bundle.make_bundle(tmp_path, 1, mix, rotations, records=6000)
    _assert_same_analysis(bundle, monkeypatch, (7,))


@pytest.mark.parametrize("sample", sorted(p.name for p in (ROOT / "samples").iterdir() if p.is_dir()))
def test_every_sample_gives_the_same_analysis_with_and_without_the_floor(
        sample: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_same_analysis(ROOT / "samples" / sample, monkeypatch, (7,))
