"""The order a report shows its findings and sources in, the same in every format."""

from __future__ import annotations

from analyzer.model import Finding, Report, SourceEntry, severity_rank


def ordered_findings(report: Report) -> list[Finding]:
    """Most severe first; within a severity the root cause, then by confidence."""
    return sorted(report.findings, key=lambda f: (-severity_rank(f.severity), not f.root_cause, -f.confidence))


def ordered_sources(report: Report) -> list[SourceEntry]:
    """Failed rows first, then members without records (missing evidence), then by path (case aside): what went
    wrong on top, the rest easy to scan."""
    rank = {"failed": 0, "empty": 1}
    return sorted(report.sources, key=lambda s: (rank.get(s.status, 2), s.path.lower(), s.path))
