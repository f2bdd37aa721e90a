"""``Detector.match`` walks only the events whose shape (kind, signal, attribute names) some row can match: it must
find exactly what trying every row on every event finds (the reference), on every sample and on generated events
built from every table's own kinds, signals, attributes, codes, event ids and providers, present or not."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from analyzer.api import Options, parse_bundle
from analyzer.detectors import BUILTIN, FAMILIES
from analyzer.detectors.base import Detector, Hit, Signature
from analyzer.detectors.scope import Scope, as_int
from analyzer.evaluate import sample_dirs
from tests.conftest import ROOT
from tests.detectors.helpers import analysis, ev

SAMPLES = sample_dirs(ROOT / "samples")


def _tables() -> list[tuple[Signature, ...]]:
    """Every signature table of the built-in detectors: their ``signatures`` and the tables their modules define."""
    found = [cls.signatures for cls in BUILTIN if cls.signatures]
    for module in FAMILIES:
        for value in vars(module).values():
            if isinstance(value, tuple) and value and all(isinstance(s, Signature) for s in value):
                found.append(value)
    return list(dict.fromkeys(found))


TABLES = _tables()


def reference(scope: Scope, table: tuple[Signature, ...], recovery: tuple[str, ...]) -> list[Hit]:
    hits = []
    for e in scope.events:
        for s in table:
            if s.matches(e):
                hits.append(Hit.of_event(e, s.severity, scope.live(e.ts, recovery), s.id))
                break
    return hits


def _check(scope: Scope) -> None:
    for cls in BUILTIN:
        d = cls()
        for table in TABLES:
            assert d.match(scope, table) == reference(scope, table, d.recovery_kinds), (cls.id, table[0].id)


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_table_finds_on_every_sample_what_every_row_on_every_event_finds(sample) -> None:  # type: ignore[no-untyped-def]
    parsed, _ = parse_bundle(sample, Options())
    _check(Scope.of(parsed))


def _values(s: Signature, rng: random.Random) -> Iterator[tuple[str, Any]]:
    """Attributes that may satisfy the row ``s`` or narrowly miss it (absent, empty, another value, another type)."""
    for key, wanted in s.where:
        choice = rng.random()
        if choice < 0.6:
            value: Any = rng.choice(sorted(wanted)) if wanted else "yes"
            yield key, [value, "other"] if rng.random() < 0.2 else value.upper() if rng.random() < 0.3 else value
        elif choice < 0.8:
            yield key, rng.choice(["", "unrelated"])
    for key, _ in s.unless:
        if rng.random() < 0.3:
            yield key, rng.choice(["x", "log_collector", "true"])
    if s.codes:
        code = rng.choice([*sorted(s.codes), 0, 999])
        yield rng.choice(["ext_code", "code", "status_code"]), rng.choice([code, str(code), f" {code} ", True])
    if s.event_ids:
        eid = rng.choice([*sorted(s.event_ids), 1])
        yield "event_id", rng.choice([eid, str(eid), None])
    if s.provider and rng.random() < 0.8:
        yield "provider", rng.choice(["VSS", "volsnap", "Microsoft-Windows-Resource-Exhaustion-Detector", "Other"])
    if rng.random() < 0.3:
        yield "extension", rng.choice(["Microsoft.Azure.RecoveryServices.VMSnapshotLinux", "Other.Extension"])


def _messages(table: tuple[Signature, ...]) -> list[str]:
    """Texts some rows' patterns find (their literal words) and ones none finds."""
    words = ["nothing in particular", "VMSnapshot status", "Other failure"]
    for s in table:
        for text in (s.pattern, s.exclude):
            plain = "".join(c if c.isalnum() or c == " " else " " for c in text).split()
            if plain:
                words.append(" ".join(plain[:3]))
    return words


def _events(rng: random.Random, n: int) -> list[Any]:
    rows = [s for table in TABLES for s in table]
    kinds = sorted({k for s in rows for k in s.kinds} | {"backup.other", "agent.heartbeat", "generic"})
    texts = [m for table in TABLES for m in _messages(table)]
    events = []
    for i in range(n):
        row = rng.choice(rows)
        kind = rng.choice(sorted(row.kinds)) if row.kinds and rng.random() < 0.8 else rng.choice(kinds)
        attrs = dict(_values(row, rng))
        if rng.random() < 0.2:  # a signal that is not one string, or none where a row wants one
            attrs["signal"] = rng.choice([["a", "b"], None, ("goal_state_processing_failed",)])
        events.append(ev(rng.choice([None, i / 7]), kind, rng.choice(texts), rng.choice(["info", "warning", "error"]),
                         line=i + 1, **{k: v for k, v in attrs.items() if v is not None or rng.random() < 0.5}))
    return events


@pytest.mark.parametrize("seed", range(6))
def test_every_table_finds_on_generated_events_what_every_row_on_every_event_finds(seed: int) -> None:
    rng = random.Random(seed)
    events = _events(rng, 400)
    assert len(TABLES) >= len([c for c in BUILTIN if c.signatures])
    _check(Scope.of(analysis(events)))


class _Mixed(Detector):
    """A third-party table: a text row, rows on attributes a shape lacks, and a provider row that takes any value."""

    id = "THIRD_PARTY"
    signatures = (
        Signature("text", pattern=r"disk (full|quota)"),
        Signature("prov", provider=r".*", event_ids=frozenset({7})),
        Signature("where", where=(("state", None),)),
        Signature("any"),
    )


def test_a_third_party_table_matches_as_every_row_on_every_event() -> None:
    events = [ev(1, "x", "disk full"), ev(2, "y", "ok", event_id="7"), ev(3, "y", "ok", event_id=7, provider=""),
              ev(4, "z", "ok", state=""), ev(5, "z", "ok", state="on"), ev(6, "backup.other", "disk quota")]
    scope = Scope.of(analysis(events))
    hits = _Mixed().match(scope, _Mixed.signatures)
    assert hits == reference(scope, _Mixed.signatures, ())
    assert [h.ref for h in hits] == ["text", "prov", "prov", "any", "where"]


@pytest.mark.parametrize("value", [None, 0, 7, -3, True, False, "12", " 12 ", "x", 1.0, "1.5", b"4", [1]])
def test_as_int_reads_what_int_of_its_text_reads(value: Any) -> None:
    try:
        expected: int | None = int(str(value).strip())
    except (TypeError, ValueError):
        expected = None
    assert as_int(value) == expected
