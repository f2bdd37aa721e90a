"""Helpers of the Linux state/config parser tests: reference samples, recognition, secret scans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analyzer.locale import word
from analyzer.sources import recognize_path
from analyzer.timeline import Timeline
from parsers.base import Event, ParseContext
from tests.conftest import REFDATA
from tests.parsers.windows_helpers import run

LINUX = REFDATA / "linux"


def run_as(sample: Path | bytes, bundle_path: str) -> tuple[list[Event], ParseContext]:
    """Parse a sample (file or bytes) as the member ``bundle_path`` with the parser recognition picks."""
    rec = recognize_path(bundle_path)
    assert rec is not None and rec.parser, f"no parser recognizes {bundle_path}"
    data = sample if isinstance(sample, bytes) else sample.read_bytes()
    return run(rec.parser, data, bundle_path)


def output_text(events: list[Event], ctx: ParseContext) -> str:
    """Everything a parser emitted (facts, events with attrs, problems) as one string."""
    parts = [json.dumps([f.name, f.value, f.text], default=str) for f in ctx.facts]
    parts += [json.dumps([e.message, e.component, e.attrs], default=str) for e in events]
    parts += [word(p.message) for p in ctx.problems]
    return "\n".join(parts)


def one(ctx: ParseContext, name: str) -> object:
    """The value of the only fact called ``name``."""
    values = [f.value for f in ctx.facts if f.name == name]
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def timeline_outcome(tl: Timeline, ctx: ParseContext) -> dict[str, Any]:
    """What a finalized timeline and the parser's context end with, as the tests comparing two paths of one
    parser (per line and by blocks, events and counts) compare it: kept events, facts, problems, counts per hour
    and source, what was dropped and the time range."""
    return {
        "kept": [(e.ts, e.line, e.level, e.component, e.kind, e.message, e.attrs) for e in tl.notable],
        "facts": [(f.name, f.value, f.line, f.ts, f.text) for f in ctx.facts],
        "problems": [(p.line, word(p.message)) for p in ctx.problems],
        "hours": tl.histogram(), "count": tl.count, "by_source": dict(tl.by_source), "dropped": tl.dropped(),
        "first": tl.first, "last": tl.last,
    }
