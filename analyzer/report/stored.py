"""A stored JSON report back into a :class:`~analyzer.model.Report`, to render it again
(``bundle-analyze render report.json --format html --lang cs``; the batch catalog's stored reports).

The JSON keeps the language-neutral form beside the worded text (message keys and parameters, the
counts of a finding, ``extras``), so the report renders in any language as if analyzed directly. A
report written before those additions renders with the texts it holds where the locale files cannot
word them again.
"""

from __future__ import annotations

import json
from typing import Any

from analyzer.model import (
    BundleInfo,
    Evidence,
    Finding,
    Message,
    MissingEvidence,
    Report,
    SourceEntry,
    UnexplainedError,
    Verdict,
)


class StoredReportError(ValueError):
    """The document is not a bundle-analyzer JSON report."""


def load_report(doc: str | bytes | dict[str, Any]) -> Report:
    """Rebuild the report of a JSON document (text or parsed)."""
    try:
        d = json.loads(doc) if isinstance(doc, str | bytes) else doc
    except ValueError as exc:  # JSON syntax, or bytes that are no text at all (an HTML report, an archive)
        raise StoredReportError(f"not a bundle-analyzer JSON report (not JSON: {exc})") from None
    if not isinstance(d, dict) or d.get("schema_version") != "1" or not isinstance(d.get("findings"), list):
        raise StoredReportError("not a bundle-analyzer JSON report (schema_version 1)")
    try:
        return Report(
            tool=dict(d["tool"]),
            bundle=BundleInfo(**d["bundle"]),
            verdict=_verdict(d["verdict"]),
            findings=[_finding(f) for f in d["findings"]],
            missing_evidence=[MissingEvidence(m["source"], _message(m.get("message")) or _verbatim(m["why"]),
                                              m["collect"], _message(m.get("then_message")))
                              for m in d["missing_evidence"]],
            sources=[_source(s) for s in d["sources"]],
            timeline=dict(d["timeline"]),
            redactions=dict(d.get("redactions") or {"count": 0, "by_kind": {}}),
            extras=dict(d.get("extras") or {}),
            unexplained=[_unexplained(u) for u in d.get("unexplained_errors") or []],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise StoredReportError(f"not a bundle-analyzer JSON report: {type(exc).__name__}: {exc}") from exc


def _message(d: Any) -> Message | None:
    if not isinstance(d, dict) or not isinstance(d.get("key"), str):
        return None
    return Message(d["key"], {k: _param(v) for k, v in (d.get("params") or {}).items()})


def _param(v: Any) -> Any:
    if isinstance(v, dict) and "key" in v and "params" in v:
        return _message(v)
    if isinstance(v, list):
        return [_param(x) for x in v]
    return v


def _verbatim(text: str) -> Message:
    """A text of an older report, shown as it was written."""
    return Message("verbatim", {"text": text})


def _verdict(d: dict[str, Any]) -> Verdict:
    messages = [m for m in map(_message, d.get("messages") or []) if m is not None]
    if "messages" not in d:
        messages = [_verbatim(d["summary"])]
    return Verdict(d["status"], d["root_cause"], messages)


def _evidence(e: dict[str, Any]) -> Evidence:
    return Evidence(e["path"], e["line"], e["ts"], e["text"] if e.get("message") is None else "",
                    _message(e.get("message")))


def _unexplained(d: dict[str, Any]) -> UnexplainedError:
    return UnexplainedError(d["template"], d["level"], d["source"], int(d["count"]), d["first"], d["last"],
                            _evidence(d["example"]), d.get("minutes_to_backup"), d.get("live_records"))


def _finding(d: dict[str, Any]) -> Finding:
    neutral = "notes" in d
    texts = d.get("texts") if neutral else {"title": d["title"], "meaning": d["explanation"],
                                            "remediation": d["remediation"]}
    return Finding(
        id=d["id"], severity=d["severity"], confidence=d["confidence"], seed_cause=d["seed_cause"],
        error_codes=list(d["error_codes"]),
        evidence=[_evidence(e) for e in d["evidence"]],
        notes=[m for m in map(_message, d.get("notes") or []) if m is not None],
        records=int(d.get("records") or 0), live_records=int(d.get("live_records") or 0),
        first_seen=d["first_seen"], last_seen=d["last_seen"], root_cause=bool(d["root_cause"]),
        caused_by=list(d["caused_by"]), fingerprint=d.get("fingerprint", ""), texts=texts or None,
    )


def _source(d: dict[str, Any]) -> SourceEntry:
    """A source row; a report written before problems and errors kept their keys renders their texts as they are."""
    note = _message(d.get("note"))
    error = _message(d.get("detail_message"))
    if error is None:
        text = d.get("detail") if "detail" in d else d.get("error")
        error = _verbatim(text) if isinstance(text, str) and text else None
    if isinstance(d.get("problem_messages"), list):
        problems = [m for m in map(_message, d["problem_messages"]) if m is not None]
    else:
        problems = [_verbatim(str(p)) for p in d.get("problems") or []]
    return SourceEntry(d["path"], d["parser"], d["status"], int(d.get("events") or 0), problems, error, note)
