"""The pipeline's data types: the options of an analysis and of its rendering, what detectors read
(:class:`Analysis`), and the report object that ``analyze()`` returns and every output format renders
(DESIGN.md 3.3).

The report holds no language: what the tool says in its own words is a :class:`Message` (a locale key
and its parameters), worded at render time from ``analyzer/locale/<lang>.json``
(``analyzer.report.wording``). Only lines quoted from the bundle are text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from analyzer.errors import MessageError
from analyzer.intake.limits import Limits
from analyzer.timeline import Timeline, iso_seconds, parse_iso
from parsers.base import Fact, Message, Problem, keep_newest, say

__all__ = ["Message", "say"]  # re-exported from parsers.base: parsers word their problems with them too

SCHEMA_VERSION = "1"
SEVERITIES = ("info", "warning", "error", "critical")  # ascending


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass
class Evidence:
    path: str
    line: int | None
    ts: str | None  # ISO-8601 UTC with Z, or None
    text: str  # the record as quoted from the bundle; "" when ``message`` composes the evidence
    message: Message | None = None  # a sentence the detector composed (a value, a gap, a missing record)


@dataclass
class Finding:
    """What a detector found: no wording. Title, meaning and remediation come from the locale files by
    ``id``; ``notes`` are the detector's own sentences (versions, values) shown after the meaning."""

    id: str
    severity: str
    confidence: float
    seed_cause: int | None
    error_codes: list[str]
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    records: int = 0  # records that matched
    live_records: int = 0  # of them about the failing backup; 0 = recovered before it (context only)
    first_seen: str | None = None
    last_seen: str | None = None
    root_cause: bool = False
    caused_by: list[str] = field(default_factory=list)
    fingerprint: str = ""  # stable across bundles: id plus normalized evidence (analyzer.fingerprint)
    # a detector's own English title/meaning/remediation: a plugin without locale entries, or a stored
    # report written before the texts were worded at render time
    texts: dict[str, Any] | None = None
    # (path, line) of every record that matched: the records this finding explains (analyzer.unexplained);
    # not part of the JSON report
    explains: frozenset[tuple[str, int]] = field(default_factory=frozenset, repr=False, compare=False,
                                                 metadata={"verbatim": True})
    # (path, first, last): the spans of one file where its records came in a burst (the episode it explains, e.g.
    # a crash loop): that file's warnings and errors inside a span are explained too; not part of the JSON report
    episodes: tuple[tuple[str, datetime, datetime], ...] = field(default=(), repr=False, compare=False,
                                                                 metadata={"verbatim": True})


@dataclass
class UnexplainedError:
    """Warning and error records of one template in the window that no finding explains
    (``analyzer.unexplained``): a lead, not a verdict. ``template`` is the records' first line with its values
    masked (``<num>``, ``<path>``, ``<*>``...); ``example`` is one of them, quoted from the bundle."""

    template: str
    level: str  # the highest level among them: warning | error | critical
    source: str  # the parser of the example's file
    count: int
    first: str | None  # ISO-8601 UTC with Z
    last: str | None
    example: Evidence
    minutes_to_backup: int | None = None  # nearest record to the failing backup: <0 before it, >0 after, 0 during
    # of them, those no successful backup follows (as ``Finding.live_records``); 0 = recovered, context only;
    # None = not judged (a report of an earlier version): taken as live
    live_records: int | None = None

    @property
    def live(self) -> bool:
        """About the failing backup: some record of it is not followed by a successful backup."""
        return self.live_records is None or self.live_records > 0


@dataclass
class MissingEvidence:
    source: str
    why: Message
    collect: str  # a command to paste as it is ("" when no command collects it on this OS)
    then: Message | None = None  # what to do with its result (attach this file), worded at render time


@dataclass
class SourceEntry:
    path: str
    parser: str | None
    status: str  # parsed | empty (accepted, but no record in it) | skipped | failed
    events: int = 0
    problems: list[Message] = field(default_factory=list)  # the parser's first problems (``problem.*`` keys)
    error: Message | None = None  # what broke (an exception, an intake limit), its outside text a parameter
    note: Message | None = None  # why skipped or failed, in the tool's words (worded at render time)


@dataclass
class Verdict:
    status: str  # problems_found | healthy | inconclusive
    root_cause: str | None
    summary: list[Message]


@dataclass
class BundleInfo:
    name: str
    sha256: str
    bytes: int
    layout: str
    os: str  # linux | windows | unknown
    host: str | None
    agent_version: str | None = None  # the guest agent's (goal-state agent on Linux)
    extension_version: str | None = None  # the backup (VMSnapshot) extension's


@dataclass
class Report:
    tool: dict[str, str]
    bundle: BundleInfo
    verdict: Verdict
    findings: list[Finding]
    missing_evidence: list[MissingEvidence]
    sources: list[SourceEntry]
    timeline: dict[str, Any]
    redactions: dict[str, Any] = field(default_factory=lambda: {"count": 0, "by_kind": {}})
    schema_version: str = SCHEMA_VERSION
    # beyond DESIGN 3.3: what the HTML picture, the terminal's timing line and the batch catalog read
    # (histogram, backup_attempts, facts, tz, seconds); kept in the JSON report so that it renders again
    extras: dict[str, Any] = field(default_factory=dict)
    unexplained: list[UnexplainedError] = field(default_factory=list)  # ranked, the likeliest lead first

    def max_severity(self) -> str | None:
        ranks = [severity_rank(f.severity) for f in self.findings]
        return SEVERITIES[max(ranks)] if ranks else None


