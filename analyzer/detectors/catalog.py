"""The detector catalog: ``bundle-analyze rules`` (``--sources``: the source table) and ``explain ID``."""

from __future__ import annotations

from analyzer.detectors import all_detectors
from analyzer.detectors.base import Detector
from analyzer.locale import entry, template
from analyzer.sources import SOURCES


def _label(key: str, lang: str) -> str:
    return template("labels", key, lang)


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


def render_rules(lang: str = "en") -> str:
    """``bundle-analyze rules``: a header row, then one row per detector and the sources it reads."""
    rows = rules_table(lang)
    head = [_label(f"rules.{c}", lang) for c in ("id", "severity", "cause", "os", "title")]
    width = max([len(head[0]), *(len(r["id"]) for r in rows)]) + 2
    lines = [f"{head[0]:<{width}}{head[1]:<10}{head[2]:<7}{head[3]:<9}{head[4]}", "-" * (width + 60)]
    for r in rows:
        lines.append(f"{r['id']:<{width}}{r['severity']:<10}{r['seed_cause']:<7}{r['os']:<9}{r['title']}")
        lines.append(f"{'':<{width}}{_label('rules.sources', lang)}: {r['sources']}")
    return "\n".join(lines) + "\n"


def find(finding_id: str) -> Detector | None:
    return next((d for d in all_detectors() if d.id == finding_id.upper()), None)


def explain(d: Detector, lang: str = "en") -> str:
    """What the finding means, the evidence it reads, the error codes it explains, the records it looks for
    (patterns and event ids, never the internal signature ids), and what to do."""
    texts = entry(d.id, lang, d)
    lines = [f"{d.id}: {texts['title']}", "", texts["meaning"], "",
             f"{_label('rules.cause', lang)}: {d.seed_cause or '-'}   {_label('rules.severity', lang)}: "
             f"{_label(f'severity.{d.severity}', lang)}"
             f"   {_label('rules.os', lang)}: {d.os}",
             f"{_label('rules.sources', lang)}: {', '.join(d.sources) or '-'}"]
    if d.facts:
        lines.append(f"{_label('rules.facts', lang)}: {', '.join(d.facts)}")
    if d.error_codes or d.ext_codes:
        codes = [*d.error_codes, *(f"ext {c}" for c in d.ext_codes)]
        lines.append(f"{_label('error_codes', lang)}: " + ", ".join(codes))
    if d.signatures:
        lines.append(f"{_label('rules.looks_for', lang)}:")
        for s in d.signatures:
            where = [f"{k}={'|'.join(sorted(v)) if v else '*'}" for k, v in s.where]
            where += [f"{k}!={'|'.join(sorted(v)) if v else '*'}" for k, v in s.unless]
            what = " ".join(p for p in (", ".join(sorted(s.kinds)), s.pattern and f"/{s.pattern}/",
                                        s.event_ids and "event " + ",".join(map(str, sorted(s.event_ids))),
                                        s.codes and "ext " + ",".join(map(str, sorted(s.codes))), *where) if p)
            lines.append(f"  {_label(f'severity.{s.severity}', lang):<10} {what}")
    lines += ["", f"{_label('remediation', lang)}:"]
    lines += [f"  {i}. {step}" for i, step in enumerate(texts["remediation"], 1)]
    return "\n".join(lines) + "\n"
