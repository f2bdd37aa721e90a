"""Diagnosis: rank findings, link causes to symptoms, name one root cause, set the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.model import Finding, MissingEvidence, Verdict, severity_rank

if TYPE_CHECKING:
    from analyzer.api import Analysis


def diagnose(findings: list[Finding], missing: list[MissingEvidence], analysis: Analysis) -> Verdict:
    problems = [f for f in findings if severity_rank(f.severity) >= severity_rank("warning")]
    if problems:
        top = max(problems, key=lambda f: (severity_rank(f.severity), f.confidence))
        top.root_cause = True
        return Verdict("problems_found", top.id, top.title)
    if not analysis.sources or all(s.status != "parsed" for s in analysis.sources):
        return Verdict("inconclusive", None, "No source in the bundle could be parsed.")
    return Verdict("healthy", None, "No problem found in the evidence the bundle holds.")
