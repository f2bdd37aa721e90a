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

from analyzer.errors import MessageError
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
    say,
)


class StoredReportError(MessageError, ValueError):
    """The document is not a bundle-analyzer JSON report (a ``stored.*`` message)."""


def load_report(doc: str | bytes | dict[str, Any]) -> Report:
    """Rebuild the report of a JSON document (text or parsed)."""
    try:
        d = json.loads(doc) if isinstance(doc, str | bytes) else doc
    except ValueError as exc:  # JSON syntax, or bytes that are no text at all (an HTML report, an archive)
        raise StoredReportError(say("stored.not_json", error=str(exc))) from None
    if not isinstance(d, dict) or d.get("schema_version") != "1" or not isinstance(d.get("findings"), list):
        raise StoredReportError(say("stored.not_report"))
    try:
        return Report(
            tool=dict(d["tool"]),
            bundle=BundleInfo(**d["bundle"]),
            verdict=_verdict(d["verdict"]),
            findings=[_finding(f) for f in d["findings"]],
            missing_evidence=[MissingEvidence(m["source"], message_from(m.get("message")) or _verbatim(m["why"]),
                                              m["collect"], message_from(m.get("then_message")))
                              for m in d["missing_evidence"]],
            sources=[_source(s) for s in d["sources"]],
            timeline=dict(d["timeline"]),
            redactions=dict(d.get("redactions") or {"count": 0, "by_kind": {}}),
            extras=dict(d.get("extras") or {}),
            unexplained=[_unexplained(u) for u in d.get("unexplained_errors") or []],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise StoredReportError(say("stored.broken", error=f"{type(exc).__name__}: {exc}")) from exc


def message_from(d: Any) -> Message | None:
    """A message of a JSON document (``{"key", "params"}``, nested messages alike); None when ``d`` is none."""
    if not isinstance(d, dict) or not isinstance(d.get("key"), str) or not isinstance(d.get("params") or {}, dict):
        return None
    return Message(d["key"], {k: _param(v) for k, v in (d.get("params") or {}).items()})



def _param(v: Any) -> Any:
    if isinstance(v, dict) and "key" in v and "params" in v:
        return message_from(v)
    if isinstance(v, list):
        return [_param(x) for x in v]
    return v


def _verbatim(text: str) -> Message:
    """A text of an older report, shown as it was written."""
    return Message("verbatim", {"text": text})


def _verdict(d: dict[str, Any]) -> Verdict:
    messages = [m for m in map(message_from, d.get("messages") or []) if m is not None]
    if "messages" not in d:
        messages = [_verbatim(d["summary"])]
    return Verdict(d["status"], d["root_cause"], messages)


def _evidence(e: dict[str, Any]) -> Evidence:
    return Evidence(e["path"], e["line"], e["ts"], e["text"] if e.get("message") is None else "",
                    message_from(e.get("message")))


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
        notes=[m for m in map(message_from, d.get("notes") or []) if m is not None],
        records=int(d.get("records") or 0), live_records=int(d.get("live_records") or 0),
        first_seen=d["first_seen"], last_seen=d["last_seen"], root_cause=bool(d["root_cause"]),
        caused_by=list(d["caused_by"]), fingerprint=d.get("fingerprint", ""), texts=texts or None,
    )


def _source(d: dict[str, Any]) -> SourceEntry:
    """A source row; a report written before problems and errors kept their keys renders their texts as they are."""
    note = message_from(d.get("note"))
    error = message_from(d.get("detail_message"))
    if error is None:
        text = d.get("detail") if "detail" in d else d.get("error")
        error = _verbatim(text) if isinstance(text, str) and text else None
    if isinstance(d.get("problem_messages"), list):
        problems = [m for m in map(message_from, d["problem_messages"]) if m is not None]
    else:
        problems = [_verbatim(str(p)) for p in d.get("problems") or []]
    return SourceEntry(d["path"], d["parser"], d["status"], int(d.get("events") or 0), problems, error, note)
