"""Missing evidence: which source would have let a detector judge, and the command that collects it.

A detector names the evidence it needs (``sources``); the source rows (``analyzer/sources.py``) say which
rows prove it, for which OS, and how each is collected. The first row that proves the evidence, fits the
bundle's OS and has a command for it is asked for (on a bundle of unknown OS: one per OS).
"""

from __future__ import annotations

from analyzer.detectors.base import NotEvaluable
from analyzer.model import Analysis, Message, MissingEvidence, say
from analyzer.sources import Source, recognize_path, rows_proving, source_row

AGENT_LOG = "agent_log"
OSES = ("linux", "windows")


def collect_row(evidence: str, os_name: str) -> Source | None:
    """The row to ask for: it proves ``evidence``, runs on ``os_name`` and has a command there."""
    for row in rows_proving(evidence):
        if row.os in (os_name, "any") and row.collect(os_name) is not None:
            return row
    return None


def _wanted(evidence: list[str], os_name: str) -> list[tuple[Source, str]]:
    """(row, OS) to collect for the first evidence name that can be collected on the bundle's OS."""
    for name in evidence:
        found = [(row, o) for o in OSES if os_name in (o, "unknown") and (row := collect_row(name, o)) is not None]
        if found:
            return found
    return []


def missing_evidence(analysis: Analysis, not_evaluable: list[NotEvaluable]) -> list[MissingEvidence]:
    wanted: dict[tuple[str, str], tuple[Source, list[str]]] = {}
    open_questions: dict[tuple[str, str], MissingEvidence] = {}
    for ne in not_evaluable:
        if ne.why is not None:
            for name in ne.missing:
                for row, os_name in _wanted([name], analysis.os):
                    open_questions.setdefault((row.name, os_name), _missing(row, os_name, ne.why))
            continue
        for row, os_name in _wanted(ne.missing, analysis.os):
            wanted.setdefault((row.name, os_name), (row, []))[1].append(ne.detector)
    for key in open_questions:  # asked for once, with the open question's reason
        wanted.pop(key, None)
    out = []
    if not analysis.has(AGENT_LOG):
        for row, os_name in _wanted([AGENT_LOG], analysis.os):
            out.append(_missing(row, os_name, say("missing.agent_log")))
            wanted.pop((row.name, os_name), None)
    for (_, os_name), (row, detectors) in wanted.items():
        out.append(_missing(row, os_name, say("missing.needed_by", detectors=detectors)))
    return _not_unread(out + list(open_questions.values()), analysis)


def _missing(row: Source, os_name: str, why: Message) -> MissingEvidence:
    how = row.collect(os_name)
    assert how is not None
    return MissingEvidence(row.name, why, how.command, how.then)


def _not_unread(missing: list[MissingEvidence], analysis: Analysis) -> list[MissingEvidence]:
    """When reading stopped early, never ask for what may be in the part not read: the rest of an archive is
    unknown (nothing is asked for); the files of a folder not reached are known by their names, and what
    their rows prove is not asked for."""
    if analysis.stopped is None:
        return missing
    if analysis.unread is None:
        return []
    unread = {evidence for path in analysis.unread if (rec := recognize_path(path)) is not None
              and (row := source_row(rec.source)) is not None for evidence in row.evidence}
    return [m for m in missing if not ((row := source_row(m.source)) is not None and set(row.evidence) & unread)]
