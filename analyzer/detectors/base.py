"""The detector contract: what a detector declares, what it returns, and the signature table type.

A detector serves one finding id of DESIGN.md 3.5 (one seed cause). It declares the abstract sources
and facts it reads; ``run(analysis)`` returns a :class:`~analyzer.model.Finding`, ``NotEvaluable``
(the sources it needs are absent: diagnosis turns that into missing evidence with a collection
command), or ``None`` (evaluated, nothing found). Most detectors are a table of :class:`Signature`
rows ("these events mean that") plus a few lines of logic over facts and time.

A row matches event kinds, the ``signal`` a parser's signature table gave the record, attributes, status
codes and Windows event ids: the message texts themselves live in the parsers' tables
(:mod:`parsers.signatures`), once. A row may match a message text only when its rule is about the wording
itself, and then says why (``wording=``); ``tests/test_one_home.py`` fails on a text in both places.

Detectors speak no language: evidence is a line quoted from the bundle or a
:class:`~analyzer.model.Message` (``say("evidence.heartbeat_gap", minutes=119, record=...)``), and
the title, meaning and remediation of a finding come from the locale files at render time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, lru_cache
from itertools import chain
from typing import Any, ClassVar

from analyzer.detectors.scope import ANY_SIGNAL, Scope, Shape, about_vmsnapshot, as_int
from analyzer.model import Analysis, Evidence, Finding, Message, say, severity_rank
from analyzer.timeline import iso
from parsers.base import Event, Fact

MAX_EVIDENCE = 8
#: records of another product (Windows Server Backup): a row that takes any kind never reads them
FOREIGN_KINDS = frozenset({"backup.other"})
MAX_TEXT = 400
EPISODE_GAP = timedelta(minutes=10)  # a finding's records of one file this close together are one episode
EPISODE_MARGIN = timedelta(minutes=1)  # the exception a crash record reports comes just before it


@dataclass(frozen=True)
class Signature:
    """One known line or event: which kinds, which message pattern, which extension status codes."""

    id: str  # stable reference, e.g. "L45" (linux-formats §6) or "W-GetVersions"
    kinds: frozenset[str] = frozenset()  # event kinds; empty = any notable event
    pattern: str = ""  # regex searched in the message, case-insensitive; "" = any message
    severity: str = "error"
    versions: str = ""  # which agent/extension versions emit it, as documented
    codes: frozenset[int] = frozenset()  # VMSnapshot status codes in attrs ``ext_code``/``code``
    event_ids: frozenset[int] = frozenset()  # Windows event ids in attrs ``event_id``
    provider: str = ""  # regex on the Windows event provider (attrs ``provider``)
    vmsnapshot_only: bool = False  # the event must concern the backup extension
    exclude: str = ""  # regex that disqualifies a message (known harmless variants)
    # attributes that must (``where``) or must not (``unless``) hold one of the values (lower case; None: any)
    where: tuple[tuple[str, frozenset[str] | None], ...] = ()
    unless: tuple[tuple[str, frozenset[str] | None], ...] = ()
    wording: str = ""  # why ``pattern``/``exclude`` read the message: a rule about the wording itself
    _rx: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _ex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rx", re.compile(self.pattern, re.IGNORECASE) if self.pattern else None)
        object.__setattr__(self, "_ex", re.compile(self.exclude, re.IGNORECASE) if self.exclude else None)

    def matches(self, e: Event) -> bool:
        if self.kinds and e.kind not in self.kinds:
            return False
        if not self.kinds and e.kind in FOREIGN_KINDS:
            return False
        if self.codes and not self._code_matches(e.attrs):
            return False
        if self.event_ids and as_int(e.attrs.get("event_id")) not in self.event_ids:
            return False
        if self._rx is not None and not self._rx.search(e.message):
            return False
        if self._ex is not None and self._ex.search(e.message):
            return False
        if self.provider and not re.search(self.provider, str(e.attrs.get("provider", "")), re.IGNORECASE):
            return False
        if not all(_holds(e.attrs.get(key), values) for key, values in self.where):
            return False
        if any(_holds(e.attrs.get(key), values) for key, values in self.unless):
            return False
        return not self.vmsnapshot_only or about_vmsnapshot(e)

    def _code_matches(self, attrs: dict[str, Any]) -> bool:
        return any(as_int(attrs.get(k)) in self.codes for k in ("ext_code", "code", "status_code"))


def _holds(value: Any, wanted: frozenset[str] | None) -> bool:
    """An attribute has one of the wanted values (any element of a list; None wanted: any value at all)."""
    if value is None or value == "":
        return False
    if wanted is None:
        return True
    values = value if isinstance(value, list | tuple | set | frozenset) else (value,)
    return any(str(v).lower() in wanted for v in values)


def _conditions(given: dict[str, str | Iterable[str] | None]) -> tuple[tuple[str, frozenset[str] | None], ...]:
    return tuple((key, None if v is None else frozenset(x.lower() for x in ([v] if isinstance(v, str) else v)))
                 for key, v in given.items())


def sig(id: str, kinds: str | Iterable[str] = (), pattern: str = "", severity: str = "error", *,
        signals: Iterable[str] = (), where: dict[str, str | Iterable[str] | None] | None = None,
        unless: dict[str, str | Iterable[str] | None] | None = None, **kw: Any) -> Signature:
    """Shorthand for a table row: ``kinds`` may be one kind or several; ``signals`` the parser signals it
    takes (``where={"signal": ...}``); ``where``/``unless`` map attributes to one value, several, or None
    (any value)."""
    ks = frozenset([kinds] if isinstance(kinds, str) else kinds)
    for key in ("codes", "event_ids"):
        if key in kw:
            kw[key] = frozenset(kw[key])
    conditions = dict(where or {})
    if signals:
        conditions["signal"] = tuple(signals)
    return Signature(id, ks, pattern, severity, where=_conditions(conditions), unless=_conditions(unless or {}),
                     **kw)


def text_sig(id: str, pattern: str, severity: str = "error", **kw: Any) -> Signature:
    """A row that matches a message pattern whatever kind the parser gave the record."""
    return sig(id, (), pattern, severity, **kw)


@dataclass
class Hit:
    """One piece of evidence, judged: ``live`` = about the failing backup, not recovered since."""

    ts: datetime | None
    path: str
    line: int | None
    text: str | Message  # the record as quoted from the bundle, or a sentence composed by the detector
    severity: str
    live: bool
    ref: str = ""

    @classmethod
    def of_event(cls, e: Event, severity: str, live: bool, ref: str = "") -> Hit:
        return cls(e.ts, e.path, e.line, e.message, severity, live, ref)

    @classmethod
    def of_fact(cls, f: Fact, severity: str, live: bool = True, text: str | Message = "", ref: str = "") -> Hit:
        """Evidence from a fact: ``text`` when given, else the line the fact was read from, else its value."""
        return cls(f.ts, f.path, f.line, text or f.text or say("evidence.fact", name=f.name, value=str(f.value)),
                   severity, live, ref)

    @property
    def key(self) -> str:
        """What makes two hits the same evidence (numbers aside): the text, or the message and its values."""
        if isinstance(self.text, Message):
            return f"{self.text.key} {sorted((k, str(v)) for k, v in self.text.params.items())}"
        return self.text

    def evidence(self) -> Evidence:
        if isinstance(self.text, Message):
            return Evidence(self.path, self.line, iso(self.ts) or None, "", self.text)
        text = self.text if len(self.text) <= MAX_TEXT else self.text[: MAX_TEXT - 3] + "..."
        return Evidence(self.path, self.line, iso(self.ts) or None, text)


@dataclass
class NotEvaluable:
    """The detector could not judge: none of the sources or facts it needs is in the bundle."""

    detector: str
    missing: list[str]
    #: set when the detector ran but one question stays open without these sources: why they are wanted (then
    #: every one of them that can be collected on the bundle's OS is asked for, not only the first)
    why: Message | None = None


class Detector:
    """Base class: declare the class attributes, override :meth:`collect` when signatures are not enough."""

    id: ClassVar[str]
    seed_cause: ClassVar[int | None] = None
    error_codes: ClassVar[tuple[str, ...]] = ()
    ext_codes: ClassVar[tuple[int, ...]] = ()
    sources: ClassVar[tuple[str, ...]] = ()  # evidence names source rows prove (analyzer/sources.py); any one
    # suffices; the first that can be collected on the bundle's OS is asked for when none is present
    facts: ClassVar[tuple[str, ...]] = ()  # fact names that also make it evaluable
    os: ClassVar[str] = "any"  # linux | windows | any
    severity: ClassVar[str] = "error"  # severity of derived (non-signature) evidence
    confidence: ClassVar[float] = 0.8
    signatures: ClassVar[tuple[Signature, ...]] = ()
    recovery_kinds: ClassVar[tuple[str, ...]] = ()  # records that show the problem went away
    #: its failures can pass on their own (a network call timed out once): a lone burst of live records that the
    #: agent's normal work follows up to the end of the evidence, with no failed run around it, is not live
    transient: ClassVar[bool] = False
    # English texts of a third-party detector without locale entries (built-in ones are in analyzer/locale/)
    title: ClassVar[str] = ""
    meaning: ClassVar[str] = ""
    remediation: ClassVar[tuple[str, ...]] = ()

    def applies(self, analysis: Analysis) -> bool:
        return self.os == "any" or analysis.os in (self.os, "unknown")

    def evaluable(self, analysis: Analysis) -> bool:
        return analysis.has(*self.sources) or any(analysis.fact(n) is not None for n in self.facts)

    def run(self, analysis: Analysis, scope: Scope | None = None) -> Finding | NotEvaluable | None:
        if not self.applies(analysis):
            return None
        if not self.evaluable(analysis):
            return NotEvaluable(self.id, list(self.sources))
        scope = scope or Scope.of(analysis)
        hits = self.collect(analysis, scope)
        if not hits:
            return None
        notes = list(self.notes(analysis, scope, hits))
        passed = passed_failure(scope, hits) if self.transient else None
        if passed is not None:
            notes.append(passed)
        return self.finding(hits, notes)

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        """Events that match the signature table, each judged live or recovered."""
        return self.match(scope, self.signatures)

    def match(self, scope: Scope, signatures: Iterable[Signature]) -> list[Hit]:
        """Hits of the events that match a row of ``signatures`` (the first that matches), in event order. Only
        the events of the shapes (kind, signal, attribute names) that some row can match are tried, each with
        those rows only; a message that no text-only row finds (``_gate``) is tried without them."""
        table = tuple(signatures)
        gate, unpatterned = _gate(table)
        shapes = scope.shapes()
        rows: list[tuple[Signature, ...]] = []
        rows_without_text: list[tuple[Signature, ...]] = []
        tried: list[list[int]] = []
        for key, positions in zip(shapes.keys, shapes.positions, strict=True):
            found = _candidates(table, key)
            plain = found if gate is None else _candidates(unpatterned, key)
            rows.append(found)
            rows_without_text.append(found if plain == found else plain)
            if found:
                tried.append(positions)
        hits = []
        events, of = scope.events, shapes.of
        for i in sorted(chain.from_iterable(tried)) if len(tried) > 1 else (tried[0] if tried else ()):
            e, k = events[i], of[i]
            candidates = rows[k]
            if rows_without_text[k] is not candidates and gate is not None and gate.search(e.message) is None:
                candidates = rows_without_text[k]
            for s in candidates:
                if s.matches(e):
                    hits.append(Hit.of_event(e, s.severity, scope.live(e.ts, self.recovery_kinds), s.id))
                    break
        return hits

    def notes(self, analysis: Analysis, scope: Scope, hits: list[Hit]) -> list[Message]:
        """Sentences about values (versions, limits) shown after the finding's meaning."""
        return []

    def finding(self, hits: list[Hit], notes: list[Message] | None = None) -> Finding:
        live = [h for h in hits if h.live]
        severity = max((h.severity for h in live), key=severity_rank) if live else "info"
        dated = sorted(h.ts for h in hits if h.ts is not None)
        own = {"title": self.title, "meaning": self.meaning, "remediation": list(self.remediation)}
        return Finding(
            id=self.id,
            severity=severity,
            confidence=self.confidence if live else round(self.confidence / 2, 2),
            seed_cause=self.seed_cause,
            error_codes=list(self.error_codes) + [f"ext {c}" for c in self.ext_codes],
            evidence=[h.evidence() for h in strongest(hits)],
            notes=list(notes or []),
            records=len(hits),
            live_records=len(live),
            first_seen=iso(dated[0]) if dated else None,
            last_seen=iso(dated[-1]) if dated else None,
            texts=own if self.title else None,
            explains=frozenset((h.path, h.line) for h in hits if h.line is not None),
            episodes=episodes(hits),
        )


