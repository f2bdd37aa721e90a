"""The pipeline's data types: the options of an analysis, what detectors read (:class:`Analysis`), and the
report object that ``analyze()`` returns and every output format renders (DESIGN.md 3.3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from analyzer.intake.limits import Limits
from analyzer.timeline import Timeline
from parsers.base import Fact, Problem

SCHEMA_VERSION = "1"
SEVERITIES = ("info", "warning", "error", "critical")  # ascending


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass
class Evidence:
    path: str
    line: int | None
    ts: str | None  # ISO-8601 UTC with Z, or None
    text: str


@dataclass
class Finding:
    id: str
    title: str
    severity: str
    confidence: float
    seed_cause: int | None
    error_codes: list[str]
    explanation: str
    remediation: list[str]
    evidence: list[Evidence] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    root_cause: bool = False
    caused_by: list[str] = field(default_factory=list)
    fingerprint: str = ""  # stable across bundles: id plus normalized evidence (analyzer.fingerprint)


@dataclass
class MissingEvidence:
    source: str
    why: str
    collect: str


@dataclass
class SourceEntry:
    path: str
    parser: str | None
    status: str  # parsed | skipped | failed
    events: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Verdict:
    status: str  # problems_found | healthy | inconclusive
    root_cause: str | None
    summary: str


@dataclass
class BundleInfo:
    name: str
    sha256: str
    bytes: int
    layout: str
    os: str  # linux | windows | unknown
    host: str | None


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
    # not part of the JSON contract: extra data for the HTML picture and the batch catalog
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extras")
        return {
            "schema_version": d.pop("schema_version"),
            "tool": d["tool"],
            "bundle": d["bundle"],
            "verdict": d["verdict"],
            "findings": d["findings"],
            "missing_evidence": d["missing_evidence"],
            "sources": d["sources"],
            "timeline": d["timeline"],
            "redactions": d["redactions"],
        }

    def max_severity(self) -> str | None:
        ranks = [severity_rank(f.severity) for f in self.findings]
        return SEVERITIES[max(ranks)] if ranks else None


@dataclass
class Options:
    lang: str = "en"
    since: datetime | None = None
    until: datetime | None = None
    limits: Limits = field(default_factory=Limits)
    redact: bool = True
    obfuscate: bool = False
    keep_all_events: bool = False  # the full timeline (``bundle-analyze timeline``)


@dataclass
class Analysis:
    """Everything detectors may look at: facts, the timeline, and which sources were present."""

    facts: list[Fact]
    timeline: Timeline
    sources: list[SourceEntry]
    present: dict[str, list[str]]  # abstract source name -> member paths
    problems: list[Problem]
    os: str
    layout: str
    options: Options

    def facts_named(self, name: str) -> list[Fact]:
        return [f for f in self.facts if f.name == name]

    def fact(self, name: str) -> Fact | None:
        """The last fact of that name (parsers emit newer values later in a file)."""
        found = self.facts_named(name)
        return found[-1] if found else None

    def has(self, *source_names: str) -> bool:
        return any(self.present.get(s) for s in source_names)
