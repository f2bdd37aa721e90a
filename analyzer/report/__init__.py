"""Output formats of a report: terminal text, JSON (DESIGN.md 3.3) and self-contained HTML.

Every format is worded at render time in the language asked (:class:`~analyzer.model.RenderOptions`);
the JSON report also keeps the language-neutral form (message keys and parameters, ``extras``), so a
stored report renders again in any format and language (:func:`analyzer.report.stored.load_report`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib import resources
from typing import Any

from analyzer.escape import to_json_text
from analyzer.model import Evidence, Finding, Message, RenderOptions, Report, SourceEntry, UnexplainedError
from analyzer.report.order import ordered_sources
from analyzer.report.wording import Wording

#: the JSON Schema of :func:`to_json` output, shipped in the package
SCHEMA: dict[str, Any] = json.loads(resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8"))


def message_dict(m: Message | None) -> dict[str, Any] | None:
    """A message as JSON: ``{"key", "params"}``, nested messages alike."""
    if m is None:
        return None
    return {"key": m.key, "params": {k: _param(v) for k, v in m.params.items()}}


def _param(v: Any) -> Any:
    if isinstance(v, Message):
        return message_dict(v)
    if isinstance(v, list | tuple):
        return [_param(x) for x in v]
    return v


def to_dict(report: Report, lang: str = "en") -> dict[str, Any]:
    """The JSON report worded in ``lang``: DESIGN 3.3's fields, then the additions (schema.json)."""
    w = Wording(lang, report)
    return {
        "schema_version": report.schema_version,
        "tool": dict(report.tool),
        "bundle": asdict(report.bundle),
        "verdict": {"status": report.verdict.status, "root_cause": report.verdict.root_cause,
                    "summary": w.summary(report.verdict),
                    "messages": [message_dict(m) for m in report.verdict.summary]},
        "findings": [_finding(f, w) for f in report.findings],
        "missing_evidence": [{"source": m.source, "why": w.why(m), "collect": m.collect,
                              "message": message_dict(m.why), "then": w.then(m) or None,
                              "then_message": message_dict(m.then)} for m in report.missing_evidence],
        "sources": [_source(s, w) for s in ordered_sources(report)],
        "timeline": dict(report.timeline),
        "redactions": report.redactions,
        "lang": w.lang,
        "extras": report.extras,
        "unexplained_errors": [_unexplained(u, w) for u in report.unexplained],
    }


def _finding(f: Finding, w: Wording) -> dict[str, Any]:
    d = {
        "id": f.id, "title": w.title(f), "severity": f.severity, "confidence": f.confidence,
        "seed_cause": f.seed_cause, "error_codes": list(f.error_codes), "explanation": w.explanation(f),
        "remediation": w.remediation(f), "evidence": [_evidence(e, w) for e in f.evidence],
        "first_seen": f.first_seen, "last_seen": f.last_seen, "root_cause": f.root_cause,
        "caused_by": list(f.caused_by), "fingerprint": f.fingerprint,
        "notes": [message_dict(n) for n in f.notes], "records": f.records, "live_records": f.live_records,
    }
    if f.texts:
        d["texts"] = f.texts
    return d


def _unexplained(u: UnexplainedError, w: Wording) -> dict[str, Any]:
    return {"template": u.template, "level": u.level, "source": u.source, "count": u.count, "first": u.first,
            "last": u.last, "minutes_to_backup": u.minutes_to_backup, "live_records": u.live_records,
            "example": _evidence(u.example, w)}


def _evidence(e: Evidence, w: Wording) -> dict[str, Any]:
    return {"path": e.path, "line": e.line, "ts": e.ts, "text": w.evidence(e), "message": message_dict(e.message)}


def _source(s: SourceEntry, w: Wording) -> dict[str, Any]:
    return {"path": s.path, "parser": s.parser, "status": s.status, "events": s.events,
            "problems": w.problems(s), "error": w.source_note(s) or None, "note": message_dict(s.note),
            "detail": w.say(s.error) if s.error is not None else None, "detail_message": message_dict(s.error),
            "problem_messages": [message_dict(p) for p in s.problems]}


def to_json(report: Report, lang: str = "en") -> str:
    """The JSON report: strict JSON (no NaN), valid UTF-8, control and bidi characters escaped."""
    return to_json_text(to_dict(report, lang), indent=2) + "\n"


def render(report: Report, options: RenderOptions | None = None) -> str:
    """The report as text in ``options.format`` (text, json, html) and ``options.lang``."""
    options = options or RenderOptions()
    if options.format == "json":
        return to_json(report, options.lang)
    if options.format == "html":
        from analyzer.report.html import to_html

        return to_html(report, lang=options.lang)
    from analyzer.report.terminal import render_terminal

    return render_terminal(report, lang=options.lang, quiet=options.quiet, plain=True, file=None) or ""