def passed_failure(scope: Scope, hits: list[Hit]) -> Message | None:
    """When the live ``hits`` are one burst of records (at most :data:`EPISODE_GAP` apart) that no failed or
    unfinished backup run shows and that the agent's normal work follows up to the end of the evidence
    (:meth:`Scope.worked_after`), they passed: marked not live, and the sentence that says so. A failure that
    repeats up to the collection, one a failed run shows, or one after which the agent went quiet stays live."""
    live = [h for h in hits if h.live]
    times = sorted(h.ts for h in live if h.ts is not None)
    if not times or len(times) < len(live) or times[-1] - times[0] > EPISODE_GAP:
        return None
    if not scope.runs or scope.unfinished() is not None or any(scope.around_failed_run(t) for t in times):
        return None
    if not scope.worked_after(times[-1]):
        return None
    for h in live:
        h.live = False
    assert scope.end is not None  # worked_after needs an end of the evidence
    return say("note.failure_passed", records=len(live), hours=round((scope.end - times[-1]).total_seconds() / 3600))


def episodes(hits: Iterable[Hit]) -> tuple[tuple[str, datetime, datetime], ...]:
    """The bursts of quoted records in each file: at least two, at most :data:`EPISODE_GAP` apart (a crash loop
    from its first crash to its last), each opened :data:`EPISODE_MARGIN` earlier for the exception the first
    crash reports. A lone record is no episode: it explains itself only."""
    by_path: dict[str, list[datetime]] = {}
    for h in hits:
        if h.ts is not None and h.line is not None and isinstance(h.text, str):
            by_path.setdefault(h.path, []).append(h.ts)
    spans = []
    for path, times in by_path.items():
        times.sort()
        burst = [times[0]]
        for t in [*times[1:], None]:
            if t is not None and t - burst[-1] <= EPISODE_GAP:
                burst.append(t)
                continue
            if len(burst) > 1:
                spans.append((path, burst[0] - EPISODE_MARGIN, burst[-1]))
            if t is not None:
                burst = [t]
    return tuple(spans)


