"""The detector catalog: ``bundle-analyze rules`` (``--sources``: the source table) and ``explain ID``."""

from __future__ import annotations

from analyzer.detectors import all_detectors
from analyzer.detectors.base import Detector
from analyzer.locale import entry
from analyzer.sources import SOURCES


def rules_table(lang: str = "en") -> list[dict[str, str]]:
    """One row per detector: id, severity, seed cause, sources needed, title."""
    return [{"id": d.id, "severity": d.severity, "seed_cause": str(d.seed_cause or "-"),
             "os": d.os, "sources": ", ".join(d.sources) or "-", "title": entry(d.id, lang, d)["title"]}
            for d in sorted(all_detectors(), key=lambda d: d.id)]


def sources_table() -> list[dict[str, str]]:
    """One row per source (analyzer/sources.py): parser, OS, what it proves, the collect commands, and the
    detectors that need what it proves."""
    detectors = sorted(all_detectors(), key=lambda d: d.id)
    rows = []
    for s in SOURCES:
        needed_by = [d.id for d in detectors if set(d.sources) & set(s.evidence)]
        rows.append({"source": s.name, "parser": s.parser or "-", "os": s.os, "proves": ", ".join(s.evidence),
                     "patterns": " ".join(s.patterns), "linux": s.linux.command if s.linux else "-",
                     "windows": s.windows.command if s.windows else "-", "needed_by": ", ".join(needed_by) or "-"})
    return rows


def find(finding_id: str) -> Detector | None:
    return next((d for d in all_detectors() if d.id == finding_id.upper()), None)


def explain(d: Detector, lang: str = "en") -> str:
    """What the finding means, the evidence it reads, the error codes it explains, and what to do."""
    texts = entry(d.id, lang, d)
    lines = [f"{d.id}: {texts['title']}", "", texts["meaning"], "",
             f"seed cause: {d.seed_cause or '-'}   default severity: {d.severity}   os: {d.os}",
             f"sources: {', '.join(d.sources) or '-'}"]
    if d.facts:
        lines.append(f"facts: {', '.join(d.facts)}")
    if d.error_codes or d.ext_codes:
        lines.append("error codes: " + ", ".join([*d.error_codes, *(f"ext {c}" for c in d.ext_codes)]))
    if d.signatures:
        lines.append("signatures:")
        for s in d.signatures:
            where = [f"{k}={'|'.join(sorted(v)) if v else '*'}" for k, v in s.where]
            where += [f"{k}!={'|'.join(sorted(v)) if v else '*'}" for k, v in s.unless]
            what = " ".join(p for p in (", ".join(sorted(s.kinds)), s.pattern and f"/{s.pattern}/",
                                        s.event_ids and "event " + ",".join(map(str, sorted(s.event_ids))),
                                        s.codes and "ext " + ",".join(map(str, sorted(s.codes))), *where) if p)
            lines.append(f"  {s.id:<18} {s.severity:<8} {what}")
    lines += ["", "remediation:"] + [f"  {i}. {step}" for i, step in enumerate(texts["remediation"], 1)]
    return "\n".join(lines) + "\n"