@dataclass
class Options:
    """How to analyze. The language is not one of them: it belongs to rendering (:class:`RenderOptions`).

    ``since``/``until`` bound the records detectors judge: an aware datetime, or an ISO-8601 string (UTC
    unless it names an offset). A bad time or an inverted window raises :class:`OptionsError` (a
    ``ValueError``) here, naming it.
    """

    since: datetime | str | None = None
    until: datetime | str | None = None
    limits: Limits = field(default_factory=Limits)
    redact: bool = True
    obfuscate: bool = False
    keep_all_events: bool = False  # the full timeline (``bundle-analyze timeline``)

    def __post_init__(self) -> None:
        self.since = _bound("since", self.since)
        self.until = _bound("until", self.until)
        if self.since is not None and self.until is not None and self.since > self.until:
            raise OptionsError(say("option.window_inverted", since=iso_seconds(self.since),
                                   until=iso_seconds(self.until)))


class OptionsError(MessageError, ValueError):
    """An option of an analysis that cannot be used (a bad time, an inverted window); an ``option.*`` message."""


def _bound(name: str, value: datetime | str | None) -> datetime | None:
    """A window bound as aware UTC; a naive datetime is UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return parse_iso(value)
        except ValueError:
            pass
    if isinstance(value, str) and not value.strip():  # an empty shell variable: say so rather than judge everything
        raise OptionsError(say("option.time_empty", option=f"--{name}"))
    raise OptionsError(say("option.time_invalid", option=f"--{name}", value=repr(value)))


@dataclass
class RenderOptions:
    """How to render a report (``analyzer.report.render``): the same analysis renders in any of these."""

    format: str = "text"  # text | json | html
    lang: str = "en"  # en | cs
    quiet: bool = False  # text: only the verdict line
    plain: bool = False  # text: no colours


MAX_BUNDLE_FACTS_PER_NAME = 5_000  # facts of one name kept over a whole bundle (the newest)
MAX_BUNDLE_PROBLEMS = 1_000  # parse problems kept over a whole bundle (the first)


@dataclass
class Collected:
    """The facts and parse problems of a bundle's members, bounded like each member's (``ParseContext``):
    the newest :data:`MAX_BUNDLE_FACTS_PER_NAME` facts of each name and the first :data:`MAX_BUNDLE_PROBLEMS`
    problems; what goes beyond is counted and said in one problem each (:meth:`finish`)."""

    facts: list[Fact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    facts_dropped: Counter[str] = field(default_factory=Counter)
    problems_dropped: int = 0
    last: list[Fact] = field(default_factory=list)  # the facts of the member added last, all of them
    _counts: Counter[str] = field(default_factory=Counter)

    def add(self, facts: list[Fact], problems: list[Problem]) -> None:
        self.last = facts
        self.facts.extend(facts)
        self._counts.update(f.name for f in facts)
        if any(self._counts[f.name] > MAX_BUNDLE_FACTS_PER_NAME for f in facts):
            self.facts_dropped += keep_newest(self.facts, MAX_BUNDLE_FACTS_PER_NAME, self._counts)
        room = max(0, MAX_BUNDLE_PROBLEMS - len(self.problems))
        self.problems.extend(problems[:room])
        self.problems_dropped += max(0, len(problems) - room)

    def finish(self, path: str) -> None:
        for name, n in sorted(self.facts_dropped.items()):
            self.problems.append(Problem(path, None, say("problem.facts_dropped_bundle", n=n, name=name,
                                                         cap=MAX_BUNDLE_FACTS_PER_NAME)))
        if self.problems_dropped:
            self.problems.append(Problem(path, None, say("problem.problems_dropped_bundle", n=self.problems_dropped,
                                                         cap=MAX_BUNDLE_PROBLEMS)))


@dataclass
class Analysis:
    """Everything detectors may look at: facts, the timeline, and which sources were present."""

    facts: list[Fact]
    timeline: Timeline
    sources: list[SourceEntry]
    present: dict[str, list[str]]  # evidence name (a source's name and what it proves) -> member paths
    problems: list[Problem]
    os: str
    layout: str
    options: Options
    tz_source: Message | None = None  # how the time zone was found, when the report should say it
    # reading stopped before the end of the bundle: "time" (--timeout) or "budget" (a bundle-wide limit), or
    # "damaged": an archive or member of it is damaged or cut short (a partial download), the paths in ``damaged``
    stopped: str | None = None
    stopped_detail: str = ""  # the limit's message, as written
    unread: list[str] | None = None  # members not read because reading stopped (None: unknown, an archive)
    damaged: list[str] = field(default_factory=list)

    def facts_named(self, name: str) -> list[Fact]:
        return [f for f in self.facts if f.name == name]

    def fact(self, name: str) -> Fact | None:
        """The last fact of that name (parsers emit newer values later in a file)."""
        found = self.facts_named(name)
        return found[-1] if found else None

    def has(self, *source_names: str) -> bool:
        return any(self.present.get(s) for s in source_names)