@cache
def _gate(table: tuple[Signature, ...]) -> tuple[re.Pattern[str] | None, tuple[Signature, ...]]:
    """One expression for the message patterns of the rows that take any kind, and the other rows."""
    patterns = [s.pattern for s in table if s.pattern and not s.kinds]
    if not patterns:
        return None, table
    gate = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    return gate, tuple(s for s in table if s.kinds or not s.pattern)


_CODE_KEYS = ("ext_code", "code", "status_code")


@cache
def _needs(s: Signature) -> tuple[tuple[str, ...], ...]:
    """The attributes a row reads that an event must hold for the row to match it (one of each group)."""
    needs = [(key,) for key, _ in s.where]
    if s.codes:
        needs.append(_CODE_KEYS)
    if s.event_ids:
        needs.append(("event_id",))
    if s.provider and re.search(s.provider, "", re.IGNORECASE) is None:
        needs.append(("provider",))
    return tuple(needs)


@lru_cache(maxsize=4096)  # (table, shape): a batch meets few shapes, bounded all the same
def _candidates(table: tuple[Signature, ...], shape: Shape) -> tuple[Signature, ...]:
    """The rows of ``table`` that can match an event of ``shape``, in table order: the others fail their kind
    test, their condition on the signal or a test of an attribute the event does not hold, whatever else the
    event holds."""
    kind, signal, names = shape

    def takes(s: Signature) -> bool:
        if not (kind in s.kinds if s.kinds else kind not in FOREIGN_KINDS):
            return False
        if not all(any(key in names for key in group) for group in _needs(s)):
            return False
        if signal is ANY_SIGNAL:
            return True
        return (all(_holds(signal, values) for key, values in s.where if key == "signal")
                and not any(_holds(signal, values) for key, values in s.unless if key == "signal"))
    return tuple(s for s in table if takes(s))


