"""What a bundle keeps is bounded whatever its logs hold (issue 15, item 5): facts (backup attempts among them)
and parse problems are capped per member and per bundle with what goes beyond counted and said; kept notable
events are cut and capped in bytes; the full-stream timeline export merges its spilled runs a piece at a time and
still gives every record once, in order. The peak RSS these bounds give is measured by
bench/bench_hostile_memory.py (docs/performance.md)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import analyzer.timeline as timeline_module
from analyzer import model
from analyzer.api import parse_bundle
from analyzer.locale import word
from analyzer.timeline import Timeline
from parsers import base
from parsers.base import Event, ParseContext
from parsers.kept import MAX_KEPT_MESSAGE

EXT = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _enable(i: int) -> str:
    return f"{(T0 + timedelta(seconds=i)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} INFO ExtHandler [{EXT}] " \
           f"Enable extension: [main/handle.sh enable]\n"


def _bad_time(i: int) -> str:
    return f"2024-13-45T99:99:{i % 60:02d}.000000Z INFO ExtHandler ExtHandler line {i}\n"


def _folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("members", [1, 3])
def test_facts_and_problems_are_capped_and_what_goes_beyond_is_counted(tmp_path: Path, members: int,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_FACTS_PER_NAME", 50)
    monkeypatch.setattr(base, "MAX_PROBLEMS", 10)
    monkeypatch.setattr(model, "MAX_BUNDLE_FACTS_PER_NAME", 120)
    monkeypatch.setattr(model, "MAX_BUNDLE_PROBLEMS", 25)
    per_member = 173
    files = {f"var/log/waagent.log.{m}" if m else "var/log/waagent.log":
             "".join(_enable(m * 1000 + i) + _bad_time(i) for i in range(per_member)) for m in range(members)}
    analysis, _ = parse_bundle(_folder(tmp_path / "b", files))
    invocations = analysis.facts_named("vmsnapshot.invocation")
    assert len(invocations) == min(50 * members, 120)
    # the newest are kept: the last member's last records are among them
    newest = max(f.value["ts"] for f in invocations)
    last = T0 + timedelta(seconds=(members - 1) * 1000 + per_member - 1)
    assert newest.startswith(last.strftime("%Y-%m-%dT%H:%M:%S"))
    messages = [word(p.message) for p in analysis.problems]
    assert len(analysis.problems) <= 25 + 2
    assert f"{per_member - 50} older vmsnapshot.invocation facts were counted but not kept" in " ".join(messages)
    rows = [s for s in analysis.sources if s.parser]
    assert len(rows) == members
    for row in rows:  # each member's row says what it counted and did not keep
        assert any("counted but not kept" in word(p) for p in row.problems)
        assert any(f"{per_member - 10} more problems were counted" in word(p) for p in row.problems)
    if 50 * members > 120:
        assert any(f"{50 * members - 120} older vmsnapshot.invocation facts" in m for m in messages)


@pytest.mark.parametrize("names", [1, 4])
def test_a_context_keeps_the_newest_facts_of_each_name(names: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MAX_FACTS_PER_NAME", 7)
    ctx = ParseContext("x.log", "waagent_log")
    for i in range(100):
        ctx.fact(f"name.{i % names}", i, line=i)
    ctx.finish()
    by_name = Counter(f.name for f in ctx.facts)
    assert by_name == {f"name.{k}": 7 for k in range(names)}
    assert [f.line for f in ctx.facts] == sorted(f.line for f in ctx.facts)  # order of arrival kept
    assert min(f.line for f in ctx.facts) == 100 - 7 * names
    assert len(ctx.problems) == names


def _event(ts: datetime, i: int, notable: bool, size: int = 40) -> Event:
    level = "warning" if notable else "info"
    kind = "wireserver.error" if notable else "log"
    return Event(ts, "waagent_log", "var/log/waagent.log", i, level, "", kind, f"record {i} " + "y" * size)


@pytest.mark.parametrize("fan_in", [2, 3, 16])
def test_the_full_stream_export_merges_its_runs_in_pieces_and_keeps_every_record(
        fan_in: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline_module, "SPILL_EVENTS", 37)
    monkeypatch.setattr(timeline_module, "_RUN_PIECE_BYTES", 2000)
    monkeypatch.setattr(timeline_module, "_MERGE_FAN_IN", fan_in)
    rng = random.Random(fan_in)
    tl = Timeline(keep_all=True, max_notable=5)
    times = [T0 + timedelta(seconds=rng.randrange(10_000)) for _ in range(1500)]
    for i, ts in enumerate(times):
        tl.add(_event(ts, i, notable=i % 4 == 0))
    tl.finalize(None)
    out = list(tl.events())
    assert len(out) == len(times)  # nothing of the full stream is dropped, notable events beyond the cap neither
    assert [e.ts for e in out] == sorted(times)
    assert sorted(e.line for e in out) == list(range(len(times)))
    tl.close()


def test_kept_notable_events_are_cut_and_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline_module, "MAX_KEPT_BYTES", 400_000)
    tl = Timeline()
    for i in range(2000):  # each one a distinct 64 KiB warning
        tl.add(_event(T0 + timedelta(seconds=i), i, notable=True, size=64 * 1024))
    tl.finalize(None)
    assert tl.notable, "the newest are kept"
    assert all(len(e.message) <= MAX_KEPT_MESSAGE + 1 for e in tl.notable)
    assert all(e.attrs["message_length"] > MAX_KEPT_MESSAGE for e in tl.notable)
    assert sum(len(e.message) + 500 for e in tl.notable) <= 400_000
    assert tl.notable[-1].line == 1999
    assert tl.count == 2000