def strongest(hits: list[Hit], limit: int = MAX_EVIDENCE) -> list[Hit]:
    """At most ``limit`` hits: live before recovered, severe before mild, one per distinct text first,
    newest first within a rank; returned in time order."""
    seen: set[str] = set()
    firsts, repeats = [], []
    order = sorted(hits, key=lambda h: (not h.live, -severity_rank(h.severity), -(h.ts.timestamp() if h.ts else 0)))
    for h in order:
        key = re.sub(r"\d+", "#", h.key)[:120]
        (repeats if key in seen else firsts).append(h)
        seen.add(key)
    chosen = (firsts + repeats)[:limit]
    return sorted(chosen, key=lambda h: (h.ts is not None, h.ts.timestamp() if h.ts else 0, h.path, h.line or 0))


def fact_values(analysis: Analysis, name: str) -> list[tuple[Fact, dict[str, Any]]]:
    """Facts of ``name`` whose value is a dict, with the dict."""
    return [(f, f.value) for f in analysis.facts_named(name) if isinstance(f.value, dict)]


def conf_value(analysis: Analysis, key: str) -> Fact | None:
    """The last ``conf.<key>`` fact (waagent.conf as written)."""
    return analysis.fact(f"conf.{key}")


NO_VALUES = ("n", "no", "false", "0")  # how waagent.conf and the agent's log write a switch that is off


def is_no(value: Any) -> bool:
    return str(value).strip().strip("\"'").lower() in NO_VALUES

